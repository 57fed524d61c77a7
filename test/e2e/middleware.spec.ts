// Middleware through a real server: bearer-token auth (UNAUTHENTICATED over gRPC, 401 over
// Connect; health exempt, reflection when asked), request logs (pino, JSON lines, calls
// that fail before their message is parsed included), and a custom Connect interceptor.
import { Writable } from "node:stream";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { toTensorProto } from "@blazerpc/tensor";
import { createServer, type BlazeServer, type ServerOptions } from "@blazerpc/runtime";
import { app } from "../../examples/iris/models.js";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import {
  InferenceService,
  PredictIrisRequestSchema,
  PredictIrisResponseSchema,
} from "../../examples/iris/gen/iris/v1/iris_pb.js";
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
} from "../../packages/runtime/src/gen/grpc/health/v1/health_pb.js";
import { bufBin, grpcMessage, grpcUnary, run } from "./support.js";

const IRIS = "/iris.v1.InferenceService/PredictIris";
const features = toTensorProto({ dtype: "float32", shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) });

async function start(
  options: Partial<ServerOptions>,
): Promise<{ server: BlazeServer; client: (headers?: Record<string, string>) => grpc.Client }> {
  const server = createServer({ app, services: [InferenceServiceBinding], port: 0, ...options });
  await server.listen();
  const clients: grpc.Client[] = [];
  afterEachClose.push(async () => {
    for (const c of clients) c.close();
    await server.close();
  });
  return {
    server,
    client(headers = {}) {
      // grpc-js refuses call credentials on an insecure channel: add the headers per call.
      const c = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure(), {
        interceptors: [
          (options, nextCall) =>
            new grpc.InterceptingCall(nextCall(options), {
              start(metadata, listener, next) {
                for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
                next(metadata, listener);
              },
            }),
        ],
      });
      clients.push(c);
      return c;
    },
  };
}

const afterEachClose: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of afterEachClose.splice(0)) await close();
});

describe("bearer-token auth", () => {
  it("refuses calls without a valid token with UNAUTHENTICATED, over gRPC and Connect; health stays open", async () => {
    const { server, client } = await start({ auth: { tokens: ["s3cret"] } });
    const call = (c: grpc.Client) =>
      grpcUnary(c, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, { features }).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );

    const none = await call(client());
    expect(none?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(grpcMessage(none)).toBe("missing bearer token: send the header `authorization: Bearer <token>`");
    const wrong = await call(client({ authorization: "Bearer nope" }));
    expect([wrong?.code, grpcMessage(wrong)]).toEqual([grpc.status.UNAUTHENTICATED, "invalid bearer token"]);
    expect(await call(client({ authorization: "Bearer s3cret" }))).toBeUndefined();

    // Connect over HTTP/1.1: 401 with a challenge.
    const r = await run("curl", [
      "-sS",
      "-D",
      "-",
      "-X",
      "POST",
      "-H",
      "content-type: application/json",
      "-d",
      "{}",
      `${server.url()}${IRIS}`,
    ]);
    expect(r.stdout).toMatch(/^HTTP\/1\.1 401 /);
    expect(r.stdout).toMatch(/^www-authenticate: Bearer realm="blazerpc"\r$/im);
    expect(r.stdout).toContain('"code":"unauthenticated"');

    // Health needs no token (Kubernetes' gRPC probe sends none); reflection does by default.
    const health = await grpcUnary(
      client(),
      "/grpc.health.v1.Health/Check",
      HealthCheckRequestSchema,
      HealthCheckResponseSchema,
      { service: "" },
    );
    expect(health.status).toBe(1);
    const list = await run(bufBin, ["curl", "--protocol", "grpc", "--list-services", server.url()]);
    expect(list.code).not.toBe(0);
    expect(list.stderr).toMatch(/not authenticated/); // buf's words for UNAUTHENTICATED
    const withToken = await run(bufBin, [
      "curl",
      "--protocol",
      "grpc",
      "--reflect-header",
      "authorization: Bearer s3cret",
      "--list-services",
      server.url(),
    ]);
    expect(withToken.stdout).toContain("iris.v1.InferenceService");
  });

  it("exempts reflection when asked", async () => {
    const { server } = await start({ auth: { tokens: ["s3cret"], exempt: ["health", "reflection"] } });
    const list = await run(bufBin, ["curl", "--protocol", "grpc", "--list-services", server.url()]);
    expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: "" });
  });
});

describe("request logs", () => {
  it("writes a JSON line per call when `log` is set, including calls refused before their body was read", async () => {
    const lines: Record<string, unknown>[] = [];
    let waiting: { n: number; resolve: () => void } | undefined;
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split("\n"))
          if (l !== "") lines.push(JSON.parse(l) as Record<string, unknown>);
        if (waiting !== undefined && lines.length >= waiting.n) waiting.resolve();
        cb();
      },
    });
    const logged = (n: number) =>
      new Promise<void>((resolve) => (lines.length >= n ? resolve() : (waiting = { n, resolve })));
    const { client } = await start({ log: pino({ base: undefined }, sink) });
    const c = client();
    await grpcUnary(c, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, { features });
    await grpcUnary(c, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, {}, () =>
      Buffer.from([0x0a, 0xff]),
    ).catch(() => undefined);
    await logged(2); // each line is written once the response's last byte is
    expect(lines.map(({ time, ms, peer, ...rest }) => ({ ...rest, time: typeof time, ms: typeof ms, peer }))).toEqual([
      {
        level: 30,
        msg: "rpc",
        service: "iris.v1.InferenceService",
        method: "PredictIris",
        model: "iris",
        protocol: "grpc",
        http: "2.0",
        code: "OK",
        time: "number",
        ms: "number",
        peer: "127.0.0.1",
      },
      {
        level: 50,
        msg: "rpc",
        service: "iris.v1.InferenceService",
        method: "PredictIris",
        model: "iris",
        protocol: "grpc",
        http: "2.0",
        code: "INTERNAL",
        error: "parse binary: premature EOF",
        time: "number",
        ms: "number",
        peer: "127.0.0.1",
      },
    ]);
  });
});

describe("custom interceptors", () => {
  it("run around every call, outermost first, and see the model's result", async () => {
    const seen: string[] = [];
    const timing: Interceptor = (next) => async (req) => {
      seen.push(`timing ${req.method.name}`);
      const res = await next(req);
      res.header.set("x-served-by", "blazerpc-test");
      return res;
    };
    const tagging: Interceptor = (next) => async (req) => {
      seen.push(`tagging ${req.service.typeName}`);
      return next(req);
    };
    const { server } = await start({ interceptors: [timing, tagging] });
    let header: string | null = null;
    const client = createClient(InferenceService, createConnectTransport({ baseUrl: server.url(), httpVersion: "2" }));
    const res = await client.predictIris({ features }, { onHeader: (h) => (header = h.get("x-served-by")) });
    expect(res.result?.shape).toEqual([1n, 3n]);
    expect(header).toBe("blazerpc-test");
    expect(seen).toEqual(["timing PredictIris", "tagging iris.v1.InferenceService"]);
  });
});
