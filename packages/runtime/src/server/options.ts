import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { App } from "../app.js";
import type { ModelServiceBinding } from "../binding/define-model-service.js";
import type { ExecutorMetrics } from "../executor/metrics.js";
import type { CorsOptions } from "../http/cors.js";
import { SERVER_DEFAULTS } from "./defaults.js";
import type { BearerAuthOptions } from "../middleware/auth/bearer-auth.js";
import type { Peers } from "../health/serving-state.js";
import type { PrometheusOptions } from "../middleware/metrics/prometheus.js";

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The app whose registered models are served. */
  app: App;
  /** The generated service bindings (`InferenceServiceBinding` from `<app>_blaze.ts`). Default: none (an app with no models). */
  services?: readonly ModelServiceBinding[];
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
  /**
   * Graceful shutdown: how long `close()` keeps accepting and serving after readiness turned
   * NOT_SERVING (gRPC health, `/readyz` 503), so that load balancers and Kubernetes stop
   * sending new calls before the port closes; then GOAWAY and the grace period. Default 0
   * (close at once); behind a load balancer, a little more than its health-check interval.
   */
  drainDelayMs?: number;
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
   * streaming RPCs) on the native fast path, written directly on `node:http2` streams, and
   * Connect unary calls (`POST` of `application/json` or `application/proto`, HTTP/1.1 and
   * HTTP/2) on the native Connect path. `false` sends everything through connect-node, the
   * reference implementation. Default true.
   */
  fastPath?: boolean;
  /**
   * Serve the Open Inference Protocol (KServe v2, as Triton and KServe speak it) on the same
   * port: REST under `/v2` (JSON and the binary tensor data extension) and gRPC
   * `inference.GRPCInferenceService`. Every unary model whose request and response fields
   * are all tensors is an OIP model, named as registered; its inference runs the typed
   * method's own implementation (same batcher, deadlines, errors). See docs/oip.md. Default true.
   */
  oip?: boolean;
  /**
   * The other processes this server serves beside, on the same port (the workers of `blaze
   * serve --workers N`): while they are not all ready, gRPC health and `/readyz` say
   * NOT_SERVING here too, so that a probe sees the whole set. Default: none.
   */
  peers?: Peers;
}

/** {@link ServerOptions} with every default applied. */
export type ResolvedServerOptions = ServerOptions & {
  -readonly [K in keyof typeof SERVER_DEFAULTS]-?: NonNullable<ServerOptions[K]>;
};

/**
 * The options with every default of {@link SERVER_DEFAULTS} applied (an option set to
 * `undefined` takes its default too).
 *
 * @example
 * resolveServerOptions({ app, services }).port; // 50051
 */
export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  const resolved: Record<string, unknown> = { ...options };
  for (const [key, value] of Object.entries(SERVER_DEFAULTS)) {
    if (resolved[key] === undefined) resolved[key] = value;
  }
  return resolved as unknown as ResolvedServerOptions;
}
