import { createApp, type BatchOptions, type Tensor } from "@blazerpc/runtime";
import { loadOnnxModel, type OnnxModel } from "@blazerpc/onnx";
import { buildMlp, type MlpFixture } from "@blazerpc/onnx/testing";

/** The app: its name is the schema's package (`mlp.v1`). */
export const app = createApp({ name: "mlp" });

/**
 * The batch options, from the environment, so that one build serves every configuration
 * the engine benchmark (bench/engine.cjs) compares:
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `MLP_BATCH` | `on` | `off`: no `batch` option at all (one model call per request) |
 * | `MLP_MAX_BATCH` | `32` | `maxBatchSize` |
 * | `MLP_MAX_DELAY_MS` | `2` | `maxDelayMs` |
 * | `MLP_QUEUE_CAPACITY` | unbounded | `queueCapacity` |
 * | `MLP_ADAPTIVE_WAIT` | `on` | `off`: `adaptiveWait: false` (always wait out `maxDelayMs`) |
 * | `MLP_STALE_QUEUE_MS` | `100` | `staleQueueMs` (adaptive LIFO); `Infinity`: always oldest first |
 *
 * @example
 * batchOptionsFromEnv({ MLP_MAX_DELAY_MS: "0" }) // { maxBatchSize: 32, maxDelayMs: 0 }
 * batchOptionsFromEnv({ MLP_BATCH: "off" })      // undefined
 */
export function batchOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): BatchOptions | undefined {
  const mode = (env.MLP_BATCH ?? "on").toLowerCase();
  if (mode === "off" || mode === "0" || mode === "false") return undefined;
  if (mode !== "on" && mode !== "1" && mode !== "true") {
    throw new Error(`MLP_BATCH must be "on" or "off", got ${JSON.stringify(env.MLP_BATCH)}`);
  }
  const num = (name: string, fallback: number | undefined): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got ${JSON.stringify(raw)}`);
    return n;
  };
  const queueCapacity = num("MLP_QUEUE_CAPACITY", undefined);
  const stale = env.MLP_STALE_QUEUE_MS;
  const staleQueueMs = stale === "Infinity" ? Infinity : num("MLP_STALE_QUEUE_MS", undefined);
  const adaptive = (env.MLP_ADAPTIVE_WAIT ?? "on").toLowerCase();
  if (!["on", "off", "1", "0", "true", "false"].includes(adaptive)) {
    throw new Error(`MLP_ADAPTIVE_WAIT must be "on" or "off", got ${JSON.stringify(env.MLP_ADAPTIVE_WAIT)}`);
  }
  return {
    maxBatchSize: num("MLP_MAX_BATCH", 32)!,
    maxDelayMs: num("MLP_MAX_DELAY_MS", 2)!,
    ...(queueCapacity !== undefined ? { queueCapacity } : {}),
    ...(adaptive === "off" || adaptive === "0" || adaptive === "false" ? { adaptiveWait: false } : {}),
    ...(staleQueueMs !== undefined ? { staleQueueMs } : {}),
  };
}

let fixture: MlpFixture | undefined;

/** The MLP (512→2048→1024→512, 15 MB of float32 weights, seed 42), built once by our own code. */
export function getMlpFixture(): MlpFixture {
  return (fixture ??= buildMlp());
}

let session: Promise<OnnxModel> | undefined;

/**
 * The onnxruntime session, loaded once from the fixture's bytes (server.ts loads it before
 * listening). One intra-op thread: under load the batcher, not onnxruntime's thread pool,
 * is what turns many requests into few runs.
 */
export function getMlpModel(): Promise<OnnxModel> {
  session ??= loadOnnxModel(getMlpFixture().bytes, { intraOpNumThreads: 1 }).catch((err: unknown) => {
    session = undefined; // a later call tries again
    throw err;
  });
  return session;
}

/** A 3-layer MLP with ReLU: 512 features in, 512 out, per row. */
app.model(
  "mlp",
  { batch: batchOptionsFromEnv() },
  async (input: Tensor<"float32", ["batch", 512]>): Promise<Tensor<"float32", ["batch", 512]>> => {
    const model = await getMlpModel();
    const out = await model.run({ input });
    return out.output as Tensor<"float32", ["batch", 512]>;
  },
);
