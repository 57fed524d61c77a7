// Every default of the server's options, in a module of its own with no imports, so that the
// CLI can show and apply them (`import { SERVER_DEFAULTS } from "@blazerpc/runtime/defaults"`)
// without loading the server.

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

/**
 * Default most fields one request message may hold: 100,000 (see `readMaxFields`). Every field
 * occurrence counts (nested ones too), each element of a packed repeated field, and unknown
 * fields (skipped, never kept); a tensor is 3 fields whatever its size.
 */
export const DEFAULT_READ_MAX_FIELDS = 100_000;

/**
 * Every default of {@link ServerOptions}, in one place: `createServer` applies them and the
 * CLI shows and applies the same ones (`blaze serve --help`).
 *
 * @example
 * SERVER_DEFAULTS.readMaxBytes; // 67108864
 */
export const SERVER_DEFAULTS = {
  host: "127.0.0.1",
  port: 50051,
  readMaxBytes: DEFAULT_READ_MAX_BYTES,
  readMaxFields: DEFAULT_READ_MAX_FIELDS,
  compressMinBytes: 1024,
  http2ConnectionWindowBytes: DEFAULT_HTTP2_CONNECTION_WINDOW_BYTES,
  http2StreamWindowBytes: DEFAULT_HTTP2_STREAM_WINDOW_BYTES,
  http2MaxFrameBytes: DEFAULT_HTTP2_MAX_FRAME_BYTES,
  closeGraceMs: 5000,
  drainDelayMs: 0,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 120_000,
  requestTimeoutMs: 300_000,
  http2MaxConcurrentStreams: DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS,
  maxConcurrentRequests: DEFAULT_MAX_CONCURRENT_REQUESTS,
  http1MaxPendingRequests: DEFAULT_HTTP1_MAX_PENDING_REQUESTS,
  writeTimeoutMs: DEFAULT_WRITE_TIMEOUT_MS,
  http2PingIntervalMs: DEFAULT_HTTP2_PING_INTERVAL_MS,
  reflection: true,
  prometheus: true,
  log: false,
  tracing: true,
  docs: true,
  fastPath: true,
  oip: true,
} as const;
