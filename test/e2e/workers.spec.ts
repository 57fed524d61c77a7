// Models in worker threads (piscina): the event loop keeps answering while a CPU-bound
// model computes, tensors cross threads, a failing or dying worker fails only its own
// request, and batching composes with workers.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { fromTensorProto, toTensorProto, type Tensor } from "@blazerpc/tensor";
import { createApp, createServer, type BlazeServer, type ModelOptions } from "@blazerpc/runtime";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import { PredictIrisRequestSchema, PredictIrisResponseSchema } from "../../examples/iris/gen/iris/v1/iris_pb.js";
import { grpcMessage } from "./support.js";

const heavyPath = path.join(__dirname, "fixtures", "heavy-model.cjs");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const heavy = require(heavyPath) as Record<string, (f: Tensor) => Tensor>;
const IRIS = "/iris.v1.InferenceService/PredictIris";

const features = (rows: number[][]) =>
  toTensorProto({ dtype: "float32", shape: [rows.length, 4], data: new Float32Array(rows.flat()) });

function callIris(port: number, rows: number[][]): Promise<Tensor> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise<Tensor>((resolve, reject) => {
    client.makeUnaryRequest(
      IRIS,
      (m: Buffer) => m,
      (b: Buffer) => fromTensorProto(fromBinary(PredictIrisResponseSchema, b).result),
      Buffer.from(toBinary(PredictIrisRequestSchema, create(PredictIrisRequestSchema, { features: features(rows) }))),
      (err, res) => (err ? reject(err) : resolve(res!)),
    );
  }).finally(() => client.close());
}

async function serve(exportName: string, options: Omit<ModelOptions, "worker"> = {}): Promise<BlazeServer> {
  const app = createApp({ name: "iris" });
  app.model(
    "iris",
    { ...options, worker: { module: heavyPath, export: exportName, maxThreads: 1 } },
    heavy[exportName]!,
  );
  app.model("generate", async function* (): AsyncGenerator<string> {
    yield "unused";
  });
  const server = createServer({ app, services: [InferenceServiceBinding], port: 0 });
  await server.listen();
  return server;
}

describe("worker models", () => {
  it("compute in a worker thread while the event loop keeps answering /healthz", async () => {
    const server = await serve("slowSum");
    try {
      const started = Date.now();
      const result = callIris(server.address().port, [[1, 2, 3, 4]]);
      await new Promise((r) => setTimeout(r, 100)); // the worker is now busy for ~300 ms
      const t0 = Date.now();
      const health = await fetch(`${server.url()}/healthz`);
      expect(health.status).toBe(200);
      expect(Date.now() - t0).toBeLessThan(150);
      const t = await result;
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      const [sum, threadId, bufferBytes] = Array.from(t.data as Float32Array);
      expect(sum).toBe(10);
      expect(threadId).toBeGreaterThan(0); // not the main thread
      expect(bufferBytes).toBe(16); // the tensor arrived in a buffer of its own (transferred), not a view of a larger one
    } finally {
      await server.close();
    }
  });

  it("a model that throws in the worker fails that request with INTERNAL; the server keeps serving", async () => {
    const server = await serve("crash");
    try {
      const err = await callIris(server.address().port, [[1, 2, 3, 4]]).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      expect(err?.code).toBe(grpc.status.INTERNAL);
      expect(grpcMessage(err)).toBe('model "iris" failed: the model\'s weights are corrupt');
      expect((await fetch(`${server.url()}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("a worker thread that dies fails only its request, and the next request gets a new thread", async () => {
    const server = await serve("exitThread");
    try {
      const err = await callIris(server.address().port, [[1, 2, 3, 4]]).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      expect(err?.code).toBe(grpc.status.INTERNAL);
      expect(grpcMessage(err)).toMatch(/^model "iris" failed: .*exit/i);
      const again = await callIris(server.address().port, [[1, 2, 3, 4]]).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      expect(again?.code).toBe(grpc.status.INTERNAL); // a fresh thread ran (and exited) again: no hang
    } finally {
      await server.close();
    }
  });

  it("batching composes with workers: one worker call per batch", async () => {
    const server = await serve("slowSum", { batch: { maxBatchSize: 8, maxDelayMs: 50 } });
    try {
      const port = server.address().port;
      const results = await Promise.all([1, 2, 3].map((v) => callIris(port, [[v, 0, 0, 0]])));
      expect(results.map((t) => (t.data as Float32Array)[0])).toEqual([1, 2, 3]);
      // One call of ~300 ms for all three, not three in a row.
      const threads = new Set(results.map((t) => (t.data as Float32Array)[1]));
      expect(threads.size).toBe(1);
      expect(results.map((t) => (t.data as Float32Array)[2])).toEqual([48, 48, 48]); // 3 rows × 4 floats × 4 bytes, one buffer
    } finally {
      await server.close();
    }
  });

  it("worker: true needs the function exported by a loaded CommonJS module, and says so", () => {
    const app = createApp({ name: "iris" });
    app.model("iris", { worker: true }, (f: Tensor) => f);
    app.model("generate", async function* (): AsyncGenerator<string> {
      yield "x";
    });
    expect(() => createServer({ app, services: [InferenceServiceBinding], port: 0 })).toThrow(
      'model "iris" has worker: true, but its function is not exported by any loaded CommonJS module',
    );
  });

  it("worker: true finds the function's module by itself in a plain node process", async () => {
    const child = spawn(process.execPath, [path.join(__dirname, "fixtures", "worker-server.cjs")], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /port=(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once("exit", (code) => reject(new Error(`worker-server exited with ${code}`)));
      });
      const t = await callIris(port, [[1, 1, 1, 1]]);
      expect((t.data as Float32Array)[0]).toBe(4);
      expect((t.data as Float32Array)[1]).toBeGreaterThan(0);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
