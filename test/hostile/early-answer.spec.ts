// A call answered before its request body was read to the end (an early error: a message
// prefix announcing more than readMaxBytes, a gRPC-Web message that does not parse) with
// the rest of the body still coming. HTTP/2: the stream was never closed (the unread body
// held it, its call and its connection open); now it is reset with NO_ERROR a moment after
// its answer, which the client still gets whole. HTTP/1.1: the connection stopped being
// read; now the rest is read and dropped, and the connection serves its next request.
import * as http2 from "node:http2";
import * as net from "node:net";
import { createServer, type BlazeServer } from "@blazerpc/runtime";
import { app } from "../../examples/iris/models.js";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";

const IRIS = "/iris.v1.InferenceService/PredictIris";

/** The model calls the server counts as in flight (`/metrics`). */
async function inFlight(server: BlazeServer): Promise<string[]> {
  const text = await (await fetch(`${server.url()}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith("blazerpc_requests_in_flight{") && !l.endsWith(" 0"));
}

describe("a call answered before its body was read", () => {
  let server: BlazeServer;
  beforeAll(async () => {
    server = createServer({ app, services: [InferenceServiceBinding], port: 0, readMaxBytes: 1024 });
    await server.listen();
  });
  afterAll(() => server.close());

  it.each([
    ["gRPC, native path: a prefix over readMaxBytes", "application/grpc", Buffer.from([0, 0, 0, 0x10, 0])],
    [
      "gRPC-Web, connect-node: a message that does not parse",
      "application/grpc-web",
      Buffer.from([0, 0, 0, 0, 3, 0xff, 0xff, 0xff]),
    ],
  ])(
    "HTTP/2, %s: answered whole, then the stream is closed with NO_ERROR and the call leaves",
    async (_name, contentType, first) => {
      const session = http2.connect(server.url());
      const req = session.request({ ":method": "POST", ":path": IRIS, "content-type": contentType, te: "trailers" });
      let status: string | undefined;
      req.on("response", (h) => (status = h["grpc-status"] as string | undefined));
      req.on("trailers", (h) => (status = h["grpc-status"] as string));
      const body: Buffer[] = [];
      req.on("data", (c: Buffer) => body.push(c));
      req.write(first);
      await new Promise((r) => setTimeout(r, 100));
      req.write(Buffer.alloc(64 * 1024)); // more body, never ended
      const closed = await new Promise<boolean>((resolve) => {
        req.once("close", () => resolve(true));
        setTimeout(() => resolve(false), 4000);
      });
      expect(closed).toBe(true);
      expect(req.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
      // The answer came first, whole: RESOURCE_EXHAUSTED (8) or INTERNAL (13), in trailers or the gRPC-Web body.
      const answer = status ?? /grpc-status: (\d+)/.exec(Buffer.concat(body).toString("latin1"))?.[1];
      expect(["8", "13"]).toContain(answer);
      session.destroy();
      expect(await inFlight(server)).toEqual([]);
    },
  );

  it("HTTP/1.1: the rest of the body is read and dropped; the connection answers its next request", async () => {
    const socket = net.connect(server.address().port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    let received = "";
    socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
    const size = 5 + 3 + 200 * 1024;
    socket.write(
      `POST ${IRIS} HTTP/1.1\r\nhost: x\r\ncontent-type: application/grpc-web\r\ncontent-length: ${size}\r\n\r\n`,
    );
    socket.write(Buffer.from([0, 0, 0, 0, 3, 0xff, 0xff, 0xff]));
    await new Promise((r) => setTimeout(r, 100));
    socket.write(Buffer.alloc(200 * 1024));
    socket.write("GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
    const deadline = Date.now() + 4000;
    while (!/\r\n\r\n\{"status":"SERVING"/.test(received) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    expect(received).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(received).toMatch(/\r\n\r\n\{"status":"SERVING"/);
  });
});
