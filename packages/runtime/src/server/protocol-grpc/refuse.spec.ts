import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code } from "@connectrpc/connect";
import { grpcTimeoutMs, refuseCall } from "./refuse.js";

describe("refuseCall", () => {
  let server: http2.Http2Server;
  let port: number;
  const seen: http2.IncomingHttpHeaders[] = [];
  beforeAll(async () => {
    server = http2.createServer();
    server.on("stream", (stream, headers) => {
      seen.push(headers);
      refuseCall(stream, {
        code: Code.DeadlineExceeded,
        message: `model "m" cannot answer before the deadline: 100% — ${"x".repeat(2000)}`,
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("answers with one trailers-only header block, its message cut and encoded as the gRPC spec says, and reads the body it did not want", async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const req = session.request({ ":method": "POST", ":path": "/x.Y/Z", "content-type": "application/grpc" });
      // A body larger than one stream window: it completes only if the server reads it.
      req.end(Buffer.alloc(200_000));
      let trailers = false;
      req.on("trailers", () => (trailers = true));
      const [headers, flags] = await new Promise<[http2.IncomingHttpHeaders, number]>((resolve) =>
        req.on("response", (h, f) => resolve([h, f])),
      );
      req.resume();
      await new Promise((r) => req.on("close", r));
      expect(flags & 0x1).toBe(0x1); // END_STREAM on the headers: trailers-only
      expect(trailers).toBe(false);
      expect(headers[":status"]).toBe(200);
      expect(headers["content-type"]).toBe("application/grpc+proto");
      expect(headers["grpc-status"]).toBe(String(Code.DeadlineExceeded));
      const message = String(headers["grpc-message"]);
      expect(message.startsWith('model "m" cannot answer before the deadline: 100%25 %E2%80%94 xxx')).toBe(true);
      expect(Buffer.byteLength(decodeURIComponent(message))).toBeLessThanOrEqual(1024);
      expect(req.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    } finally {
      session.close();
    }
  });

  it("reads grpc-timeout as connect does; a value that does not parse is left to the call", () => {
    expect(grpcTimeoutMs({ "grpc-timeout": "100m" })).toBe(100);
    expect(grpcTimeoutMs({ "grpc-timeout": "2S" })).toBe(2000);
    expect(grpcTimeoutMs({})).toBeUndefined();
    expect(grpcTimeoutMs({ "grpc-timeout": "abc" })).toBeUndefined();
  });
});
