import type * as http2 from "node:http2";
import type { ConnectError, ContextValues, HandlerContext } from "@connectrpc/connect";
import type { NativePathOptions } from "../native-path-options.js";
import type { ModelRpc } from "../../binding/connect-routes.js";
import type { Reservation } from "../../batching/batcher.js";
import type { Refusal } from "../../executor/refusal.js";
import { NativeCall } from "./call.js";
import { grpcTimeoutMs, refuseCall } from "./refuse.js";

/**
 * The native gRPC path: `application/grpc` and `application/grpc+proto` unary and
 * server-streaming calls answered directly on `node:http2` streams, with @bufbuild/protobuf
 * for the messages, instead of through connect-node's per-request pipelines of async
 * iterators.
 *
 * connect-node stays the reference: everything this path answers, it answers the way
 * connect-node's gRPC handler does — same response headers, trailers, status codes and
 * messages, same compression negotiation (gzip and br, messages from 1 KiB compressed),
 * same limits, same request gate and interceptors — and test/e2e/grpc-differential.spec.ts
 * holds both to it. What it does not take (other content types, client and bidi streaming,
 * unknown paths, other methods than POST) goes to connect-node unchanged.
 */
export interface NativeGrpcOptions extends NativePathOptions {
  /**
   * Called as each call starts (its headers are in): bookkeeping such as in-flight sets and
   * observers. Returns what to call, once, when the call has ended — with the error it
   * failed with, or undefined.
   */
  readonly onCall?: (
    ctx: NativeCallContext,
    stream: http2.ServerHttp2Stream,
  ) => ((error: ConnectError | undefined) => void) | undefined;
  /**
   * Called for a call refused as it arrived (see {@link createNativeGrpc}), with the refusal it
   * was answered with and `performance.now()` as it arrived.
   */
  readonly onRefused?: (
    rpc: ModelRpc,
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    refusal: Refusal,
    started: number,
  ) => void;
  /** The context values each call starts with. */
  readonly contextValues?: () => ContextValues;
}

/**
 * A native call's handler context: connect's, plus `abort` (as connect's own contexts have)
 * and the place its model's admission holds for it, if any.
 */
export interface NativeCallContext extends HandlerContext {
  abort(reason?: unknown): void;
  readonly reservation?: Reservation;
  /** Whether the call has ended early, read without making its signal. */
  readonly aborted: boolean;
  /** The transport answers the call itself when it aborts (see connect-routes' `unary`). */
  readonly answersOnAbort: true;
}

/**
 * Takes a stream when the native path serves it (`"call"`: a call runs on it; `"refused"`:
 * answered at the door already); returns false to leave it to connect-node.
 */
export type NativeGrpc = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
) => "call" | "refused" | false;

/**
 * The native gRPC path for the given RPCs, to try on each HTTP/2 stream before connect-node.
 *
 * A unary call to a batched model is first offered to the model's admission
 * (`rpc.admission`: its queue full, or more work queued than the call's `grpc-timeout`
 * allows): one admitted holds its place until its model is called, and one refused is
 * answered at the door with one trailers-only header block (RESOURCE_EXHAUSTED or
 * DEADLINE_EXCEEDED) — no call object, no body read, no auth check — and reported to
 * `onRefused`. Under overload, this is what keeps refusing the excess cheap enough for the
 * server to go on serving at capacity.
 *
 * @example
 * const native = createNativeGrpc({
 *   rpcs,
 *   readMaxBytes: 4 << 20,
 *   readMaxFields: 100_000,
 *   compressMinBytes: 1024,
 *   interceptors: [],
 *   scheme: "http",
 * });
 * h2server.on("stream", (stream, headers) => {
 *   if (!native(stream, headers)) connectNode(stream, headers);
 * });
 */
export function createNativeGrpc(options: NativeGrpcOptions): NativeGrpc {
  const { rpcs, onRefused } = options;
  return (stream, headers) => {
    if (headers[":method"] !== "POST") return false;
    const type = headers["content-type"];
    if (type !== "application/grpc" && type !== "application/grpc+proto") return false;
    const rpc = rpcs.get(headers[":path"]!);
    if (rpc === undefined) return false;
    let reservation: Reservation | undefined;
    if (rpc.kind === "unary" && rpc.admission !== undefined) {
      const started = performance.now();
      reservation = { held: false };
      const refused = rpc.admission.admit(grpcTimeoutMs(headers), reservation);
      if (refused !== undefined) {
        refuseCall(stream, refused);
        onRefused?.(rpc, stream, headers, refused, started);
        return "refused";
      }
    }
    void new NativeCall(stream, headers, rpc, options, reservation).run();
    return "call";
  };
}
