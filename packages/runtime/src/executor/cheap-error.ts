import { Code, ConnectError } from "@connectrpc/connect";

/**
 * A ConnectError without a stack trace. Refusals are expected — under overload, or from a
 * client that sends what a model does not take — and capturing a stack for each one costs
 * more than the refusal itself.
 *
 * @example
 * throw cheapError(`model "iris" is at capacity`, Code.ResourceExhausted);
 */
export function cheapError(message: string, code: Code): ConnectError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new ConnectError(message, code);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
