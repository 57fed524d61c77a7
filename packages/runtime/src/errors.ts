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
      return new ConnectError(
        `model "${model}" failed: ${message}`,
        err instanceof TensorError ? Code.InvalidArgument : Code.Internal,
        undefined,
        undefined,
        err,
      );
  }
}

function isErrorLike(err: unknown): err is { name?: unknown; message: string } {
  return typeof err === "object" && err !== null && typeof (err as { message?: unknown }).message === "string";
}

function isAbortError(err: unknown): boolean {
  return isErrorLike(err) && (err.name === "AbortError" || err.name === "TimeoutError");
}

/**
 * The longest error message sent to a client, in bytes of UTF-8: 1 KiB. Messages that
 * quote client input already cut it to 256 characters; this bound holds whatever made the
 * message (a model's own ConnectError, connect-node's protocol errors, an interceptor).
 */
export const MAX_ERROR_MESSAGE_BYTES = 1024;

/**
 * `message`, or its start and `… (message cut: N characters)` when it is longer than
 * `maxBytes` bytes of UTF-8 (never splitting a character).
 *
 * @example
 * limitMessage("é".repeat(5000)) // "éé…é… (message cut: 5000 characters)", 1024 bytes at most
 */
export function limitMessage(message: string, maxBytes = MAX_ERROR_MESSAGE_BYTES): string {
  // A lone UTF-16 surrogate (from a JSON "\ud800" the message quotes) cannot be percent-encoded
  // into grpc-message: encodeURIComponent throws, and the call would get no answer at all.
  message = (message as string & { toWellFormed(): string }).toWellFormed(); // ES2024; in Node.js 20
  // Most messages are short ASCII: no need to count bytes.
  if (message.length * 3 <= maxBytes || Buffer.byteLength(message, "utf8") <= maxBytes) return message;
  const suffix = `… (message cut: ${message.length} characters)`;
  let budget = maxBytes - Buffer.byteLength(suffix, "utf8");
  let end = 0;
  while (end < message.length) {
    const cp = message.codePointAt(end)!;
    const bytes = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes > budget) break;
    budget -= bytes;
    end += cp >= 0x10000 ? 2 : 1;
  }
  return message.slice(0, end) + suffix;
}

/**
 * The error a call is answered with, as it goes on the wire: a ConnectError (anything else
 * is INTERNAL "internal error", as connect answers it) whose message is at most
 * {@link MAX_ERROR_MESSAGE_BYTES}. The message is cut in place — the same object — because
 * connect-node serializes the very error it aborts a call's signal with, after the signal's
 * listeners ran: the server's listener cuts it there (see `createServer`), the native gRPC
 * path before it writes the trailers.
 */
export function toWireError(err: unknown): ConnectError {
  const error =
    err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
  const cut = limitMessage(error.rawMessage);
  if (cut !== error.rawMessage) {
    const e = error as { rawMessage: string; message: string };
    // ConnectError's message is its raw message behind the code name: `[not_found] …`.
    e.message = e.message.endsWith(e.rawMessage)
      ? e.message.slice(0, e.message.length - e.rawMessage.length) + cut
      : cut;
    e.rawMessage = cut;
  }
  return error;
}
