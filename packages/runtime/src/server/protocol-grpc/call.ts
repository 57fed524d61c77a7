import type * as http2 from "node:http2";
import { create, fromBinary, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  type ContextValues,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { compressionNegotiate, type Compression } from "@connectrpc/connect/protocol";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import type { Reservation } from "../../batching/batcher.js";
import type { ModelRpc } from "../../binding/connect-routes.js";
import { toWireError } from "../../errors.js";
import { checkMessageFields } from "../../limits/message-fields.js";
import { clampTimeoutMs } from "../../limits/timeouts.js";
import { clientGoneError } from "../abort-reasons.js";
import { CallLifetime } from "../call-lifetime.js";
import { BodyReader } from "./body-reader.js";
import { joinSegments, segmentsLength, toBinarySegments } from "../message-segments.js";
import { COMPRESSED_FLAG, encodeEnvelope, encodeEnvelopeParts, type Frame } from "./envelope.js";
import { copyHeaders, headerValue, nodeHeadersInto, utcDate, webHeaders } from "./headers.js";
import { respecGrpcMessage } from "./grpc-message.js";
import { applyInterceptors, mergedContext, requestOf, withTrailers } from "./interceptors.js";
import type { NativeCallContext, NativeGrpcOptions } from "./native-grpc.js";
import { connectErrorFromH2ResetCode } from "./reset-codes.js";

/** Unknown fields are skipped, not kept: nothing here writes a request back out. */
const READ_OPTIONS = { readUnknownFields: false } as const;
const ACCEPT: readonly Compression[] = [compressionGzip, compressionBrotli];
const CONTENT_TYPE = "application/grpc+proto";
const kStatusOk = "0";

/**
 * One native call, start to end, and its handler context. A class rather than closures, and
 * headers objects built only when asked for: most calls never look at them, and this is the
 * per-call cost of the fastest path the server has.
 *
 * @example
 * void new NativeCall(stream, headers, rpc, options).run();
 */
export class NativeCall extends CallLifetime implements NativeCallContext {
  readonly protocolName = "grpc";
  readonly requestMethod = "POST";
  readonly method: DescMethod;
  private reqHeader: Headers | undefined;
  private resHeader: Headers | undefined;
  private resTrailer: Headers | undefined;
  private ctxValues: ContextValues | undefined;
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
    /** The place its model's admission holds for it (given back at the end if never used). */
    readonly reservation?: Reservation,
  ) {
    super();
    this.method = rpc.method;
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
  async run(): Promise<void> {
    const { stream, nodeHeaders } = this;
    const { readMaxBytes, interceptors, requestGate, onCall } = this.options;
    const timeout = parseTimeout(headerValue(nodeHeaders["grpc-timeout"]), Number.MAX_SAFE_INTEGER);
    if (timeout.timeoutMs !== undefined && timeout.error === undefined) {
      this.startDeadline(clampTimeoutMs(timeout.timeoutMs));
    }
    const negotiated = compressionNegotiate(
      ACCEPT as Compression[],
      headerValue(nodeHeaders["grpc-encoding"]),
      headerValue(nodeHeaders["grpc-accept-encoding"]),
      "Grpc-Accept-Encoding",
    );
    this.compression = negotiated.response;
    // A reset with an error code destroys the stream with an 'error' event; the close handler answers it.
    stream.on("error", ignore);
    const ended = onCall?.(this, stream);
    stream.once("close", () => {
      this.clearDeadline();
      if (this.reservation?.held === true && this.rpc.kind === "unary") this.rpc.admission?.release(this.reservation);
      // A call answered in full ends without touching its signal (connect's contexts abort it
      // with no reason, which costs a DOMException per call); one cut short aborts it.
      if (!this.done) {
        // What ended the call first: its deadline (or the shutdown), else the client's reset.
        const reason: unknown = this.endReason;
        this.error ??=
          reason instanceof ConnectError ? reason : (connectErrorFromH2ResetCode(stream.rstCode) ?? clientGoneError());
        if (!this.ended) this.abort(this.error);
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
      const readInput = async (): Promise<unknown> => {
        if (negotiated.error !== undefined) throw negotiated.error;
        if (timeout.error !== undefined) throw timeout.error;
        return this.parse(
          await body.single(this.rpc.kind === "unary" ? "unary" : "server-streaming", negotiated.request),
        );
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
      let out: unknown;
      this.awaiting = true;
      try {
        out = await this.invoke(() => rpc.impl(message, this));
      } finally {
        this.awaiting = false;
      }
      // Answered already: the call was aborted while its model computed.
      if (this.done) return;
      result = create(output, out as never);
    } else {
      const next = applyInterceptors(async (req): Promise<UnaryResponse> => {
        const r = req as UnaryRequest;
        return {
          stream: false,
          message: create(output, (await this.invoke(() => rpc.impl(r.message, mergedContext(this, r)))) as never),
          method: this.method as never,
          service: this.service,
          header: this.responseHeader,
          trailer: this.responseTrailer,
        };
      }, interceptors);
      const res = (await next(requestOf(this, false, message))) as UnaryResponse;
      copyHeaders(res.header, this.responseHeader);
      copyHeaders(res.trailer, this.responseTrailer);
      result = res.message;
    }
    const frame = await this.frame(result, output);
    if (this.stream.destroyed) return;
    this.sendHeaders();
    this.end(frame);
  }

  private async serverStreaming(
    readInput: () => Promise<unknown>,
    interceptors: readonly Interceptor[],
  ): Promise<void> {
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
          message: this.invoke(() => rpc.impl(first, mergedContext(this, r))) as AsyncIterable<never>,
          method: this.method as never,
          service: this.service,
          header: this.responseHeader,
          trailer: this.responseTrailer,
        };
      }, interceptors);
      const res = (await next(requestOf(this, true, input))) as StreamResponse;
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

  /** A message as one gRPC frame: flags, length, bytes (compressed when negotiated and ≥ 1 KiB; a large tensor's bytes passed on, not copied). */
  private async frame(message: unknown, output: DescMessage): Promise<Frame> {
    let parts: Uint8Array | Uint8Array[];
    try {
      parts = toBinarySegments(output, message as object);
    } catch (e) {
      throw new ConnectError(`serialize binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
    }
    if (this.compression !== null && segmentsLength(parts) >= this.options.compressMinBytes) {
      return encodeEnvelope(COMPRESSED_FLAG, await this.compression.compress(joinSegments(parts)));
    }
    return encodeEnvelopeParts(0, parts);
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
    this.clearDeadline();
    const trailers: http2.OutgoingHttpHeaders =
      this.resTrailer === undefined ? { "grpc-status": kStatusOk } : nodeHeadersInto({}, this.resTrailer);
    stream.once("wantTrailers", () => stream.sendTrailers(trailers));
    if (frame === undefined) stream.end();
    else if (frame instanceof Uint8Array) stream.end(frame);
    else {
      for (let i = 0; i < frame.length - 1; i++) stream.write(frame[i]);
      stream.end(frame[frame.length - 1]);
    }
  }

  /**
   * Answers the call with an error, as connect's gRPC handler does: headers, then trailers
   * with the status — its message cut to MAX_ERROR_MESSAGE_BYTES, so that the trailers fit
   * one header block whatever the error says (a longer block resets the stream with
   * FRAME_SIZE_ERROR, and the client's whole connection with it).
   */
  protected fail(err: unknown): void {
    const error = toWireError(err);
    this.error ??= error;
    if (!this.ended) this.abort(error);
    if (this.stream.destroyed || this.done) return;
    setTrailerStatus(this.responseTrailer, error);
    respecGrpcMessage(this.responseTrailer);
    this.sendHeaders();
    this.end(undefined);
  }
}

function ignore(): void {}

function write(stream: http2.ServerHttp2Stream, frame: Frame): boolean {
  if (frame instanceof Uint8Array) return stream.write(frame);
  let ok = true;
  for (const part of frame) ok = stream.write(part);
  return ok;
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
