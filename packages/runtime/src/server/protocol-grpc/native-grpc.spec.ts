import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { HealthCheckRequestSchema, HealthCheckResponseSchema, Health } from "../../gen/grpc/health/v1/health_pb.js";
import type { ModelRpc } from "../../binding/connect-routes.js";
import { createNativeGrpc } from "./native-grpc.js";

// Which streams the native path takes, and which it leaves to connect-node: checked on a
// real node:http2 server with a real node:http2 client.
describe("createNativeGrpc", () => {
  const check = Health.method.check;
  const rpcs = new Map<string, ModelRpc>([
    ["/grpc.health.v1.Health/Check", { kind: "unary", method: check, model: "m", impl: async () => ({ status: 1 }) }],
  ]);
  const native = createNativeGrpc({
    rpcs,
    readMaxBytes: 1024,
    readMaxFields: 1000,
    compressMinBytes: 1024,
    interceptors: [],
    scheme: "http",
  });
  let server: http2.Http2Server;
  let url: string;
  const declined: string[] = [];
  beforeAll(async () => {
    server = http2.createServer();
    server.on("stream", (stream, headers) => {
      if (native(stream, headers)) return;
      declined.push(`${headers[":method"]} ${headers[":path"]} ${headers["content-type"]}`);
      stream.respond({ ":status": 404 });
      stream.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  function call(
    headers: http2.OutgoingHttpHeaders,
    body: Uint8Array,
  ): Promise<{ status: number; trailers: http2.IncomingHttpHeaders | undefined; data: Buffer }> {
    return new Promise((resolve, reject) => {
      const session = http2.connect(url);
      session.on("error", reject);
      const req = session.request({ ":method": "POST", ...headers });
      let status = 0;
      let trailers: http2.IncomingHttpHeaders | undefined;
      const chunks: Buffer[] = [];
      req.on("response", (h) => (status = Number(h[":status"])));
      req.on("trailers", (t) => (trailers = t));
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("close", () => {
        session.close();
        resolve({ status, trailers, data: Buffer.concat(chunks) });
      });
      req.end(body);
    });
  }
  const frame = (bytes: Uint8Array) => Buffer.concat([Buffer.from([0, 0, 0, 0, bytes.length]), bytes]);
  const message = frame(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: "" })));

  it("takes application/grpc and application/grpc+proto POSTs to a model RPC and answers them", async () => {
    for (const type of ["application/grpc", "application/grpc+proto"]) {
      const res = await call({ ":path": "/grpc.health.v1.Health/Check", "content-type": type }, message);
      expect(res.status).toBe(200);
      expect(res.trailers?.["grpc-status"]).toBe("0");
      expect(res.data.subarray(5)).toEqual(
        Buffer.from(toBinary(HealthCheckResponseSchema, create(HealthCheckResponseSchema, { status: 1 }))),
      );
    }
  });

  it("leaves everything else to connect-node: other content types, methods and paths", async () => {
    declined.length = 0;
    await call({ ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc-web+proto" }, message);
    await call({ ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc+json" }, message);
    await call({ ":path": "/grpc.health.v1.Health/Check", "content-type": "application/proto" }, message);
    await call({ ":path": "/grpc.health.v1.Health/Watch", "content-type": "application/grpc" }, message);
    await call(
      { ":method": "PUT", ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc" },
      message,
    );
    expect(declined).toEqual([
      "POST /grpc.health.v1.Health/Check application/grpc-web+proto",
      "POST /grpc.health.v1.Health/Check application/grpc+json",
      "POST /grpc.health.v1.Health/Check application/proto",
      "POST /grpc.health.v1.Health/Watch application/grpc",
      "PUT /grpc.health.v1.Health/Check application/grpc",
    ]);
  });
});
