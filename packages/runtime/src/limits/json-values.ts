import { Code, ConnectError } from "@connectrpc/connect";
import { tooManyFields } from "./message-fields.js";

/** Deepest nesting of arrays and objects read (protobuf's own recursion limit). */
const MAX_DEPTH = 100;

/**
 * Counts the values of a JSON text as its bytes arrive, without parsing it: each array and
 * object, and each element after the first (one per `,`), outside strings. Throws
 * {@link tooManyFields} once there are more than `readMaxFields`, and INVALID_ARGUMENT
 * past a nesting depth of 100 — before `JSON.parse` turns 2 bytes of `1,` into an array
 * slot and protobuf-es each of those into a bigint.
 *
 * Feed it every chunk in order; a fresh counter per message.
 *
 * @example
 * const count = createJsonValueCounter(100_000);
 * for await (const chunk of body) count(chunk);
 */
export function createJsonValueCounter(readMaxFields: number): (chunk: Uint8Array) => void {
  let inString = false;
  let escaped = false;
  let depth = 0;
  let count = 0;
  return (chunk) => {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c /* \ */) escaped = true;
        else if (c === 0x22 /* " */) inString = false;
        continue;
      }
      switch (c) {
        case 0x22:
          inString = true;
          break;
        case 0x2c /* , */:
          count++;
          break;
        case 0x5b /* [ */:
        case 0x7b /* { */:
          count++;
          if (++depth > MAX_DEPTH)
            throw new ConnectError(`JSON nests deeper than ${MAX_DEPTH} levels`, Code.InvalidArgument);
          break;
        case 0x5d /* ] */:
        case 0x7d /* } */:
          depth--;
          break;
        default:
          continue;
      }
      if (count > readMaxFields) throw tooManyFields(readMaxFields);
    }
  };
}
