/** @jest-environment ./packages/onnx/jest-environment.cjs */
// The embedding example: openWakeWord's real speech-embedding ONNX model, served on one
// port through @blazerpc/onnx and called with @grpc/grpc-js. Each answer must match the
// same file run with onnxruntime-node directly.
import type { MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { fromTensorProto, toTensorProto, type Tensor } from "@blazerpc/tensor";
import { createServer, type BlazeServer } from "@blazerpc/runtime";
import { app, getEmbeddingModel } from "../../examples/embedding/models.js";
import { InferenceServiceBinding } from "../../examples/embedding/gen/embedding/v1/embedding_blaze.js";
import {
  PredictEmbedRequestSchema,
  PredictEmbedResponseSchema,
} from "../../examples/embedding/gen/embedding/v1/embedding_pb.js";
import { releaseDirect, runDirectly } from "../../examples/embedding/test/run-directly.js";
import { grpcMessage, grpcUnary } from "./support.js";

const EMBED = "/embedding.v1.InferenceService/PredictEmbed";
const ROW = 76 * 32;

/** Deterministic features in the range openWakeWord's mel-spectrogram model produces. */
function features(rows: number, seed: number): Tensor<"float32", ["batch", 76, 32, 1]> {
  const data = Float32Array.from(
    { length: rows * ROW },
    (_, i) => 1 + 1.5 * Math.sin((i + 1) * 0.0137 * seed) * Math.cos(i * 0.31),
  );
  return { dtype: "float32", shape: [rows, 76, 32, 1], data };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

let server: BlazeServer;
let client: grpc.Client;

beforeAll(async () => {
  server = createServer({ app, services: [InferenceServiceBinding], host: "127.0.0.1", port: 0 });
  await server.listen();
  client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await server?.close();
  await (await getEmbeddingModel()).release();
  await releaseDirect();
});

const call = (t: Tensor) =>
  grpcUnary(client, EMBED, PredictEmbedRequestSchema, PredictEmbedResponseSchema, { audio: toTensorProto(t) });

it("the signature read from the ONNX file is the one models.ts declares", async () => {
  const model = await getEmbeddingModel();
  expect(model.inputs).toEqual([
    { name: "input_1", dtype: "float32", shape: ["batch", 76, 32, 1], onnxShape: [expect.any(String), 76, 32, 1] },
  ]);
  expect(model.outputs).toEqual([
    { name: "conv2d_19", dtype: "float32", shape: ["batch", 1, 1, 96], onnxShape: [expect.any(String), 1, 1, 96] },
  ]);
});

it.each([1, 3])("embeds a batch of %i over gRPC, as onnxruntime does directly", async (rows) => {
  const input = features(rows, rows);
  const res = await call(input);
  const got = fromTensorProto(res.result, { dtype: "float32", shape: ["batch", 1, 1, 96] }, "result");
  const want = await runDirectly(input.data, rows);
  expect(got.shape).toEqual([rows, 1, 1, 96]);
  expect(want.dims).toEqual([rows, 1, 1, 96]);
  expect(maxAbsDiff(got.data as Float32Array, want.data)).toBeLessThan(1e-4);
  // Rows are embedded independently: not one row copied to all.
  if (rows > 1) expect(maxAbsDiff(want.data.subarray(0, 96), want.data.subarray(96, 192))).toBeGreaterThan(1e-3);
});

it("answers concurrent callers each with their own rows", async () => {
  const inputs = [features(1, 11), features(3, 12), features(2, 13)];
  const results = await Promise.all(inputs.map(call));
  for (const [i, res] of results.entries()) {
    const rows = inputs[i]!.shape[0]!;
    const got = fromTensorProto(res.result, { dtype: "float32", shape: ["batch", 1, 1, 96] }, "result");
    expect(got.shape).toEqual([rows, 1, 1, 96]);
    expect(maxAbsDiff(got.data as Float32Array, (await runDirectly(inputs[i]!.data, rows)).data)).toBeLessThan(1e-4);
  }
});

describe("bad input → INVALID_ARGUMENT naming the field; the server keeps serving", () => {
  afterEach(async () => {
    const res = await call(features(1, 1));
    expect(fromTensorProto(res.result).shape).toEqual([1, 1, 1, 96]);
  });

  const expectInvalid = async (req: MessageInitShape<typeof PredictEmbedRequestSchema>, message: string) => {
    const err = await grpcUnary(client, EMBED, PredictEmbedRequestSchema, PredictEmbedResponseSchema, req).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(grpcMessage(err)).toBe(message);
  };

  it("a wrong dim", async () => {
    const bad = toTensorProto({ dtype: "float32", shape: [1, 75, 32, 1], data: new Float32Array(75 * 32) });
    await expectInvalid(
      { audio: bad },
      "audio: dim 1 is 75, expected 76 (shape [1, 75, 32, 1], expected [batch, 76, 32, 1])",
    );
  });

  it("a wrong rank, a wrong dtype", async () => {
    await expectInvalid(
      { audio: toTensorProto({ dtype: "float32", shape: [1, 76, 32], data: new Float32Array(ROW) }) },
      "audio: rank is 3 (shape [1, 76, 32]), expected 4 (shape [batch, 76, 32, 1])",
    );
    await expectInvalid(
      { audio: toTensorProto({ dtype: "float64", shape: [1, 76, 32, 1], data: new Float64Array(ROW) }) },
      "audio: dtype is float64, expected float32",
    );
  });
});
