import type { DescMessage } from "@bufbuild/protobuf";
import type { Compression } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { createJsonValueCounter } from "./json-values.js";
import { checkMessageFields } from "./message-fields.js";

/** Limits a request body is held to before connect-node decodes it. */
export interface RequestGuardOptions {
  readonly readMaxBytes: number;
  readonly readMaxFields: number;
}

interface BodyForm {
  /** Messages in 5-byte envelopes (gRPC, gRPC-Web, Connect streaming), or one bare message (Connect unary). */
  readonly enveloped: boolean;
  readonly json: boolean;
  /** gRPC-Web text: the envelopes in base64. */
  readonly base64: boolean;
  /** The header naming the request's compression. */
  readonly encodingHeader: string;
}

const COMPRESSIONS: Record<string, Compression> = { gzip: compressionGzip, br: compressionBrotli };

/** What a request's content type says about its body; undefined for what no protocol sends (connect-node refuses it). */
function formOf(contentType: string | null): BodyForm | undefined {
  const type = (contentType ?? "").split(";", 1)[0]!.trim().toLowerCase();
  const grpc = { enveloped: true, base64: false, encodingHeader: "grpc-encoding" };
  switch (type) {
    case "application/grpc":
    case "application/grpc+proto":
    case "application/grpc-web":
    case "application/grpc-web+proto":
      return { ...grpc, json: false };
    case "application/grpc+json":
    case "application/grpc-web+json":
      return { ...grpc, json: true };
    case "application/grpc-web-text":
    case "application/grpc-web-text+proto":
      return { ...grpc, json: false, base64: true };
    case "application/connect+proto":
      return { enveloped: true, json: false, base64: false, encodingHeader: "connect-content-encoding" };
    case "application/connect+json":
      return { enveloped: true, json: true, base64: false, encodingHeader: "connect-content-encoding" };
    case "application/proto":
      return { enveloped: false, json: false, base64: false, encodingHeader: "content-encoding" };
    case "application/json":
      return { enveloped: false, json: true, base64: false, encodingHeader: "content-encoding" };
    default:
      return undefined;
  }
}

/**
 * The body of a request to connect-node, held to `readMaxFields` before connect-node decodes
 * any of it: each message (each envelope, or the whole body of a Connect unary call) is
 * gathered, decompressed when the request says so, and counted — fields of a binary message
 * with {@link checkMessageFields}, values of a JSON one with {@link createJsonValueCounter} —
 * then passed on as it came. Over the limit, reading the body throws RESOURCE_EXHAUSTED,
 * which connect-node answers in the call's protocol.
 *
 * A body this cannot read (over `readMaxBytes`, an unknown encoding, a bad envelope) is
 * passed on unchecked from there: connect-node refuses it with its own error.
 */
export function guardRequestBody(
  body: AsyncIterable<Uint8Array>,
  header: Headers,
  input: DescMessage,
  options: RequestGuardOptions,
): AsyncIterable<Uint8Array> {
  const form = formOf(header.get("content-type"));
  if (form === undefined) return body;
  const encoding = header.get(form.encodingHeader);
  const compression = encoding === null || encoding === "identity" ? null : COMPRESSIONS[encoding];
  if (compression === undefined) return body;
  const check = async (message: Uint8Array, compressed: boolean) => {
    if (compressed) {
      if (compression === null) return; // connect-node refuses a compressed message without an encoding
      message = await compression.decompress(message, options.readMaxBytes);
    }
    if (form.json) createJsonValueCounter(options.readMaxFields)(message);
    else checkMessageFields(input, message, options.readMaxFields);
  };
  if (!form.enveloped) return unary(body, options.readMaxBytes, (m) => check(m, compression !== null));
  if (form.base64) return base64Envelopes(body, options.readMaxBytes, check);
  return envelopes(body, options.readMaxBytes, check);
}

/** A Connect unary body: gathered whole (connect-node does the same), checked, passed on. */
async function* unary(
  body: AsyncIterable<Uint8Array>,
  readMaxBytes: number,
  check: (m: Uint8Array) => Promise<void>,
): AsyncGenerator<Uint8Array> {
  const whole = await gather(body, readMaxBytes);
  if (whole.rest !== undefined) {
    yield* whole.chunks;
    yield* whole.rest;
    return;
  }
  const all = concat(whole.chunks, whole.size);
  await check(all);
  yield all;
}

/**
 * The chunks of a body up to `limit` bytes. Past the limit it stops, with what it read and
 * `rest`, the body still to come: the caller hands both on unread (connect-node refuses it).
 */
async function gather(
  body: AsyncIterable<Uint8Array>,
  limit: number,
): Promise<{ chunks: Uint8Array[]; size: number; rest?: AsyncIterable<Uint8Array> }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const it = body[Symbol.asyncIterator]();
  for (;;) {
    const next = await it.next();
    if (next.done === true) return { chunks, size };
    chunks.push(next.value);
    size += next.value.byteLength;
    if (size > limit) return { chunks, size, rest: { [Symbol.asyncIterator]: () => it } };
  }
}

/** Enveloped messages: each one passed on once it is in whole and checked. */
async function* envelopes(
  body: AsyncIterable<Uint8Array>,
  readMaxBytes: number,
  check: (m: Uint8Array, compressed: boolean) => Promise<void>,
): AsyncGenerator<Uint8Array> {
  // Chunks of the envelope(s) not passed on yet; joined once a whole envelope is in.
  let chunks: Uint8Array[] = [];
  let size = 0;
  let length = -1;
  const it = body[Symbol.asyncIterator]();
  for (;;) {
    const next = await it.next();
    if (next.done === true) break;
    chunks.push(next.value);
    size += next.value.byteLength;
    for (;;) {
      if (length < 0) {
        if (size < 5) break;
        if (chunks[0]!.byteLength < 5) chunks = [concat(chunks, size)];
        const first = chunks[0]!;
        length = new DataView(first.buffer, first.byteOffset, 5).getUint32(1);
        if (length > readMaxBytes) {
          // connect-node refuses it from the prefix alone: hand everything on unread.
          yield* chunks;
          yield* { [Symbol.asyncIterator]: () => it };
          return;
        }
      }
      if (size < 5 + length) break;
      const all = concat(chunks, size);
      await check(all.subarray(5, 5 + length), (all[0]! & 1) === 1);
      yield all.subarray(0, 5 + length);
      const rest = all.subarray(5 + length);
      chunks = rest.byteLength > 0 ? [rest] : [];
      size = rest.byteLength;
      length = -1;
    }
  }
  yield* chunks;
}

/** gRPC-Web text: the whole body (one request message) decoded from base64, checked, passed on as sent. */
async function* base64Envelopes(
  body: AsyncIterable<Uint8Array>,
  readMaxBytes: number,
  check: (m: Uint8Array, compressed: boolean) => Promise<void>,
): AsyncGenerator<Uint8Array> {
  const whole = await gather(body, Math.ceil((readMaxBytes + 5) / 3) * 4 + 8);
  if (whole.rest !== undefined) {
    yield* whole.chunks;
    yield* whole.rest;
    return;
  }
  const text = Buffer.from(concat(whole.chunks, whole.size)).toString("latin1").replace(/\s+/g, "");
  // Each write of a gRPC-Web text client is padded on its own: decode group by group.
  const decoded = Buffer.concat(text.split(/(?<==)(?=[^=])/).map((part) => Buffer.from(part, "base64")));
  await drain(envelopes(single(decoded), readMaxBytes, check));
  yield* whole.chunks;
}

async function* single(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function drain(it: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of it) void _;
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
