// gRPC health (grpc.health.v1) and the HTTP probes over the same state, through a real
// server and real clients: a @grpc/grpc-js health client (Check, List, Watch) and curl.
// A model with a loader keeps the server NOT_SERVING until it has loaded; shutting down
// turns it NOT_SERVING at once.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { toTensorProto, type Tensor } from "@blazerpc/tensor";
import { createApp, createServer, type App, type BlazeServer } from "@blazerpc/runtime";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import { PredictIrisRequestSchema, PredictIrisResponseSchema } from "../../examples/iris/gen/iris/v1/iris_pb.js";
import {
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus as Status,
  HealthCheckResponseSchema,
  HealthListRequestSchema,
  HealthListResponseSchema,
  type HealthCheckResponse,
} from "../../packages/runtime/src/gen/grpc/health/v1/health_pb.js";
import { grpcMessage, grpcUnary, run } from "./support.js";

const SERVICE = "iris.v1.InferenceService";

/** An app with the iris schema; `iris` loads until `release` is called (or fails with `fail`). */
function irisApp(): { app: App; release: () => void; fail: (err: Error) => void } {
  const app = createApp({ name: "iris" });
  app.model("iris", async (features: Tensor<"float32", ["batch", 4]>): Promise<Tensor<"float32", ["batch", 3]>> => ({
    dtype: "float32",
    shape: [features.shape[0]!, 3],
    data: new Float32Array(features.shape[0]! * 3),
  }));
  app.model("generate", async function* (prompt: string): AsyncGenerator<string> {
    yield prompt;
  });
  let release!: () => void;
  let fail!: (err: Error) => void;
  const loaded = new Promise<void>((resolve, reject) => {
    release = resolve;
    fail = reject;
  });
  app.loader("iris", () => loaded);
  return { app, release, fail };
}

function check(client: grpc.Client, service: string): Promise<HealthCheckResponse> {
  return grpcUnary(client, "/grpc.health.v1.Health/Check", HealthCheckRequestSchema, HealthCheckResponseSchema, {
    service,
  });
}

/** A Watch call that records every status it receives. */
function watch(client: grpc.Client, service: string) {
  const call = client.makeServerStreamRequest(
    "/grpc.health.v1.Health/Watch",
    (m: HealthCheckResponse) => Buffer.from(toBinary(HealthCheckRequestSchema, m as never)),
    (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
    create(HealthCheckRequestSchema, { service }) as never,
  );
  const seen: Status[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  call.on("data", (m: HealthCheckResponse) => {
    seen.push(m.status);
    for (const w of waiters.filter((w) => seen.length >= w.n)) w.resolve();
  });
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  call.on("error", () => undefined);
  return {
    call,
    seen,
    ended,
    /** Resolves once `n` messages have arrived. */
    until: (n: number) => new Promise<void>((resolve) => (seen.length >= n ? resolve() : waiters.push({ n, resolve }))),
  };
}

async function curlJson(url: string): Promise<{ status: number; body: unknown }> {
  const r = await run("curl", ["-sS", "-w", "\n%{http_code}", url]);
  const cut = r.stdout.lastIndexOf("\n");
  return { status: Number(r.stdout.slice(cut + 1)), body: JSON.parse(r.stdout.slice(0, cut)) };
}

describe("health: gRPC and HTTP over the same state", () => {
  let server: BlazeServer;
  let client: grpc.Client;
  let control: ReturnType<typeof irisApp>;

  beforeEach(async () => {
    control = irisApp();
    server = createServer({ app: control.app, services: [InferenceServiceBinding], port: 0 });
    await server.listen();
    client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure());
  });
  afterEach(async () => {
    client.close();
    await server.close();
  });

  it("is NOT_SERVING while a model loads, SERVING once it has, NOT_SERVING when shutting down; Watch sees each change", async () => {
    const all = watch(client, "");
    const svc = watch(client, SERVICE);
    await Promise.all([all.until(1), svc.until(1)]);
    expect(all.seen).toEqual([Status.NOT_SERVING]);
    expect(svc.seen).toEqual([Status.NOT_SERVING]);

    expect((await check(client, "")).status).toBe(Status.NOT_SERVING);
    expect((await check(client, SERVICE)).status).toBe(Status.NOT_SERVING);
    const ready = await curlJson(`${server.url()}/readyz`);
    expect(ready).toEqual({
      status: 503,
      body: { status: "NOT_SERVING", models: { iris: "LOADING", generate: "SERVING" } },
    });
    // Liveness stays 200: the process answers, it is just not ready.
    expect((await curlJson(`${server.url()}/healthz`)).status).toBe(200);
    // A call to the loading model is refused, not queued.
    const features = toTensorProto({ dtype: "float32", shape: [1, 4], data: new Float32Array(4) });
    const err = await grpcUnary(
      client,
      "/iris.v1.InferenceService/PredictIris",
      PredictIrisRequestSchema,
      PredictIrisResponseSchema,
      { features },
    ).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(grpcMessage(err)).toBe('model "iris" is still loading');

    control.release();
    await Promise.all([all.until(2), svc.until(2)]);
    expect(all.seen).toEqual([Status.NOT_SERVING, Status.SERVING]);
    expect(svc.seen).toEqual([Status.NOT_SERVING, Status.SERVING]);
    expect((await check(client, "")).status).toBe(Status.SERVING);
    expect(await curlJson(`${server.url()}/readyz`)).toEqual({
      status: 200,
      body: { status: "SERVING", models: { iris: "SERVING", generate: "SERVING" } },
    });
    const ok = await grpcUnary(
      client,
      "/iris.v1.InferenceService/PredictIris",
      PredictIrisRequestSchema,
      PredictIrisResponseSchema,
      { features },
    );
    expect(ok.result?.shape).toEqual([1n, 3n]);

    // Shutting down: NOT_SERVING is sent at once; the server then ends the watches.
    const closed = server.close();
    await Promise.all([all.until(3), svc.until(3)]);
    expect(all.seen).toEqual([Status.NOT_SERVING, Status.SERVING, Status.NOT_SERVING]);
    expect(svc.seen).toEqual([Status.NOT_SERVING, Status.SERVING, Status.NOT_SERVING]);
    expect((await all.ended).code).toBe(grpc.status.UNAVAILABLE);
    await closed;
  });

  it("answers Check on an unknown service with NOT_FOUND, and Watch with SERVICE_UNKNOWN without ending the call", async () => {
    const err = await check(client, "no.such.Service").then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.NOT_FOUND);
    expect(grpcMessage(err)).toBe('unknown service "no.such.Service"');
    const w = watch(client, "no.such.Service");
    await w.until(1);
    expect(w.seen).toEqual([Status.SERVICE_UNKNOWN]);
    // Still open: a change elsewhere sends nothing new for it, and the call ends only when the client cancels.
    control.release();
    expect((await check(client, "")).status).toBe(Status.SERVING);
    w.call.cancel();
    expect((await w.ended).code).toBe(grpc.status.CANCELLED);
    expect(w.seen).toEqual([Status.SERVICE_UNKNOWN]);
  });

  it("lists every service with List", async () => {
    control.release();
    await server.health.load();
    const res = await grpcUnary(
      client,
      "/grpc.health.v1.Health/List",
      HealthListRequestSchema,
      HealthListResponseSchema,
      {},
    );
    expect(Object.fromEntries(Object.entries(res.statuses).map(([k, v]) => [k, v.status]))).toEqual({
      "": Status.SERVING,
      [SERVICE]: Status.SERVING,
    });
  });

  it("reports a model whose loader failed: NOT_SERVING, the error in /readyz, UNAVAILABLE calls", async () => {
    control.fail(new Error("weights not found: /models/iris.onnx"));
    await server.health.load();
    expect((await check(client, SERVICE)).status).toBe(Status.NOT_SERVING);
    expect(await curlJson(`${server.url()}/readyz`)).toEqual({
      status: 503,
      body: {
        status: "NOT_SERVING",
        models: { iris: "FAILED", generate: "SERVING" },
        errors: { iris: "weights not found: /models/iris.onnx" },
      },
    });
    const features = toTensorProto({ dtype: "float32", shape: [1, 4], data: new Float32Array(4) });
    const err = await grpcUnary(
      client,
      "/iris.v1.InferenceService/PredictIris",
      PredictIrisRequestSchema,
      PredictIrisResponseSchema,
      { features },
    ).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(grpcMessage(err)).toBe('model "iris" failed to load: weights not found: /models/iris.onnx');
  });

  it("serves the same health over HTTP/1.1 and h2c, to curl", async () => {
    control.release();
    await server.health.load();
    for (const flag of ["--http1.1", "--http2-prior-knowledge"]) {
      const r = await run("curl", ["-sS", flag, "-w", "\n%{http_version} %{http_code}", `${server.url()}/readyz`]);
      const cut = r.stdout.lastIndexOf("\n");
      expect(r.stdout.slice(cut + 1)).toBe(flag === "--http1.1" ? "1.1 200" : "2 200");
      expect(JSON.parse(r.stdout.slice(0, cut))).toEqual({
        status: "SERVING",
        models: { iris: "SERVING", generate: "SERVING" },
      });
    }
  });
});
