/** @jest-environment ./packages/onnx/jest-environment.cjs */
// The MLP example (the engine benchmark's model): the 15 MB ONNX MLP built by
// @blazerpc/onnx/testing, served with batching on one port and called with @grpc/grpc-js.
// Each answer must match the plain TypeScript computation of the same MLP.
import * as grpc from "@grpc/grpc-js";
import { fromTensorProto, toTensorProto, type Tensor } from "@blazerpc/tensor";
import { createServer, type BlazeServer } from "@blazerpc/runtime";
import { app, batchOptionsFromEnv, getMlpFixture, getMlpModel } from "../../examples/mlp/models.js";
import { InferenceServiceBinding } from "../../examples/mlp/gen/mlp/v1/mlp_blaze.js";
import { PredictMlpRequestSchema, PredictMlpResponseSchema } from "../../examples/mlp/gen/mlp/v1/mlp_pb.js";
import { runMlpReference, seededFloat32 } from "../../packages/onnx/src/testing/index.js";
import { grpcUnary } from "./support.js";

const MLP = "/mlp.v1.InferenceService/PredictMlp";

let server: BlazeServer;
let client: grpc.Client;
const batchSizes: number[] = [];

beforeAll(async () => {
  await getMlpModel();
  server = createServer({
    app,
    services: [InferenceServiceBinding],
    host: "127.0.0.1",
    port: 0,
    metrics: { computed: (_model, size) => batchSizes.push(size) },
  });
  await server.listen();
  client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await server?.close();
  await (await getMlpModel()).release();
});

function maxAbsDiff(a: Float32Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

it("is registered with the batch options of the environment (default: on, 32 rows)", () => {
  expect(batchOptionsFromEnv({})).toEqual({ maxBatchSize: 32, maxDelayMs: 2 });
  expect(app.getModelOrThrow("mlp").options.batch).toEqual(batchOptionsFromEnv());
  expect(batchOptionsFromEnv({ MLP_BATCH: "off" })).toBeUndefined();
  expect(batchOptionsFromEnv({ MLP_MAX_BATCH: "8", MLP_MAX_DELAY_MS: "0", MLP_QUEUE_CAPACITY: "100" })).toEqual({
    maxBatchSize: 8,
    maxDelayMs: 0,
    queueCapacity: 100,
  });
  expect(() => batchOptionsFromEnv({ MLP_BATCH: "maybe" })).toThrow('MLP_BATCH must be "on" or "off", got "maybe"');
  expect(batchOptionsFromEnv({ MLP_ADAPTIVE_WAIT: "off" })).toEqual({
    maxBatchSize: 32,
    maxDelayMs: 2,
    adaptiveWait: false,
  });
  expect(() => batchOptionsFromEnv({ MLP_ADAPTIVE_WAIT: "x" })).toThrow(
    'MLP_ADAPTIVE_WAIT must be "on" or "off", got "x"',
  );
});

it.each([1, 5])("computes a batch of %i rows over gRPC as the plain TypeScript MLP does", async (rows) => {
  const x = seededFloat32(rows * 512, 100 + rows);
  const input: Tensor<"float32", ["batch", 512]> = { dtype: "float32", shape: [rows, 512], data: x };
  const before = batchSizes.length;
  const res = await grpcUnary(client, MLP, PredictMlpRequestSchema, PredictMlpResponseSchema, {
    input: toTensorProto(input),
  });
  const got = fromTensorProto(res.result, { dtype: "float32", shape: ["batch", 512] }, "result");
  expect(got.shape).toEqual([rows, 512]);
  const want = runMlpReference(getMlpFixture(), x, rows);
  // float32 accumulation in onnxruntime vs float64 in the reference (~4e-7 at |y| ≤ 1).
  expect(maxAbsDiff(got.data as Float32Array, want)).toBeLessThan(1e-5);
  expect(want.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBeGreaterThan(0.5);
  // One model call, on exactly this request's rows.
  expect(batchSizes.slice(before)).toEqual([rows]);
});
