import type { LifecycleHook } from "../app.js";

/** The app's start and stop hooks, run once each. */
export interface Lifecycle {
  /** Runs the start hooks in order; rejects with the first failure (the rest do not run). Later calls return the same promise. */
  start(): Promise<void>;
  /**
   * Runs the stop hooks in reverse order, each once, when the start hooks had all run; a
   * hook that fails is reported on stderr and the others still run. Later calls return the
   * same promise.
   */
  stop(): Promise<void>;
}

/**
 * Creates the lifecycle of a server from the app's hooks (`app.onStart`, `app.onStop`): the
 * FastAPI lifespan, as `createServer` and `blaze serve` run it — start hooks before the port
 * is bound, stop hooks once calls in flight have finished at shutdown.
 *
 * @example
 * const lifecycle = createLifecycle(app.hooks);
 * await lifecycle.start();
 */
export function createLifecycle(hooks: {
  readonly start: readonly LifecycleHook[];
  readonly stop: readonly LifecycleHook[];
}): Lifecycle {
  let started: Promise<void> | undefined;
  let startedAll = false;
  let stopped: Promise<void> | undefined;
  return {
    start() {
      started ??= (async () => {
        for (const [i, hook] of hooks.start.entries()) {
          try {
            await hook();
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            throw new Error(
              `start hook ${i + 1} of ${hooks.start.length}${hook.name !== "" ? ` (${hook.name})` : ""} failed: ${message}`,
              { cause: err },
            );
          }
        }
        startedAll = true;
      })();
      return started;
    },
    stop() {
      stopped ??= (async () => {
        // A start still running when the server closes: its hooks finish first.
        await started?.catch(() => undefined);
        if (!startedAll) return;
        for (const hook of [...hooks.stop].reverse()) {
          try {
            await hook();
          } catch (err) {
            console.error(`blazerpc: a stop hook${hook.name !== "" ? ` (${hook.name})` : ""} failed:`, err);
          }
        }
      })();
      return stopped;
    },
  };
}
