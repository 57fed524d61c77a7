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
