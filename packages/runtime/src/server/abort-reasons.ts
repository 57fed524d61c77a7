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

/** What shutdown answers, also used where a model is refused while the server drains. */
export const SHUTDOWN_MESSAGE = "the server is shutting down";
