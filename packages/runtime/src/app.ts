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
  /**
   * Adaptive LIFO: when the oldest queued request has waited this many milliseconds more
   * than batching itself accounts for (`maxDelayMs` plus two batches' compute time, from the
   * model's recent batches), the queue is stale — more work arrives than the model clears —
   * and batches are formed from the newest requests first, which can still be answered in
   * time, while the oldest wait (or reach their deadline). Back to oldest first once the
   * oldest request's wait falls under it. A number ≥ 0, or `Infinity` for always oldest
   * first. Default 100.
   */
  staleQueueMs?: number;
}

import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ServiceStatus } from "./health/serving-state.js";
import { createStatusStore, type StatusStore } from "./health/status-store.js";
import { checkRoute, type HttpMethod, type RouteHandler, type RouteOptions, type RouteRecord } from "./http/route.js";
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

/** Options of `app.rpc(name, options, fn)`: a model's, less what only models have (batching, worker threads, a version, a loader). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RpcOptions<Args extends readonly unknown[] = any[]> = Pick<
  ModelOptions<Args>,
  "streaming" | "pure" | "validate"
>;

/** A registered model (or code-first RPC: `app.rpc`). */
export interface ModelRecord {
  /** The model's name; for an RPC, `Service.Method`. */
  readonly name: string;
  /** Registered with `app.rpc`: an RPC of its own service and method, not a model (health and metrics list no model for it). */
  readonly rpc?: boolean;
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
  /**
   * Registers a code-first RPC that is not a model: `name` is `Service.Method` as the
   * schema will say it (`InferenceDirector.GetHealthStatus`; both PascalCase). Code
   * generation reads its signature as a model's — parameters become the request, the
   * result the response (a returned interface keeps its name as the response message when
   * no other RPC returns it) — and puts it in that service of the app's package. It runs
   * once per call (no batching), and may take the {@link CallContext} as its last
   * parameter. Returns the function, unchanged.
   *
   * @example
   * app.rpc("InferenceDirector.GetHealthStatus", async (): Promise<HealthStatusResponse> => ({ overallStatus: "HEALTHY" }));
   */
  rpc<F extends ModelFunction>(name: string, fn: F): F;
  rpc<F extends ModelFunction>(name: string, options: RpcOptions<Parameters<F>>, fn: F): F;
  /** The registered model of that name, or undefined. */
  getModel(name: string): ModelRecord | undefined;
  /** The registered model of that name; throws when there is none. */
  getModelOrThrow(name: string): ModelRecord;
  /** Every registered model, in registration order. */
  readonly models: readonly ModelRecord[];
  /**
   * Serves a service of your own beside the models, on the same port: any service
   * protoc-gen-es generated from your `.proto`, implemented as connect's `ServiceImpl`
   * (methods you leave out answer UNIMPLEMENTED). It is served over gRPC (the native path
   * too), gRPC-Web and Connect, with the same health, reflection, metrics, logs, auth,
   * interceptors and docs as the models. Returns the app.
   *
   * @example
   * import { InferenceDirector } from "./gen/director/v1/director_pb.js";
   * app.service(InferenceDirector, {
   *   getHealthStatus: () => ({ overallStatus: state.status }),
   * });
   */
  service<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>): App<N>;
  /**
   * An HTTP route on the same port, beside the RPCs, behind the same auth, CORS, metrics and
   * request logs, and listed in `/openapi.json` and `/docs`. The path is exact, or holds
   * named segments (`/models/:name`, read as `req.params.name`). The handler returns the
   * answer: a value (JSON, 200), `undefined` (204) or a Fetch `Response`. Returns the app.
   *
   * @example
   * app.route("GET", "/health", () => ({ overall_status: state.status }), { summary: "The service's health" });
   */
  route(method: HttpMethod, path: string, handler: RouteHandler, options?: RouteOptions): App<N>;
  /**
   * Runs `hook` when a server of the app starts, before it listens (in the order added): open
   * connections, fill caches, start background work. A hook that throws (or rejects) fails
   * the start with its message. Returns the app.
   *
   * @example
   * app.onStart(async () => { db = await connect(process.env.DATABASE_URL); });
   */
  onStart(hook: LifecycleHook): App<N>;
  /**
   * Runs `hook` when the server shuts down, once calls in flight have finished and before
   * the models' workers stop (in the reverse order of adding, as a stack unwinds). A hook
   * that throws is logged and the others still run. Returns the app.
   *
   * @example
   * app.onStop(() => db.close());
   */
  onStop(hook: LifecycleHook): App<N>;
  /**
   * Sets the serving status of one of the served services (its full name), or of the whole
   * server with `""`: gRPC health (Check, Watch) and `GET /readyz` follow at once. A service
   * set NOT_SERVING makes the whole server NOT_SERVING too (readiness fails), until set back.
   *
   * @example
   * app.setServingStatus("NOT_SERVING", "director.v1.InferenceDirector");
   */
  setServingStatus(status: ServiceStatus, service?: string): void;
  /** The services of your own, in the order added. */
  readonly services: readonly OwnServiceRecord[];
  /** The HTTP routes, in the order added. */
  readonly routes: readonly RouteRecord[];
  /** The start and stop hooks, in the order added. */
  readonly hooks: { readonly start: readonly LifecycleHook[]; readonly stop: readonly LifecycleHook[] };
  /** The serving statuses user code set. */
  readonly servingStatus: StatusStore;
}

/** A start or stop hook. */
export type LifecycleHook = () => unknown;

/** A service of the user's own, as `app.service` registered it. */
export interface OwnServiceRecord {
  readonly service: DescService;
  readonly impl: Readonly<Record<string, unknown>>;
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
    throw new Error(
      `createApp: name ${JSON.stringify(name)} is not usable as a proto package — use letters, digits, "-" and "_", starting with a letter`,
    );
  }
  const records = new Map<string, ModelRecord>();
  const services: OwnServiceRecord[] = [];
  const routes: RouteRecord[] = [];
  const start: LifecycleHook[] = [];
  const stop: LifecycleHook[] = [];
  const servingStatus = createStatusStore();
  const app: App<N> = {
    name,
    model(modelName: string, optionsOrFn: ModelOptions | ModelFunction, maybeFn?: ModelFunction) {
      const fn = typeof optionsOrFn === "function" ? optionsOrFn : maybeFn;
      const opts = typeof optionsOrFn === "function" ? {} : (optionsOrFn ?? {});
      if (typeof fn !== "function") {
        throw new Error(`app.model("${modelName}"): the last argument must be the model function`);
      }
      if (records.has(modelName)) {
        throw new Error(`app.model("${modelName}"): a model of that name is already registered on app "${name}"`);
      }
      const isGenerator = fn.constructor?.name === "AsyncGeneratorFunction";
      if (opts.worker !== undefined && opts.worker !== false && (isGenerator || opts.streaming === true)) {
        throw new Error(
          `app.model("${modelName}"): worker models return a value; a streaming model runs on the event loop`,
        );
      }
      if (opts.batch !== undefined) {
        if (isGenerator || opts.streaming === true) {
          throw new Error(
            `app.model("${modelName}"): batch is for unary models; a streaming model runs once per request`,
          );
        }
        checkBatchOptions(modelName, opts.batch);
      }
      if (opts.validate !== undefined) {
        if (typeof opts.validate !== "function") {
          throw new Error(
            `app.model("${modelName}"): validate must be a function of the model's arguments that throws to refuse a request, got ${typeof opts.validate}`,
          );
        }
        const kind = (opts.validate as { constructor?: { name?: string } }).constructor?.name;
        if (kind === "AsyncFunction" || kind === "AsyncGeneratorFunction" || kind === "GeneratorFunction") {
          throw new Error(
            `app.model("${modelName}"): validate must be a plain synchronous function (it runs before the request is queued; a promise it returned would be ignored)`,
          );
        }
      }
      if (opts.streaming === true && !isGenerator) {
        throw new Error(
          `app.model("${modelName}"): streaming: true needs an async generator function (async function*)`,
        );
      }
      records.set(modelName, { name: modelName, options: { ...opts }, fn, streaming: opts.streaming ?? isGenerator });
      return fn as never;
    },
    rpc(rpcName: string, optionsOrFn: RpcOptions | ModelFunction, maybeFn?: ModelFunction) {
      const where = `app.rpc(${JSON.stringify(rpcName)})`;
      if (typeof rpcName !== "string" || !/^[A-Z][A-Za-z0-9]*\.[A-Z][A-Za-z0-9]*$/.test(rpcName)) {
        throw new Error(
          `${where}: the name must be "Service.Method", both PascalCase (letters and digits, starting with a capital) — e.g. "InferenceDirector.GetHealthStatus"`,
        );
      }
      const opts = typeof optionsOrFn === "function" ? {} : (optionsOrFn ?? {});
      for (const key of Object.keys(opts)) {
        if (!["streaming", "pure", "validate"].includes(key)) {
          throw new Error(
            `${where}: option "${key}" is for models (app.model); an RPC takes streaming, pure and validate`,
          );
        }
      }
      const fn = app.model(rpcName, opts, (typeof optionsOrFn === "function" ? optionsOrFn : maybeFn) as ModelFunction);
      records.set(rpcName, { ...records.get(rpcName)!, rpc: true });
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
        throw new Error(
          `app "${name}" has no model "${modelName}" (registered: ${[...records.keys()].join(", ") || "none"})`,
        );
      }
      return record;
    },
    get models() {
      return [...records.values()];
    },
    service(service, impl) {
      const what = (service as { typeName?: unknown } | undefined)?.typeName;
      if (
        typeof service !== "object" ||
        service === null ||
        (service as { kind?: unknown }).kind !== "service" ||
        typeof what !== "string"
      ) {
        throw new Error(
          "app.service: the first argument must be a service descriptor generated by protoc-gen-es (e.g. `InferenceDirector` from `director_pb.ts`)",
        );
      }
      if (typeof impl !== "object" || impl === null)
        throw new Error(`app.service(${what}): the implementation must be an object of methods`);
      if (services.some((s) => s.service.typeName === what))
        throw new Error(`app.service(${what}): that service is already registered`);
      // A plain object is checked key by key (a typo is a method that would never be called);
      // a class instance (a servicer, as Python's are written) may hold state besides its methods.
      if (Object.getPrototypeOf(impl) === Object.prototype) {
        for (const key of Object.keys(impl)) {
          if (!service.methods.some((m) => m.localName === key)) {
            throw new Error(
              `app.service(${what}): the service has no method "${key}" (methods: ${service.methods.map((m) => m.localName).join(", ")})`,
            );
          }
        }
      }
      // The service's methods, wherever they are defined (own properties or the prototype),
      // bound to the implementation, as connect's router takes them.
      const own: Record<string, unknown> = {};
      for (const m of service.methods) {
        const fn = (impl as Record<string, unknown>)[m.localName];
        if (fn === undefined) continue;
        if (typeof fn !== "function") throw new Error(`app.service(${what}): "${m.localName}" must be a function`);
        own[m.localName] = (fn as (...args: unknown[]) => unknown).bind(impl);
      }
      services.push({ service, impl: own });
      return app;
    },
    route(method, path, handler, options = {}) {
      checkRoute(method, path, handler);
      // `/a/:x` and `/a/:y` match the same requests: the second could never be reached.
      const shape = (p: string) => p.replace(/:[^/]+/g, ":");
      const same = routes.find((r) => r.method === method && shape(r.path) === shape(path));
      if (same !== undefined)
        throw new Error(
          `app.route(${JSON.stringify(method)}, ${JSON.stringify(path)}): ${same.path === path ? "that route is already registered" : `it matches the same requests as ${same.method} ${same.path}, registered first`}`,
        );
      routes.push({ method, path, handler, options: { ...options } });
      return app;
    },
    onStart(hook) {
      if (typeof hook !== "function") throw new Error("app.onStart: the hook must be a function");
      start.push(hook);
      return app;
    },
    onStop(hook) {
      if (typeof hook !== "function") throw new Error("app.onStop: the hook must be a function");
      stop.push(hook);
      return app;
    },
    setServingStatus(status, service = "") {
      servingStatus.set(service, status);
    },
    get services() {
      return [...services];
    },
    get routes() {
      return [...routes];
    },
    hooks: { start, stop },
    servingStatus,
  };
  return app;
}

function checkBatchOptions(model: string, b: BatchOptions): void {
  const bad = (what: string) => new Error(`app.model("${model}"): batch.${what}`);
  if (!Number.isInteger(b.maxBatchSize) || b.maxBatchSize < 1)
    throw bad(`maxBatchSize must be an integer ≥ 1, got ${b.maxBatchSize}`);
  if (typeof b.maxDelayMs !== "number" || !(b.maxDelayMs >= 0))
    throw bad(`maxDelayMs must be a number ≥ 0, got ${b.maxDelayMs}`);
  for (const size of b.preferredBatchSizes ?? []) {
    if (!Number.isInteger(size) || size < 1 || size > b.maxBatchSize) {
      throw bad(`preferredBatchSizes must hold integers from 1 to maxBatchSize (${b.maxBatchSize}), got ${size}`);
    }
  }
  if (
    b.maxRowsPerRequest !== undefined &&
    b.maxRowsPerRequest !== Infinity &&
    (!Number.isInteger(b.maxRowsPerRequest) || b.maxRowsPerRequest < 1)
  ) {
    throw bad(`maxRowsPerRequest must be an integer ≥ 1 (or Infinity), got ${b.maxRowsPerRequest}`);
  }
  if (b.queueCapacity !== undefined && (!Number.isInteger(b.queueCapacity) || b.queueCapacity < 1)) {
    throw bad(`queueCapacity must be an integer ≥ 1, got ${b.queueCapacity}`);
  }
  if (b.adaptiveWait !== undefined && typeof b.adaptiveWait !== "boolean")
    throw bad(`adaptiveWait must be true or false, got ${String(b.adaptiveWait)}`);
  if (b.staleQueueMs !== undefined && !(typeof b.staleQueueMs === "number" && b.staleQueueMs >= 0))
    throw bad(`staleQueueMs must be a number ≥ 0 (or Infinity), got ${String(b.staleQueueMs)}`);
}
