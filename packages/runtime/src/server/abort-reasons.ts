import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Why a call ended before it was answered in full, stated once for every path (native
 * gRPC, connect-node, the executor's streams, observers): the codes and messages a client
 * and `/metrics` see.
 *
 * - shutdown: the grace period of `close()` ran out while the call was in flight;
 * - deadline: the call's own timeout (`grpc-timeout`, `connect-timeout-ms`) passed;
 * - client gone: the client reset the stream or closed the connection.
 *
 * @example
 * call.abort(shutdownError());
 */
export function shutdownError(): ConnectError {
  return new ConnectError(SHUTDOWN_MESSAGE, Code.Unavailable);
}

/** The deadline of the call passed (connect's own message for it). */
export function deadlineError(): ConnectError {
  return new ConnectError("the operation timed out", Code.DeadlineExceeded);
}

/** The client reset the stream or closed its connection before the answer was written. */
export function clientGoneError(): ConnectError {
  return new ConnectError("the client went away", Code.Canceled);
}

/** Node's error codes for writing to (or reading from) a peer that has gone: the stream reset, the socket closed. */
const GONE_CODES: ReadonlySet<string> = new Set([
  "EPIPE",
  "ECONNRESET",
  "ECANCELED",
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_PREMATURE_CLOSE",
  "ERR_STREAM_WRITE_AFTER_END",
  "ERR_HTTP2_STREAM_ERROR",
  "ERR_HTTP2_INVALID_STREAM",
  "ERR_HTTP2_STREAM_CANCEL",
]);

/**
 * True when `reason` (or an error it wraps, as `ConnectError.from` does in `cause`) is Node's
 * error of writing to a client that has gone — what connect-node fails a response with when a
 * browser stops reading a stream (`write EPIPE`, `Cannot call write after a stream was
 * destroyed`). Such a call is the client's doing: CANCELLED, not INTERNAL, and nothing to print.
 *
 * @example
 * isClientGone(Object.assign(new Error("write EPIPE"), { code: "EPIPE" })); // true
 */
export function isClientGone(reason: unknown): boolean {
  let e: unknown = reason;
  for (let depth = 0; depth < 4 && typeof e === "object" && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && GONE_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** What shutdown answers, also used where a model is refused while the server drains. */
export const SHUTDOWN_MESSAGE = "the server is shutting down";
