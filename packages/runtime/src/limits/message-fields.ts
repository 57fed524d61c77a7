import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

/** Deepest nesting read (protobuf's own recursion limit). */
const MAX_DEPTH = 100;

/**
 * The error for a message with more fields than allowed: RESOURCE_EXHAUSTED, as for a
 * message over the size cap.
 */
export function tooManyFields(readMaxFields: number): ConnectError {
  return new ConnectError(
    `message holds more than ${readMaxFields} fields (each repeated element and unknown field counts): larger than configured readMaxFields ${readMaxFields}`,
    Code.ResourceExhausted,
  );
}

/**
 * Walks a binary protobuf message and throws {@link tooManyFields} once it holds more than
 * `readMaxFields` fields, before anything is decoded. Decoding work and memory then stay
 * proportional to the cap, not to the bytes: 2 bytes of wire (`28 00`, an unknown varint)
 * would otherwise become an object each, and 1 byte of a packed `repeated int64` a bigint.
 *
 * Malformed bytes end the walk silently: the decoder that runs next reports them in its
 * own words. Costs one pass over tags and lengths; `bytes` and `string` contents are skipped.
 *
 * @example
 * checkMessageFields(PredictIrisRequestSchema, body, 100_000);
 * const req = fromBinary(PredictIrisRequestSchema, body, { readUnknownFields: false });
 */
export function checkMessageFields(desc: DescMessage, bytes: Uint8Array, readMaxFields: number): void {
  const walk = new Walk(bytes, readMaxFields);
  walk.message(desc, 0, bytes.byteLength, 0);
  if (walk.count > readMaxFields) throw tooManyFields(readMaxFields);
}

const fieldsByNumber = new WeakMap<DescMessage, Map<number, DescField>>();

function fieldOf(desc: DescMessage | undefined, no: number): DescField | undefined {
  if (desc === undefined) return undefined;
  let byNumber = fieldsByNumber.get(desc);
  if (byNumber === undefined) {
    byNumber = new Map(desc.fields.map((f) => [f.number, f]));
    fieldsByNumber.set(desc, byNumber);
  }
  return byNumber.get(no);
}

/** Wire type 2 content of a field: how to count it. */
function packedSize(scalar: ScalarType): number {
  switch (scalar) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return 8;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return 4;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return -1; // not packable: one value
    default:
      return 0; // varints
  }
}

class Walk {
  count = 0;
  private pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly max: number,
  ) {}

  private over(): boolean {
    return this.count > this.max;
  }

  /** A varint at `pos`, as a number (only tags and lengths are read: ≤ 2^53). -1 when malformed. */
  private varint(end: number): number {
    const { buf } = this;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) return -1;
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    return -1;
  }

  /**
   * Counts the fields of one message in [start, end). `group` is the field number of the
   * group this is, if any (it ends at its END_GROUP tag). False when the bytes are malformed.
   */
  message(desc: DescMessage | undefined, start: number, end: number, depth: number, group?: number): boolean {
    if (depth > MAX_DEPTH) return false;
    this.pos = start;
    while (this.pos < end) {
      const tag = this.varint(end);
      if (tag < 0) return false;
      const no = Math.floor(tag / 8);
      const wireType = tag % 8;
      if (wireType === 4) return no === group;
      if (++this.count > this.max) return true;
      switch (wireType) {
        case 0:
          if (this.varint(end) < 0) return false;
          break;
        case 1:
          this.pos += 8;
          break;
        case 5:
          this.pos += 4;
          break;
        case 2: {
          const len = this.varint(end);
          if (len < 0 || this.pos + len > end) return false;
          const subEnd = this.pos + len;
          if (!this.delimited(fieldOf(desc, no), this.pos, subEnd, depth)) return false;
          this.pos = subEnd;
          break;
        }
        case 3: {
          const field = fieldOf(desc, no);
          const sub =
            field?.fieldKind === "message" || (field?.fieldKind === "list" && field.listKind === "message")
              ? field.message
              : undefined;
          if (!this.message(sub, this.pos, end, depth + 1, no)) return false;
          break;
        }
        default:
          return false;
      }
      if (this.over()) return true;
    }
    return group === undefined && this.pos === end;
  }

  /** The content of a length-delimited field: a message, a map entry, packed scalars, or one value. */
  private delimited(field: DescField | undefined, start: number, end: number, depth: number): boolean {
    if (field === undefined) return true;
    switch (field.fieldKind) {
      case "message":
        return this.message(field.message, start, end, depth + 1);
      case "map":
        // An entry: key = 1, value = 2, counted as fields; a message value is walked too.
        return this.message(field.mapKind === "message" ? mapEntryOf(field.message) : undefined, start, end, depth + 1);
      case "list": {
        if (field.listKind === "message") return this.message(field.message, start, end, depth + 1);
        const size = field.listKind === "enum" ? 0 : packedSize(field.scalar);
        if (size > 0) this.count += Math.floor((end - start) / size) - 1;
        else if (size === 0) {
          // Packed varints: one element per byte without the continuation bit.
          let n = 0;
          const { buf } = this;
          for (let i = start; i < end; i++) if (buf[i]! < 0x80 && ++n + this.count > this.max + 1) break;
          this.count += n - 1;
        }
        return true;
      }
      default:
        return true;
    }
  }
}

/** A stand-in descriptor for a map entry whose value (field 2) is `value`. */
const entries = new WeakMap<DescMessage, DescMessage>();
function mapEntryOf(value: DescMessage): DescMessage {
  let entry = entries.get(value);
  if (entry === undefined) {
    const valueField = { number: 2, fieldKind: "message", message: value } as unknown as DescField;
    entry = { fields: [valueField] } as unknown as DescMessage;
    entries.set(value, entry);
  }
  return entry;
}
