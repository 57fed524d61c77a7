import type { HandlerContext } from "@connectrpc/connect";
import { peerOf } from "../middleware/call-observer.js";

/**
 * What a model or RPC may know of the call it serves. Declare it as the function's last
 * parameter (`ctx: CallContext`): code generation leaves it out of the schema, and the
 * server passes it. Batched and worker-thread models get none (a batch serves many calls,
 * and a worker thread cannot share the call's signal).
 *
 * @example
 * app.rpc("Director.Whoami", async (ctx: CallContext): Promise<string> => ctx.requestHeader.get("x-user") ?? "anonymous");
 */
export interface CallContext {
  /** Aborts when the call's deadline passes, its client goes away, or the server's shutdown grace period is over. */
  readonly signal: AbortSignal;
  /** Milliseconds left before the call's deadline; undefined without one. */
  timeoutMs(): number | undefined;
  /** The request's headers (gRPC metadata). */
  readonly requestHeader: Headers;
  /** Headers sent with the response; set them before the first message. */
  readonly responseHeader: Headers;
  /** Trailers sent after the response (gRPC, gRPC-Web and Connect streams). */
  readonly responseTrailer: Headers;
  /** The client's address, when known. */
  readonly peer: string | undefined;
  /** `grpc`, `grpc-web` or `connect`. */
  readonly protocol: string;
  /** The full service name: `iris.v1.InferenceService`. */
  readonly service: string;
  /** The method's name: `PredictIris`. */
  readonly method: string;
}

/**
 * The {@link CallContext} of a call, from connect's handler context (what own services'
 * `ServiceImpl` methods receive).
 *
 * @example
 * getHealthStatus: (_req, ctx) => ({ caller: callContextOf(ctx).peer }),
 */
export function callContextOf(ctx: HandlerContext): CallContext {
  return {
    signal: ctx.signal,
    timeoutMs: () => ctx.timeoutMs(),
    get requestHeader() {
      return ctx.requestHeader;
    },
    get responseHeader() {
      return ctx.responseHeader;
    },
    get responseTrailer() {
      return ctx.responseTrailer;
    },
    get peer() {
      return peerOf(ctx);
    },
    protocol: ctx.protocolName,
    service: ctx.service.typeName,
    method: ctx.method.name,
  };
}
