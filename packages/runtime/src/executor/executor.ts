import type { App, ModelRecord } from "../app.js";
import { createBatcher, type Batcher, type Reservation } from "../batching/batcher.js";
import { createWorkerPool, findFunctionSource, type WorkerPool } from "../worker/worker-pool.js";
import type { ExecutorMetrics } from "./metrics.js";
import type { Refusal } from "./refusal.js";
import { validateRequest } from "./validate.js";

/** What the executor needs of a call: its abort signal (deadline or client gone). */
export interface CallContext {
  readonly signal: AbortSignal;
  /** Milliseconds left before the call's deadline, or undefined without one (connect's HandlerContext has it). */
  timeoutMs?(): number | undefined;
  /** The place `admit` held for the call, if it was admitted before it was read. */
  readonly reservation?: Reservation;
  /**
   * Whether the call has ended early, from a transport that makes its signal only when asked
   * (the native gRPC path): read instead of `signal.aborted`.
   */
  readonly aborted?: boolean;
}

/** Whether a call has ended early, without making a lazily made signal. */
export function isAborted(ctx: CallContext): boolean {
  return ctx.aborted ?? ctx.signal.aborted;
}

/** Runs registered models. */
export interface Executor {
  /**
   * Calls a unary model (through its batcher when it has `batch` options) and returns its
   * result. Rejects with INVALID_ARGUMENT, before anything is queued or computed, when the
   * model's `validate` option (or, batched, `maxRowsPerRequest`) refuses the arguments.
   */
  invoke(model: string, args: readonly unknown[], ctx: CallContext): Promise<unknown>;
  /**
   * Calls a streaming model; ending the iteration ends the model's generator. The model's
   * `validate` option runs first: its refusal is thrown by the first `next()`, and the
   * generator is never started.
   */
  stream(model: string, args: readonly unknown[], ctx: CallContext): AsyncIterable<unknown>;
  /**
   * For a batched model, the refusal a call with `timeoutMs` left would get at
   * once (full queue, or more work queued than its deadline allows; see `Batcher.admit`),
   * else undefined. Lets a transport refuse a call before it reads the request; given a
   * `reservation`, an admitted call holds its place until it is invoked with it or released.
   */
  admit(model: string, timeoutMs: number | undefined, reservation?: Reservation): Refusal | undefined;
  /** Gives back a place `admit` held for a call that ended before it was invoked. */
  release(model: string, reservation: Reservation): void;
  /** Requests queued for a batched model (0 for others). */
  queueDepth(model: string): number;
  /** Resolves once every batcher's queue is empty and no batch is running. */
  drain(): Promise<void>;
  /** Stops the worker pools. */
  close(): Promise<void>;
}

/** Options of {@link createExecutor}. */
export interface ExecutorOptions {
  /** Hooks called as requests are queued, computed and rejected. */
  metrics?: ExecutorMetrics;
}

/**
 * The executor: runs each model on the event loop, through a batcher for models
 * registered with `batch` options. A call whose signal is already aborted is not started.
 *
 * @example
 * const executor = createExecutor(app, { metrics: { computed: (m, n) => console.log(m, n) } });
 * const result = await executor.invoke("iris", [features], { signal: AbortSignal.timeout(1000) });
 */
export function createExecutor(app: App, options: ExecutorOptions = {}): Executor {
  const { metrics = {} } = options;
  // Worker pools are created up front, so a function that cannot run in a worker fails at
  // start-up rather than at its first call.
  const pools = new Map<string, WorkerPool>();
  for (const record of app.models) {
    const worker = record.options.worker;
    if (worker === undefined || worker === false) continue;
    const explicit = worker === true ? undefined : worker.module;
    const source =
      explicit !== undefined
        ? { file: explicit, exportName: (worker as { export?: string }).export ?? "default" }
        : findFunctionSource(record.fn);
    if (source === undefined) {
      throw new Error(
        `model "${record.name}" has worker: true, but its function is not exported by any loaded CommonJS module — export it from a module of its own and import it where you register it, or name it: worker: { module: require.resolve("./heavy.js"), export: "fn" }`,
      );
    }
    pools.set(record.name, createWorkerPool(source, worker === true ? {} : worker));
  }
  const callOf = (record: ModelRecord): ((...args: unknown[]) => unknown) => {
    const pool = pools.get(record.name);
    return pool === undefined ? record.fn : (...args) => pool.run(args);
  };
  const batchers = new Map<string, Batcher>();
  const batcherOf = (model: string): Batcher | undefined => {
    const record = app.getModelOrThrow(model);
    if (record.options.batch === undefined) return undefined;
    let b = batchers.get(model);
    if (b === undefined) {
      b = createBatcher(record, record.options.batch, metrics, callOf(record));
      batchers.set(model, b);
    }
    return b;
  };
  return {
    async invoke(model, args, ctx) {
      const batcher = batcherOf(model);
      if (batcher !== undefined) return batcher.submit(args, ctx);
      const record = app.getModelOrThrow(model);
      if (isAborted(ctx)) ctx.signal.throwIfAborted();
      validateRequest(record, args);
      const started = performance.now();
      try {
        const result = await callOf(record)(...args);
        metrics.computed?.(model, 1, performance.now() - started, true);
        return result;
      } catch (err) {
        metrics.computed?.(model, 1, performance.now() - started, false);
        throw err;
      }
    },
    async *stream(model, args, ctx) {
      const record = app.getModelOrThrow(model);
      if (isAborted(ctx)) ctx.signal.throwIfAborted();
      validateRequest(record, args);
      const result = record.fn(...args) as AsyncIterable<unknown>;
      if (result === null || typeof (result as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] !== "function") {
        throw new Error(`model "${model}" is served as a stream but did not return an async iterable`);
      }
      // yield* forwards return(): a client that goes away ends the model's generator.
      yield* result;
    },
    admit: (model, timeoutMs, reservation) => batcherOf(model)?.admit(timeoutMs, reservation),
    release: (model, reservation) => batcherOf(model)?.release(reservation),
    queueDepth: (model) => batchers.get(model)?.depth ?? 0,
    async drain() {
      await Promise.all([...batchers.values()].map((b) => b.drain()));
    },
    async close() {
      await Promise.all([...pools.values()].map((p) => p.close()));
    },
  };
}
