import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { Code, ConnectError, createContextValues, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import type { App } from "../app.js";
import { checkBindings, modelRpcs, registerBindings } from "../binding/connect-routes.js";
import type { ModelServiceBinding } from "../binding/define-model-service.js";
import { toWireError } from "../errors.js";
import { createExecutor } from "../executor/executor.js";
import type { ExecutorMetrics } from "../executor/metrics.js";
import { registerHealth } from "../health/health-service.js";
import { createServingState, type ServingState } from "../health/serving-state.js";
import { file_grpc_health_v1_health } from "../gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { sourceInfo as ownSourceInfo } from "../gen/source_info.js";
import { createCors, type CorsOptions } from "../http/cors.js";
import { createHttpRoutes, type AnyRequest, type AnyResponse, type Route } from "../http/routes.js";
import { docsPage } from "../openapi/docs-page.js";
import { createOpenApiDocument } from "../openapi/openapi.js";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { bearerGate, bearerHttpGate, DOCS_TARGET, type BearerAuthOptions } from "../middleware/auth/bearer-auth.js";
import { callObservers, contextValuesFor, observeCalls, rememberResponse, type CallObserver } from "../middleware/call-observer.js";
import { defaultLogger, requestLog } from "../middleware/logging/request-log.js";
import { createPrometheusMetrics, type PrometheusOptions } from "../middleware/metrics/prometheus.js";
import { tracing as createTracing } from "../middleware/tracing/tracing.js";
import { createFileIndex, type FileIndex } from "../reflection/file-index.js";
import { registerReflection } from "../reflection/reflection-service.js";
import { DEFAULT_READ_MAX_FIELDS } from "../limits/message-fields.js";
import { createConnectHandler } from "./connect-handler.js";
import { createConnectionTracker } from "./connections.js";
import { createDispatch } from "./dispatch.js";
import { createNativeGrpc } from "./grpc-native.js";
import { createHttp1Pipeline } from "./http1-pipeline.js";
import { createHttp2Ping } from "./http2-ping.js";
import { createRequestCap } from "./request-cap.js";
import { sniffProtocol } from "./sniff.js";
import { createWriteTimeout } from "./write-timeout.js";

/** Default HTTP/2 connection receive window: 16 MiB. */
export const DEFAULT_HTTP2_CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;

/** Default HTTP/2 stream receive window: 4 MiB. */
export const DEFAULT_HTTP2_STREAM_WINDOW_BYTES = 4 * 1024 * 1024;

/** Default largest HTTP/2 frame accepted: 64 KiB. */
export const DEFAULT_HTTP2_MAX_FRAME_BYTES = 64 * 1024;

/** Default cap on one message's size: 64 MiB (connect-node's own default is about 4 GiB). */
export const DEFAULT_READ_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Default SETTINGS_MAX_CONCURRENT_STREAMS: 100, the least RFC 9113 §6.5.2 recommends, what
 * nghttp2 (Node's HTTP/2) assumes of a peer that announces none, and Apache's and h2o's
 * default. Node announces none: no limit at all.
 */
export const DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS = 100;

/**
 * Default cap on requests and streams in flight on all connections together: 10,000. A
 * held stream costs ~12 KB (native gRPC) to ~25 KB (connect-node) even when idle, so the
 * cap bounds that to ~120–250 MB; far more than a model server has work for at once.
 */
export const DEFAULT_MAX_CONCURRENT_REQUESTS = 10_000;

/** Default pipelined requests of one HTTP/1.1 connection answered at once: 16 (`h2load --h1 -m8` pipelines 8; browsers none). */
export const DEFAULT_HTTP1_MAX_PENDING_REQUESTS = 16;

/** Default write timeout: a connection that takes none of our output for 30 s is closed. */
export const DEFAULT_WRITE_TIMEOUT_MS = 30_000;

/** Default HTTP/2 PING interval: a silent connection is pinged after 10 s, and closed when it does not answer within 10 s more. */
export const DEFAULT_HTTP2_PING_INTERVAL_MS = 10_000;

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The app whose registered models are served. */
  app: App;
  /** The generated service bindings (`InferenceServiceBinding` from `<app>_blaze.ts`). */
  services: readonly ModelServiceBinding[];
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; `0` picks a free one. Default `50051`. */
  port?: number;
  /** TLS: HTTP/2 and HTTP/1.1 chosen by ALPN. Without it, plaintext (h2c by prior knowledge, and HTTP/1.1). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Largest request message accepted, in bytes; larger ones get RESOURCE_EXHAUSTED. Default 64 MiB. */
  readMaxBytes?: number;
  /**
   * Most fields one request message may hold: every field occurrence, nested ones too, each
   * element of a packed repeated field, and unknown fields (skipped, never kept); for JSON,
   * every value. More get RESOURCE_EXHAUSTED before anything is decoded, so decoding work and
   * memory stay proportional to this, whatever the bytes hold. A tensor is 3 fields, whatever
   * its size. Default 100,000.
   */
  readMaxFields?: number;
  /**
   * Responses to a client that accepts gzip or br (`grpc-accept-encoding`; gRPC clients such
   * as @grpc/grpc-js always send it) are compressed from this size on. Default 1024 (connect's).
   * Tensors of floats barely compress and gzip costs far more CPU than sending them: for
   * tensor traffic, raise it (e.g. `Infinity`, never) — see docs/operations.md.
   */
  compressMinBytes?: number;
  /**
   * Each HTTP/2 connection's receive window, in bytes. Default 16 MiB. Node's default is
   * 64 KiB: under load, request bodies then wait in flow control while their deadlines
   * (which start with the headers) already run, and many expire unanswered.
   */
  http2ConnectionWindowBytes?: number;
  /**
   * Each HTTP/2 stream's initial receive window (the SETTINGS_INITIAL_WINDOW_SIZE we
   * announce), in bytes. Default 4 MiB: a large tensor then arrives in a few round trips
   * instead of one per 64 KiB (Node's default). The connection window still caps what all
   * streams of a connection may have unread at once.
   */
  http2StreamWindowBytes?: number;
  /** Largest HTTP/2 frame we accept (SETTINGS_MAX_FRAME_SIZE), in bytes, 16 KiB to 16 MiB − 1. Default 64 KiB (Node's: 16 KiB). */
  http2MaxFrameBytes?: number;
  /**
   * Graceful shutdown: how long `close()` lets in-flight requests and streams finish
   * before the rest are ended with UNAVAILABLE and connections are cut. Default 5000 ms.
   */
  closeGraceMs?: number;
  /** A connection must send its first request's headers within this time (also the TLS handshake). Default 10 000 ms; 0: no limit. */
  headersTimeoutMs?: number;
  /** A connection with no request in flight for this long is closed (HTTP/2: GOAWAY). Default 120 000 ms; 0: no limit. */
  idleTimeoutMs?: number;
  /** A request's body must arrive in full within this time of its start. Default 300 000 ms; 0: no limit. */
  requestTimeoutMs?: number;
  /** Most connections open at once; more are refused. Default: no limit. */
  maxConnections?: number;
  /**
   * Most streams a client may open at once on one HTTP/2 connection
   * (SETTINGS_MAX_CONCURRENT_STREAMS); past it a stream is refused with REFUSED_STREAM.
   * Default 100.
   */
  http2MaxConcurrentStreams?: number;
  /**
   * Most requests and streams in flight on all connections together (HTTP/1.1 requests
   * waiting their turn included). Past it a new HTTP/2 stream is refused with
   * REFUSED_STREAM (gRPC: UNAVAILABLE after one transparent retry) and an HTTP/1.1 request
   * answered 503, before anything else is done for it (auth included). Default 10,000.
   */
  maxConcurrentRequests?: number;
  /**
   * Pipelined requests of one HTTP/1.1 connection answered at once; the next wait for one
   * to finish (the connection is not read while any waits), and a connection with more
   * than twice as many pending is closed. Default 16.
   */
  http1MaxPendingRequests?: number;
  /**
   * An HTTP/1.1 connection with output waiting that takes none of it for this long (a
   * client that stopped reading) is closed. Default 30 000 ms; 0: no limit.
   */
  writeTimeoutMs?: number;
  /**
   * An HTTP/2 connection from which nothing has arrived for this long is sent a PING, and
   * closed when it has not answered it this long later: dead peers, and connections Node
   * stopped reading after answering a protocol error with GOAWAY. Default 10 000 ms; 0: never.
   */
  http2PingIntervalMs?: number;
  /**
   * The schema with its comments: a serialized google.protobuf.FileDescriptorSet with
   * source info, as `buf build proto -o schema.binpb` writes it (`blaze serve` builds it for
   * you). Reflection and the docs then show the .proto comments; without it they serve the
   * descriptors embedded in the generated code, which have none. A file that does not
   * match the generated code's schema is ignored.
   */
  descriptorSet?: Uint8Array;
  /** Serve gRPC server reflection (`grpc.reflection.v1` and `v1alpha`). Default true. */
  reflection?: boolean;
  /** Hooks called as requests are queued, batched, computed and rejected (per model). */
  metrics?: ExecutorMetrics;
  /**
   * Prometheus metrics at `GET /metrics` (see docs/operations.md for every metric). Default
   * on, in a registry of this server's own; `false` turns the route off.
   */
  prometheus?: boolean | PrometheusOptions;
  /** Structured JSON request logs: `true` for pino on stdout, or your pino logger. Default off. */
  log?: boolean | Logger;
  /** OpenTelemetry spans through `@opentelemetry/api` (a no-op until an SDK is registered). Default true. */
  tracing?: boolean;
  /**
   * Bearer-token auth: every call needs `authorization: Bearer <token>` with an accepted
   * token, else UNAUTHENTICATED (checked before the body is read). `GET /openapi.json` and
   * `GET /docs` need it too (else 401). Health is exempt by default (Kubernetes' gRPC probe
   * sends no headers); reflection and the docs too when `exempt` lists them.
   */
  auth?: BearerAuthOptions;
  /** CORS for browser clients (gRPC-Web and Connect headers included). Default off. */
  cors?: CorsOptions;
  /** Serve `GET /openapi.json` and `GET /docs`. Default true. */
  docs?: boolean;
  /**
   * Connect interceptors around every call (model RPCs, health and reflection alike), in
   * order, outermost first. The extension point for cross-cutting code; see docs/operations.md.
   */
  interceptors?: Interceptor[];
  /**
   * Serve gRPC (`application/grpc`, `application/grpc+proto` over HTTP/2, unary and server
   * streaming model RPCs) on the native fast path, written directly on `node:http2` streams.
   * `false` sends everything through connect-node, the reference implementation. Default true.
   */
  fastPath?: boolean;
}

/** One RPC the server answers. */
export interface RpcInfo {
  /** URL path, e.g. `/iris.v1.InferenceService/PredictIris`. */
  readonly path: string;
  readonly model: string;
  readonly kind: "unary" | "server_streaming";
}

/** A running (or ready to run) BlazeRPC server. */
export interface BlazeServer {
  /** Starts listening; resolves once the port is bound. Models with a loader start loading then. */
  listen(): Promise<AddressInfo>;
  /**
   * Shuts down gracefully: health turns NOT_SERVING at once, the listener stops accepting,
   * HTTP/2 connections get GOAWAY, in-flight requests and streams finish (up to
   * `closeGraceMs`; then they are ended with UNAVAILABLE), batch queues drain and
   * connections close. Resolves when everything is closed; calling it again returns the same promise.
   */
  close(): Promise<void>;
  /** The bound address; throws before `listen()` resolved. */
  address(): AddressInfo;
  /** `http://127.0.0.1:50051` (or `https://…` with TLS). */
  url(): string;
  /** Every RPC served, in the order of the services. */
  readonly rpcs: readonly RpcInfo[];
  /** The serving state that gRPC health, `/healthz` and `/readyz` report. */
  readonly health: ServingState;
  /** Every .proto file of the served schema (what reflection serves). */
  readonly files: FileIndex;
  /** The Prometheus registry `/metrics` renders; undefined with `prometheus: false`. */
  readonly registry: Registry | undefined;
}

/** Long-lived calls of the server's own services: ended at shutdown once the model calls are done. */
const isOwnService = (path: string) => path.startsWith("/grpc.health.v1.Health/") || path.startsWith("/grpc.reflection.");

/**
 * Creates a server that answers gRPC (HTTP/2), gRPC-Web and Connect (binary and JSON, over
 * HTTP/1.1 and HTTP/2) and plain HTTP GET routes, all on ONE port, with one connect-node
 * handler behind a single dispatch point.
 *
 * @example
 * import { app } from "./models.js";
 * import { InferenceServiceBinding } from "./gen/iris/v1/iris_blaze.js";
 *
 * const server = createServer({ app, services: [InferenceServiceBinding], port: 50051 });
 * await server.listen();
 */
export function createServer(options: ServerOptions): BlazeServer {
  const {
    app,
    services,
    host = "127.0.0.1",
    port = 50051,
    tls,
    readMaxBytes = DEFAULT_READ_MAX_BYTES,
    readMaxFields = DEFAULT_READ_MAX_FIELDS,
    compressMinBytes = 1024,
    http2ConnectionWindowBytes = DEFAULT_HTTP2_CONNECTION_WINDOW_BYTES,
    http2StreamWindowBytes = DEFAULT_HTTP2_STREAM_WINDOW_BYTES,
    http2MaxFrameBytes = DEFAULT_HTTP2_MAX_FRAME_BYTES,
    closeGraceMs = 5000,
    headersTimeoutMs = 10_000,
    idleTimeoutMs = 120_000,
    requestTimeoutMs = 300_000,
    maxConnections,
    http2MaxConcurrentStreams = DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS,
    maxConcurrentRequests = DEFAULT_MAX_CONCURRENT_REQUESTS,
    http1MaxPendingRequests = DEFAULT_HTTP1_MAX_PENDING_REQUESTS,
    writeTimeoutMs = DEFAULT_WRITE_TIMEOUT_MS,
    http2PingIntervalMs = DEFAULT_HTTP2_PING_INTERVAL_MS,
    metrics,
    interceptors = [],
    descriptorSet,
    reflection = true,
    prometheus = true,
    log = false,
    tracing = true,
    auth,
    cors,
    docs = true,
    fastPath = true,
  } = options;
  checkBindings(app, services);
  const state = createServingState(
    app,
    new Map(services.map(({ service, methods }) => [service.typeName, [...new Set(Object.values(methods).map((m) => m.model))]])),
  );
  const prom = prometheus === false ? undefined : createPrometheusMetrics(state, prometheus === true ? {} : prometheus, (model) => executor.queueDepth(model));
  const executor = createExecutor(app, { metrics: combineMetrics([prom?.executor, metrics]) });
  const spans = tracing ? createTracing() : undefined;
  const observers: CallObserver[] = [
    ...(prom !== undefined ? [prom.calls] : []),
    ...(spans !== undefined ? [spans.calls] : []),
    ...(log === false ? [] : [requestLog(log === true ? defaultLogger() : log)]),
  ];
  const models = new Map(
    services.flatMap(({ service, methods }) =>
      service.methods.flatMap((m) => (methods[m.localName] !== undefined ? [[`${service.typeName}/${m.name}`, methods[m.localName]!.model] as const] : [])),
    ),
  );
  const observe = observeCalls(observers, models);
  const startObserving = callObservers(observers, models);
  const authenticate = auth !== undefined ? bearerGate(auth) : undefined;
  const gate = (model: string) => {
    const status = state.modelStatus(model);
    if (status === "SERVING") return;
    const why = status === "LOADING" ? "is still loading" : status === "FAILED" ? `failed to load: ${state.errors()[model]}` : "is not serving: the server is shutting down";
    throw new ConnectError(`model "${model}" ${why}`, Code.Unavailable);
  };
  const files = createFileIndex(
    [...services.map((s) => s.service.file), file_grpc_health_v1_health, file_grpc_reflection_v1_reflection, file_grpc_reflection_v1alpha_reflection],
    { sourceInfo: [ownSourceInfo, ...(descriptorSet !== undefined ? [descriptorSet] : [])] },
  );
  // Calls in flight, ended with UNAVAILABLE when the shutdown grace period is over. Not
  // connect-node's `shutdownSignal`: that adds a listener per call to one shared signal, and
  // an EventTarget's add/remove walks all its listeners, so under load every call costs
  // O(calls in flight) — measured as a livelock at twice the sustainable rate.
  const inflight = new Set<HandlerContext & { abort?(reason?: unknown): void }>();
  const track = (ctx: HandlerContext) => {
    inflight.add(ctx);
    // connect-node aborts a call's own signal when the call ends, whatever the outcome —
    // when it fails, with the error it then serializes: the one place on this path where
    // every error about to go on the wire passes, so its message is bounded here.
    ctx.signal.addEventListener(
      "abort",
      () => {
        inflight.delete(ctx);
        if (ctx.signal.reason instanceof ConnectError) toWireError(ctx.signal.reason);
      },
      { once: true },
    );
  };

  const rpc = createConnectHandler({
    routes: (router) => {
      registerBindings(router, services, executor, gate);
      registerHealth(router, state);
      if (reflection) registerReflection(router, files, services.map((s) => s.service.typeName));
    },
    readMaxBytes,
    readMaxFields,
    compressMinBytes,
    grpc: true,
    grpcWeb: true,
    connect: true,
    interceptors: [...(spans !== undefined ? [spans.interceptor] : []), ...interceptors],
    contextValues: (req) => contextValuesFor(req as AnyRequest),
    // Runs once a call's headers are in, before its body is read.
    requestGate: async (ctx) => {
      track(ctx);
      observe(ctx);
      await authenticate?.(ctx);
    },
  });
  const native = fastPath
    ? createNativeGrpc({
        rpcs: modelRpcs(services, executor, gate),
        readMaxBytes,
        readMaxFields,
        compressMinBytes,
        interceptors,
        ...(spans !== undefined ? { around: spans.around } : {}),
        onCall(ctx, stream) {
          inflight.add(ctx);
          const end = startObserving(ctx, {
            httpVersion: "2.0",
            get peer() {
              return stream.session?.socket?.remoteAddress;
            },
          });
          return (error) => {
            inflight.delete(ctx);
            end?.(error);
          };
        },
        ...(authenticate !== undefined ? { requestGate: authenticate } : {}),
        contextValues: createContextValues,
        scheme: tls !== undefined ? "https" : "http",
      })
    : undefined;
  const routes = createHttpRoutes(state);
  if (prom !== undefined) routes.set("/metrics", metricsRoute(prom.registry));
  if (docs) {
    // Built once, on first request: the document only depends on the schema.
    let openapi: { json: string; html: string } | undefined;
    const built = () => {
      if (openapi === undefined) {
        const doc = createOpenApiDocument({ title: app.name, services: services.map((s) => s.service), files });
        openapi = { json: JSON.stringify(doc, null, 2) + "\n", html: docsPage(doc) };
      }
      return openapi;
    };
    // With auth on, the docs need the token too: they describe the schema that reflection
    // keeps behind it. `exempt: ["docs"]` opens them.
    const allowed = auth !== undefined ? bearerHttpGate(auth, DOCS_TARGET) : undefined;
    const docsRoute = (contentType: string, body: () => string): Route =>
      allowed === undefined
        ? (_req, res) => send(res, contentType, body())
        : (req, res) => {
            allowed(req, res).then(
              (ok) => {
                if (ok && !res.destroyed) send(res, contentType, body());
              },
              // The token check itself failed (a `tokens` function threw) and so did its answer.
              () => res.destroy(),
            );
          };
    routes.set("/openapi.json", docsRoute("application/json", () => built().json));
    routes.set("/docs", docsRoute("text/html; charset=utf-8", () => built().html));
  }
  const tracker = createConnectionTracker({ headersTimeoutMs, idleTimeoutMs, requestTimeoutMs });
  const cap = createRequestCap({ max: maxConcurrentRequests, inFlight: () => tracker.active });
  const writes = createWriteTimeout({ timeoutMs: writeTimeoutMs });
  const ping = createHttp2Ping({ intervalMs: http2PingIntervalMs });
  const dispatch = createDispatch(routes, rpc, {
    ...(cors !== undefined ? { cors: createCors(cors) } : {}),
    onRequest(req, res) {
      tracker.request(req, res);
      rememberResponse(req, res);
    },
    refuse: cap.refuseRequest,
    schedule: createHttp1Pipeline({ maxPending: http1MaxPendingRequests }),
  });

  const settings: http2.Settings = { initialWindowSize: http2StreamWindowBytes, maxFrameSize: http2MaxFrameBytes, maxConcurrentStreams: http2MaxConcurrentStreams };
  // Node refuses new streams once a session holds more than maxSessionMemory (default 10 MB)
  // of unsent and unread data; with a 16 MiB window one large tensor can be that much.
  const maxSessionMemory = Math.max(10, Math.ceil((2 * http2ConnectionWindowBytes + readMaxBytes) / (1024 * 1024)));
  let listener: net.Server;
  let h2: http2.Http2Server | http2.Http2SecureServer;
  if (tls !== undefined) {
    h2 = http2.createSecureServer(
      { cert: tls.cert, key: tls.key, allowHTTP1: true, settings, maxSessionMemory, ...(headersTimeoutMs > 0 ? { handshakeTimeout: headersTimeoutMs } : {}) },
      dispatch,
    );
    h2.on("secureConnection", (socket: TLSSocket) => {
      tracker.accept(socket);
      if (socket.alpnProtocol !== "h2") writes.watch(socket);
    });
    listener = h2;
  } else {
    h2 = http2.createServer({ settings, maxSessionMemory }, dispatch);
    const h1 = http.createServer(dispatch);
    // Our own timers close idle connections; Node's keep-alive timer would close them sooner.
    h1.keepAliveTimeout = idleTimeoutMs;
    const h2c = h2;
    // noDelay: Nagle off, as http.createServer does for its own sockets (small gRPC
    // responses would otherwise wait for the ACK of the previous segment).
    listener = net.createServer({ noDelay: true }, (socket) => {
      tracker.accept(socket);
      sniffProtocol(socket, (protocol) => {
        if (protocol === "h2") {
          // The HTTP/2 session reads the bytes put back from the socket's buffer itself,
          // then reads natively; resuming here would steal data from it.
          h2c.emit("connection", socket);
        } else {
          h1.emit("connection", socket);
          writes.watch(socket);
          socket.resume();
        }
      });
    });
  }
  // The dispatch point for HTTP/2: past the request cap a stream is refused before anything
  // is built for it; the native path takes the gRPC calls it serves straight from the
  // stream; every other stream goes on to Node's compatibility layer (the listener that
  // `createServer`'s request handler installed) and from there to dispatch.
  const compat = h2.listeners("stream") as ((...args: unknown[]) => void)[];
  if (compat.length !== 1) throw new Error(`expected Node's HTTP/2 compatibility 'stream' listener, found ${compat.length}`);
  h2.removeAllListeners("stream");
  h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
    if (cap.refuseStream(stream)) return;
    if (native?.(stream, headers) === true) tracker.stream(stream, headers[":path"]!);
    else compat[0]!.call(h2, stream, headers, flags, rawHeaders);
  });
  if (maxConnections !== undefined) listener.maxConnections = maxConnections;
  h2.on("session", tracker.session);
  h2.on("session", (session: http2.ServerHttp2Session) => ping(session, tracker.socketOf(session)));
  h2.on("session", (session: http2.ServerHttp2Session) => {
    // The window can be set once the session's own settings are in place.
    session.once("localSettings", () => {
      if (!session.destroyed) session.setLocalWindowSize(http2ConnectionWindowBytes);
    });
  });

  const rpcs: RpcInfo[] = services.flatMap(({ service, methods }) =>
    service.methods.flatMap((m) => {
      const b = methods[m.localName];
      return b === undefined ? [] : [{ path: `/${service.typeName}/${m.name}`, model: b.model, kind: b.kind }];
    }),
  );

  let bound: AddressInfo | undefined;
  let closed: Promise<void> | undefined;
  const server: BlazeServer = {
    rpcs,
    health: state,
    files,
    registry: prom?.registry,
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        listener.once("error", onError);
        listener.listen(port, host, () => {
          listener.off("error", onError);
          bound = listener.address() as AddressInfo;
          // Models load once the port is bound, so probes see them LOADING meanwhile.
          void state.load();
          resolve(bound);
        });
      });
    },
    close() {
      closed ??= (async () => {
        // 1. Health turns NOT_SERVING at once (Watch streams are told), no new connections.
        state.drain();
        const listenerClosed = new Promise<void>((resolve) => (listener.listening ? listener.close(() => resolve()) : resolve()));
        // 2. GOAWAY on HTTP/2; idle HTTP/1.1 connections close, busy ones after their response.
        tracker.closeGracefully();
        // 3. Model calls in flight finish, up to the grace period.
        await tracker.settled(closeGraceMs, (path) => !isOwnService(path));
        // 4. What is left (health watches, reflection streams, calls past the grace period)
        //    ends with UNAVAILABLE; a moment for those answers to be written, then cut.
        const reason = new ConnectError("the server is shutting down", Code.Unavailable);
        for (const ctx of inflight) abortCall(ctx, reason);
        await tracker.settled(1000);
        tracker.destroyAll();
        await listenerClosed;
        await executor.drain();
        await executor.close();
      })();
      return closed;
    },
    address() {
      if (bound === undefined) throw new Error("the server is not listening — call listen() first");
      return bound;
    },
    url() {
      const { address, port: p, family } = server.address();
      const hostPart = family === "IPv6" ? `[${address}]` : address;
      return `${tls !== undefined ? "https" : "http"}://${hostPart}:${p}`;
    },
  };
  return server;
}

/** One ExecutorMetrics that calls each of `hooks` in turn. */
function combineMetrics(hooks: readonly (ExecutorMetrics | undefined)[]): ExecutorMetrics {
  const all = hooks.filter((h): h is ExecutorMetrics => h !== undefined);
  return {
    queued: (m, d) => all.forEach((h) => h.queued?.(m, d)),
    dequeued: (m, w, d) => all.forEach((h) => h.dequeued?.(m, w, d)),
    computed: (m, s, c, ok) => all.forEach((h) => h.computed?.(m, s, c, ok)),
    rejected: (m, r) => all.forEach((h) => h.rejected?.(m, r)),
  };
}

/** `GET /metrics`: the registry in Prometheus' text format. */
function metricsRoute(registry: Registry) {
  return (_req: AnyRequest, res: AnyResponse) => {
    registry.metrics().then(
      (text) => {
        (res as http.ServerResponse).writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
        (res as http.ServerResponse).end(text);
      },
      (err: unknown) => {
        (res as http.ServerResponse).writeHead(500, { "content-type": "text/plain" });
        (res as http.ServerResponse).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
      },
    );
  };
}

function send(res: AnyResponse, contentType: string, body: string): void {
  (res as http.ServerResponse).writeHead(200, { "content-type": contentType, "content-length": Buffer.byteLength(body), "cache-control": "no-cache" });
  (res as http.ServerResponse).end(body);
}

/**
 * Ends a call with `reason`. connect-node's handler contexts carry an `abort` method (from
 * `createHandlerContext`) that its public type does not name; @connectrpc/connect is pinned,
 * and the shutdown tests (a call past the grace period ends UNAVAILABLE) hold it to that.
 */
function abortCall(ctx: HandlerContext, reason: ConnectError): void {
  const abort = (ctx as HandlerContext & { abort?: (reason?: unknown) => void }).abort;
  if (typeof abort !== "function") throw new Error("@connectrpc/connect's handler context has no abort(): check the pinned version");
  abort.call(ctx, reason);
}
