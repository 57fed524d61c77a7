import type {
  HandlerContext,
  Interceptor,
  StreamRequest,
  StreamResponse,
  UnaryRequest,
  UnaryResponse,
} from "@connectrpc/connect";
import type { Reservation } from "../../batching/batcher.js";

/** A call's implementation as interceptors see it, unary or streaming. */
export type AnyFn = (req: UnaryRequest | StreamRequest) => Promise<UnaryResponse | StreamResponse>;

/**
 * Wraps `next` in connect interceptors, the first one outermost (as connect's router does).
 *
 * @example
 * const res = await applyInterceptors(callModel, interceptors)(request);
 */
export function applyInterceptors(next: AnyFn, interceptors: readonly Interceptor[]): AnyFn {
  let fn = next;
  for (let i = interceptors.length - 1; i >= 0; i--) fn = interceptors[i]!(fn as never) as AnyFn;
  return fn;
}

/**
 * The request interceptors see for a call, from its handler context.
 *
 * @example
 * const res = await applyInterceptors(callModel, interceptors)(requestOf(ctx, false, message));
 */
export function requestOf(ctx: HandlerContext, stream: false, message: unknown): UnaryRequest;
export function requestOf(ctx: HandlerContext, stream: true, message: AsyncIterable<unknown>): StreamRequest;
export function requestOf(ctx: HandlerContext, stream: boolean, message: unknown): UnaryRequest | StreamRequest {
  return {
    stream,
    message,
    method: ctx.method,
    requestMethod: ctx.requestMethod,
    url: ctx.url,
    signal: ctx.signal,
    header: ctx.requestHeader,
    service: ctx.service,
    contextValues: ctx.values,
  } as UnaryRequest | StreamRequest;
}

/**
 * The context an implementation sees once interceptors may have changed the request: their
 * service, signal, headers and values, the call's own for the rest.
 *
 * @example
 * rpc.impl(req.message, mergedContext(ctx, req));
 */
export function mergedContext(ctx: HandlerContext, req: UnaryRequest | StreamRequest): HandlerContext {
  return {
    method: ctx.method,
    service: req.service,
    requestMethod: ctx.requestMethod,
    protocolName: ctx.protocolName,
    url: ctx.url,
    signal: req.signal,
    timeoutMs: () => ctx.timeoutMs(),
    requestHeader: req.header,
    responseHeader: ctx.responseHeader,
    responseTrailer: ctx.responseTrailer,
    values: req.contextValues,
    // The place its model's admission holds for the call (the native path's own field).
    reservation: (ctx as { reservation?: Reservation }).reservation,
  } as HandlerContext;
}

/**
 * The messages, then `after()` once they are all through (connect copies a streaming
 * response's trailers only then, so an implementation may still set them while it streams).
 *
 * @example
 * messages = withTrailers(res.message, () => copyHeaders(res.trailer, ctx.responseTrailer));
 */
export async function* withTrailers<T>(messages: AsyncIterable<T>, after: () => void): AsyncGenerator<T> {
  yield* messages;
  after();
}
