import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import {
  create,
  fromBinary,
  fromJsonString,
  toJsonString,
  type DescMessage,
  type DescMethod,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  type ContextValues,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { compressionNegotiate, mergeNonProtocolHeaders, type Compression } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  errorToJsonBytes,
  parseTimeout,
} from "@connectrpc/connect/protocol-connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import type { ModelRpc } from "../../binding/connect-routes.js";
import { toWireError } from "../../errors.js";
import type { AnyRequest, AnyResponse } from "../../http/routes.js";
import { createJsonValueCounter } from "../../limits/json-values.js";
import { checkMessageFields } from "../../limits/message-fields.js";
import { MAX_TIMEOUT_MS } from "../../limits/timeouts.js";
import { clientGoneError } from "../abort-reasons.js";
import { CallLifetime } from "../call-lifetime.js";
import { joinSegments, segmentsLength, toBinarySegments } from "../message-segments.js";
import { copyHeaders, headerValue, nodeHeadersInto, webHeaders } from "../protocol-grpc/headers.js";
import { applyInterceptors, mergedContext, requestOf } from "../protocol-grpc/interceptors.js";
import type { NativeConnectOptions } from "./native-connect.js";

type UnaryRpc = Extract<ModelRpc, { kind: "unary" }>;

/** Unknown fields are skipped, not kept: nothing here writes a request back out. */
const BINARY_READ = { readUnknownFields: false } as const;
/** connect's JSON options for a handler (`getJsonOptions`): unknown fields ignored. */
const JSON_READ = { ignoreUnknownFields: true } as const;
const ACCEPT: readonly Compression[] = [compressionGzip, compressionBrotli];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * One Connect unary call (`POST`, `application/json` or `application/proto`), start to end,
 * and its handler context: what connect-node's Connect unary handler does for the same
 * request, without its universal request and response, async iterators, linked abort
 * controllers and per-call Headers objects. Response headers are made only when something
 * asks for them; the signal only when something listens.
 *
 * @example
 * void new ConnectUnaryCall(req, res, rpc, true, options).run();
 */
export class ConnectUnaryCall extends CallLifetime {
  readonly protocolName = "connect";
  readonly requestMethod = "POST";
  readonly method: DescMethod;
  private reqHeader: Headers | undefined;
  private resHeader: Headers | undefined;
  private resTrailer: Headers | undefined;
  private ctxValues: ContextValues | undefined;
  /** The response is written (or being written): the call is over from our side. */
  private done = false;
  private error: ConnectError | undefined;
  private compression: Compression | null = null;

  constructor(
    private readonly req: AnyRequest,
    private readonly res: AnyResponse,
    private readonly rpc: UnaryRpc,
    /** The request is binary (`application/proto`); JSON otherwise. */
    private readonly binary: boolean,
    private readonly options: NativeConnectOptions,
  ) {
    super();
    this.method = rpc.method;
  }
  get service() {
    return this.method.parent;
  }
  get url(): string {
    const headers = this.req.headers as IncomingHttpHeaders & { ":authority"?: string };
    return `${this.options.scheme}://${headers[":authority"] ?? headers.host ?? ""}${this.req.url ?? ""}`;
  }
  get requestHeader(): Headers {
    return (this.reqHeader ??= webHeaders(this.req.headers));
  }
  get responseHeader(): Headers {
    return (this.resHeader ??= new Headers({
      "content-type": this.binary ? contentTypeUnaryProto : contentTypeUnaryJson,
    }));
  }
  get responseTrailer(): Headers {
    return (this.resTrailer ??= new Headers());
  }
  get values(): ContextValues {
    return (this.ctxValues ??= this.options.contextValues?.(this.req) ?? createContextValues());
  }
  async run(): Promise<void> {
    const { req, res } = this;
    const { requestGate, onCall } = this.options;
    const timeout = parseTimeout(clampedTimeout(req.headers["connect-timeout-ms"]), Number.MAX_SAFE_INTEGER);
    if (timeout.timeoutMs !== undefined && timeout.error === undefined) {
      this.startDeadline(timeout.timeoutMs);
    }
    const negotiated = compressionNegotiate(
      ACCEPT as Compression[],
      headerValue(req.headers["content-encoding"]),
      headerValue(req.headers["accept-encoding"]),
      "Accept-Encoding",
    );
    this.compression = negotiated.response;
    const ended = onCall?.(this, req);
    res.once("close", () => {
      this.clearDeadline();
      if (!res.writableFinished) {
        // Cut short: by its deadline (or the shutdown) first, else by the client.
        const reason: unknown = this.endReason;
        this.error ??= reason instanceof ConnectError ? reason : clientGoneError();
        if (!this.ended) this.abort(this.error);
      }
      ended?.(this.error);
    });
    try {
      if (requestGate !== undefined) {
        const gated = requestGate(this);
        if (gated !== undefined) await gated;
      }
      if (negotiated.error !== undefined) throw negotiated.error;
      if (timeout.error !== undefined) throw timeout.error;
      const input = this.parse(await this.readBody(negotiated.request));
      await this.invoke(input);
    } catch (err) {
      this.fail(err);
    }
  }

  /** The whole body, decompressed, held to `readMaxBytes` (by its `content-length` first, as connect's `readAllBytes`). */
  private async readBody(compression: Compression | null): Promise<Uint8Array> {
    const { req } = this;
    const { readMaxBytes } = this.options;
    const hint = lengthHint(req.headers["content-length"]);
    if (hint !== undefined && hint > readMaxBytes)
      throw new ConnectError(
        `message size ${hint} is larger than configured readMaxBytes ${readMaxBytes}`,
        Code.ResourceExhausted,
      );
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        size += chunk.byteLength;
        if (hint === undefined && size > readMaxBytes) {
          cleanUp();
          reject(
            new ConnectError(
              `message size is larger than configured readMaxBytes ${readMaxBytes}`,
              Code.ResourceExhausted,
            ),
          );
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = () => {
        cleanUp();
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      };
      const onGone = () => {
        cleanUp();
        reject(clientGoneError());
      };
      const cleanUp = () => {
        req.off("data", onData);
        req.off("end", onEnd);
        req.off("close", onGone);
        req.off("error", onGone);
      };
      req.on("data", onData);
      req.on("end", onEnd);
      req.on("close", onGone);
      req.on("error", onGone);
    });
    if (hint !== undefined && bytes.byteLength !== hint)
      throw new ConnectError(
        `protocol error: promised ${hint} bytes, received ${bytes.byteLength}`,
        Code.InvalidArgument,
      );
    return compression === null ? bytes : compression.decompress(bytes, readMaxBytes);
  }

  /** The request message: its fields (or JSON values) counted against `readMaxFields` first. */
  private parse(bytes: Uint8Array): unknown {
    const input = this.method.input as DescMessage;
    const { readMaxFields } = this.options;
    if (this.binary) {
      checkMessageFields(input, bytes, readMaxFields);
      try {
        return fromBinary(input, bytes, BINARY_READ);
      } catch (e) {
        throw new ConnectError(`parse binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
      }
    }
    createJsonValueCounter(readMaxFields)(bytes);
    try {
      return fromJsonString(input, decoder.decode(bytes), JSON_READ);
    } catch (e) {
      throw ConnectError.from(e, Code.InvalidArgument);
    }
  }

  private async invoke(message: unknown): Promise<void> {
    const { rpc } = this;
    const { interceptors, around } = this.options;
    const output = this.method.output as DescMessage;
    let result: unknown;
    if (interceptors.length === 0) {
      let out: unknown;
      this.awaiting = true;
      try {
        out = await (around === undefined ? rpc.impl(message, this) : around(this, () => rpc.impl(message, this)));
      } finally {
        this.awaiting = false;
      }
      // Answered already (it aborted while the model computed), or about to be.
      if (this.done) return;
      if (this.ended) throw this.endReason;
      result = create(output, out as never);
    } else {
      const next = applyInterceptors(async (req): Promise<UnaryResponse> => {
        const r = req as UnaryRequest;
        const ctx = mergedContext(this, r);
        const out = await (around === undefined
          ? rpc.impl(r.message, ctx)
          : around(this, () => rpc.impl(r.message, ctx)));
        return {
          stream: false,
          message: create(output, out as never),
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
      if (this.done) return;
      if (this.ended) throw this.endReason;
    }
    let body: Uint8Array | Uint8Array[];
    if (this.binary) {
      try {
        // A large tensor's bytes passed on as they are, not copied into one buffer.
        body = toBinarySegments(output, result as object);
      } catch (e) {
        throw new ConnectError(`serialize binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
      }
    } else {
      try {
        body = encoder.encode(toJsonString(output, result as never));
      } catch (e) {
        throw ConnectError.from(e, Code.Internal);
      }
    }
    await this.respond(200, body);
  }

  /**
   * Answers the call with an error, as connect's Connect unary handler does: the error as
   * JSON, its HTTP status from its code, its metadata among the response headers — its
   * message cut to MAX_ERROR_MESSAGE_BYTES.
   */
  protected fail(err: unknown): void {
    const error = toWireError(err);
    this.error ??= error;
    if (!this.ended) this.abort(error);
    if (this.done || this.res.destroyed || this.res.headersSent) return;
    this.responseHeader.set("content-type", contentTypeUnaryJson);
    if (!error.isWireError) mergeNonProtocolHeaders(this.responseHeader, error.metadata);
    this.respond(codeToHttpStatus(error.code), errorToJsonBytes(error, undefined)).catch((e: unknown) =>
      this.res.destroy(e as Error),
    );
  }

  /** Writes the response: compressed when negotiated and large enough, trailers as `trailer-` headers. */
  private async respond(status: number, body: Uint8Array | Uint8Array[]): Promise<void> {
    this.done = true;
    this.clearDeadline();
    let encoding: string | undefined;
    if (this.compression !== null && segmentsLength(body) >= this.options.compressMinBytes) {
      body = await this.compression.compress(joinSegments(body));
      encoding = this.compression.name;
    }
    const { res } = this;
    if (res.destroyed || res.headersSent) return;
    let headers: OutgoingHttpHeaders;
    if (this.resHeader === undefined && this.resTrailer === undefined) {
      headers = { "content-type": this.binary ? contentTypeUnaryProto : contentTypeUnaryJson };
      if (encoding !== undefined) headers["content-encoding"] = encoding;
    } else {
      if (encoding !== undefined) this.responseHeader.set("content-encoding", encoding);
      headers = nodeHeadersInto({}, this.responseHeader);
      this.resTrailer?.forEach((value, key) => appendHeader(headers, `trailer-${key}`, value));
    }
    headers["content-length"] = String(segmentsLength(body));
    const out = res as import("node:http").ServerResponse;
    out.writeHead(status, headers);
    if (body instanceof Uint8Array) out.end(body);
    else {
      for (let i = 0; i < body.length - 1; i++) out.write(body[i]!);
      out.end(body[body.length - 1]!);
    }
  }
}

function appendHeader(out: OutgoingHttpHeaders, key: string, value: string): void {
  const existing = out[key];
  if (existing === undefined) out[key] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else out[key] = [String(existing), value];
}

/** `content-length` as connect's `readAllBytes` reads it: undefined when absent or not a safe non-negative integer. */
function lengthHint(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = parseInt(value, 10);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** `connect-timeout-ms` cut to MAX_TIMEOUT_MS (as `clampTimeoutHeaders` does for connect-node); other values left to `parseTimeout` to judge. */
function clampedTimeout(value: string | string[] | undefined): string | null {
  const v = headerValue(value);
  if (v !== null && /^\d{1,10}$/.test(v) && Number(v) > MAX_TIMEOUT_MS) return String(MAX_TIMEOUT_MS);
  return v;
}
