import { Code, ConnectError } from "@connectrpc/connect";
import { TensorError } from "@blazerpc/tensor";

/**
 * The one place where errors from outside become RPC errors.
 *
 * - `decode`: the request could not become the model's arguments → INVALID_ARGUMENT.
 * - `model`: the model threw → the ConnectError it threw, or INTERNAL naming the model.
 * - `encode`: the model's result does not match its declared type → INTERNAL.
 */
export function toConnectError(err: unknown, phase: "decode" | "model" | "encode", model: string): ConnectError {
  if (err instanceof ConnectError) return err;
  if (isAbortError(err)) return new ConnectError("the request was cancelled", Code.Canceled, undefined, undefined, err);
  // Errors from worker threads are structured clones: Error-like, not always `instanceof
  // Error` in this realm.
  const message = isErrorLike(err) ? err.message : String(err);
  switch (phase) {
    case "decode":
      return new ConnectError(message, Code.InvalidArgument, undefined, undefined, err);
    case "encode":
      return new ConnectError(
        `model "${model}" returned an invalid result: ${message}`,
        Code.Internal,
        undefined,
        undefined,
        err,
      );
    case "model":
      return new ConnectError(`model "${model}" failed: ${message}`, err instanceof TensorError ? Code.InvalidArgument : Code.Internal, undefined, undefined, err);
  }
}

function isErrorLike(err: unknown): err is { name?: unknown; message: string } {
  return typeof err === "object" && err !== null && typeof (err as { message?: unknown }).message === "string";
}

function isAbortError(err: unknown): boolean {
  return isErrorLike(err) && (err.name === "AbortError" || err.name === "TimeoutError");
}
