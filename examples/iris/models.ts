import { createApp, type Tensor } from "@blazerpc/runtime";

/** The app: its name is the schema's package (`iris.v1`). */
export const app = createApp({ name: "iris" });

// A fixed linear layer, 4 features → 3 classes (setosa, versicolor, virginica), fitted
// offline on the iris data set; rows are classes.
const WEIGHTS = [
  [0.42, 1.37, -2.21, -0.97],
  [0.53, -0.32, -0.2, -0.94],
  [-1.07, -1.05, 2.41, 1.91],
];
const BIAS = [0.26, 1.08, -1.34];

// maxDelayMs 0: never wait; batches form from requests that arrive while the model computes.
// A request may hold up to maxBatchSize (32) rows (batch.maxRowsPerRequest's default); one
// with more is refused with INVALID_ARGUMENT before it is queued.
/**
 * Classify iris flowers; returns class probabilities.
 * Each row of features is (sepal length, sepal width, petal length, petal width) in cm.
 */
app.model(
  "iris",
  { batch: { maxBatchSize: 32, maxDelayMs: 0 } },
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

/** The most words one request may ask for. */
const MAX_TOKENS = 1000;
/** The longest prompt, in characters (UTF-16 code units): the model reads every one. */
const MAX_PROMPT = 10_000;

/** Generate text from a prompt, one word per message. */
app.model(
  "generate",
  {
    streaming: true,
    // Bounds what a request may ask, before the generator starts: without it, maxTokens
    // Infinity (or 1e9) would stream for ever. A throw refuses the request with
    // INVALID_ARGUMENT `model "generate": <message>`.
    validate: (prompt: string, maxTokens: number) => {
      if (!Number.isInteger(maxTokens) || maxTokens < 0 || maxTokens > MAX_TOKENS) {
        throw new Error(`maxTokens must be an integer from 0 to ${MAX_TOKENS}, got ${maxTokens}`);
      }
      if (prompt.length > MAX_PROMPT)
        throw new Error(`prompt may hold at most ${MAX_PROMPT} characters, got ${prompt.length}`);
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
