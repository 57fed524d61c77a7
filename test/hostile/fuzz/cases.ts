// The cases: each is plain data (transport, headers, body bytes) drawn from its own seeded
// generator, so that a failing case can be printed whole and replayed alone.
import * as zlib from "node:zlib";
import {
  hostileGenerateJson,
  hostileGenerateProto,
  hostileHealthProto,
  hostileIrisJson,
  hostileIrisProto,
  hostileReflectionProto,
  mutateBytes,
  validGenerate,
  validIris,
  type Expectation,
} from "./bodies.js";
import { KNOWN_BUGS_FIXED } from "./known-bugs.js";
import { caseSeed, Rng } from "./prng.js";
import { envelope } from "./wire.js";

export const IRIS = "/iris.v1.InferenceService/PredictIris";
export const GENERATE = "/iris.v1.InferenceService/PredictGenerate";
export const HEALTH_CHECK = "/grpc.health.v1.Health/Check";
export const HEALTH_WATCH = "/grpc.health.v1.Health/Watch";
const REFLECTION = [
  "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
  "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];
const UNKNOWN_PATHS = [
  "/iris.v1.InferenceService/PredictNope",
  "/iris.v1.InferenceService/predictIris",
  "/iris.v1.InferenceService/",
  "/iris.v1.InferenceService",
  "/iris.v1.InferenceService/PredictIris/extra",
  "/IRIS.V1.INFERENCESERVICE/PREDICTIRIS",
  "/%69ris.v1.InferenceService/PredictIris",
  "/nope.v1.Service/Method",
  "/",
  "//",
  "/../../etc/passwd",
  "/healthz/",
  "/metrics?x=1",
  "/openapi.json",
  "/docs",
  "/readyz",
  "/healthz",
  "/favicon.ico",
];

/** How a case reaches the server. */
export type Transport =
  /** A stream on one of a few long-lived node:http2 client sessions. */
  | "h2"
  /** node:http's client on a keep-alive Agent: well-formed HTTP/1.1 framing, hostile content. */
  | "h1"
  /** Bytes written as they are on a raw TCP socket: hostile HTTP/1.1 framing. */
  | "raw";

/** What kind of answer a case should get, which decides the invariants checked. */
export type Protocol = "grpc" | "grpc-web" | "connect" | "connect-stream" | "connect-get" | "http";

export interface FuzzCase {
  index: number;
  /** Which generator made it, for the report: e.g. "grpc PredictIris hostile-proto". */
  label: string;
  transport: Transport;
  protocol: Protocol;
  method: string;
  /** Path with query. */
  path: string;
  headers: [string, string][];
  body: Buffer;
  /** Sizes of the pieces the body is written in (h2: DATA frames; h1: chunks); the rest goes last. */
  pieces?: number[];
  /** h1: send content-length (else chunked). */
  contentLength?: boolean;
  /** h1 (chunked) and h2: trailers after the body. */
  trailers?: [string, string][];
  /** raw: the exact bytes to write. */
  raw?: Buffer;
  /** raw: half-close the socket right after writing (the request is knowingly incomplete). */
  rawFin?: boolean;
  /** raw: how many responses the bytes ask for when the server reads them as we meant. */
  rawResponses?: number;
  /** The answer may be an endless stream: the client stops reading after a while. */
  streaming?: boolean;
  /** A valid request: it must be answered with exactly this. */
  expect?: Expectation;
}

/** Weights of the generators: over 10,000 cases, every one runs hundreds of times. */
const GENERATORS: readonly (readonly [number, (rng: Rng, c: FuzzCase) => void])[] = [
  [30, grpcCase],
  [9, (rng, c) => grpcWebCase(rng, c, rng.chance(0.6) ? "h1" : "h2")],
  [13, (rng, c) => connectUnaryCase(rng, c, rng.chance(0.55) ? "h1" : "h2")],
  [5, (rng, c) => connectStreamCase(rng, c, rng.chance(0.5) ? "h1" : "h2")],
  [5, (rng, c) => connectGetCase(rng, c, rng.chance(0.5) ? "h1" : "h2")],
  [6, (rng, c) => plainHttpCase(rng, c, rng.chance(0.5) ? "h1" : "h2")],
  [12, rawCase],
];

/**
 * Host / :authority values: odd but valid ones, and ones no URL parser takes ("527.0.0.1",
 * "a b", "x:99999", ""), which a server must answer (or refuse) like any other.
 */
const AUTHORITIES = [
  "527.0.0.1",
  "256.256.256.256",
  "999999999999",
  "a b",
  "[::1",
  "[",
  "x:99999",
  "x:-1",
  "",
  "xn--zz",
  "user@127.0.0.1",
  "127.0.0.1/path",
  "127.0.0.1?q",
  "%41",
  "\u00fcn\u00efcode.example",
  "a..b",
  "localhost:0",
  "0x7f.1",
  "-",
];

/**
 * One of AUTHORITIES. One that no URL parser takes is sent as "127.0.0.1.example" until
 * KNOWN_BUGS_FIXED.authorityParsed (today it makes the server throw where nothing catches
 * it: in production the process exits, and nothing after it would mean much).
 */
function authority(rng: Rng): string {
  const a = rng.pick(AUTHORITIES);
  if (KNOWN_BUGS_FIXED.authorityParsed) return a;
  try {
    new URL("/", `http://${a}`);
    return a;
  } catch {
    return "127.0.0.1.example";
  }
}

/** No case sends more than this (big bodies are other tests' business). */
export const MAX_BODY_BYTES = 256 * 1024;

export function generateCase(seed: number, index: number): FuzzCase {
  const rng = new Rng(caseSeed(seed, index));
  const c: FuzzCase = {
    index,
    label: "",
    transport: "h2",
    protocol: "grpc",
    method: "POST",
    path: "/",
    headers: [],
    body: Buffer.alloc(0),
  };
  rng.weighted(GENERATORS)(rng, c);
  if (c.transport !== "raw" && rng.chance(0.03)) {
    c.headers.push([c.transport === "h2" ? ":authority" : "host", authority(rng)]);
    delete c.expect; // an odd authority may be refused: no answer is known
  }
  if (c.body.length > MAX_BODY_BYTES || (c.raw?.length ?? 0) > MAX_BODY_BYTES)
    throw new Error(`case #${index} is ${Math.max(c.body.length, c.raw?.length ?? 0)} bytes, over ${MAX_BODY_BYTES}`);
  return c;
}

// ---------------------------------------------------------------------------------------
// Messages and envelopes

type Encoding = "proto" | "json";

interface Drawn {
  bytes: Buffer;
  kind: string;
  expect?: Expectation;
}

/** A request message for `path`: valid (its answer known), built hostile, mutated, or random bytes. */
function message(rng: Rng, path: string, encoding: Encoding): Drawn {
  const valid = path === IRIS ? validIris(rng) : path === GENERATE ? validGenerate(rng) : undefined;
  const how = rng.weighted([
    [12, "valid"],
    [50, "hostile"],
    [22, "mutated"],
    [10, "random"],
    [6, "empty"],
  ] as const);
  if (how === "empty") return { bytes: Buffer.alloc(0), kind: "empty" };
  if (how === "random") return { bytes: rng.bytes(rng.size(2048)), kind: "random" };
  if (valid === undefined) {
    if (path === HEALTH_CHECK || path === HEALTH_WATCH) {
      if (encoding === "json")
        return {
          bytes: Buffer.from(rng.chance(0.5) ? "{}" : `{"service":${JSON.stringify(rng.text(rng.size(20)))}}`),
          kind: "health-json",
        };
      const bytes = hostileHealthProto(rng);
      return { bytes: how === "mutated" ? mutateBytes(rng, bytes) : bytes, kind: `health-${how}` };
    }
    if (REFLECTION.includes(path))
      return {
        bytes: encoding === "json" ? Buffer.from('{"listServices":"*"}') : hostileReflectionProto(rng),
        kind: "reflection",
      };
    return { bytes: encoding === "json" ? Buffer.from("{}") : rng.bytes(rng.size(64)), kind: "any" };
  }
  const of = (m: { proto: Buffer; json: Buffer }) => (encoding === "proto" ? m.proto : m.json);
  if (how === "valid")
    return { bytes: of(valid), kind: "valid", ...(valid.expect !== undefined ? { expect: valid.expect } : {}) };
  if (how === "mutated") return { bytes: mutateBytes(rng, of(valid)), kind: "mutated" };
  const hostile =
    encoding === "proto"
      ? path === IRIS
        ? hostileIrisProto(rng)
        : hostileGenerateProto(rng)
      : path === IRIS
        ? hostileIrisJson(rng)
        : hostileGenerateJson(rng);
  return { bytes: hostile, kind: "hostile" };
}

/**
 * The body of an enveloped request (gRPC, gRPC-Web, Connect streaming): usually one envelope
 * around the message; sometimes flags, lengths and counts that lie, compressed messages
 * with or without a declared encoding, or no envelope at all.
 */
function envelopedBody(
  rng: Rng,
  payload: Buffer,
  encodingHeader: string | undefined,
): { body: Buffer; framing: string } {
  const framing = rng.weighted([
    [60, "one"],
    [6, "compressed"],
    [4, "flags"],
    [5, "length-lies"],
    [4, "truncated"],
    [4, "extra"],
    [3, "many"],
    [3, "empty"],
    [3, "stub"],
    [2, "trailer-flag"],
  ] as const);
  switch (framing) {
    case "one":
      return { body: envelope(payload), framing };
    case "compressed": {
      // Compressed as the header says, as another encoding, or not at all.
      const how =
        encodingHeader === "gzip" && rng.chance(0.6)
          ? "gzip"
          : rng.pick(["gzip", "deflate", "garbage", "none"] as const);
      const data =
        how === "gzip"
          ? zlib.gzipSync(payload)
          : how === "deflate"
            ? zlib.deflateSync(payload)
            : how === "garbage"
              ? rng.bytes(rng.size(64))
              : payload;
      return { body: envelope(data, 1), framing: `compressed(${how})` };
    }
    case "flags":
      return {
        body: envelope(payload, rng.pick([0x02, 0x03, 0x04, 0x7f, 0x80, 0x81, 0xfe, 0xff, rng.int(0, 255)])),
        framing,
      };
    case "length-lies": {
      const declared = rng.pick([
        payload.length + 1,
        payload.length + rng.int(2, 1000),
        Math.max(0, payload.length - 1),
        0,
        2 ** 31 - 1,
        2 ** 32 - 1,
        64 * 1024 * 1024 + 1,
      ]);
      return { body: envelope(payload, 0, declared), framing: `length-lies(${declared})` };
    }
    case "truncated": {
      const whole = envelope(payload);
      return { body: whole.subarray(0, rng.int(0, Math.max(0, whole.length - 1))), framing };
    }
    case "extra":
      return {
        body: Buffer.concat([envelope(payload), rng.chance(0.5) ? envelope(payload) : rng.bytes(rng.int(1, 12))]),
        framing,
      };
    case "many": {
      const n = Math.max(2, Math.min(rng.int(2, 50), Math.floor(MAX_BODY_BYTES / 2 / (payload.length + 5))));
      return {
        body: Buffer.concat(
          Array.from({ length: n }, () => envelope(rng.chance(0.5) ? payload : rng.bytes(rng.size(16)))),
        ),
        framing: `many(${n})`,
      };
    }
    case "empty":
      return { body: Buffer.alloc(0), framing };
    case "stub":
      return { body: rng.bytes(rng.int(1, 4)), framing };
    case "trailer-flag":
      return { body: Buffer.concat([envelope(payload), envelope(Buffer.from("grpc-status: 0\r\n"), 0x80)]), framing };
  }
}

/** Body pieces: one write (mostly), or split at random points. */
function pieces(rng: Rng, length: number): number[] | undefined {
  if (length === 0 || rng.chance(0.75)) return undefined;
  return Array.from({ length: rng.int(1, 8) }, () => rng.size(Math.max(1, Math.floor(length / 2))));
}

// ---------------------------------------------------------------------------------------
// Headers

const TIMEOUTS = [
  "1n",
  "1u",
  "1m",
  "10m",
  "100m",
  "1S",
  "30S",
  "1M",
  "1H",
  "99999999H",
  "00000001S",
  "0m",
  "0S",
  "",
  "-1S",
  "1.5S",
  "123456789S",
  "1x",
  "S",
  "1 S",
  " 1S",
  "1s",
  "abc",
];
/**
 * A grpc-timeout header value, or none. One over 2^31 − 1 ms ("99999999H") is sent as a long
 * one that fits until KNOWN_BUGS_FIXED.noTimerOverflow (else Node prints a warning per case).
 */
function grpcTimeout(rng: Rng, p = 0.25): string | undefined {
  if (!rng.chance(p)) return undefined;
  const t = rng.pick(TIMEOUTS);
  return t === "99999999H" && !KNOWN_BUGS_FIXED.noTimerOverflow ? "2000000S" : t;
}

const ENCODINGS = ["gzip", "br", "identity", "deflate", "snappy", "zstd", "", "gzip, br", "GZIP", "x".repeat(200)];

/** A printable header value (node's clients refuse control characters themselves). */
function headerText(rng: Rng, max: number): string {
  return rng.stringOf("abcXYZ0189 -_.,;:=/+*%\"'()[]{}<>?@!#$&|~^`\\\t", rng.size(max));
}

/** Metadata a client may add: custom keys, binary ones with bad base64, many, long. */
function randomMetadata(rng: Rng, headers: [string, string][]): void {
  for (
    let i = rng.weighted([
      [6, 0],
      [3, rng.int(1, 4)],
      [1, rng.int(5, 60)],
    ] as const);
    i > 0;
    i--
  ) {
    const name = rng.weighted([
      [4, `x-${rng.stringOf("abcdefghijklmnopqrstuvwxyz0123456789-_", rng.int(1, 20))}`],
      [2, `x-${rng.stringOf("abcdef", rng.int(1, 8))}-bin`],
      [
        1,
        rng.pick([
          "authorization",
          "user-agent",
          "grpc-status",
          "grpc-message",
          "grpc-trace-bin",
          "traceparent",
          "accept",
          "cookie",
          "origin",
          "x-forwarded-for",
          "content-length",
        ]),
      ],
    ] as const);
    const value = name.endsWith("-bin")
      ? rng.pick([Buffer.from(rng.bytes(rng.size(40))).toString("base64"), "!!not base64!!", "AAA", "="])
      : headerText(rng, rng.chance(0.02) ? 4000 : 64);
    if (name === "content-length") continue; // the client library owns it
    headers.push([name, value]);
  }
}

function setHeader(headers: [string, string][], name: string, value: string | undefined): void {
  if (value !== undefined) headers.push([name, value]);
}

// ---------------------------------------------------------------------------------------
// gRPC over HTTP/2

function grpcCase(rng: Rng, c: FuzzCase): void {
  c.transport = "h2";
  c.protocol = "grpc";
  const path = rng.weighted([
    [50, IRIS],
    [22, GENERATE],
    [6, HEALTH_CHECK],
    [2, HEALTH_WATCH],
    [4, rng.pick(REFLECTION)],
    [6, rng.pick(UNKNOWN_PATHS)],
  ] as const);
  const contentType = rng.weighted([
    [70, "application/grpc"],
    [15, "application/grpc+proto"],
    [3, "application/grpc+json"],
    [1, "application/grpc+thrift"],
    [1, "application/grpc; charset=utf-8"],
    [1, "APPLICATION/GRPC"],
    [1, "application/grpc-web"],
    [1, "application/json"],
    [1, "text/plain"],
    [1, ""],
    [2, undefined],
  ] as const);
  const json = contentType === "application/grpc+json";
  const m = message(rng, path, json ? "json" : "proto");
  const grpcEncoding = rng.chance(0.15) ? rng.pick(ENCODINGS) : undefined;
  const framed = envelopedBody(rng, m.bytes, grpcEncoding);
  const timeout = grpcTimeout(rng);
  const clean =
    framed.framing === "one" &&
    grpcEncoding === undefined &&
    (timeout === undefined || ["30S", "1H", "2000000S", "99999999H"].includes(timeout));
  c.method = rng.chance(0.97) ? "POST" : rng.pick(["GET", "PUT", "HEAD", "OPTIONS", "DELETE", "PATCH", "FOO"]);
  c.path = path;
  setHeader(c.headers, "content-type", contentType);
  if (rng.chance(0.95)) c.headers.push(["te", "trailers"]);
  setHeader(c.headers, "grpc-timeout", timeout);
  setHeader(c.headers, "grpc-encoding", grpcEncoding);
  if (rng.chance(0.3)) c.headers.push(["grpc-accept-encoding", rng.pick(ENCODINGS)]);
  if (rng.chance(0.2))
    c.headers.push(["user-agent", rng.pick(["grpc-node-js/1.14.7", "grpc-go/1.70.0", headerText(rng, 200)])]);
  randomMetadata(rng, c.headers);
  c.body = framed.body;
  const p = pieces(rng, c.body.length);
  if (p !== undefined) c.pieces = p;
  if (rng.chance(0.03)) c.trailers = [["x-client-trailer", headerText(rng, 20)]];
  c.streaming = path === GENERATE || path === HEALTH_WATCH || REFLECTION.includes(path);
  if (
    m.expect !== undefined &&
    clean &&
    c.method === "POST" &&
    (contentType === "application/grpc" || contentType === "application/grpc+proto")
  )
    c.expect = m.expect;
  c.label = `grpc ${shortPath(path)} ${m.kind} ${framed.framing}`;
}

// ---------------------------------------------------------------------------------------
// gRPC-Web (binary and text), over HTTP/1.1 and HTTP/2

function grpcWebCase(rng: Rng, c: FuzzCase, transport: "h1" | "h2"): void {
  c.transport = transport;
  c.protocol = "grpc-web";
  const path = rng.weighted([
    [60, IRIS],
    [25, GENERATE],
    [5, HEALTH_CHECK],
    [5, rng.pick(UNKNOWN_PATHS)],
  ] as const);
  const contentType = rng.weighted([
    [50, "application/grpc-web+proto"],
    [20, "application/grpc-web"],
    [10, "application/grpc-web-text"],
    [5, "application/grpc-web-text+proto"],
    [5, "application/grpc-web+json"],
    [2, "application/grpc-web+thrift"],
  ] as const);
  const json = contentType === "application/grpc-web+json";
  const m = message(rng, path, json ? "json" : "proto");
  const grpcEncoding = rng.chance(0.1) ? rng.pick(ENCODINGS) : undefined;
  const framed = envelopedBody(rng, m.bytes, grpcEncoding);
  let body = framed.body;
  if (contentType.startsWith("application/grpc-web-text")) {
    // Base64 as sent, with padding in the middle (one base64 text per message), or garbage.
    body = rng.weighted([
      [6, Buffer.from(body.toString("base64"))],
      [2, Buffer.from(body.toString("base64") + body.toString("base64"))],
      [1, Buffer.from(body.toString("base64url"))],
      [1, mutateBytes(rng, Buffer.from(body.toString("base64")))],
    ] as const);
  }
  c.method = "POST";
  c.path = path;
  c.headers.push(["content-type", contentType]);
  if (rng.chance(0.7)) c.headers.push(["x-grpc-web", "1"]);
  setHeader(c.headers, "grpc-encoding", grpcEncoding);
  setHeader(c.headers, "grpc-timeout", grpcTimeout(rng, 0.2));
  randomMetadata(rng, c.headers);
  c.body = body;
  const p = pieces(rng, c.body.length);
  if (p !== undefined) c.pieces = p;
  c.contentLength = rng.chance(0.8);
  c.streaming = path === GENERATE;
  c.label = `grpc-web/${transport} ${shortPath(path)} ${contentType.slice(12)} ${m.kind} ${framed.framing}`;
}

// ---------------------------------------------------------------------------------------
// Connect unary (JSON and binary), over HTTP/1.1 and HTTP/2

function connectUnaryCase(rng: Rng, c: FuzzCase, transport: "h1" | "h2"): void {
  c.transport = transport;
  c.protocol = "connect";
  const path = rng.weighted([
    [65, IRIS],
    [10, GENERATE],
    [8, HEALTH_CHECK],
    [7, rng.pick(UNKNOWN_PATHS)],
  ] as const);
  const contentType = rng.weighted([
    [50, "application/json"],
    [10, "application/json; charset=utf-8"],
    [2, "application/json;charset=UTF-8"],
    [2, "application/json; charset=latin1"],
    [25, "application/proto"],
    [2, "application/x-protobuf"],
    [2, "text/plain"],
    [1, "multipart/form-data; boundary=x"],
    [2, ""],
  ] as const);
  const json = !contentType.includes("proto");
  const m = message(rng, path, json ? "json" : "proto");
  let body = m.bytes;
  const contentEncoding = rng.chance(0.1) ? rng.pick(["gzip", "br", "identity", "deflate", "snappy", ""]) : undefined;
  let compressed = "";
  if (contentEncoding !== undefined) {
    const how = contentEncoding === "gzip" && rng.chance(0.6) ? "gzip" : rng.pick(["garbage", "none", "gzip"] as const);
    body = how === "gzip" ? zlib.gzipSync(body) : how === "garbage" ? rng.bytes(rng.size(64)) : body;
    compressed = ` content-encoding:${contentEncoding || "''"}(${how})`;
  }
  const version = rng.weighted([
    [85, "1"],
    [8, undefined],
    [4, "2"],
    [3, headerText(rng, 10)],
  ] as const);
  const timeout = rng.chance(0.15)
    ? rng.pick(["0", "1", "100", "10000", "-1", "1.5", "abc", "99999999999", "1e3", ""])
    : undefined;
  c.method = rng.chance(0.96) ? "POST" : rng.pick(["PUT", "PATCH", "DELETE"]);
  c.path = path;
  if (contentType !== "" || rng.chance(0.5)) c.headers.push(["content-type", contentType]);
  setHeader(c.headers, "connect-protocol-version", version);
  setHeader(c.headers, "connect-timeout-ms", timeout);
  setHeader(c.headers, "content-encoding", contentEncoding);
  if (rng.chance(0.2)) c.headers.push(["accept-encoding", rng.pick(ENCODINGS)]);
  randomMetadata(rng, c.headers);
  c.body = body;
  const p = pieces(rng, c.body.length);
  if (p !== undefined) c.pieces = p;
  c.contentLength = rng.chance(0.8);
  const clean =
    contentEncoding === undefined &&
    (version === "1" || version === undefined) &&
    timeout === undefined &&
    c.method === "POST";
  if (
    m.expect !== undefined &&
    m.expect.kind === "iris" &&
    clean &&
    ((contentType.startsWith("application/json") && !contentType.includes("latin1")) ||
      contentType === "application/proto")
  ) {
    c.expect = m.expect;
  }
  c.label = `connect/${transport} ${shortPath(path)} ${contentType || "''"} ${m.kind}${compressed}`;
}

// ---------------------------------------------------------------------------------------
// Connect server streaming (enveloped), over HTTP/1.1 and HTTP/2

function connectStreamCase(rng: Rng, c: FuzzCase, transport: "h1" | "h2"): void {
  c.transport = transport;
  c.protocol = "connect-stream";
  const path = rng.weighted([
    [70, GENERATE],
    [20, IRIS],
    [10, HEALTH_WATCH],
  ] as const);
  const contentType = rng.weighted([
    [50, "application/connect+json"],
    [35, "application/connect+proto"],
    [5, "application/connect+json; charset=utf-8"],
    [5, "application/connect+thrift"],
    [5, "application/connect"],
  ] as const);
  const m = message(rng, path, contentType.includes("proto") ? "proto" : "json");
  const encoding = rng.chance(0.1) ? rng.pick(ENCODINGS) : undefined;
  const framed = envelopedBody(rng, m.bytes, encoding);
  c.method = "POST";
  c.path = path;
  c.headers.push(["content-type", contentType]);
  if (rng.chance(0.9)) c.headers.push(["connect-protocol-version", "1"]);
  setHeader(c.headers, "connect-content-encoding", encoding);
  if (rng.chance(0.15)) c.headers.push(["connect-timeout-ms", rng.pick(["0", "1", "50", "5000", "-5", "x"])]);
  randomMetadata(rng, c.headers);
  c.body = framed.body;
  const p = pieces(rng, c.body.length);
  if (p !== undefined) c.pieces = p;
  c.contentLength = rng.chance(0.7);
  c.streaming = true;
  c.label = `connect-stream/${transport} ${shortPath(path)} ${contentType} ${m.kind} ${framed.framing}`;
}

// ---------------------------------------------------------------------------------------
// Connect GET, over HTTP/1.1 and HTTP/2

function connectGetCase(rng: Rng, c: FuzzCase, transport: "h1" | "h2"): void {
  c.transport = transport;
  c.protocol = "connect-get";
  const path = rng.weighted([
    [50, IRIS],
    [15, HEALTH_CHECK],
    [15, GENERATE],
    [10, rng.pick(UNKNOWN_PATHS)],
  ] as const);
  const encoding = rng.weighted([
    [60, "json"],
    [30, "proto"],
    [5, "xml"],
    [5, ""],
  ] as const);
  const m = message(rng, path, encoding === "proto" ? "proto" : "json");
  const base64 = encoding === "proto" ? rng.chance(0.8) : rng.chance(0.2);
  const value = base64
    ? rng.chance(0.7)
      ? m.bytes.toString("base64url")
      : m.bytes.toString("base64")
    : encodeURIComponent(m.bytes.toString("latin1"));
  const params: string[] = [];
  if (rng.chance(0.9)) params.push(`connect=${rng.pick(["v1", "v1", "v1", "v2", "", "V1"])}`);
  if (rng.chance(0.95)) params.push(`encoding=${encoding}`);
  if (rng.chance(0.92))
    params.push(`message=${rng.chance(0.95) ? value : rng.pick(["%zz", "%", "%E0%A4%A", "%00", "+++"])}`);
  if (base64) params.push(`base64=${rng.pick(["1", "1", "true", "0", "x"])}`);
  if (rng.chance(0.1)) params.push(`compression=${rng.pick(["gzip", "identity", "br", "zstd", ""])}`);
  if (rng.chance(0.1))
    params.push(`${rng.pick(["message", "encoding", "connect", "x", ""])}=${rng.stringOf("abc%=&", rng.size(10))}`);
  for (let i = params.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [params[i], params[j]] = [params[j]!, params[i]!];
  }
  c.method = rng.chance(0.95) ? "GET" : "HEAD";
  c.path = `${path}?${params.join("&")}`;
  if (c.path.length > 8000) c.path = c.path.slice(0, 8000);
  if (rng.chance(0.3)) c.headers.push(["connect-protocol-version", "1"]);
  if (rng.chance(0.1)) c.headers.push(["connect-timeout-ms", rng.pick(["1", "1000", "x"])]);
  randomMetadata(rng, c.headers);
  c.label = `connect-get/${transport} ${shortPath(path)} encoding=${encoding} ${m.kind}`;
}

// ---------------------------------------------------------------------------------------
// Plain HTTP: the GET routes, unknown paths and methods

function plainHttpCase(rng: Rng, c: FuzzCase, transport: "h1" | "h2"): void {
  c.transport = transport;
  c.protocol = "http";
  c.method = rng.weighted([
    [40, "GET"],
    [10, "HEAD"],
    [15, "POST"],
    [8, "OPTIONS"],
    [5, "PUT"],
    [5, "DELETE"],
    [3, "PATCH"],
    [3, "TRACE"],
    [3, "CONNECT-X"],
    [3, rng.stringOf("ABCDEFGHIJKLMNOPQRSTUVWXYZ", rng.int(1, 12))],
  ] as const);
  const path = rng.weighted([
    [30, rng.pick(UNKNOWN_PATHS)],
    [10, IRIS],
    [5, `/${rng.stringOf("abcdefghijklmnopqrstuvwxyz./-_%0123456789", rng.size(200))}`],
    [1, `/${"a".repeat(rng.int(1000, 6000))}`],
    [3, `/healthz?${rng.stringOf("abc=&%", rng.size(40))}`],
  ] as const);
  c.path = path;
  if (rng.chance(0.5))
    c.headers.push([
      "content-type",
      rng.pick([
        "application/json",
        "text/plain",
        "application/grpc",
        "application/proto",
        "application/x-www-form-urlencoded",
        headerText(rng, 30),
      ]),
    ]);
  if (rng.chance(0.2)) c.headers.push(["origin", rng.pick(["https://example.com", "null", headerText(rng, 30)])]);
  if (rng.chance(0.1)) c.headers.push(["access-control-request-method", "POST"]);
  randomMetadata(rng, c.headers);
  if (c.method !== "GET" && c.method !== "HEAD" && rng.chance(0.6)) c.body = rng.bytes(rng.size(4096));
  c.contentLength = rng.chance(0.8);
  c.label = `http/${transport} ${c.method} ${shortPath(path)}`;
}

// ---------------------------------------------------------------------------------------
// Raw HTTP/1.1: hostile framing

const CRLF = "\r\n";

function rawCase(rng: Rng, c: FuzzCase): void {
  c.transport = "raw";
  c.protocol = "http";
  const kind = rng.weighted([
    [30, "chunked"],
    [15, "content-length"],
    [10, "request-line"],
    [10, "headers"],
    [8, "pipelined"],
    [5, "preface"],
    [5, "expect"],
    [5, "garbage"],
    [6, "valid"],
  ] as const);
  const target = rng.weighted([
    [45, IRIS],
    [10, GENERATE],
    [20, "/healthz"],
    [15, rng.pick(UNKNOWN_PATHS)],
  ] as const);
  // A Connect JSON request (when the framing holds, connect answers it) or a gRPC-Web one.
  const asGrpcWeb = target === GENERATE || rng.chance(0.25);
  const m = message(rng, target === GENERATE || target === IRIS ? target : IRIS, asGrpcWeb ? "proto" : "json");
  const payload = asGrpcWeb ? envelope(m.bytes) : m.bytes;
  const contentType = asGrpcWeb ? "application/grpc-web+proto" : "application/json";
  const method = target.startsWith("/healthz") ? rng.pick(["GET", "POST"]) : "POST";
  const host = rng.chance(0.04) ? authority(rng) : "127.0.0.1";
  const head = (extra: string[], line = `${method} ${target} HTTP/1.1`) =>
    [
      line,
      `host: ${host}`,
      `content-type: ${contentType}`,
      ...(asGrpcWeb ? [] : ["connect-protocol-version: 1"]),
      ...extra,
    ].join(CRLF) +
    CRLF +
    CRLF;
  c.streaming = target === GENERATE;
  c.method = method;
  c.path = target;
  let label: string = kind;
  switch (kind) {
    case "valid": {
      c.raw = Buffer.concat([Buffer.from(head([`content-length: ${payload.length}`])), payload]);
      if (m.expect?.kind === "iris" && !asGrpcWeb && target === IRIS) c.expect = m.expect;
      c.protocol =
        target !== IRIS && target !== GENERATE ? "http" : asGrpcWeb ? "grpc-web" : target === IRIS ? "connect" : "http";
      break;
    }
    case "chunked": {
      const { bytes, complete, how } = chunkedBody(rng, payload);
      const te = rng.weighted([
        [10, "chunked"],
        [1, "Chunked"],
        [1, "chunked, chunked"],
        [1, "gzip, chunked"],
        [1, "chunked, gzip"],
        [1, "xchunked"],
        [1, " chunked"],
        [1, "identity"],
      ] as const);
      const extra = [`transfer-encoding: ${te}`];
      if (rng.chance(0.1)) extra.push(`content-length: ${rng.pick([payload.length, 0, 5])}`); // both: request smuggling's classic
      if (rng.chance(0.05)) extra.push("transfer-encoding: chunked");
      c.raw = Buffer.concat([Buffer.from(head(extra)), bytes]);
      c.rawFin = !complete;
      label = `chunked te:'${te}' ${how}${extra.length > 1 ? " +cl/te" : ""}`;
      break;
    }
    case "content-length": {
      const cl = rng.pick([
        String(payload.length),
        String(payload.length + rng.int(1, 50)),
        String(Math.max(0, payload.length - rng.int(1, 50))),
        "-1",
        "abc",
        "1e3",
        `${payload.length}, ${payload.length}`,
        " ".concat(String(payload.length)),
        "18446744073709551616",
        "0x10",
        "+5",
      ]);
      const extra = [`content-length: ${cl}`];
      if (rng.chance(0.15)) extra.push(`content-length: ${rng.pick([payload.length, payload.length + 1, 0])}`);
      c.raw = Buffer.concat([Buffer.from(head(extra)), payload]);
      c.rawFin = Number(cl) > payload.length || rng.chance(0.2);
      label = `content-length '${cl}'${extra.length > 1 ? " twice" : ""}`;
      break;
    }
    case "request-line": {
      const line = rng.pick([
        `${method} ${target} HTTP/1.0`,
        `${method} ${target} HTTP/2.0`,
        `${method} ${target} HTTP/1.2`,
        `${method} ${target} HTTP/9.9`,
        `${method} ${target}`,
        `${method}  ${target} HTTP/1.1`,
        `${method} ${target} http/1.1`,
        `${method.toLowerCase()} ${target} HTTP/1.1`,
        `${method} http://127.0.0.1${target} HTTP/1.1`,
        `${method} * HTTP/1.1`,
        `${method} ${target}\u0000 HTTP/1.1`,
        `${method} ${target}#frag HTTP/1.1`,
        `${method} /${"a".repeat(rng.int(100, 20_000))} HTTP/1.1`,
        `${rng.stringOf("ABCDEFGHIJKLMNOPQRSTUVWXYZ", rng.int(1, 30))} ${target} HTTP/1.1`,
        `\t${method} ${target} HTTP/1.1`,
      ]);
      c.raw = Buffer.concat([Buffer.from(head([`content-length: ${payload.length}`], line), "latin1"), payload]);
      label = `request-line '${line.length > 60 ? `${line.slice(0, 60)}…` : line}'`;
      break;
    }
    case "headers": {
      const bad = rng.pick([
        "x-bad header: 1",
        "x-bad : 1",
        "no-colon-here",
        " folded: continuation",
        "x-folded: a\r\n b",
        "x-nul: a\u0000b",
        "x-del: a\u007fb",
        "x-high: caf\u00e9",
        `x-long: ${"v".repeat(rng.int(1000, 20_000))}`,
        ":authority: x",
        "host: a\r\nhost: b",
        "connection: upgrade\r\nupgrade: h2c\r\nhttp2-settings: AAMAAABkAARAAAAAAAIAAAAA",
        "connection: upgrade\r\nupgrade: websocket",
        "connection: close",
        "connection: keep-alive, te",
        "te: trailers",
        ...Array.from({ length: 3 }, () => `x-many: ${"m".repeat(50)}`),
      ]);
      const many = rng.chance(0.1) ? Array.from({ length: rng.int(100, 2000) }, (_, i) => `x-h${i}: ${i}`) : [];
      const text = head([`content-length: ${payload.length}`, bad, ...many]).replace(
        /\r\n/g,
        rng.chance(0.1) ? "\n" : "\r\n",
      );
      c.raw = Buffer.concat([Buffer.from(text, "latin1"), payload]);
      label = `header '${bad.length > 40 ? `${bad.slice(0, 40)}…` : bad}'${many.length > 0 ? ` +${many.length} headers` : ""}`;
      break;
    }
    case "pipelined": {
      const first = Buffer.concat([Buffer.from(head([`content-length: ${payload.length}`])), payload]);
      const second = Buffer.from(
        rng.pick([
          "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n",
          "GET /readyz HTTP/1.1\r\nhost: x\r\n\r\n",
          "GET /nope HTTP/1.1\r\nhost: x\r\n\r\n",
        ]),
      );
      const n = rng.int(1, 4);
      c.raw = Buffer.concat([first, ...Array.from({ length: n }, () => second)]);
      c.rawResponses = 1 + n;
      label = `pipelined 1+${n}`;
      break;
    }
    case "preface": {
      const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
      const cut = rng.int(1, preface.length - 1);
      c.raw = Buffer.concat([
        Buffer.from(preface.slice(0, cut)),
        rng.chance(0.5) ? Buffer.from(head([`content-length: ${payload.length}`])) : rng.bytes(rng.size(64)),
      ]);
      c.rawFin = rng.chance(0.5);
      label = `preface cut at ${cut}`;
      break;
    }
    case "expect": {
      c.raw = Buffer.concat([
        Buffer.from(
          head([
            `content-length: ${payload.length}`,
            `expect: ${rng.pick(["100-continue", "200-ok", "100-Continue"])}`,
          ]),
        ),
        payload,
      ]);
      break;
    }
    case "garbage": {
      c.raw = rng.chance(0.5)
        ? rng.bytes(rng.size(2048))
        : mutateBytes(
            rng,
            Buffer.concat([Buffer.from(head([`content-length: ${payload.length}`])), payload]),
            rng.int(1, 6),
          );
      c.rawFin = rng.chance(0.3);
      break;
    }
  }
  c.label = `raw ${shortPath(target)} ${asGrpcWeb ? "grpc-web" : "connect-json"} ${m.kind} ${label}${host !== "127.0.0.1" ? ` host:${JSON.stringify(host)}` : ""}`;
}

/** A chunked body: sizes random, sometimes lying, with extensions, bad hex, missing CRLFs, trailers. */
function chunkedBody(rng: Rng, payload: Buffer): { bytes: Buffer; complete: boolean; how: string } {
  const parts: Buffer[] = [];
  let at = 0;
  let complete = true;
  const notes = new Set<string>();
  while (at < payload.length) {
    const n = Math.min(payload.length - at, rng.chance(0.3) ? 1 : rng.size(payload.length));
    const size = Math.max(1, n);
    let sizeText = size.toString(16);
    const fault = rng.weighted([
      [85, "none"],
      [3, "upper"],
      [3, "ext"],
      [2, "lie"],
      [2, "bad-hex"],
      [1, "huge"],
      [2, "no-crlf"],
      [1, "ws"],
      [1, "neg"],
    ] as const);
    if (fault === "upper") sizeText = sizeText.toUpperCase().padStart(rng.int(1, 6), "0");
    if (fault === "ext") sizeText += rng.pick([";a=b", "; a=b", ";a", ';a="b"', ";" + "e".repeat(rng.int(100, 5000))]);
    if (fault === "lie") sizeText = (size + rng.int(1, 100)).toString(16);
    if (fault === "bad-hex") sizeText = rng.pick(["zz", "0x10", "", "g", "1 2"]);
    if (fault === "huge") sizeText = rng.pick(["ffffffffffffffffff", "7fffffffffffffff", "100000000"]);
    if (fault === "ws") sizeText = ` ${sizeText} `;
    if (fault === "neg") sizeText = `-${sizeText}`;
    if (fault !== "none") notes.add(fault);
    if (fault === "lie" || fault === "huge") complete = false;
    parts.push(
      Buffer.from(sizeText + "\r\n"),
      payload.subarray(at, at + size),
      Buffer.from(fault === "no-crlf" ? "" : "\r\n"),
    );
    at += size;
  }
  const end = rng.weighted([
    [80, "last"],
    [8, "trailers"],
    [4, "bad-trailer"],
    [4, "missing"],
    [4, "no-final-crlf"],
  ] as const);
  if (end === "last") parts.push(Buffer.from("0\r\n\r\n"));
  if (end === "trailers")
    parts.push(
      Buffer.from(
        `0\r\n${rng.pick(["x-trailer: 1", "grpc-status: 0", "content-length: 5", `x-t: ${"t".repeat(rng.int(10, 3000))}`])}\r\n\r\n`,
      ),
    );
  if (end === "bad-trailer")
    parts.push(Buffer.from(`0\r\n${rng.pick(["no colon", " folded: x", "x: a\u0000"])}\r\n\r\n`, "latin1"));
  if (end === "missing" || end === "no-final-crlf") {
    complete = false;
    if (end === "no-final-crlf") parts.push(Buffer.from("0\r\n"));
  }
  if (end !== "last") notes.add(end);
  return { bytes: Buffer.concat(parts), complete, how: notes.size === 0 ? "clean" : [...notes].join("+") };
}

function shortPath(path: string): string {
  const p = path.split("?", 1)[0]!;
  const short = p.startsWith("/iris.v1.InferenceService/") ? p.slice("/iris.v1.InferenceService/".length) || "/" : p;
  return short.length > 40 ? `${short.slice(0, 40)}…` : short;
}
