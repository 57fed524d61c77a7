/**
 * Adaptive batching of a unary model (see docs/batching.md).
 *
 * @example
 * app.model("iris", { batch: { maxBatchSize: 32, maxDelayMs: 5, queueCapacity: 1024 } }, classify);
 */
export interface BatchOptions {
  /** Most rows (tensor batching) or requests (list batching) in one call of the model. An integer ≥ 1. */
  maxBatchSize: number;
  /** Longest time, in ms, the oldest queued request waits for a batch to fill. ≥ 0. */
  maxDelayMs: number;
  /**
   * Most rows one request may hold (tensor batching: its tensors' leading dim). A request
   * with more is refused with INVALID_ARGUMENT before it is queued, so one huge request
   * cannot hold the model (and, for a model on the event loop, the whole server) for
   * seconds. A request with more rows than `maxBatchSize` (allowed when this is larger)
   * runs as a batch of its own. An integer ≥ 1, or `Infinity` for no bound.
   * Default: `maxBatchSize`. List batching takes one item per request and ignores it.
   */
  maxRowsPerRequest?: number;
  /** Batch sizes (each 1..maxBatchSize) to dispatch at as soon as that many rows are queued. */
  preferredBatchSizes?: number[];
  /** Most requests queued; beyond it requests get RESOURCE_EXHAUSTED at once. Default: unbounded. */
  queueCapacity?: number;
  /**
   * Stop waiting out `maxDelayMs` while waiting does not pay. After 3 waits in a row that
   * gathered no other request (a lone client, light traffic), a request that finds the
   * model idle and the queue empty is computed at once; one such request in 16 still waits,
   * to notice when traffic picks up, and any wait that gathers company restores waiting.
   * Default true; false always waits.
   */
  adaptiveWait?: boolean;
}

import type { WorkerOptions } from "./worker/worker-pool.js";

/**
 * Options of `app.model(name, options, fn)`. `Args` are the model function's parameters,
 * which `validate` receives.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface ModelOptions<Args extends readonly unknown[] = any[]> {
  /** The model's version; carried into the schema. */
  version?: string;
  /** Declares a streaming model; must agree with the function (an async generator). */
  streaming?: boolean;
  /**
   * Declares the model free of side effects: code generation marks its method
   * `idempotency_level = NO_SIDE_EFFECTS`, so Connect clients may call it with HTTP GET.
   * (The JSDoc tag `@pure` on the registration does the same.)
   */
  pure?: boolean;
  /** Adaptive batching (see {@link BatchOptions}). */
  batch?: BatchOptions;
  /**
   * Run the function in a pool of worker threads (for synchronous, CPU-bound models), so
   * the event loop keeps answering other requests. The function must be exported from its
   * own CommonJS module, which each thread loads. `true` uses the default pool options.
   */
  worker?: boolean | WorkerOptions;
  /**
   * Bounds what a request may ask. Called with the request's decoded arguments before the
   * model is (for a batched model: before the request is queued; for a stream: before the
   * generator starts); whatever it throws refuses the request with INVALID_ARGUMENT
   * `model "<name>": <message>` (a thrown `ConnectError` keeps its own code and message).
   * Synchronous: it must return nothing, not a promise. For a batched tensor model it sees
   * one request's tensors (`batch.maxRowsPerRequest` has already bounded their rows).
   *
   * @example
   * app.model("generate", {
   *   validate: (_prompt: string, maxTokens: number) => {
   *     if (!Number.isInteger(maxTokens) || maxTokens < 0 || maxTokens > 1000) {
   *       throw new Error(`maxTokens must be an integer from 0 to 1000, got ${maxTokens}`);
   *     }
   *   },
   * }, async function* (prompt: string, maxTokens: number) { … });
   */
  validate?: (...args: Args) => void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ModelFunction = (...args: any[]) => unknown;

/** A registered model. */
export interface ModelRecord {
  readonly name: string;
  readonly options: Readonly<ModelOptions>;
  readonly fn: ModelFunction;
  /** True when the function is an async generator (answered as a server stream). */
  readonly streaming: boolean;
  /** What loads the model before it can serve (see {@link App.loader}); undefined: ready at once. */
  readonly load?: ModelLoader;
}

/**
 * Loads what a model needs before it can serve (weights, an inference session, a cache).
 * The server calls it once, when it starts listening; the model is reported NOT_SERVING
 * (health, `/readyz`) and its calls are answered UNAVAILABLE until it resolves. A loader
 * that rejects leaves the model FAILED with the error's message.
 */
export type ModelLoader = () => unknown;

/** Options of {@link createApp}. */
export interface AppOptions<N extends string> {
  /** The app's name; the schema's package is `<name>.v1`. A string literal, so codegen can read it. */
  name: N;
}

/**
 * A BlazeRPC app: a named set of models. Code generation reads the `app.model(...)` calls
 * from the source; the server binds the generated service to the registered functions.
 */
export interface App<N extends string = string> {
  readonly name: N;
  /**
   * Registers a model. Returns the function, unchanged.
   *
   * @example
   * app.model("echo", async (text: string): Promise<string> => text);
   */
  model<F extends ModelFunction>(name: string, fn: F): F;
  model<F extends ModelFunction>(name: string, options: ModelOptions<Parameters<F>>, fn: F): F;
  /**
   * Declares how a registered model is loaded: the server runs `load` when it starts
   * listening and reports the model ready (gRPC health, `GET /readyz`) once it resolves.
   * Models without a loader are ready at once. Returns the app.
   *
   * @example
   * app.model("embed", { batch: { maxBatchSize: 32, maxDelayMs: 5 } }, embed);
   * app.loader("embed", () => getEmbeddingModel()); // e.g. an onnxruntime session
   */
  loader(name: string, load: ModelLoader): App<N>;
  /** The registered model of that name, or undefined. */
  getModel(name: string): ModelRecord | undefined;
  /** The registered model of that name; throws when there is none. */
  getModelOrThrow(name: string): ModelRecord;
  /** Every registered model, in registration order. */
  readonly models: readonly ModelRecord[];
}

/**
 * Creates an app to register models on.
 *
 * @example
 * export const app = createApp({ name: "iris" });
 * app.model("iris", async (features: Tensor<"float32", ["batch", 4]>) => classify(features));
 */
export function createApp<const N extends string>(options: AppOptions<N>): App<N> {
  const { name } = options;
  if (typeof name !== "string" || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) {
    throw new Error(`createApp: name ${JSON.stringify(name)} is not usable as a proto package — use letters, digits, "-" and "_", starting with a letter`);
  }
  const records = new Map<string, ModelRecord>();
  const app: App<N> = {
    name,
    model(modelName: string, optionsOrFn: ModelOptions | ModelFunction, maybeFn?: ModelFunction) {
      const fn = typeof optionsOrFn === "function" ? optionsOrFn : maybeFn;
      const opts = typeof optionsOrFn === "function" ? {} : optionsOrFn ?? {};
      if (typeof fn !== "function") {
        throw new Error(`app.model("${modelName}"): the last argument must be the model function`);
      }
      if (records.has(modelName)) {
        throw new Error(`app.model("${modelName}"): a model of that name is already registered on app "${name}"`);
      }
      const isGenerator = fn.constructor?.name === "AsyncGeneratorFunction";
      if (opts.worker !== undefined && opts.worker !== false && (isGenerator || opts.streaming === true)) {
        throw new Error(`app.model("${modelName}"): worker models return a value; a streaming model runs on the event loop`);
      }
      if (opts.batch !== undefined) {
        if (isGenerator || opts.streaming === true) {
          throw new Error(`app.model("${modelName}"): batch is for unary models; a streaming model runs once per request`);
        }
        checkBatchOptions(modelName, opts.batch);
      }
      if (opts.validate !== undefined) {
        if (typeof opts.validate !== "function") {
          throw new Error(`app.model("${modelName}"): validate must be a function of the model's arguments that throws to refuse a request, got ${typeof opts.validate}`);
        }
        const kind = (opts.validate as { constructor?: { name?: string } }).constructor?.name;
        if (kind === "AsyncFunction" || kind === "AsyncGeneratorFunction" || kind === "GeneratorFunction") {
          throw new Error(`app.model("${modelName}"): validate must be a plain synchronous function (it runs before the request is queued; a promise it returned would be ignored)`);
        }
      }
      if (opts.streaming === true && !isGenerator) {
        throw new Error(`app.model("${modelName}"): streaming: true needs an async generator function (async function*)`);
      }
      records.set(modelName, { name: modelName, options: { ...opts }, fn, streaming: opts.streaming ?? isGenerator });
      return fn as never;
    },
    loader(modelName, load) {
      const record = app.getModelOrThrow(modelName);
      if (typeof load !== "function") throw new Error(`app.loader("${modelName}"): the loader must be a function`);
      if (record.load !== undefined) throw new Error(`app.loader("${modelName}"): the model already has a loader`);
      records.set(modelName, { ...record, load });
      return app;
    },
    getModel: (modelName) => records.get(modelName),
    getModelOrThrow(modelName) {
      const record = records.get(modelName);
      if (record === undefined) {
        throw new Error(`app "${name}" has no model "${modelName}" (registered: ${[...records.keys()].join(", ") || "none"})`);
      }
      return record;
    },
    get models() {
      return [...records.values()];
    },
  };
  return app;
}

function checkBatchOptions(model: string, b: BatchOptions): void {
  const bad = (what: string) => new Error(`app.model("${model}"): batch.${what}`);
  if (!Number.isInteger(b.maxBatchSize) || b.maxBatchSize < 1) throw bad(`maxBatchSize must be an integer ≥ 1, got ${b.maxBatchSize}`);
  if (typeof b.maxDelayMs !== "number" || !(b.maxDelayMs >= 0)) throw bad(`maxDelayMs must be a number ≥ 0, got ${b.maxDelayMs}`);
  for (const size of b.preferredBatchSizes ?? []) {
    if (!Number.isInteger(size) || size < 1 || size > b.maxBatchSize) {
      throw bad(`preferredBatchSizes must hold integers from 1 to maxBatchSize (${b.maxBatchSize}), got ${size}`);
    }
  }
  if (b.maxRowsPerRequest !== undefined && b.maxRowsPerRequest !== Infinity && (!Number.isInteger(b.maxRowsPerRequest) || b.maxRowsPerRequest < 1)) {
    throw bad(`maxRowsPerRequest must be an integer ≥ 1 (or Infinity), got ${b.maxRowsPerRequest}`);
  }
  if (b.queueCapacity !== undefined && (!Number.isInteger(b.queueCapacity) || b.queueCapacity < 1)) {
    throw bad(`queueCapacity must be an integer ≥ 1, got ${b.queueCapacity}`);
  }
  if (b.adaptiveWait !== undefined && typeof b.adaptiveWait !== "boolean") throw bad(`adaptiveWait must be true or false, got ${String(b.adaptiveWait)}`);
}
