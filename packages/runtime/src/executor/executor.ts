import type { App } from "../app.js";

/** What the executor needs of a call: its abort signal (deadline or client gone). */
export interface CallContext {
  readonly signal: AbortSignal;
}

/** Runs registered models. */
export interface Executor {
  /** Calls a unary model once and returns its result. */
  invoke(model: string, args: readonly unknown[], ctx: CallContext): Promise<unknown>;
  /** Calls a streaming model; ending the iteration ends the model's generator. */
  stream(model: string, args: readonly unknown[], ctx: CallContext): AsyncIterable<unknown>;
}

/**
 * The executor: runs each call of a model on the event loop. A call whose signal is
 * already aborted is not started.
 */
export function createExecutor(app: App): Executor {
  return {
    async invoke(model, args, ctx) {
      const record = app.getModelOrThrow(model);
      ctx.signal.throwIfAborted();
      return await record.fn(...args);
    },
    async *stream(model, args, ctx) {
      const record = app.getModelOrThrow(model);
      ctx.signal.throwIfAborted();
      const result = record.fn(...args) as AsyncIterable<unknown>;
      if (result === null || typeof (result as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] !== "function") {
        throw new Error(`model "${model}" is served as a stream but did not return an async iterable`);
      }
      // yield* forwards return(): a client that goes away ends the model's generator.
      yield* result;
    },
  };
}
