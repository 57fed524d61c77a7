import { ConnectError, type HandlerContext } from "@connectrpc/connect";
import type * as http2 from "node:http2";
import { toWireError } from "../errors.js";
import type { DescMethod } from "@bufbuild/protobuf";
import {
  callObservers,
  observeCalls,
  refusedCalls,
  type CallObserver,
  type CallTransport,
} from "../middleware/call-observer.js";
import type { Refusal } from "../executor/refusal.js";
import type { AnyRequest } from "../http/routes.js";
import { webHeaders } from "./protocol-grpc/headers.js";

/** A call's handler context as connect-node and the native path build it: with `abort`, which connect's public type does not name. */
type AbortableContext = HandlerContext & { abort?(reason?: unknown): void };

/** Options of {@link createCallsInFlight}. */
export interface CallsInFlightOptions {
  /** Who sees each call start and end: metrics, logs, traces. */
  readonly observers: readonly CallObserver[];
  /** The model of each method, by `service/method`. */
  readonly models: ReadonlyMap<string, string>;
}

/**
 * The per-call bookkeeping of both paths, in one place: every call in flight (to end them
 * with UNAVAILABLE once the shutdown grace period is over) and the observers of each call.
 */
export interface CallsInFlight {
  /** connect-node: runs once a call's headers are in (its request gate), before its body is read. */
  connect(ctx: HandlerContext): void;
  /** The native gRPC path: a call started; returns what to call, once, when it has ended. */
  native(ctx: HandlerContext, stream: http2.ServerHttp2Stream): (error: ConnectError | undefined) => void;
  /** The native Connect path: a call started; returns what to call, once, when it has ended. */
  nativeConnect(ctx: HandlerContext, req: AnyRequest): (error: ConnectError | undefined) => void;
  /**
   * The native gRPC path refused a call as it arrived (overload), before any call was built:
   * the observers count and log it. `started`: `performance.now()` as it arrived.
   */
  refused(
    method: DescMethod,
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    refusal: Refusal,
    started: number,
  ): void;
  /** Ends every call still in flight with `reason`. */
  abortAll(reason: ConnectError): void;
  /** Calls in flight. */
  readonly size: number;
}

/**
 * Creates the bookkeeping of calls in flight.
 *
 * Not connect-node's `shutdownSignal`: that adds a listener per call to one shared signal,
 * and an EventTarget's add/remove walks all its listeners, so under load every call costs
 * O(calls in flight) — measured as a livelock at twice the sustainable rate.
 *
 * @example
 * const calls = createCallsInFlight({ observers, models: table.models });
 * calls.abortAll(shutdownError());
 */
export function createCallsInFlight(options: CallsInFlightOptions): CallsInFlight {
  const { observers, models } = options;
  const inflight = new Set<AbortableContext>();
  const observeConnect = observeCalls(observers, models);
  const observeNative = callObservers(observers, models);
  const observeRefused = refusedCalls(observers, models);
  /** A call of either native path: in flight and observed until the returned function is called. */
  const track = (ctx: AbortableContext, transport: CallTransport) => {
    inflight.add(ctx);
    const end = observeNative(ctx, transport);
    return (error: ConnectError | undefined) => {
      inflight.delete(ctx);
      end?.(error);
    };
  };
  return {
    connect(ctx) {
      inflight.add(ctx);
      // connect-node aborts a call's own signal when the call ends, whatever the outcome —
      // when it fails, with the error it then serializes: the one place on this path where
      // every error about to go on the wire passes, so its message is bounded here.
      ctx.signal.addEventListener(
        "abort",
        () => {
          inflight.delete(ctx);
          if (ctx.signal.reason instanceof ConnectError) toWireError(ctx.signal.reason);
        },
        { once: true },
      );
      observeConnect(ctx);
    },
    native(ctx, stream) {
      return track(ctx, {
        httpVersion: "2.0",
        get peer() {
          return stream.session?.socket?.remoteAddress;
        },
      });
    },
    nativeConnect(ctx, req) {
      return track(ctx, {
        httpVersion: req.httpVersion,
        get peer() {
          return req.socket?.remoteAddress;
        },
      });
    },
    refused(method, stream, headers, refusal, started) {
      observeRefused(method, new RefusedStream(stream, headers), refusal, started);
    },
    abortAll(reason) {
      for (const ctx of inflight) abortCall(ctx, reason);
    },
    get size() {
      return inflight.size;
    },
  };
}

/** What the observers of a refused native call read of its transport, read only when they do. */
class RefusedStream {
  readonly protocol = "grpc";
  readonly httpVersion = "2.0";
  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
  ) {}
  get peer(): string | undefined {
    return this.stream.session?.socket?.remoteAddress;
  }
  get header(): Headers {
    return webHeaders(this.headers);
  }
}

/**
 * Ends a call with `reason`. connect-node's handler contexts carry an `abort` method (from
 * `createHandlerContext`) that its public type does not name; @connectrpc/connect is pinned,
 * and the shutdown tests (a call past the grace period ends UNAVAILABLE) hold it to that.
 */
function abortCall(ctx: AbortableContext, reason: ConnectError): void {
  const abort = ctx.abort;
  if (typeof abort !== "function")
    throw new Error("@connectrpc/connect's handler context has no abort(): check the pinned version");
  abort.call(ctx, reason);
}
