import type * as net from "node:net";
import type { Executor } from "../executor/executor.js";
import type { ServingState } from "../health/serving-state.js";
import { shutdownError } from "./abort-reasons.js";
import type { CallsInFlight } from "./calls-in-flight.js";
import type { ConnectionTracker } from "./connections.js";

/** Options of {@link createShutdown}. */
export interface ShutdownOptions {
  readonly state: ServingState;
  readonly listener: net.Server;
  readonly tracker: ConnectionTracker;
  readonly calls: CallsInFlight;
  /** The app's route requests in flight, by their abort controller. */
  readonly routes: Set<AbortController>;
  readonly executor: Executor;
  /** How long calls in flight get to finish. */
  readonly closeGraceMs: number;
  /** How long the server keeps accepting and serving once readiness is NOT_SERVING. */
  readonly drainDelayMs: number;
  /** From now on, new model calls are refused (UNAVAILABLE, shutting down). */
  readonly refuseNew: () => void;
  /** Long-lived calls of the server's own services (health watches, reflection streams), by path: ended once the rest are done, not waited for. */
  readonly isLongLived: (path: string) => boolean;
  /** The app's stop hooks. */
  readonly stop: () => Promise<void>;
}

/**
 * The graceful shutdown of a server, in order:
 * 1. health turns NOT_SERVING at once (Watch streams are told, `/readyz` answers 503), and
 *    for `drainDelayMs` the server goes on accepting connections and serving calls, so that
 *    load balancers see it leave before its port closes;
 * 2. no new connections, new model calls refused (UNAVAILABLE); GOAWAY on HTTP/2; idle
 *    HTTP/1.1 connections close, busy ones after their response;
 * 3. calls in flight finish, up to the grace period (health watches and reflection streams
 *    are not waited for);
 * 4. what is left (RPCs, and route requests: 503) ends with UNAVAILABLE "the server is
 *    shutting down"; a moment for those
 *    answers to be written, then every connection is cut;
 * 5. the app's stop hooks run (in reverse order of adding);
 * 6. the batch queues drain and the executor closes (worker threads end).
 * Returns the function that runs it; calling that again returns the same promise.
 *
 * @example
 * const close = createShutdown({ state, listener, tracker, calls, executor, closeGraceMs: 5000, drainDelayMs: 0, refuseNew, isLongLived });
 * await close();
 */
export function createShutdown(options: ShutdownOptions): () => Promise<void> {
  const {
    state,
    listener,
    tracker,
    calls,
    routes,
    executor,
    closeGraceMs,
    drainDelayMs,
    refuseNew,
    isLongLived,
    stop,
  } = options;
  let closed: Promise<void> | undefined;
  return () => {
    closed ??= (async () => {
      state.drain();
      if (drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
      refuseNew();
      const listenerClosed = new Promise<void>((resolve) =>
        listener.listening ? listener.close(() => resolve()) : resolve(),
      );
      tracker.closeGracefully();
      await tracker.settled(closeGraceMs, (path) => !isLongLived(path));
      calls.abortAll(shutdownError());
      for (const route of routes) route.abort(shutdownError());
      await tracker.settled(1000);
      tracker.destroyAll();
      await listenerClosed;
      await stop();
      await executor.drain();
      await executor.close();
      state.dispose();
    })();
    return closed;
  };
}
