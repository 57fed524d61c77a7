import {
  Code,
  ConnectError,
  createContextKey,
  createContextValues,
  type ContextValues,
  type HandlerContext,
} from "@connectrpc/connect";
import type { DescMethod } from "@bufbuild/protobuf";
import { refusalError, type Refusal } from "../executor/refusal.js";
import { clientGoneError, isClientGone } from "../server/abort-reasons.js";
import type { AnyRequest, AnyResponse } from "../http/routes.js";

/** One RPC as the built-in middleware sees it. */
export interface CallInfo {
  /** `iris.v1.InferenceService` */
  readonly service: string;
  /** `PredictIris` */
  readonly method: string;
  /** The model the method serves; `""` for health and reflection. */
  readonly model: string;
  /** `grpc`, `grpc-web` or `connect`. */
  readonly protocol: string;
  /** `1.1` or `2.0`. */
  readonly httpVersion: string;
  /** The request's headers. */
  readonly header: Headers;
  /** The client's address, when known. */
  readonly peer: string | undefined;
  /** The handler context of the call. */
  readonly context: HandlerContext;
}

/** A call refused as it arrived: what {@link CallInfo} says, without a handler context. */
export type RefusedCallInfo = Omit<CallInfo, "context">;

/** How a call ended. */
export interface CallOutcome {
  /** The status code (Code.Ok is 0). */
  readonly code: Code;
  /** The error, for a call that failed. */
  readonly error: ConnectError | undefined;
  /** From its headers to its last byte written, in milliseconds. */
  readonly durationMs: number;
}

/**
 * Sees every call from the moment its headers arrive to the moment its response is
 * written — including calls that fail before their message is read or parsed (too large,
 * malformed, refused by auth), which never reach Connect interceptors. The built-in
 * metrics, request logs and traces are observers.
 */
export interface CallObserver {
  /** The call's headers arrived. Returns what to call when it ends (or nothing). */
  start(call: CallInfo): ((outcome: CallOutcome) => void) | void;
  /**
   * A call refused as it arrived, before anything was built for it (no handler context):
   * under overload, a batched model's full queue or a deadline its queue cannot meet. Its
   * outcome is the error it was answered with, `durationMs` the time to answer it.
   */
  refused?(call: RefusedCallInfo, outcome: CallOutcome): void;
  /** A request to one of the app's HTTP routes (`app.route`) arrived. Returns what to call when it is answered (or nothing). */
  route?(request: RouteCallInfo): ((outcome: RouteOutcome) => void) | void;
}

/** A request to one of the app's HTTP routes, as observers see it. */
export interface RouteCallInfo {
  /** `GET`, `POST`, … */
  readonly method: string;
  /** The route as registered: `/models/:name`. */
  readonly route: string;
  /** The path requested: `/models/iris`. */
  readonly path: string;
  /** `1.1` or `2.0`. */
  readonly httpVersion: string;
  readonly peer: string | undefined;
}

/** How a route's request was answered. */
export interface RouteOutcome {
  /** The HTTP status; 499 when the client went away first. */
  readonly status: number;
  /** The error the handler threw, if it did. */
  readonly error: Error | undefined;
  /** From the request's arrival to its answer's last byte written, in milliseconds. */
  readonly durationMs: number;
}

const kNode = createContextKey<{ req: AnyRequest; res: AnyResponse } | undefined>(undefined, {
  description: "blazerpc node request",
});
const responses = new WeakMap<AnyRequest, AnyResponse>();

/**
 * The client's address of a call, on either path: connect-node's calls carry their Node
 * request in the context values; native gRPC calls their HTTP/2 stream.
 */
export function peerOf(ctx: HandlerContext): string | undefined {
  const node = ctx.values.get(kNode);
  if (node !== undefined) return node.req.socket?.remoteAddress;
  return (ctx as HandlerContext & { stream?: { session?: { socket?: { remoteAddress?: string } } } }).stream?.session
    ?.socket?.remoteAddress;
}

/** Remembers the response of a request, so that a call's context can find it (see {@link contextValuesFor}). */
export function rememberResponse(req: AnyRequest, res: AnyResponse): void {
  responses.set(req, res);
}

/** The context values connect-node gives each call: the Node request and response. */
export function contextValuesFor(req: AnyRequest): ContextValues {
  const values = createContextValues();
  const res = responses.get(req);
  if (res !== undefined) values.set(kNode, { req, res });
  return values;
}

/** Code names as gRPC writes them: `OK`, `CANCELLED`, `INVALID_ARGUMENT`, … */
export function codeName(code: Code): string {
  if ((code as number) === 0) return "OK";
  if (code === Code.Canceled) return "CANCELLED";
  return (Code[code] ?? "UNKNOWN").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** What a transport knows of a call beyond its handler context. */
export interface CallTransport {
  readonly httpVersion: string;
  readonly peer: string | undefined;
}

/**
 * Starts observing one call: returns what to call, once, when it has ended (with the
 * error it failed with, or undefined), or nothing when no observer wants to know.
 * `models` maps `service/method` to the model it serves.
 */
export function callObservers(
  observers: readonly CallObserver[],
  models: ReadonlyMap<string, string>,
): (ctx: HandlerContext, transport: CallTransport) => ((error: ConnectError | undefined) => void) | undefined {
  // Per method, not per call.
  const modelOf = new Map<unknown, string>();
  return (ctx, transport) => {
    if (observers.length === 0) return undefined;
    const started = performance.now();
    let model = modelOf.get(ctx.method);
    if (model === undefined) {
      model = models.get(`${ctx.service.typeName}/${ctx.method.name}`) ?? "";
      modelOf.set(ctx.method, model);
    }
    const call: CallInfo = {
      service: ctx.service.typeName,
      method: ctx.method.name,
      model,
      protocol: ctx.protocolName,
      httpVersion: transport.httpVersion,
      get header() {
        return ctx.requestHeader;
      },
      peer: transport.peer,
      context: ctx,
    };
    let ends: ((outcome: CallOutcome) => void)[] | undefined;
    for (const o of observers) {
      const e = o.start(call);
      if (typeof e === "function") (ends ??= []).push(e);
    }
    if (ends === undefined) return undefined;
    let ended = false;
    return (error) => {
      if (ended) return;
      ended = true;
      const outcome: CallOutcome = { code: error?.code ?? (0 as Code), error, durationMs: performance.now() - started };
      for (const e of ends) e(outcome);
    };
  };
}

/** What a transport knows of a call it refused as it arrived. */
export interface RefusedTransport extends CallTransport {
  readonly protocol: string;
  /** The request's headers, built only when an observer reads them. */
  readonly header: Headers;
}

/**
 * Tells every observer of a call refused as it arrived (see {@link CallObserver.refused}).
 * `models` maps `service/method` to the model it serves.
 */
export function refusedCalls(
  observers: readonly CallObserver[],
  models: ReadonlyMap<string, string>,
): (method: DescMethod, transport: RefusedTransport, refusal: Refusal, started: number) => void {
  const modelOf = new Map<DescMethod, string>();
  const wanted = observers.filter((o) => o.refused !== undefined);
  return (method, transport, refusal, started) => {
    if (wanted.length === 0) return;
    let model = modelOf.get(method);
    if (model === undefined) {
      model = models.get(`${method.parent.typeName}/${method.name}`) ?? "";
      modelOf.set(method, model);
    }
    const call = new RefusedCall(method, model, transport);
    const outcome = new RefusedOutcome(refusal, performance.now() - started);
    for (const o of wanted) o.refused!(call, outcome);
  };
}

/** A refused call as observers see it: what only some of them read is read when they do. */
class RefusedCall implements RefusedCallInfo {
  readonly service: string;
  readonly method: string;
  readonly protocol: string;
  readonly httpVersion: string;
  constructor(
    desc: DescMethod,
    readonly model: string,
    private readonly transport: RefusedTransport,
  ) {
    this.service = desc.parent.typeName;
    this.method = desc.name;
    this.protocol = transport.protocol;
    this.httpVersion = transport.httpVersion;
  }
  get header(): Headers {
    return this.transport.header;
  }
  get peer(): string | undefined {
    return this.transport.peer;
  }
}

/** A refusal as a call's outcome; its error object is made only when an observer reads it. */
class RefusedOutcome implements CallOutcome {
  readonly code: Code;
  private made: ConnectError | undefined;
  constructor(
    private readonly refusal: Refusal,
    readonly durationMs: number,
  ) {
    this.code = refusal.code;
  }
  get error(): ConnectError {
    return (this.made ??= refusalError(this.refusal));
  }
}

/** The client reset the request's HTTP/2 stream (Node sets `aborted` on a stream the peer closed early). */
function peerReset(req: AnyRequest | undefined): boolean {
  return req !== undefined && "stream" in req && req.stream.aborted;
}

/**
 * The request gate that starts observing each call of connect-node (connect runs it once
 * the headers are in, before the body is read). `models` maps `service/method` to the model it serves.
 */
export function observeCalls(
  observers: readonly CallObserver[],
  models: ReadonlyMap<string, string>,
): (ctx: HandlerContext) => void {
  const start = callObservers(observers, models);
  return (ctx) => {
    const node = ctx.values.get(kNode);
    const end = start(ctx, { httpVersion: node?.req.httpVersion ?? "", peer: node?.req.socket?.remoteAddress });
    if (end === undefined) return;
    // connect aborts the call's signal when the call ends: with its error when it failed
    // (or the deadline, the client's reset, the shutdown), without a reason when it succeeded.
    let error: ConnectError | undefined;
    const onAbort = () => {
      const r: unknown = ctx.signal.reason;
      // Writing to a client that left fails the response with Node's stream error, and an
      // HTTP/2 client's reset (connect-node's client resets with INTERNAL_ERROR, browsers with
      // CANCEL) with connect's "http/2 stream closed": the client's doing either way.
      if (isClientGone(r) || (peerReset(node?.req) && !(r instanceof ConnectError && r.code !== Code.Internal)))
        error = clientGoneError();
      else if (r instanceof ConnectError) error = r;
      else if (r instanceof Error && r.name !== "AbortError") error = ConnectError.from(r, Code.Internal);
    };
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener("abort", onAbort, { once: true });
    const finish = () => {
      if (!ctx.signal.aborted) ctx.signal.removeEventListener("abort", onAbort);
      // No error, yet the response was not written to the end: the client went away.
      const gone = error === undefined && node !== undefined && !node.res.writableFinished;
      end(error ?? (gone ? clientGoneError() : undefined));
    };
    if (node !== undefined) node.res.once("close", finish);
    else ctx.signal.addEventListener("abort", () => queueMicrotask(finish), { once: true });
  };
}
