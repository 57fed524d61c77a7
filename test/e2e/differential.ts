// The harness of the differential suite (grpc-differential.spec.ts): the same call made to
// two servers of the same app, one with `fastPath: true` (the native gRPC path) and one
// with `fastPath: false` (connect-node, the reference), each call's outcome reduced to
// plain data (what a @grpc/grpc-js client sees, or what a raw node:http2 client sees),
// and a comparison that names every place where the two differ.
import { createHash } from "node:crypto";
import * as http2 from "node:http2";
import { isDeepStrictEqual } from "node:util";
import { ConnectError, type Interceptor } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { createServer, type BlazeServer, type ServerOptions } from "@blazerpc/runtime";

/** The two sides of every comparison. */
export type Side = "fast" | "ref";
export const sideLabel: Record<Side, string> = { fast: "fastPath: true", ref: "fastPath: false (connect-node)" };

/** A server with the native path, and one without: same app, same options otherwise. */
export interface Pair {
  readonly fast: BlazeServer;
  readonly ref: BlazeServer;
}

/**
 * `BLAZE_DIFF_SELF_CHECK=1` runs the suite connect-node against connect-node (both servers
 * `fastPath: false`): a check of the suite itself, that every case is deterministic.
 */
export const selfCheck = process.env["BLAZE_DIFF_SELF_CHECK"] === "1";

/**
 * Which implementation is calling an interceptor, from the call stack: connect-node's
 * router invokes it from @connectrpc/connect's invoke-implementation; anything else is
 * the native path.
 */
export function calledVia(): "connect-node" | "native" {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  return /@connectrpc[/+]connect.*[/\\]protocol[/\\]invoke-implementation/.test(stack) ? "connect-node" : "native";
}

/** How the calls with an `x-diff-probe` request header reached the interceptors, by its value. */
export const probes = new Map<string, "connect-node" | "native">();

/**
 * An interceptor for both sides: copies the request's `x-echo-*` headers into the response
 * headers and trailers (and an error's metadata); notes in {@link probes} how a call with
 * `x-diff-probe` was served.
 */
export const echoHeaders: Interceptor = (next) => async (req) => {
  const probe = req.header.get("x-diff-probe");
  if (probe !== null) probes.set(probe, calledVia());
  const echoed = [...req.header].filter(([k]) => k.startsWith("x-echo-"));
  try {
    const res = await next(req);
    for (const [k, v] of echoed) {
      res.header.set(k, v);
      res.trailer.set(k, v);
    }
    return res;
  } catch (err) {
    if (err instanceof ConnectError) for (const [k, v] of echoed) err.metadata.set(k, v);
    throw err;
  }
};

/** Starts a {@link Pair} on 127.0.0.1, port 0 each. */
export async function startPair(options: ServerOptions | ((side: Side) => ServerOptions)): Promise<Pair> {
  const of = (side: Side) => (typeof options === "function" ? options(side) : options);
  const fast = createServer({ closeGraceMs: 1000, ...of("fast"), host: "127.0.0.1", port: 0, fastPath: !selfCheck });
  const ref = createServer({ closeGraceMs: 1000, ...of("ref"), host: "127.0.0.1", port: 0, fastPath: false });
  await Promise.all([fast.listen(), ref.listen()]);
  return { fast, ref };
}

export async function closePair(pair: Pair | undefined): Promise<void> {
  if (pair !== undefined) await Promise.all([pair.fast.close(), pair.ref.close()]);
}

/** Runs `call` against both servers of `pair` at once. */
export async function onBoth<T>(
  pair: Pair,
  call: (server: BlazeServer, side: Side) => Promise<T>,
): Promise<Record<Side, T>> {
  const [fast, ref] = await Promise.all([call(pair.fast, "fast"), call(pair.ref, "ref")]);
  return { fast, ref };
}

/** Rejects when `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no outcome within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------
// Comparison

/**
 * Asserts that the two outcomes are deeply equal; on a mismatch, throws an error that
 * lists each differing path with both values, then the reference outcome in full.
 */
export function expectSame<T>(what: string, outcomes: Record<Side, T>): T {
  if (isDeepStrictEqual(outcomes.fast, outcomes.ref)) return outcomes.ref;
  const a = flatten(outcomes.fast);
  const b = flatten(outcomes.ref);
  const lines: string[] = [];
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(key);
    const y = b.get(key);
    if (x === y) continue;
    // An empty object or array on one side whose contents the other side lists: those lines say it.
    const within = (m: Map<string, string>) =>
      [...m.keys()].some((k) => k.startsWith(`${key}.`) || k.startsWith(`${key}[`));
    if ((x === "{}" || x === "[]") && y === undefined && within(b)) continue;
    if ((y === "{}" || y === "[]") && x === undefined && within(a)) continue;
    lines.push(
      `  ${key}\n    ${sideLabel.fast.padEnd(31)} ${x ?? "(absent)"}\n    ${sideLabel.ref.padEnd(31)} ${y ?? "(absent)"}`,
    );
  }
  const reference = JSON.stringify(outcomes.ref, null, 2);
  throw new Error(
    `${what}: the native path and connect-node differ in ${lines.length} place(s):\n${lines.join("\n")}\n\n` +
      `reference outcome (${sideLabel.ref}):\n${reference.length > 6000 ? `${reference.slice(0, 6000)}\n…` : reference}`,
  );
}

/** `{ a: { b: [1] } }` → `a.b[0]` → `1`, every leaf as JSON. */
function flatten(value: unknown, prefix = "", out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value)) {
    if (value.length === 0) out.set(prefix, "[]");
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value);
    if (entries.length === 0) out.set(prefix, "{}");
    for (const [k, v] of entries) flatten(v, prefix === "" ? k : `${prefix}.${k}`, out);
  } else {
    out.set(prefix, value === undefined ? "undefined" : JSON.stringify(value));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Bytes, frames and headers as comparable, readable data

/** Short bytes as hex; long ones as their size, hash, first and last bytes. */
export function describeBytes(b: Uint8Array): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length <= 96) return `hex:${buf.toString("hex")}`;
  const sha = createHash("sha256").update(buf).digest("hex").slice(0, 16);
  return `${buf.length} bytes sha256:${sha} head:${buf.subarray(0, 16).toString("hex")} tail:${buf.subarray(-8).toString("hex")}`;
}

/** A gRPC body: its size and hash, and the length-prefixed messages it holds. */
export interface BodySummary {
  bytes: number;
  sha256: string;
  frames: { flags: number; length: number; data: string }[];
  /** Bytes after the last whole frame, if any. */
  rest?: string;
}

export function describeBody(body: Buffer): BodySummary {
  const frames: BodySummary["frames"] = [];
  let at = 0;
  while (at + 5 <= body.length) {
    const length = body.readUInt32BE(at + 1);
    if (at + 5 + length > body.length) break;
    frames.push({ flags: body[at]!, length, data: describeBytes(body.subarray(at + 5, at + 5 + length)) });
    at += 5 + length;
  }
  return {
    bytes: body.length,
    sha256: createHash("sha256").update(body).digest("hex").slice(0, 32),
    frames,
    ...(at < body.length ? { rest: describeBytes(body.subarray(at)) } : {}),
  };
}

/** The messages of a gRPC body (flags and payload), for sanity checks. */
export function parseFrames(body: Buffer): { flags: number; data: Buffer }[] {
  const out: { flags: number; data: Buffer }[] = [];
  for (let at = 0; at + 5 <= body.length;) {
    const length = body.readUInt32BE(at + 1);
    if (at + 5 + length > body.length) break;
    out.push({ flags: body[at]!, data: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return out;
}

/** One gRPC length-prefixed message: flags byte, big-endian length, payload. */
export function frame(payload: Uint8Array, flags = 0, announcedLength = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(announcedLength, 1);
  return Buffer.concat([head, payload]);
}

/** Deterministic pseudo-random bytes (xorshift32), the same for both servers. */
export function pseudoRandomBytes(n: number, seed = 0x9e3779b9): Buffer {
  const words = new Uint32Array(Math.ceil(n / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return Buffer.from(words.buffer, 0, n);
}

/** Headers that differ from one response to the next: kept as "(present)" so presence still counts. */
const VOLATILE = new Set(["date"]);

/** An HTTP/2 headers object as a sorted plain object, volatile values masked. */
export function normalizeHeaders(headers: http2.IncomingHttpHeaders | undefined): Record<string, unknown> | null {
  if (headers === undefined) return null;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(headers).sort()) out[key] = VOLATILE.has(key) ? "(present)" : headers[key];
  return out;
}

/** grpc-js metadata as a sorted plain object (binary values as `bin:<hex>`), volatile values masked. */
export function normalizeMetadata(metadata: grpc.Metadata | undefined): Record<string, string[]> | null {
  if (metadata === undefined) return null;
  const map = metadata.toJSON() as Record<string, (string | Buffer)[]>;
  const out: Record<string, string[]> = {};
  for (const key of Object.keys(map).sort()) {
    out[key] = VOLATILE.has(key)
      ? ["(present)"]
      : map[key]!.map((v) => (typeof v === "string" ? v : `bin:${v.toString("hex")}`));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// A raw node:http2 client

/** What a raw HTTP/2 client sees of one request. */
export interface RawOutcome {
  /** The response headers (`:status` included), `date` masked. */
  headers: Record<string, unknown> | null;
  /** True when the response headers ended the stream (a gRPC "trailers-only" response). */
  headersEndStream: boolean;
  /** Every DATA byte, concatenated. */
  body: BodySummary;
  /** The trailers, or null when none came. */
  trailers: Record<string, unknown> | null;
  /** The RST_STREAM code the stream closed with (0: closed normally; null: see requestLeftOpen). */
  rstCode: number | null;
  /**
   * True when the response ended but the stream stayed open: the server neither read the
   * rest of the request (flow control holds it) nor reset the stream; the client cancelled it.
   */
  requestLeftOpen: boolean;
  /** The code of an error the stream emitted, if any. */
  streamError: string | null;
  /** The error code of a GOAWAY the server sent, if any. */
  goaway: number | null;
}

export interface RawRequest {
  path: string;
  /** Added to (or replacing) `:method: POST`, `content-type: application/grpc`, `te: trailers`; a null value removes one. */
  headers?: Record<string, string | string[] | null>;
  /** The request body, already framed (see {@link frame}); sent whole, then the stream ends. */
  body?: Buffer;
  /** Send the body in pieces of this many bytes (each its own DATA frame), `chunkDelayMs` apart. */
  chunkSize?: number;
  chunkDelayMs?: number;
  /** End the request stream this long after the body was sent (default at once). */
  endDelayMs?: number;
  /** Send no body at all: END_STREAM on the request's HEADERS frame. */
  endStreamOnHeaders?: boolean;
  /** The client's stream receive window (initial window size). Default 16 MiB; Node's own is 64 KiB. */
  windowBytes?: number;
  /** Cancel the stream (RST_STREAM CANCEL) once this many whole messages came; the body is cut there. */
  cancelAfterMessages?: number;
  /** Cancel the stream (RST_STREAM CANCEL) this long after it started. */
  cancelAfterMs?: number;
  /** Give up after this long. Default 5000 ms. */
  timeoutMs?: number;
}

/** A raw outcome plus the received body itself, for sanity checks. */
export interface RawResult {
  outcome: RawOutcome;
  body: Buffer;
}

const CLIENT_WINDOW = 16 * 1024 * 1024;

/** Makes one request on a fresh HTTP/2 connection, and closes the connection after it. */
export function rawCall(server: BlazeServer, request: RawRequest): Promise<RawResult> {
  const {
    path,
    headers = {},
    body = Buffer.alloc(0),
    chunkSize,
    chunkDelayMs = 0,
    endDelayMs,
    endStreamOnHeaders = false,
    windowBytes = CLIENT_WINDOW,
  } = request;
  const { cancelAfterMessages, cancelAfterMs, timeoutMs = 5000 } = request;
  const session = http2.connect(server.url(), { settings: { initialWindowSize: windowBytes } });
  session.on("error", () => undefined);
  let goaway: number | null = null;
  session.on("goaway", (code) => (goaway = code));
  session.once("connect", () => session.setLocalWindowSize(Math.max(windowBytes, 65_535)));
  const outgoing: http2.OutgoingHttpHeaders = {
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
  };
  for (const [k, v] of Object.entries(headers)) {
    if (v === null) delete outgoing[k];
    else outgoing[k] = v;
  }
  const req = session.request(outgoing, { endStream: endStreamOnHeaders });
  const chunks: Buffer[] = [];
  let received = 0;
  let response: http2.IncomingHttpHeaders | undefined;
  let headersEndStream = false;
  let trailers: http2.IncomingHttpHeaders | undefined;
  let streamError: string | null = null;
  let cutAt: number | undefined;
  let leftOpen = false;
  // The response is complete: the stream should close now (unless the server left our side of it open).
  req.on("end", () => {
    setTimeout(() => {
      if (req.closed) return;
      leftOpen = true;
      req.close(http2.constants.NGHTTP2_CANCEL);
    }, 200).unref();
  });
  req.on("response", (h, flags) => {
    response = h;
    headersEndStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
  });
  req.on("trailers", (h) => (trailers = h));
  req.on("error", (err: NodeJS.ErrnoException) => (streamError = err.code ?? err.message));
  req.on("data", (chunk: Buffer) => {
    if (cutAt !== undefined) return;
    chunks.push(chunk);
    received += chunk.length;
    if (cancelAfterMessages !== undefined) {
      const all = Buffer.concat(chunks);
      const frames = parseFrames(all);
      if (frames.length >= cancelAfterMessages) {
        cutAt = frames.slice(0, cancelAfterMessages).reduce((n, f) => n + 5 + f.data.length, 0);
        req.close(http2.constants.NGHTTP2_CANCEL);
      }
    }
  });
  let cancelled = false;
  const cancel = () => {
    cancelled = true;
    if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
  };
  const timer = cancelAfterMs !== undefined ? setTimeout(cancel, cancelAfterMs) : undefined;
  const open = () => !req.closed && !req.destroyed && !req.writableEnded;
  if (!endStreamOnHeaders) {
    void (async () => {
      if (chunkSize === undefined) req.write(body);
      else {
        for (let at = 0; at < body.length && open(); at += chunkSize) {
          req.write(body.subarray(at, at + chunkSize));
          await new Promise((r) => (chunkDelayMs > 0 ? setTimeout(r, chunkDelayMs) : setImmediate(r)));
        }
      }
      if (endDelayMs !== undefined) await new Promise((r) => setTimeout(r, endDelayMs));
      if (open()) req.end();
    })().catch(() => undefined);
  }
  const closed = new Promise<RawResult>((resolve) => {
    req.once("close", () => {
      // Let a GOAWAY that arrives with the stream's end be seen.
      setImmediate(() => {
        const all = Buffer.concat(chunks, received);
        const data = cutAt === undefined ? all : all.subarray(0, cutAt);
        resolve({
          outcome: {
            headers: normalizeHeaders(response),
            headersEndStream,
            body: describeBody(data),
            trailers: normalizeHeaders(trailers),
            rstCode: leftOpen || cancelled || cutAt !== undefined ? null : (req.rstCode ?? null),
            requestLeftOpen: leftOpen,
            streamError,
            goaway,
          },
          body: data,
        });
      });
    });
  });
  return within(closed, timeoutMs, `raw HTTP/2 request to ${server.url()}${path}`).finally(() => {
    clearTimeout(timer);
    if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
    session.close();
  });
}

// ---------------------------------------------------------------------------------------
// A @grpc/grpc-js client

/** What a grpc-js client sees of one call. */
export interface GrpcOutcome {
  code: number;
  codeName: string;
  details: string;
  /** Response headers (the `metadata` event), or null when none were reported. */
  headers: Record<string, string[]> | null;
  /** Trailing metadata (the status' metadata). */
  trailers: Record<string, string[]> | null;
  /** Each response message (raw bytes, described). */
  messages: string[];
}

export interface GrpcCall {
  method: string;
  kind: "unary" | "stream";
  /** The serialized request message. */
  request: Uint8Array;
  metadata?: Record<string, string | Buffer | (string | Buffer)[]>;
  /** Deadline, in ms from now. */
  deadlineMs?: number;
  /** Cancel the call once this many messages came. */
  cancelAfterMessages?: number;
  /** Give up after this long. Default 5000 ms. */
  timeoutMs?: number;
}

export interface GrpcResult {
  outcome: GrpcOutcome;
  messages: Buffer[];
}

const codeName = (code: number) => grpc.status[code] ?? `code ${code}`;
const identity = (b: Buffer) => b;

/** Makes one call with a grpc-js client; the messages stay raw bytes. */
export function grpcCall(client: grpc.Client, call: GrpcCall): Promise<GrpcResult> {
  const { method, kind, request, metadata = {}, deadlineMs, cancelAfterMessages, timeoutMs = 5000 } = call;
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) for (const one of Array.isArray(v) ? v : [v]) md.add(k, one);
  const options: grpc.CallOptions = deadlineMs !== undefined ? { deadline: Date.now() + deadlineMs } : {};
  const messages: Buffer[] = [];
  let headers: grpc.Metadata | undefined;
  const done = new Promise<GrpcResult>((resolve) => {
    const finish = (status: grpc.StatusObject) =>
      setImmediate(() =>
        resolve({
          outcome: {
            code: status.code,
            codeName: codeName(status.code),
            details: status.details,
            headers: normalizeMetadata(headers),
            trailers: normalizeMetadata(status.metadata),
            messages: messages.map(describeBytes),
          },
          messages,
        }),
      );
    if (kind === "unary") {
      const c = client.makeUnaryRequest(method, identity, identity, Buffer.from(request), md, options, (_err, res) => {
        if (res !== undefined) messages.push(res);
      });
      c.on("metadata", (m: grpc.Metadata) => (headers = m));
      c.on("status", finish);
    } else {
      const c = client.makeServerStreamRequest(method, identity, identity, Buffer.from(request), md, options);
      c.on("metadata", (m: grpc.Metadata) => (headers = m));
      c.on("data", (m: Buffer) => {
        messages.push(m);
        if (cancelAfterMessages !== undefined && messages.length === cancelAfterMessages) c.cancel();
      });
      c.on("error", () => undefined);
      c.on("status", finish);
    }
  });
  return within(done, timeoutMs, `grpc-js call ${method}`);
}

/** grpc-js clients by server port and channel options, closed by {@link closeClients}. */
const clients = new Map<string, grpc.Client>();

/** A grpc-js client of `server` with channel `options` (no message size limits unless given); one per server and options. */
export function grpcClient(server: BlazeServer, options: grpc.ChannelOptions = {}): grpc.Client {
  const key = `${server.address().port} ${JSON.stringify(options)}`;
  let c = clients.get(key);
  if (c === undefined) {
    c = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1,
      ...options,
    });
    clients.set(key, c);
  }
  return c;
}

export function closeClients(): void {
  for (const c of clients.values()) c.close();
  clients.clear();
}
