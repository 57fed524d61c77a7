// The reference for the example's tests: the same ONNX file run with onnxruntime-node
// directly (its own session, its own tensors), without @blazerpc/onnx or the server.
import * as ort from "onnxruntime-node";
import { EMBEDDING_MODEL_PATH } from "../models.js";

let session: Promise<ort.InferenceSession> | undefined;

/** Runs `rows` × [76, 32, 1] float32 features through a plain InferenceSession. */
export async function runDirectly(
  features: Float32Array,
  rows: number,
): Promise<{ dims: readonly number[]; data: Float32Array }> {
  session ??= ort.InferenceSession.create(EMBEDDING_MODEL_PATH, { intraOpNumThreads: 1 });
  const s = await session;
  const out = await s.run({ input_1: new ort.Tensor("float32", features, [rows, 76, 32, 1]) });
  const t = out.conv2d_19!;
  return { dims: t.dims, data: t.data as Float32Array };
}

/** Frees the session. */
export async function releaseDirect(): Promise<void> {
  const s = await session;
  session = undefined;
  await s?.release();
}
