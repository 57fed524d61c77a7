import { createApp, type Tensor } from "@blazerpc/runtime";

/** The app: its name is the schema's package (`demo.v1`) and the generated files' (gen/demo/v1/). */
export const app = createApp({ name: "demo" });

// A fixed linear layer, 4 features → 3 classes (setosa, versicolor, virginica), fitted
// offline on the iris data set; rows are classes. Replace it with your model.
const WEIGHTS = [
  [0.42, 1.37, -2.21, -0.97],
  [0.53, -0.32, -0.2, -0.94],
  [-1.07, -1.05, 2.41, 1.91],
];
const BIAS = [0.26, 1.08, -1.34];

/**
 * Classify iris flowers; returns class probabilities.
 * Each row of features is (sepal length, sepal width, petal length, petal width) in cm.
 */
app.model(
  "classify",
  // Requests that arrive while the model computes are stacked into one call of up to 32 rows.
  { batch: { maxBatchSize: 32, maxDelayMs: 2 } },
  async (features: Tensor<"float32", ["batch", 4]>): Promise<Tensor<"float32", ["batch", 3]>> => {
    const rows = features.shape[0]!;
    const out = new Float32Array(rows * 3);
    for (let r = 0; r < rows; r++) {
      const logits = WEIGHTS.map((w, c) => BIAS[c]! + w.reduce((s, wi, i) => s + wi * features.data[r * 4 + i]!, 0));
      const max = Math.max(...logits);
      const exps = logits.map((l) => Math.exp(l - max));
      const sum = exps.reduce((a, b) => a + b, 0);
      exps.forEach((e, c) => (out[r * 3 + c] = e / sum));
    }
    return { dtype: "float32", shape: [rows, 3], data: out };
  },
);

const WORDS = ["the", "iris", "is", "a", "flower", "with", "three", "petals", "and", "sepals"];
const MAX_TOKENS = 1000;

/** Generate text from a prompt, one word per message (a server stream). */
app.model(
  "generate",
  {
    streaming: true,
    // Checked before the generator starts; a throw refuses the call with INVALID_ARGUMENT.
    validate: (_prompt: string, maxTokens: number) => {
      if (!Number.isInteger(maxTokens) || maxTokens < 0 || maxTokens > MAX_TOKENS) {
        throw new Error(`maxTokens must be an integer from 0 to ${MAX_TOKENS}, got ${maxTokens}`);
      }
    },
  },
  async function* (prompt: string, maxTokens: number): AsyncGenerator<string> {
    let seed = [...prompt].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7);
    for (let i = 0; i < maxTokens; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      yield WORDS[seed % WORDS.length]!;
    }
  },
);
