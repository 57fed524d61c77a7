import { ScalarType, toBinary, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** A bytes field from this size on is passed on by reference, not copied into the message's buffer. */
export const SEGMENT_BYTES = 64 * 1024;

/** How a message's last field (by number) may hold a large bytes value: itself, or inside a message. */
type Plan = Step | null;
interface Step {
  readonly field: DescField;
  /** The plan of the field's message; undefined: the field is the bytes. */
  readonly sub: Step | undefined;
}

const plans = new WeakMap<DescMessage, Plan>();
const IMPLICIT = 2; // google.protobuf.FeatureSet.FieldPresence.IMPLICIT

/**
 * A message in binary, as `toBinary` writes it — the very same bytes — but with a large
 * bytes value (a tensor's `data`, ≥ {@link SEGMENT_BYTES}) passed on by reference: the
 * result is the bytes before it, its tag and length, and the value itself, to be written one
 * after the other. `toBinary` copies such a value into a buffer it grows by doubling, copies
 * again to widen the enclosing message's length prefix, and once more to return it: three to
 * four copies of a 1 MiB tensor per answer, and as many large buffers for the collector.
 *
 * Taken only where the bytes come out identical: the value is in the message's
 * highest-numbered field (bytes with implicit presence, or a message holding one the same
 * way, to any depth), which `toBinary` writes last, and the message has no unknown fields
 * (written after it). Anything else is `toBinary`'s one buffer.
 *
 * @example
 * const parts = toBinarySegments(PredictEchoResponseSchema, response);
 * if (parts instanceof Uint8Array) stream.end(parts);
 * else for (const p of parts) stream.write(p);
 */
export function toBinarySegments(schema: DescMessage, message: object): Uint8Array | Uint8Array[] {
  const plan = planOf(schema);
  if (plan !== null) {
    const parts: Uint8Array[] = [];
    if (segment(schema, plan, message as Record<string, unknown>, parts) !== undefined) return parts;
  }
  return toBinary(schema, message as never);
}

/** The bytes of `parts` in one buffer (for compression). */
export function joinSegments(parts: Uint8Array | Uint8Array[]): Uint8Array {
  return parts instanceof Uint8Array ? parts : Buffer.concat(parts);
}

/** Total length of `parts`. */
export function segmentsLength(parts: Uint8Array | Uint8Array[]): number {
  if (parts instanceof Uint8Array) return parts.byteLength;
  let n = 0;
  for (const p of parts) n += p.byteLength;
  return n;
}

/** Appends the message's bytes to `out` as segments; returns their length, or undefined when the plan does not apply to this message. */
function segment(
  schema: DescMessage,
  plan: Step,
  message: Record<string, unknown>,
  out: Uint8Array[],
): number | undefined {
  const unknown = message["$unknown"] as unknown[] | undefined;
  if (unknown !== undefined && unknown.length > 0) return undefined;
  const { field, sub } = plan;
  const value = message[field.localName];
  let tail: Uint8Array[];
  let tailLength: number;
  if (sub === undefined) {
    if (!(value instanceof Uint8Array) || value.byteLength < SEGMENT_BYTES) return undefined;
    tail = [value];
    tailLength = value.byteLength;
  } else {
    if (typeof value !== "object" || value === null) return undefined;
    tail = [];
    const length = segment(field.message!, sub, value as Record<string, unknown>, tail);
    if (length === undefined) return undefined;
    tailLength = length;
  }
  // Every other field, as toBinary writes them (the last one unset: not written at all).
  const head = toBinary(schema, { ...message, [field.localName]: sub === undefined ? EMPTY : undefined } as never);
  const prefix = new BinaryWriter().tag(field.number, WireType.LengthDelimited).uint32(tailLength).finish();
  out.push(head, prefix, ...tail);
  return head.byteLength + prefix.byteLength + tailLength;
}

const EMPTY = new Uint8Array(0);

function planOf(schema: DescMessage, seen = new Set<DescMessage>()): Plan {
  let plan = plans.get(schema);
  if (plan !== undefined) return plan;
  plan = null;
  if (!seen.has(schema)) {
    seen.add(schema);
    let last: DescField | undefined;
    for (const f of schema.fields) if (last === undefined || f.number > last.number) last = f;
    if (last !== undefined && last.oneof === undefined) {
      if (last.fieldKind === "scalar" && last.scalar === ScalarType.BYTES && (last.presence as number) === IMPLICIT) {
        plan = { field: last, sub: undefined };
      } else if (last.fieldKind === "message" && !last.delimitedEncoding) {
        const sub = planOf(last.message, seen);
        if (sub !== null) plan = { field: last, sub };
      }
    }
  }
  plans.set(schema, plan);
  return plan;
}
