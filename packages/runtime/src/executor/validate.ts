import { Code, ConnectError } from "@connectrpc/connect";
import type { ModelRecord } from "../app.js";
import { cheapError } from "./cheap-error.js";

/**
 * Runs a model's `validate` option on a request's decoded arguments. Returns when the
 * request may proceed (or the model has no `validate`); otherwise throws the ConnectError
 * to answer: what `validate` threw, as INVALID_ARGUMENT `model "<name>": <message>` — or
 * unchanged when it threw a ConnectError, so a model may choose another code.
 *
 * @example
 * validateRequest(app.getModelOrThrow("generate"), ["hi", Infinity]);
 * // throws ConnectError [invalid_argument] model "generate": maxTokens must be an integer from 0 to 1000, got Infinity
 */
export function validateRequest(record: ModelRecord, args: readonly unknown[]): void {
  const { validate } = record.options;
  if (validate === undefined) return;
  let returned: unknown;
  try {
    returned = validate(...args);
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    const message =
      typeof err === "object" && err !== null && typeof (err as { message?: unknown }).message === "string"
        ? (err as Error).message
        : String(err);
    throw cheapError(`model "${record.name}": ${message}`, Code.InvalidArgument);
  }
  if (typeof (returned as PromiseLike<unknown> | null | undefined)?.then === "function") {
    (returned as Promise<unknown>).then(undefined, () => undefined);
    throw new ConnectError(
      `model "${record.name}": its validate option returned a promise; it must be synchronous (throw to refuse a request)`,
      Code.Internal,
    );
  }
}
