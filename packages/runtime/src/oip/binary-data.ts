import { Code, ConnectError } from "@connectrpc/connect";
import { quoteValue } from "@blazerpc/tensor";

/**
 * The header of the binary tensor data extension: how many bytes of the body are the
 * JSON part, the binary tensor data following it.
 */
export const HEADER_LENGTH = "inference-header-content-length";

/** A request body split per the binary tensor data extension. */
export interface SplitBody {
  /** The JSON part, as text. */
  readonly json: string;
  /** What follows it: every binary input's bytes, one after another in the order of the inputs. */
  readonly binary: Uint8Array;
}

/**
 * Splits an infer request's body: with an `Inference-Header-Content-Length` header, its
 * first that many bytes are the JSON and the rest the inputs' binary data; without one,
 * the whole body is JSON.
 *
 * @throws ConnectError INVALID_ARGUMENT when the header is not a byte count within the body.
 * @example
 * splitBody(body, req.headers.get("inference-header-content-length"))
 */
export function splitBody(body: Uint8Array, headerLength: string | null): SplitBody {
  const text = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  if (headerLength === null) return { json: text(body), binary: new Uint8Array(0) };
  const n = /^\s*\d{1,15}\s*$/.test(headerLength) ? Number(headerLength) : NaN;
  if (!Number.isSafeInteger(n) || n > body.byteLength)
    throw new ConnectError(
      `the Inference-Header-Content-Length header is ${quoteValue(headerLength, 32)}: it must be the byte length of the JSON at the start of the body (${body.byteLength} bytes)`,
      Code.InvalidArgument,
    );
  return { json: text(body.subarray(0, n)), binary: body.subarray(n) };
}

/**
 * Hands out the binary data of the inputs that have some: `sizes[i]` is input i's
 * `parameters.binary_data_size` (undefined: its data is JSON), taken in order from
 * `binary`, which must hold exactly their sum.
 *
 * @throws ConnectError INVALID_ARGUMENT when the sizes and the binary data disagree.
 * @example
 * takeBinaryInputs([8, undefined, 4], binary) // [8 bytes, undefined, 4 bytes]
 */
export function takeBinaryInputs(
  sizes: readonly (number | undefined)[],
  binary: Uint8Array,
): (Uint8Array | undefined)[] {
  let offset = 0;
  const parts = sizes.map((size) => {
    if (size === undefined) return undefined;
    const part = binary.subarray(offset, offset + size);
    offset += size;
    return part;
  });
  if (offset !== binary.byteLength)
    throw new ConnectError(
      `the request holds ${binary.byteLength} bytes of binary tensor data, but its inputs' binary_data_size add up to ${offset}`,
      Code.InvalidArgument,
    );
  return parts;
}

/**
 * A binary answer: the JSON, then each blob in order; `headerLength` is what the
 * `Inference-Header-Content-Length` header says (the JSON's byte length).
 *
 * @example
 * const { body, headerLength } = joinBody('{"outputs":[…]}', [outputBytes]);
 */
export function joinBody(json: string, blobs: readonly Uint8Array[]): { body: Uint8Array; headerLength: number } {
  const head = Buffer.from(json, "utf8");
  return { body: Buffer.concat([head, ...blobs]), headerLength: head.byteLength };
}
