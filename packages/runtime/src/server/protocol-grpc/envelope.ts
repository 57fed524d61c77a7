import { Code, ConnectError } from "@connectrpc/connect";

/**
 * gRPC's length-prefixed messages ("envelopes") as bytes: one flags byte, a big-endian
 * 32-bit length, the message. Pure functions, no streams: what the wire holds, and the
 * errors connect's gRPC handler answers for a body that is not one well-formed message.
 */

/** The flags bit of a compressed message. */
export const COMPRESSED_FLAG = 0b0000_0001;

/** Messages from this size on are written as prefix + bytes rather than copied into one buffer. */
export const SPLIT_FRAME_BYTES = 64 * 1024;

/** One gRPC frame: a single buffer, or the 5-byte prefix and the message's bytes in parts. */
export type Frame = Uint8Array | Uint8Array[];

/**
 * A message as one gRPC frame. From {@link SPLIT_FRAME_BYTES} on, the prefix and the
 * message come back apart, to be written one after the other.
 *
 * @example
 * const frame = encodeEnvelope(0, toBinary(schema, message));
 * if (frame instanceof Uint8Array) stream.end(frame);
 * else (stream.write(frame[0]), stream.end(frame[1]));
 */
export function encodeEnvelope(flags: number, data: Uint8Array): Frame {
  if (data.byteLength >= SPLIT_FRAME_BYTES) {
    // Large: the prefix and the bytes as two writes, not one more copy of the message.
    const head = Buffer.allocUnsafe(5);
    head[0] = flags;
    head.writeUInt32BE(data.byteLength, 1);
    return [head, data];
  }
  const frame = Buffer.allocUnsafe(5 + data.byteLength);
  frame[0] = flags;
  frame.writeUInt32BE(data.byteLength, 1);
  frame.set(data, 5);
  return frame;
}

/**
 * A message given in parts (see `toBinarySegments`) as one gRPC frame: the 5-byte prefix,
 * then the parts as they are, to be written one after the other.
 *
 * @example
 * const frame = encodeEnvelopeParts(0, toBinarySegments(schema, message));
 */
export function encodeEnvelopeParts(flags: number, parts: Uint8Array | Uint8Array[]): Frame {
  if (parts instanceof Uint8Array) return encodeEnvelope(flags, parts);
  let length = 0;
  for (const p of parts) length += p.byteLength;
  const head = Buffer.allocUnsafe(5);
  head[0] = flags;
  head.writeUInt32BE(length, 1);
  return [head, ...parts];
}

/**
 * The length announced by the envelope prefix at `offset` (the caller checks that its five
 * bytes are there).
 *
 * @example
 * if (body.byteLength >= 5 && readEnvelopeLength(body, 0) > readMaxBytes) refuse();
 */
export function readEnvelopeLength(bytes: Uint8Array, offset: number): number {
  return (
    bytes[offset + 1]! * 0x100_0000 + bytes[offset + 2]! * 0x1_0000 + bytes[offset + 3]! * 0x100 + bytes[offset + 4]!
  );
}

/**
 * connect's error for a message announced larger than the cap.
 *
 * @example
 * throw messageTooLargeError(length, readMaxBytes);
 */
export function messageTooLargeError(length: number, readMaxBytes: number): ConnectError {
  return new ConnectError(
    `message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`,
    Code.ResourceExhausted,
  );
}

/** The one message of a request body, as far as it can be read without decompressing it. */
export interface SingleEnvelope {
  /** The message's bytes: still compressed when `compressed` is true. */
  readonly data: Uint8Array;
  readonly compressed: boolean;
  /**
   * What is wrong with the rest of the body (an extra message, a cut-off envelope), to throw
   * once the message has been decompressed: connect's handler reports a bad compressed
   * message before what follows it, and so must we.
   */
  readonly trailing: ConnectError | undefined;
}

/**
 * Reads the body of a unary or server-streaming request, complete, as its one message, with
 * the errors and in the order of connect's gRPC handler: a prefix over `readMaxBytes`
 * (checked for the first two envelopes, before they are complete), no message, a compressed
 * message without negotiated compression; then — returned as `trailing`, after the caller
 * has decompressed — a second message, bytes left over.
 *
 * @example
 * const env = parseSingleEnvelope(body, "unary", readMaxBytes, compression !== null);
 * const data = env.compressed ? await compression!.decompress(env.data, readMaxBytes) : env.data;
 * if (env.trailing !== undefined) throw env.trailing;
 */
export function parseSingleEnvelope(
  body: Uint8Array,
  kind: "unary" | "server-streaming",
  readMaxBytes: number,
  canDecompress: boolean,
): SingleEnvelope {
  let flags = 0;
  let data: Uint8Array | undefined;
  let count = 0;
  let offset = 0;
  while (body.byteLength - offset >= 5) {
    const length = readEnvelopeLength(body, offset);
    if (length > readMaxBytes) throw messageTooLargeError(length, readMaxBytes);
    if (body.byteLength - offset - 5 < length) break;
    if (count === 0) {
      flags = body[offset]!;
      data = body.subarray(offset + 5, offset + 5 + length);
    }
    offset += 5 + length;
    // Two are enough to know there is one too many; what follows the second is not looked at.
    if (++count === 2) break;
  }
  if (data === undefined) {
    if (offset < body.byteLength) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
    throw new ConnectError(`protocol error: missing input message for ${kind} method`, Code.Unimplemented);
  }
  const compressed = (flags & COMPRESSED_FLAG) === COMPRESSED_FLAG;
  if (compressed && !canDecompress)
    throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
  let trailing: ConnectError | undefined;
  if (count > 1)
    trailing = new ConnectError(`protocol error: received extra input message for ${kind} method`, Code.Unimplemented);
  else if (offset < body.byteLength)
    trailing = new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  return { data, compressed, trailing };
}
