// Protobuf wire format and gRPC / Connect envelopes written by hand, so that the fuzzer can
// write what no encoder would: wrong wire types, overlong varints, lengths that lie,
// unterminated groups, field number 0.

/** Protobuf wire types, including the two that do not exist (6 and 7). */
export const WireType = { varint: 0, fixed64: 1, len: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

/** A varint of `value` (a number up to 2^53, or a bigint; negative bigints as 64-bit two's complement). */
export function varint(value: number | bigint): Buffer {
  let v = typeof value === "bigint" ? BigInt.asUintN(64, value) : BigInt(Math.max(0, Math.floor(value)));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}

/** A varint padded with continuation bytes to `length` bytes (valid up to 10; longer is malformed). */
export function overlongVarint(value: number, length: number): Buffer {
  const base = varint(value);
  if (base.length >= length) return base;
  const out = Buffer.alloc(length);
  base.copy(out);
  for (let i = 0; i < length - 1; i++) out[i] = (out[i]! | 0x80) & 0xff;
  out[length - 1] = out[length - 1]! & 0x7f;
  return out;
}

export function tag(field: number, wireType: number): Buffer {
  // Field numbers above 2^29 - 1 do not fit a valid tag; the varint writes them anyway.
  return varint(BigInt(field) * 8n + BigInt(wireType & 7));
}

export function lenField(field: number, payload: Uint8Array, declaredLength = payload.length): Buffer {
  return Buffer.concat([tag(field, WireType.len), varint(declaredLength), payload]);
}

export function varintField(field: number, value: number | bigint): Buffer {
  return Buffer.concat([tag(field, WireType.varint), varint(value)]);
}

export function doubleField(field: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return Buffer.concat([tag(field, WireType.fixed64), b]);
}

export function fixed32Field(field: number, value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return Buffer.concat([tag(field, WireType.fixed32), b]);
}

/** A packed repeated int64 field. */
export function packedField(field: number, values: readonly (number | bigint)[]): Buffer {
  return lenField(field, Buffer.concat(values.map((v) => varint(v))));
}

/** One gRPC / gRPC-Web / Connect envelope: a flags byte, a big-endian 32-bit length, the bytes. */
export function envelope(payload: Uint8Array, flags = 0, declaredLength = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags & 0xff;
  head.writeUInt32BE(declaredLength >>> 0, 1);
  return Buffer.concat([head, payload]);
}

/** The envelopes of a body, and whatever is left after the last whole one. */
export function splitEnvelopes(body: Buffer): { envelopes: { flags: number; data: Buffer }[]; rest: Buffer } {
  const envelopes: { flags: number; data: Buffer }[] = [];
  let at = 0;
  while (at + 5 <= body.length) {
    const length = body.readUInt32BE(at + 1);
    if (at + 5 + length > body.length) break;
    envelopes.push({ flags: body[at]!, data: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return { envelopes, rest: body.subarray(at) };
}
