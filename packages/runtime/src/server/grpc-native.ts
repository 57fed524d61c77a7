import type * as http2 from "node:http2";
import { create, toBinary, fromBinary, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { compressionNegotiate, type Compression } from "@connectrpc/connect/protocol";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import type { ModelRpc } from "../binding/connect-routes.js";
import { toWireError } from "../errors.js";
import { checkMessageFields } from "../limits/message-fields.js";
import { clampTimeoutMs } from "../limits/timeouts.js";

/**
 * The native gRPC path: `application/grpc` and `application/grpc+proto` unary and
 * server-streaming calls answered directly on `node:http2` streams, with @bufbuild/protobuf
 * for the messages, instead of through connect-node's per-request pipelines of async
 * iterators.
 *
 * connect-node stays the reference: everything this path answers, it answers the way
 * connect-node's gRPC handler does — same response headers, trailers, status codes and
 * messages, same compression negotiation (gzip and br, messages from 1 KiB compressed),
 * same limits, same request gate and interceptors — and test/e2e/grpc-differential.spec.ts
 * holds both to it. What it does not take (other content types, client and bidi streaming,
 * unknown paths, other methods than POST) goes to connect-node unchanged.
 */
export interface NativeGrpcOptions {
  /** The model RPCs by URL path. */
  readonly rpcs: ReadonlyMap<string, ModelRpc>;
  /** Largest message accepted, in bytes (the same limit connect-node applies). */
  readonly readMaxBytes: number;
  /** Most fields a request message may hold (checked before it is decoded; unknown fields are skipped). */
  readonly readMaxFields: number;
  /** Responses are compressed (when negotiated) from this size on, as connect's `compressMinBytes`. */
  readonly compressMinBytes: number;
  /** Connect interceptors, outermost first: the same ones connect-node runs. */
  readonly interceptors: readonly Interceptor[];
  /**
   * Called as each call starts (its headers are in): bookkeeping such as in-flight sets and
   * observers. Returns what to call, once, when the call has ended — with the error it
   * failed with, or undefined.
   */
  readonly onCall?: (ctx: NativeCallContext, stream: http2.ServerHttp2Stream) => ((error: ConnectError | undefined) => void) | undefined;
  /**
   * Runs once a call's headers are in, before its body is read (connect's `requestGate`,
   * e.g. auth). A throw or rejection answers the call with that error.
   */
  readonly requestGate?: (ctx: HandlerContext) => void | Promise<void>;
  /**
   * Wraps each call's implementation (the model call, or the creation of its stream):
   * tracing makes the call's span the active one here, as its interceptor does on connect-node.
   */
  readonly around?: <T>(ctx: HandlerContext, fn: () => T) => T;
  /** The context values each call starts with. */
  readonly contextValues?: () => ContextValues;
  /** `http` or `https`, for the calls' `url`. */
  readonly scheme: "http" | "https";
}

/** A native call's handler context: connect's, plus `abort` (as connect's own contexts have). */
export interface NativeCallContext extends HandlerContext {
  abort(reason?: unknown): void;
}

/** Takes a stream when the native path serves it; returns false to leave it to connect-node. */
export type NativeGrpc = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;

/** Unknown fields are skipped, not kept: nothing here writes a request back out. */
const READ_OPTIONS = { readUnknownFields: false } as const;
const ACCEPT: readonly Compression[] = [compressionGzip, compressionBrotli];
const CONTENT_TYPE = "application/grpc+proto";
const kStatusOk = "0";
/** Messages from this size on are written as prefix + bytes rather than copied into one buffer. */
const SPLIT_FRAME_BYTES = 64 * 1024;

/** One gRPC frame: a single buffer, or the 5-byte prefix and the message bytes. */
type Frame = Uint8Array | [Buffer, Uint8Array];

export function createNativeGrpc(options: NativeGrpcOptions): NativeGrpc {
  const { rpcs } = options;
  return (stream, headers) => {
    if (headers[":method"] !== "POST") return false;
    const type = headers["content-type"];
    if (type !== "application/grpc" && type !== "application/grpc+proto") return false;
    const rpc = rpcs.get(headers[":path"]!);
    if (rpc === undefined) return false;
    void new NativeCall(stream, headers, rpc, options).run();
    return true;
  };
}

/** The handler context of a native call. Headers objects are built only when asked for. */
class NativeCall implements NativeCallContext {
  readonly protocolName = "grpc";
  readonly requestMethod = "POST";
  readonly method: DescMethod;
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private reqHeader: Headers | undefined;
  private resHeader: Headers | undefined;
  private resTrailer: Headers | undefined;
  private ctxValues: ContextValues | undefined;
  private deadline: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private compression: Compression | null = null;
  private headersSent = false;
  /** Trailers were handed to the stream: the call is over from our side. */
  private done = false;
  /** The error the call was answered with. */
  private error: ConnectError | undefined;

  constructor(
    readonly stream: http2.ServerHttp2Stream,
    private readonly nodeHeaders: http2.IncomingHttpHeaders,
    private readonly rpc: ModelRpc,
    private readonly options: NativeGrpcOptions,
  ) {
    this.method = rpc.method;
    this.signal = this.controller.signal;
  }

  get service() {
    return this.method.parent;
  }
  get url(): string {
    return `${this.options.scheme}://${this.nodeHeaders[":authority"] ?? ""}${this.nodeHeaders[":path"] ?? ""}`;
  }
  get requestHeader(): Headers {
    return (this.reqHeader ??= webHeaders(this.nodeHeaders));
  }
  get responseHeader(): Headers {
    if (this.resHeader === undefined) {
      this.resHeader = new Headers({ "content-type": CONTENT_TYPE });
      if (this.compression !== null) this.resHeader.set("grpc-encoding", this.compression.name);
    }
    return this.resHeader;
  }
  get responseTrailer(): Headers {
    return (this.resTrailer ??= new Headers({ "grpc-status": kStatusOk }));
  }
  get values(): ContextValues {
    return (this.ctxValues ??= this.options.contextValues?.() ?? createContextValues());
  }
  timeoutMs = (): number | undefined => (this.deadline === undefined ? undefined : this.deadline - Date.now());

  /** Ends the call's signal (connect's handler contexts have the same method). */
  abort(reason?: unknown): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.controller.abort(reason);
  }

  async run(): Promise<void> {
    const { stream, nodeHeaders } = this;
    const { readMaxBytes, interceptors, requestGate, onCall } = this.options;
    const timeout = parseTimeout(header(nodeHeaders["grpc-timeout"]), Number.MAX_SAFE_INTEGER);
    if (timeout.timeoutMs !== undefined && timeout.error === undefined) {
      const timeoutMs = clampTimeoutMs(timeout.timeoutMs);
      this.deadline = Date.now() + timeoutMs;
      this.timer = setTimeout(() => this.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
    }
    const negotiated = compressionNegotiate(ACCEPT as Compression[], header(nodeHeaders["grpc-encoding"]), header(nodeHeaders["grpc-accept-encoding"]), "Grpc-Accept-Encoding");
    this.compression = negotiated.response;
    // A reset with an error code destroys the stream with an 'error' event; the close handler answers it.
    stream.on("error", ignore);
    const ended = onCall?.(this, stream);
    stream.once("close", () => {
      if (this.timer !== undefined) clearTimeout(this.timer);
      // A call answered in full ends without touching its signal (connect's contexts abort it
      // with no reason, which costs a DOMException per call); one cut short aborts it.
      if (!this.done) {
        // What ended the call first: its deadline (or the shutdown), else the client's reset.
        const reason: unknown = this.signal.aborted ? this.signal.reason : undefined;
        this.error ??= reason instanceof ConnectError ? reason : (resetError(stream.rstCode) ?? new ConnectError("the client went away", Code.Canceled));
        if (!this.signal.aborted) this.abort(this.error);
      }
      ended?.(this.error);
    });
    // A body we will not read (an early error) must not hold the client in flow control.
    const body = new BodyReader(stream, readMaxBytes);
    try {
      if (requestGate !== undefined) {
        const gated = requestGate(this);
        if (gated !== undefined) await gated;
      }
      // Under overload, refuse before reading the request: a full queue, or more work queued
      // than the deadline allows, costs the server next to nothing.
      if (this.rpc.kind === "unary" && timeout.error === undefined) {
        const refused = this.rpc.admit?.(timeout.timeoutMs);
        if (refused !== undefined) throw refused;
      }
      const readInput = async (): Promise<unknown> => {
        if (negotiated.error !== undefined) throw negotiated.error;
        if (timeout.error !== undefined) throw timeout.error;
        return this.parse(await body.single(this.rpc.kind === "unary" ? "unary" : "server-streaming", negotiated.request));
      };
      if (this.rpc.kind === "unary") await this.unary(await readInput(), interceptors);
      else await this.serverStreaming(readInput, interceptors);
    } catch (err) {
      this.fail(err);
    } finally {
      body.discard();
    }
  }

  private invoke<T>(fn: () => T): T {
    const { around } = this.options;
    return around === undefined ? fn() : around(this, fn);
  }

  private parse(bytes: Uint8Array): unknown {
    const input = this.method.input as DescMessage;
    checkMessageFields(input, bytes, this.options.readMaxFields);
    try {
      return fromBinary(input, bytes, READ_OPTIONS);
    } catch (e) {
      throw new ConnectError(`parse binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
    }
  }

  private async unary(message: unknown, interceptors: readonly Interceptor[]): Promise<void> {
    const rpc = this.rpc as Extract<ModelRpc, { kind: "unary" }>;
    const output = this.method.output as DescMessage;
    let result: unknown;
    if (interceptors.length === 0) {
      result = create(output, (await this.invoke(() => rpc.impl(message, this))) as never);
    } else {
      const next = applyInterceptors(async (req): Promise<UnaryResponse> => {
        const r = req as UnaryRequest;
        return {
          stream: false,
          message: create(output, (await this.invoke(() => rpc.impl(r.message, merged(this, r)))) as never),
          method: this.method as never,
          service: this.service,
          header: this.responseHeader,
          trailer: this.responseTrailer,
        };
      }, interceptors);
      const res = (await next(this.request(false, message))) as UnaryResponse;
      copyHeaders(res.header, this.responseHeader);
      copyHeaders(res.trailer, this.responseTrailer);
      result = res.message;
    }
    const frame = await this.frame(result, output);
    if (this.stream.destroyed) return;
    this.sendHeaders();
    this.end(frame);
  }

  private async serverStreaming(readInput: () => Promise<unknown>, interceptors: readonly Interceptor[]): Promise<void> {
    const rpc = this.rpc as Extract<ModelRpc, { kind: "server_streaming" }>;
    const output = this.method.output as DescMessage;
    let messages: AsyncIterable<unknown>;
    if (interceptors.length === 0) {
      const input = await readInput();
      messages = this.invoke(() => rpc.impl(input, this));
    } else {
      const input: AsyncIterable<unknown> = {
        async *[Symbol.asyncIterator]() {
          yield await readInput();
        },
      };
      const next = applyInterceptors(async (req): Promise<StreamResponse> => {
        const r = req as StreamRequest;
        let first: unknown;
        for await (const m of r.message) first = m;
        return {
          stream: true,
          message: this.invoke(() => rpc.impl(first, merged(this, r))) as AsyncIterable<never>,
          method: this.method as never,
          service: this.service,
          header: this.responseHeader,
          trailer: this.responseTrailer,
        };
      }, interceptors);
      const res = (await next(this.request(true, input))) as StreamResponse;
      copyHeaders(res.header, this.responseHeader);
      messages = res.message;
      // connect copies the trailers once the messages are through.
      messages = withTrailers(messages, () => copyHeaders(res.trailer, this.responseTrailer));
    }
    const it = messages[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await it.next();
        if (next.done === true) break;
        const frame = await this.frame(create(output, next.value as never), output);
        if (this.stream.destroyed) return;
        this.sendHeaders();
        if (!write(this.stream, frame)) await drained(this.stream);
        if (this.stream.destroyed) return;
      }
    } finally {
      await it.return?.(undefined)?.catch(() => undefined);
    }
    if (this.stream.destroyed) return;
    this.sendHeaders();
    this.end(undefined);
  }

  /** A message as one gRPC frame: flags, length, bytes (compressed when negotiated and ≥ 1 KiB). */
  private async frame(message: unknown, output: DescMessage): Promise<Frame> {
    let data: Uint8Array;
    try {
      data = toBinary(output, message as never);
    } catch (e) {
      throw new ConnectError(`serialize binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
    }
    let flags = 0;
    if (this.compression !== null && data.byteLength >= this.options.compressMinBytes) {
      data = await this.compression.compress(data);
      flags = 1;
    }
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

  private sendHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    const out: http2.OutgoingHttpHeaders = { ":status": 200, "content-type": CONTENT_TYPE, date: utcDate() };
    if (this.resHeader !== undefined) nodeHeadersInto(out, this.resHeader);
    else if (this.compression !== null) out["grpc-encoding"] = this.compression.name;
    this.stream.respond(out, { waitForTrailers: true });
  }

  /** Writes the last frame (if any) and the trailers. */
  private end(frame: Frame | undefined): void {
    const { stream } = this;
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const trailers: http2.OutgoingHttpHeaders = this.resTrailer === undefined ? { "grpc-status": kStatusOk } : nodeHeadersInto({}, this.resTrailer);
    stream.once("wantTrailers", () => stream.sendTrailers(trailers));
    if (frame === undefined) stream.end();
    else if (frame instanceof Uint8Array) stream.end(frame);
    else {
      stream.write(frame[0]);
      stream.end(frame[1]);
    }
  }

  /**
   * Answers the call with an error, as connect's gRPC handler does: headers, then trailers
   * with the status — its message cut to MAX_ERROR_MESSAGE_BYTES, so that the trailers fit
   * one header block whatever the error says (a longer block resets the stream with
   * FRAME_SIZE_ERROR, and the client's whole connection with it).
   */
  private fail(err: unknown): void {
    const error = toWireError(err);
    this.error ??= error;
    if (!this.signal.aborted) this.abort(error);
    if (this.stream.destroyed || this.done) return;
    setTrailerStatus(this.responseTrailer, error);
    this.sendHeaders();
    this.end(undefined);
  }

  private request(stream: false, message: unknown): UnaryRequest;
  private request(stream: true, message: AsyncIterable<unknown>): StreamRequest;
  private request(stream: boolean, message: unknown): UnaryRequest | StreamRequest {
    return {
      stream,
      message,
      method: this.method,
      requestMethod: this.requestMethod,
      url: this.url,
      signal: this.signal,
      header: this.requestHeader,
      service: this.service,
      contextValues: this.values,
    } as UnaryRequest | StreamRequest;
  }
}

/**
 * Reads a call's body and splits it into gRPC messages. A message announced larger than
 * `readMaxBytes` fails as soon as its 5-byte prefix is in, before its bytes are buffered.
 */
class BodyReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private dropping = false;
  private oversize = false;
  private error: ConnectError | undefined;
  private waiter: (() => void) | undefined;
  private checked = false;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly readMaxBytes: number,
  ) {
    stream.on("data", (chunk: Buffer) => {
      if (this.dropping) return;
      this.chunks.push(chunk);
      this.size += chunk.byteLength;
      if (!this.checked && this.size >= 5) {
        this.checked = true;
        const length = this.peekLength();
        if (length > readMaxBytes) {
          // Read no further: the rest of the body stays in flow control, as on connect-node.
          this.dropping = true;
          this.oversize = true;
          stream.pause();
          this.fail(tooLarge(length, readMaxBytes));
        }
      }
    });
    stream.once("end", () => {
      this.ended = true;
      this.wake();
    });
    stream.once("close", () => this.wake());
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.byteLength >= 5) return first.readUInt32BE(1);
    return Buffer.concat(this.chunks).readUInt32BE(1);
  }

  private fail(err: ConnectError): void {
    this.error ??= err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The one message of a unary or server-streaming request, decompressed. */
  async single(kind: "unary" | "server-streaming", compression: Compression | null): Promise<Uint8Array> {
    const { readMaxBytes } = this;
    while (!this.ended && this.error === undefined) {
      // The client went away before its body was in.
      if (this.stream.destroyed) throw new ConnectError("the client went away", Code.Canceled);
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    if (this.error !== undefined) throw this.error;
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    const messages: { flags: number; data: Uint8Array }[] = [];
    let offset = 0;
    while (all.byteLength - offset >= 5) {
      const flags = all[offset]!;
      const length = all.readUInt32BE(offset + 1);
      if (length > readMaxBytes) throw tooLarge(length, readMaxBytes);
      if (all.byteLength - offset - 5 < length) break;
      messages.push({ flags, data: all.subarray(offset + 5, offset + 5 + length) });
      offset += 5 + length;
      if (messages.length === 2) break;
    }
    const first = messages[0];
    if (first === undefined) {
      if (offset < all.byteLength) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
      throw new ConnectError(`protocol error: missing input message for ${kind} method`, Code.Unimplemented);
    }
    let data = first.data;
    if ((first.flags & 1) === 1) {
      if (compression === null) throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
      data = await compression.decompress(data, readMaxBytes);
    }
    if (messages.length > 1) throw new ConnectError(`protocol error: received extra input message for ${kind} method`, Code.Unimplemented);
    if (offset < all.byteLength) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
    return data;
  }

  /** Reads and drops whatever of the body is still to come. */
  discard(): void {
    this.dropping = true;
    this.chunks = [];
    // The rest of a body is read and dropped, so the stream completes (connect-node, through
    // Node's compatibility layer, reads it too) — except after an oversize prefix, where it
    // is left unread in flow control, as there.
    if (!this.ended && !this.oversize) this.stream.resume();
  }
}

/** connect-node's mapping of an HTTP/2 RST_STREAM code to an error (none for NO_ERROR and STREAM_CLOSED). */
function resetError(code: number): ConnectError | undefined {
  const names: Record<number, [string, Code]> = {
    0x1: ["PROTOCOL_ERROR", Code.Internal],
    0x2: ["INTERNAL_ERROR", Code.Internal],
    0x3: ["FLOW_CONTROL_ERROR", Code.Internal],
    0x4: ["SETTINGS_TIMEOUT", Code.Internal],
    0x6: ["FRAME_SIZE_ERROR", Code.Internal],
    0x7: ["REFUSED_STREAM", Code.Unavailable],
    0x8: ["CANCEL", Code.Canceled],
    0x9: ["COMPRESSION_ERROR", Code.Internal],
    0xa: ["CONNECT_ERROR", Code.Internal],
    0xb: ["ENHANCE_YOUR_CALM", Code.ResourceExhausted],
    0xc: ["INADEQUATE_SECURITY", Code.PermissionDenied],
    0xd: ["HTTP_1_1_REQUIRED", Code.PermissionDenied],
  };
  const m = names[code];
  return m === undefined ? undefined : new ConnectError(`http/2 stream closed with error code ${m[0]} (0x${code.toString(16)})`, m[1]);
}

function ignore(): void {}

/** connect's error for a message announced larger than the cap. */
function tooLarge(length: number, readMaxBytes: number): ConnectError {
  return new ConnectError(`message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
}

function header(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return typeof v === "string" ? v : v.join(", ");
}

/** A Node headers object as web Headers, pseudo-headers left out (what connect-node gives interceptors). */
function webHeaders(node: http2.IncomingHttpHeaders): Headers {
  const h = new Headers();
  for (const k in node) {
    if (k.charCodeAt(0) === 58 /* : */) continue;
    const v = node[k];
    if (v === undefined) continue;
    if (typeof v === "string") h.append(k, v);
    else for (const e of v) h.append(k, e);
  }
  return h;
}

/** Copies web Headers into a Node headers object (as connect-node's `webHeaderToNodeHeaders` does). */
function nodeHeadersInto(out: http2.OutgoingHttpHeaders, h: Headers): http2.OutgoingHttpHeaders {
  h.forEach((value, key) => {
    const existing = out[key];
    if (existing === undefined || key === "content-type" || key === "date") out[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[key] = [String(existing), value];
  });
  return out;
}

function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  for (const key of [...to.keys()]) to.delete(key);
  from.forEach((value, key) => to.set(key, value));
}

type AnyFn = (req: UnaryRequest | StreamRequest) => Promise<UnaryResponse | StreamResponse>;

function applyInterceptors(next: AnyFn, interceptors: readonly Interceptor[]): AnyFn {
  let fn = next;
  for (let i = interceptors.length - 1; i >= 0; i--) fn = interceptors[i]!(fn as never) as AnyFn;
  return fn;
}

/** The context an implementation sees once interceptors may have changed the request. */
function merged(ctx: NativeCall, req: UnaryRequest | StreamRequest): HandlerContext {
  return {
    method: ctx.method,
    service: req.service,
    requestMethod: ctx.requestMethod,
    protocolName: ctx.protocolName,
    url: ctx.url,
    signal: req.signal,
    timeoutMs: ctx.timeoutMs,
    requestHeader: req.header,
    responseHeader: ctx.responseHeader,
    responseTrailer: ctx.responseTrailer,
    values: req.contextValues,
  };
}

async function* withTrailers<T>(messages: AsyncIterable<T>, after: () => void): AsyncGenerator<T> {
  yield* messages;
  after();
}

function write(stream: http2.ServerHttp2Stream, frame: Frame): boolean {
  if (frame instanceof Uint8Array) return stream.write(frame);
  stream.write(frame[0]);
  return stream.write(frame[1]);
}

function drained(stream: http2.ServerHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}

let dateCache: string | undefined;
/** The `date` header Node's compatibility API adds to every response, cached for a second. */
function utcDate(): string {
  if (dateCache === undefined) {
    dateCache = new Date().toUTCString();
    setTimeout(() => (dateCache = undefined), 1000 - (Date.now() % 1000)).unref();
  }
  return dateCache;
}
