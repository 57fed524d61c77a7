import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, type HandlerContext } from "@connectrpc/connect";
import { HealthCheckRequestSchema, HealthCheckResponseSchema, Health } from "../../gen/grpc/health/v1/health_pb.js";
import type { ModelRpc } from "../../binding/connect-routes.js";
import { createNativeGrpc } from "./native-grpc.js";

interface Served {
  readonly url: string;
  close(): Promise<void>;
}

/** A real node:http2 server on 127.0.0.1:0 whose streams go to `onStream`. */
async function serve(
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
): Promise<Served> {
  const server = http2.createServer();
  server.on("stream", onStream);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The options every native path under test shares. */
const LIMITS = {
  readMaxBytes: 1024,
  readMaxFields: 1000,
  compressMinBytes: 1024,
  interceptors: [],
  scheme: "http",
} as const;

// Which streams the native path takes, and which it leaves to connect-node: checked on a
// real node:http2 server with a real node:http2 client.
describe("createNativeGrpc", () => {
  const check = Health.method.check;
  const rpcs = new Map<string, ModelRpc>([
    ["/grpc.health.v1.Health/Check", { kind: "unary", method: check, model: "m", impl: async () => ({ status: 1 }) }],
  ]);
  const native = createNativeGrpc({
    rpcs,
    ...LIMITS,
  });
  let server: Served;
  let url: string;
  const declined: string[] = [];
  beforeAll(async () => {
    server = await serve((stream, headers) => {
      if (native(stream, headers)) return;
      declined.push(`${headers[":method"]} ${headers[":path"]} ${headers["content-type"]}`);
      stream.respond({ ":status": 404 });
      stream.end();
    });
    url = server.url;
  });
  afterAll(() => server.close());

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

// A call's abort signal is made only when something asks for it, and a unary call still
// ends at its deadline while its model computes: the call answers itself.
describe("a native call's signal", () => {
  const check = Health.method.check;
  let impl: (req: unknown, ctx: HandlerContext) => Promise<unknown> = async () => ({ status: 1 });
  const native = createNativeGrpc({
    rpcs: new Map<string, ModelRpc>([
      ["/grpc.health.v1.Health/Check", { kind: "unary", method: check, model: "m", impl: (r, c) => impl(r, c) }],
    ]),
    ...LIMITS,
  });
  let server: Served;
  let url: string;
  beforeAll(async () => {
    server = await serve((stream, headers) => void native(stream, headers));
    url = server.url;
  });
  afterAll(() => server.close());

  const body = Buffer.from([0, 0, 0, 0, 0]); // an empty HealthCheckRequest
  function call(extra: http2.OutgoingHttpHeaders = {}): Promise<http2.IncomingHttpHeaders> {
    return new Promise((resolve, reject) => {
      const session = http2.connect(url);
      session.on("error", reject);
      const req = session.request({
        ":method": "POST",
        ":path": "/grpc.health.v1.Health/Check",
        "content-type": "application/grpc",
        ...extra,
      });
      req.on("trailers", (t) => {
        session.close();
        resolve(t);
      });
      req.on("data", () => undefined);
      req.end(body);
    });
  }

  it("is never made for a call answered in full that nobody asked it of", async () => {
    const Real = globalThis.AbortController;
    let made = 0;
    globalThis.AbortController = class extends Real {
      constructor() {
        super();
        made++;
      }
    };
    try {
      impl = async () => ({ status: 1 });
      expect((await call())["grpc-status"]).toBe("0");
      expect(made).toBe(0);
      // One that asks gets a real signal, made then.
      let seen: AbortSignal | undefined;
      impl = async (_r, ctx) => {
        seen = ctx.signal;
        return { status: 1 };
      };
      expect((await call())["grpc-status"]).toBe("0");
      expect(made).toBe(1);
      expect(seen?.aborted).toBe(false);
    } finally {
      globalThis.AbortController = Real;
    }
  });

  it("ends a unary call at its deadline while its model still computes, and aborts a signal asked for afterwards", async () => {
    let ctxOf: HandlerContext | undefined;
    let finish!: () => void;
    impl = (_r, ctx) => {
      ctxOf = ctx;
      return new Promise((r) => (finish = () => r({ status: 1 })));
    };
    const started = Date.now();
    const trailers = await call({ "grpc-timeout": "50m" });
    expect(trailers["grpc-status"]).toBe(String(Code.DeadlineExceeded));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(ctxOf?.signal.aborted).toBe(true);
    finish(); // its result comes too late and is dropped
  });
});
