/**
 * A tensor that does not match its declared dtype or shape, or whose bytes do not
 * match its shape. `field` names where it came from (a request field, `result`, ...).
 *
 * The runtime turns it into INVALID_ARGUMENT for inputs and INTERNAL for outputs.
 */
export class TensorError extends Error {
  override name = "TensorError";

  constructor(
    /** The field the tensor came from. */
    readonly field: string,
    /** What is wrong, without the field name. */
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** The most characters of a client's value an error message quotes: 256. */
export const MAX_QUOTED_CHARS = 256;

/** The most dims an error message lists before it gives the count instead: 8. */
export const MAX_SHOWN_DIMS = 8;

/**
 * A value for an error message, in double quotes, cut to {@link MAX_QUOTED_CHARS}
 * characters: error messages go back to the client, and a value the client chose must not
 * make them as large as the request (a 70,000-character dtype would otherwise come back in
 * the `grpc-message` trailer).
 *
 * @example
 * quoteValue("complex64") // '"complex64"'
 * quoteValue("x".repeat(70_000)) // '"xxx…(256 x)…" (70000 characters)'
 */
export function quoteValue(value: string, maxChars = MAX_QUOTED_CHARS): string {
  if (value.length <= maxChars) return `"${value}"`;
  return `"${cutAt(value, maxChars)}…" (${value.length} characters)`;
}

/**
 * A shape as error messages show it: `[batch, 4]`; past {@link MAX_SHOWN_DIMS} dims, the
 * first ones and the count: `[1, 1, 1, 1, 1, 1, 1, 1, … (60 dims)]`.
 *
 * @example
 * formatDims([1, "batch"]) // "[1, batch]"
 */
export function formatDims(shape: readonly (number | bigint | string)[]): string {
  if (shape.length <= MAX_SHOWN_DIMS) return `[${shape.join(", ")}]`;
  return `[${shape.slice(0, MAX_SHOWN_DIMS).join(", ")}, … (${shape.length} dims)]`;
}

/** The first `n` UTF-16 units of `s`, one fewer if the cut would split a surrogate pair. */
function cutAt(s: string, n: number): string {
  const last = s.charCodeAt(n - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}

/**
 * Any value for an error message (what a model returned where a shape belongs, say):
 * its JSON, or its string form, cut to {@link MAX_QUOTED_CHARS} characters.
 */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length <= MAX_QUOTED_CHARS ? text : `${cutAt(text, MAX_QUOTED_CHARS)}… (${text.length} characters)`;
}
