import * as fs from "node:fs";
import { SERVER_DEFAULTS } from "./defaults.js";
import type { ServerOptions } from "./options.js";

// The server's settings as a deployment gives them: each a `blaze serve` flag and a BLAZE_*
// environment variable (the flag first, then the variable, then the default), so that a
// container is configured by env alone — `blaze serve` and a server of your own
// (`createServer({ app, services, ...serverOptionsFromEnv() })`, every template's server.ts)
// alike. A module with no server imports: the CLI reads it for its flags without loading the
// server. docs/operations.md lists every setting; a test checks that the two agree.

/** One setting: its flag, its variable, its type and default. */
export interface SettingSpec {
  /** The flag, without `--`. */
  readonly flag: string;
  /** The environment variable. */
  readonly env: string;
  readonly type: "string" | "integer" | "boolean" | "list";
  readonly describe: string;
  /** The default as shown in help (undefined: off / not set). */
  readonly default?: string | number | boolean;
  /** Smallest allowed value (integers). */
  readonly min?: number;
  readonly max?: number;
}

/** Every setting of the server (`blaze serve` adds `--proto` and `--gen`). */
export const SETTINGS: readonly SettingSpec[] = [
  {
    flag: "host",
    env: "BLAZE_HOST",
    type: "string",
    default: SERVER_DEFAULTS.host,
    describe: "address to listen on (0.0.0.0 or :: for every interface)",
  },
  {
    flag: "port",
    env: "BLAZE_PORT",
    type: "integer",
    default: SERVER_DEFAULTS.port,
    min: 0,
    max: 65535,
    describe: "port; 0 picks a free one",
  },
  {
    flag: "tls-cert",
    env: "BLAZE_TLS_CERT",
    type: "string",
    describe: "PEM certificate file; with --tls-key serves TLS (ALPN h2 and http/1.1)",
  },
  { flag: "tls-key", env: "BLAZE_TLS_KEY", type: "string", describe: "PEM private key file" },
  {
    flag: "max-message-bytes",
    env: "BLAZE_MAX_MESSAGE_BYTES",
    type: "integer",
    default: SERVER_DEFAULTS.readMaxBytes,
    min: 1,
    describe: "largest request message; larger ones get RESOURCE_EXHAUSTED",
  },
  {
    flag: "max-message-fields",
    env: "BLAZE_MAX_MESSAGE_FIELDS",
    type: "integer",
    default: SERVER_DEFAULTS.readMaxFields,
    min: 1,
    describe:
      "most fields one request message may hold (each repeated element and unknown field counts; JSON: each value); more get RESOURCE_EXHAUSTED before decoding",
  },
  {
    flag: "shutdown-grace-ms",
    env: "BLAZE_SHUTDOWN_GRACE_MS",
    type: "integer",
    default: SERVER_DEFAULTS.closeGraceMs,
    min: 0,
    describe: "on SIGTERM/SIGINT, how long in-flight requests get to finish before they are ended with UNAVAILABLE",
  },
  {
    flag: "drain-delay-ms",
    env: "BLAZE_DRAIN_DELAY_MS",
    type: "integer",
    default: SERVER_DEFAULTS.drainDelayMs,
    min: 0,
    describe:
      "on SIGTERM/SIGINT, how long the server goes on accepting and serving after readiness turned NOT_SERVING, so load balancers stop sending first",
  },
  {
    flag: "headers-timeout-ms",
    env: "BLAZE_HEADERS_TIMEOUT_MS",
    type: "integer",
    default: SERVER_DEFAULTS.headersTimeoutMs,
    min: 0,
    describe: "a connection must send its first request's headers (and finish TLS) within this; 0: no limit",
  },
  {
    flag: "idle-timeout-ms",
    env: "BLAZE_IDLE_TIMEOUT_MS",
    type: "integer",
    default: SERVER_DEFAULTS.idleTimeoutMs,
    min: 0,
    describe: "a connection with no request in flight this long is closed (HTTP/2: GOAWAY); 0: no limit",
  },
  {
    flag: "request-timeout-ms",
    env: "BLAZE_REQUEST_TIMEOUT_MS",
    type: "integer",
    default: SERVER_DEFAULTS.requestTimeoutMs,
    min: 0,
    describe: "a request's body must arrive in full within this; 0: no limit",
  },
  {
    flag: "max-connections",
    env: "BLAZE_MAX_CONNECTIONS",
    type: "integer",
    min: 1,
    describe: "most open connections; more are refused (default: no limit)",
  },
  {
    flag: "max-concurrent-requests",
    env: "BLAZE_MAX_CONCURRENT_REQUESTS",
    type: "integer",
    default: SERVER_DEFAULTS.maxConcurrentRequests,
    min: 1,
    describe:
      "most requests and streams in flight on all connections; past it HTTP/2 streams are refused (REFUSED_STREAM; gRPC: UNAVAILABLE) and HTTP/1.1 requests get 503",
  },
  {
    flag: "http2-max-concurrent-streams",
    env: "BLAZE_HTTP2_MAX_CONCURRENT_STREAMS",
    type: "integer",
    default: SERVER_DEFAULTS.http2MaxConcurrentStreams,
    min: 1,
    describe: "most streams at once on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS)",
  },
  {
    flag: "http1-max-pending-requests",
    env: "BLAZE_HTTP1_MAX_PENDING_REQUESTS",
    type: "integer",
    default: SERVER_DEFAULTS.http1MaxPendingRequests,
    min: 1,
    describe:
      "pipelined requests of one HTTP/1.1 connection answered at once; the rest wait (the connection is not read meanwhile), and more than twice as many pending close it",
  },
  {
    flag: "write-timeout-ms",
    env: "BLAZE_WRITE_TIMEOUT_MS",
    type: "integer",
    default: SERVER_DEFAULTS.writeTimeoutMs,
    min: 0,
    describe: "an HTTP/1.1 connection that takes none of its pending output for this long is closed; 0: no limit",
  },
  {
    flag: "http2-ping-interval-ms",
    env: "BLAZE_HTTP2_PING_INTERVAL_MS",
    type: "integer",
    default: SERVER_DEFAULTS.http2PingIntervalMs,
    min: 0,
    describe:
      "an HTTP/2 connection silent this long is sent a PING, and closed when it has not answered within as long again; 0: never",
  },
  {
    flag: "log-requests",
    env: "BLAZE_LOG_REQUESTS",
    type: "boolean",
    default: false,
    describe: "a JSON log line per RPC on stdout (pino)",
  },
  {
    flag: "metrics",
    env: "BLAZE_METRICS",
    type: "boolean",
    default: SERVER_DEFAULTS.prometheus,
    describe: "Prometheus metrics at GET /metrics (--no-metrics turns them off)",
  },
  {
    flag: "docs",
    env: "BLAZE_DOCS",
    type: "boolean",
    default: SERVER_DEFAULTS.docs,
    describe: "GET /openapi.json and GET /docs (--no-docs turns them off)",
  },
  {
    flag: "oip",
    env: "BLAZE_OIP",
    type: "boolean",
    default: SERVER_DEFAULTS.oip,
    describe:
      "the Open Inference Protocol (KServe v2): REST under /v2 and gRPC inference.GRPCInferenceService (--no-oip turns it off)",
  },
  {
    flag: "fast-path",
    env: "BLAZE_FAST_PATH",
    type: "boolean",
    default: SERVER_DEFAULTS.fastPath,
    describe:
      "serve gRPC and Connect unary calls on the native paths (--no-fast-path sends everything through connect-node)",
  },
  {
    flag: "auth-token",
    env: "BLAZE_AUTH_TOKENS",
    type: "list",
    describe: "bearer tokens accepted, comma-separated; with any, calls without one get UNAUTHENTICATED",
  },
  {
    flag: "auth-token-file",
    env: "BLAZE_AUTH_TOKEN_FILE",
    type: "string",
    describe: "a file of accepted bearer tokens, one per line (e.g. a mounted secret)",
  },
  {
    flag: "auth-exempt",
    env: "BLAZE_AUTH_EXEMPT",
    type: "list",
    default: "health",
    describe:
      "what needs no token: health, reflection, docs (GET /openapi.json and /docs), full service names, or the paths of the app's HTTP routes (/health)",
  },
  {
    flag: "cors-origins",
    env: "BLAZE_CORS_ORIGINS",
    type: "list",
    describe: "origins allowed to call from a browser, comma-separated (* for any); CORS is off without it",
  },
  {
    flag: "descriptor-set",
    env: "BLAZE_DESCRIPTOR_SET",
    type: "string",
    describe:
      "FileDescriptorSet with comments for reflection and docs (`buf build proto --as-file-descriptor-set -o FILE`); built on the fly for a .ts entry",
  },
];

/** What {@link resolveSettings} returns: each setting by its flag's camelCase name. */
export interface ResolvedSettings {
  host: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  maxMessageBytes: number;
  maxMessageFields: number;
  shutdownGraceMs: number;
  drainDelayMs: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
  maxConnections?: number;
  maxConcurrentRequests: number;
  http2MaxConcurrentStreams: number;
  http1MaxPendingRequests: number;
  writeTimeoutMs: number;
  http2PingIntervalMs: number;
  logRequests: boolean;
  metrics: boolean;
  docs: boolean;
  oip: boolean;
  fastPath: boolean;
  authToken?: string[];
  authTokenFile?: string;
  authExempt: string[];
  corsOrigins?: string[];
  descriptorSet?: string;
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Each setting from the parsed flags (camelCase keys), else its environment variable, else
 * its default; a value that is not valid throws, naming where it came from.
 *
 * @example
 * resolveSettings({ port: undefined }, { BLAZE_PORT: "8080" }).port // 8080
 */
export function resolveSettings(
  args: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): ResolvedSettings {
  return resolveSpecs(SETTINGS, args, env) as unknown as ResolvedSettings;
}

/**
 * {@link resolveSettings} over any list of settings (the CLI's adds its own): each one's
 * value by its flag's camelCase name.
 */
export function resolveSpecs(
  specs: readonly SettingSpec[],
  args: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of specs) {
    const key = camel(o.flag);
    const fromFlag = args[key];
    const raw =
      fromFlag !== undefined ? fromFlag : env[o.env] !== undefined && env[o.env] !== "" ? env[o.env] : undefined;
    const where = fromFlag !== undefined ? `--${o.flag}` : o.env;
    if (raw === undefined) {
      if (o.default !== undefined) out[key] = o.type === "list" ? String(o.default).split(",") : o.default;
      continue;
    }
    switch (o.type) {
      case "string":
        out[key] = String(raw);
        break;
      case "integer": {
        const n = typeof raw === "number" ? raw : /^\s*-?\d+\s*$/.test(String(raw)) ? Number(raw) : NaN;
        const min = o.min ?? -Infinity;
        const max = o.max ?? Infinity;
        if (!Number.isInteger(n) || n < min || n > max) {
          const range = o.max !== undefined ? `from ${min} to ${max}` : `≥ ${min}`;
          throw new Error(`${where} must be an integer ${range}, got ${JSON.stringify(String(raw))}`);
        }
        out[key] = n;
        break;
      }
      case "boolean": {
        if (typeof raw === "boolean") {
          out[key] = raw;
          break;
        }
        const s = String(raw).toLowerCase();
        if (!["true", "false", "1", "0", "yes", "no"].includes(s))
          throw new Error(`${where} must be true or false, got ${JSON.stringify(String(raw))}`);
        out[key] = s === "true" || s === "1" || s === "yes";
        break;
      }
      case "list":
        out[key] = (Array.isArray(raw) ? raw.map(String) : String(raw).split(","))
          .map((s) => s.trim())
          .filter((s) => s !== "");
        break;
    }
  }
  return out;
}

/**
 * The server options the settings say: files read (TLS, tokens, descriptor set), names mapped
 * (`shutdownGraceMs` → `closeGraceMs`, `metrics` → `prometheus`, …). Settings left undefined
 * leave the server's own default.
 *
 * @throws Error naming the setting: a TLS certificate without its key, a token file with no token, a file that cannot be read.
 * @example
 * createServer({ app, services, ...serverOptionsFromSettings(resolveSettings({}, process.env)) });
 */
export function serverOptionsFromSettings(s: Partial<ResolvedSettings>): Omit<ServerOptions, "app" | "services"> {
  const tls = s.tlsCert !== undefined || s.tlsKey !== undefined ? readTls(s) : undefined;
  const auth = authOptions(s);
  const given = <T>(v: T | undefined) => v !== undefined;
  return {
    ...(given(s.host) ? { host: s.host! } : {}),
    ...(given(s.port) ? { port: s.port! } : {}),
    ...(tls !== undefined ? { tls } : {}),
    ...(given(s.maxMessageBytes) ? { readMaxBytes: s.maxMessageBytes! } : {}),
    ...(given(s.maxMessageFields) ? { readMaxFields: s.maxMessageFields! } : {}),
    ...(given(s.shutdownGraceMs) ? { closeGraceMs: s.shutdownGraceMs! } : {}),
    ...(given(s.drainDelayMs) ? { drainDelayMs: s.drainDelayMs! } : {}),
    ...(given(s.headersTimeoutMs) ? { headersTimeoutMs: s.headersTimeoutMs! } : {}),
    ...(given(s.idleTimeoutMs) ? { idleTimeoutMs: s.idleTimeoutMs! } : {}),
    ...(given(s.requestTimeoutMs) ? { requestTimeoutMs: s.requestTimeoutMs! } : {}),
    ...(given(s.maxConnections) ? { maxConnections: s.maxConnections! } : {}),
    ...(given(s.maxConcurrentRequests) ? { maxConcurrentRequests: s.maxConcurrentRequests! } : {}),
    ...(given(s.http2MaxConcurrentStreams) ? { http2MaxConcurrentStreams: s.http2MaxConcurrentStreams! } : {}),
    ...(given(s.http1MaxPendingRequests) ? { http1MaxPendingRequests: s.http1MaxPendingRequests! } : {}),
    ...(given(s.writeTimeoutMs) ? { writeTimeoutMs: s.writeTimeoutMs! } : {}),
    ...(given(s.http2PingIntervalMs) ? { http2PingIntervalMs: s.http2PingIntervalMs! } : {}),
    ...(given(s.descriptorSet) ? { descriptorSet: fs.readFileSync(s.descriptorSet!) } : {}),
    ...(given(s.logRequests) ? { log: s.logRequests! } : {}),
    ...(given(s.metrics) ? { prometheus: s.metrics! } : {}),
    ...(given(s.docs) ? { docs: s.docs! } : {}),
    ...(given(s.oip) ? { oip: s.oip! } : {}),
    ...(given(s.fastPath) ? { fastPath: s.fastPath! } : {}),
    ...(auth !== undefined ? { auth } : {}),
    ...(s.corsOrigins !== undefined && s.corsOrigins.length > 0 ? { cors: { origins: s.corsOrigins } } : {}),
  };
}

/**
 * The server options the BLAZE_* variables of `env` say, every other one at its default —
 * what `blaze serve` applies, for a server of your own.
 *
 * @throws Error naming the variable whose value is not valid.
 * @example
 * const server = createServer({ app, services: [InferenceServiceBinding], ...serverOptionsFromEnv() });
 */
export function serverOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Omit<ServerOptions, "app" | "services"> {
  return serverOptionsFromSettings(resolveSettings({}, env));
}

/** Bearer-token auth from `--auth-token` and `--auth-token-file`; undefined when neither gives a token. */
function authOptions(s: Partial<ResolvedSettings>): { tokens: string[]; exempt: string[] } | undefined {
  const tokens = [...(s.authToken ?? [])];
  if (s.authTokenFile !== undefined) {
    tokens.push(
      ...fs
        .readFileSync(s.authTokenFile, "utf8")
        .split(/\r?\n/)
        .map((t) => t.trim())
        .filter((t) => t !== "" && !t.startsWith("#")),
    );
    if (tokens.length === 0) throw new Error(`--auth-token-file ${s.authTokenFile} holds no token`);
  }
  return tokens.length > 0 ? { tokens, exempt: s.authExempt ?? ["health"] } : undefined;
}

function readTls(s: Partial<ResolvedSettings>): { cert: Buffer; key: Buffer } {
  if (s.tlsCert === undefined || s.tlsKey === undefined) throw new Error("TLS needs both --tls-cert and --tls-key");
  return { cert: fs.readFileSync(s.tlsCert), key: fs.readFileSync(s.tlsKey) };
}
