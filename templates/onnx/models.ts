import * as fs from "node:fs";
import * as path from "node:path";
import { createApp, type Tensor } from "@blazerpc/runtime";
import { loadOnnxModel, type OnnxModel } from "@blazerpc/onnx";

/** The app: its name is the schema's package (`demo.v1`) and the generated files' (gen/demo/v1/). */
export const app = createApp({ name: "demo" });

/** models/classifier.onnx, found from the sources (models.ts) and from the build (dist/models.js) alike. */
export const MODEL_PATH = path.join(projectRoot(__dirname), "models", "classifier.onnx");

function projectRoot(from: string): string {
  for (let d = from; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, "package.json"))) return d;
    if (path.dirname(d) === d) return from;
  }
}

let session: OnnxModel | undefined;

/**
 * Classify a row of 4 features into 3 classes; returns the logits. The model is a small
 * MLP (4 → 16 → 3) in models/classifier.onnx: put your own .onnx file there and change
 * the tensor types to its input's and output's.
 */
app.model(
  "classify",
  // Concurrent requests are stacked along the first ("batch") dim: one onnxruntime run each batch.
  { batch: { maxBatchSize: 32, maxDelayMs: 2 } },
  async (features: Tensor<"float32", ["batch", 4]>): Promise<Tensor<"float32", ["batch", 3]>> => {
    const out = await session!.run({ features });
    return out.logits as Tensor<"float32", ["batch", 3]>;
  },
);

// Loaded once, when the server starts listening: until then the model is NOT_SERVING
// (gRPC health, GET /readyz) and its calls are answered UNAVAILABLE.
app.loader("classify", async () => {
  session = await loadOnnxModel(MODEL_PATH, { intraOpNumThreads: 1 });
});
