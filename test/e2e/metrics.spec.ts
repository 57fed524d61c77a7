// GET /metrics through a real server, parsed by a Prometheus text-format parser: request
// counts by model, method, protocol and code (calls that fail before their message is
// parsed included), latency histograms, and the execution engine's queue time, compute
// time, batch sizes, queue depth and rejections.
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { toTensorProto, type Tensor } from "@blazerpc/tensor";
import { createApp, createServer, type BlazeServer } from "@blazerpc/runtime";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import {
  InferenceService,
  PredictIrisRequestSchema,
  PredictIrisResponseSchema,
} from "../../examples/iris/gen/iris/v1/iris_pb.js";
import { histogram, parsePrometheusText } from "./prometheus-text.js";
import { grpcUnary, run } from "./support.js";

const IRIS = "/iris.v1.InferenceService/PredictIris";
const features = (rows: number) =>
  toTensorProto({ dtype: "float32", shape: [rows, 4], data: new Float32Array(rows * 4) });

/** Scrapes /metrics with curl and parses it strictly; checks the content type Prometheus expects. */
async function scrape(server: BlazeServer) {
  const r = await run("curl", ["-sS", "-D", "-", `${server.url()}/metrics`]);
  const [head, body] = r.stdout.split("\r\n\r\n", 2) as [string, string];
  expect(head).toMatch(/^content-type: text\/plain; version=0\.0\.4; charset=utf-8\r?$/im);
  const families = parsePrometheusText(body);
  const family = (name: string) => {
    const f = families.get(name);
    if (f === undefined) throw new Error(`no metric ${name} in:\n${body}`);
    return f;
  };
  const matching = (name: string, labels: Record<string, string>) =>
    family(name).samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  /** The value of the one series of `name` whose labels include `labels`. */
  const value = (name: string, labels: Record<string, string>) => {
    const found = matching(name, labels);
    if (found.length !== 1) throw new Error(`${found.length} series of ${name} match ${JSON.stringify(labels)}`);
    return found[0]!.value;
  };
  const hist = (name: string, labels: Record<string, string>) => {
    const h = histogram(family(name), labels);
    if (h === undefined) throw new Error(`no series of ${name} matches ${JSON.stringify(labels)}`);
    return h;
  };
  return { family, value, hist };
}

describe("GET /metrics", () => {
  let server: BlazeServer;
  let client: grpc.Client;

  beforeAll(async () => {
    const app = createApp({ name: "iris" });
    app.model(
      "iris",
      { batch: { maxBatchSize: 8, maxDelayMs: 150 } },
      async (f: Tensor<"float32", ["batch", 4]>): Promise<Tensor<"float32", ["batch", 3]>> => {
        const rows = f.shape[0]!;
        return { dtype: "float32", shape: [rows, 3], data: new Float32Array(rows * 3) };
      },
    );
    app.model("generate", async function* (prompt: string, maxTokens: number): AsyncGenerator<string> {
      for (let i = 0; i < maxTokens; i++) yield prompt;
    });
    server = createServer({ app, services: [InferenceServiceBinding], port: 0 });
    await server.listen();
    client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it("counts requests by model, method, protocol and code, and exports the execution engine's metrics", async () => {
    // 3 gRPC calls of 2, 3 and 3 rows: one batch of 8 rows (the queue waits up to 150 ms to fill it).
    await Promise.all(
      [2, 3, 3].map((rows) =>
        grpcUnary(client, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, { features: features(rows) }),
      ),
    );
    // Connect over HTTP/1.1: one good call, one with a wrong shape.
    const connect = createClient(
      InferenceService,
      createConnectTransport({ baseUrl: server.url(), httpVersion: "1.1" }),
    );
    await connect.predictIris({ features: features(1) });
    await expect(
      connect.predictIris({ features: toTensorProto({ dtype: "float32", shape: [1, 5], data: new Float32Array(5) }) }),
    ).rejects.toThrow(/dim 1 is 5/);
    // gRPC-Web: a stream of 4 messages.
    const web = createClient(InferenceService, createGrpcWebTransport({ baseUrl: server.url(), httpVersion: "1.1" }));
    let words = 0;
    for await (const _ of web.predictGenerate({ prompt: "w", maxTokens: 4 })) words++;
    expect(words).toBe(4);
    // A body that is no protobuf message: it fails before any interceptor could see it, and counts.
    const garbage = await grpcUnary(client, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, {}, () =>
      Buffer.from([0x0a, 0xff, 0xff]),
    ).catch((e: grpc.ServiceError) => e);
    expect((garbage as grpc.ServiceError).code).toBe(grpc.status.INTERNAL);
    // A deadline that passes while the request waits in the queue: a rejection.
    const body = Buffer.from(
      toBinary(PredictIrisRequestSchema, create(PredictIrisRequestSchema, { features: features(1) })),
    );
    const expired = await new Promise<grpc.ServiceError | undefined>((resolve) =>
      client.makeUnaryRequest(
        IRIS,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        { deadline: Date.now() + 30 },
        (err) => resolve(err ?? undefined),
      ),
    );
    expect(expired?.code).toBe(grpc.status.DEADLINE_EXCEEDED);

    // A client gives up at its deadline; the server ends that call a moment later. Scrape
    // until nothing is in flight (bounded), as Prometheus would see it on its next scrape.
    let m = await scrape(server);
    for (let i = 0; i < 100 && m.family("blazerpc_requests_in_flight").samples.some((x) => x.value > 0); i++) {
      await new Promise((r) => setTimeout(r, 20));
      m = await scrape(server);
    }
    const call = { service: "iris.v1.InferenceService", method: "PredictIris", model: "iris" };
    expect(m.value("blazerpc_requests_total", { ...call, protocol: "grpc", code: "OK" })).toBe(3);
    expect(m.value("blazerpc_requests_total", { ...call, protocol: "grpc", code: "INTERNAL" })).toBe(1);
    expect(m.value("blazerpc_requests_total", { ...call, protocol: "grpc", code: "DEADLINE_EXCEEDED" })).toBe(1);
    expect(m.value("blazerpc_requests_total", { ...call, protocol: "connect", code: "OK" })).toBe(1);
    expect(m.value("blazerpc_requests_total", { ...call, protocol: "connect", code: "INVALID_ARGUMENT" })).toBe(1);
    expect(
      m.value("blazerpc_requests_total", {
        service: "iris.v1.InferenceService",
        method: "PredictGenerate",
        model: "generate",
        protocol: "grpc-web",
        code: "OK",
      }),
    ).toBe(1);
    expect(m.family("blazerpc_requests_total").type).toBe("counter");

    const latency = m.hist("blazerpc_request_duration_seconds", { ...call, protocol: "grpc" });
    expect(m.family("blazerpc_request_duration_seconds").type).toBe("histogram");
    expect(latency.count).toBe(5);
    expect(latency.sum).toBeGreaterThan(0);
    expect(latency.buckets.get(Infinity)).toBe(5);

    // Model calls: the batch of 8 rows (2 + 3 + 3, full at once), then Connect's 1 row.
    const batch = m.hist("blazerpc_batch_size", { model: "iris" });
    expect(batch.buckets.get(8)).toBe(batch.count);
    expect(batch.buckets.get(4)).toBe(batch.count - 1); // one batch only had more than 4 rows
    expect(batch.sum).toBe(8 + (batch.count - 1));
    expect(batch.count).toBe(2); // 8 rows, then Connect's 1 row; the wrong shape and the garbage never queued
    expect(m.hist("blazerpc_compute_seconds", { model: "iris", outcome: "ok" }).count).toBe(2);
    // Queued: 3 + 1 that were computed, and the one whose deadline passed in the queue.
    expect(m.hist("blazerpc_queue_wait_seconds", { model: "iris" }).count).toBe(4);
    expect(m.value("blazerpc_queue_depth", { model: "iris" })).toBe(0);
    expect(m.value("blazerpc_rejections_total", { model: "iris", reason: "deadline" })).toBe(1);
    expect(m.value("blazerpc_rejections_total", { model: "iris", reason: "queue_full" })).toBe(0);
    expect(m.value("blazerpc_model_ready", { model: "iris" })).toBe(1);
    expect(m.value("blazerpc_requests_in_flight", { ...call, protocol: "grpc" })).toBe(0);
    // prom-client's process metrics come along.
    expect(m.family("process_cpu_user_seconds_total").type).toBe("counter");
  });

  it("has a registry per server, and none with prometheus: false", async () => {
    const app = createApp({ name: "iris" });
    app.model("iris", async (f: Tensor<"float32", ["batch", 4]>) => f);
    app.model("generate", async function* () {});
    const other = createServer({ app, services: [InferenceServiceBinding], port: 0, prometheus: false });
    await other.listen();
    try {
      expect(other.registry).toBeUndefined();
      expect(server.registry).toBeDefined();
      const r = await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", `${other.url()}/metrics`]);
      expect(r.stdout).toBe("404");
    } finally {
      await other.close();
    }
  });
});
