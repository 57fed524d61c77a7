// What every answer must look like, whatever was sent: what a client can see and rely on.
import * as zlib from "node:zlib";
import { fromBinary, fromJson, type JsonValue } from "@bufbuild/protobuf";
import {
  PredictGenerateResponseSchema,
  PredictIrisResponseSchema,
} from "../../../examples/iris/gen/iris/v1/iris_pb.js";
import type { FuzzCase } from "./cases.js";
import type { Answer, Outcome } from "./clients.js";
import { KNOWN_BUGS_FIXED } from "./known-bugs.js";
import { splitEnvelopes } from "./wire.js";

/**
 * grpc-message and Connect error messages are at most this long (decoded): an error may
 * quote the input, but not all of it (a dtype of 5,000 characters, an encoding name of 200).
 * Checked once KNOWN_BUGS_FIXED.messageLength.
 */
export const MAX_MESSAGE_CHARS = 1024;

/** The answer a valid request must get, computed by calling the model directly. */
export type Expected = { kind: "iris"; result: Uint8Array; rows: number } | { kind: "generate"; words: string[] };

const CONNECT_CODES = new Set([
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
]);

/** A stack trace, or a path on this machine, inside a message meant for clients. */
const LEAK = /\n\s+at |\bat [\w$.<>]+ \(|\(node:internal|node_modules|\/work\/|\.[cm]?[jt]s:\d+:\d+/;

/**
 * INTERNAL and UNKNOWN are the codes of a server bug, except for these: connect-node's own
 * answers to bytes it cannot read, which the native path copies (see test/e2e/iris.spec.ts,
 * "a malformed protobuf body → INTERNAL"), and a client's reset.
 */
const EXPECTED_INTERNAL = [
  /^parse binary: /,
  /^received compressed envelope, but do not know how to decompress$/,
  /^decompression failed$/,
  /^protocol error: promised \d+ bytes in enveloped message, got \d+ bytes$/,
  /^http\/2 stream closed with error code [A-Z_]+ \(0x[0-9a-f]+\)$/,
];

function expectedInternal(message: string): boolean {
  return EXPECTED_INTERNAL.some((re) => re.test(message));
}

const grpcCodeName = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

function decodeGrpcMessage(raw: string | undefined): string {
  if (raw === undefined) return "";
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Checks on an error message any protocol returns. */
function checkMessage(where: string, message: string, out: string[]): void {
  if (LEAK.test(message)) out.push(`${where} leaks a stack trace or path: ${JSON.stringify(message.slice(0, 300))}`);
  if (KNOWN_BUGS_FIXED.messageLength && message.length > MAX_MESSAGE_CHARS)
    out.push(
      `${where} is ${message.length} characters (over ${MAX_MESSAGE_CHARS}): ${JSON.stringify(message.slice(0, 120))}…`,
    );
}

/** A gRPC status (code and message) as trailers or a trailers-only response carry it. */
function checkGrpcStatus(where: string, fields: Record<string, string>, out: string[]): number | undefined {
  const raw = fields["grpc-status"];
  if (raw === undefined) return undefined;
  if (!/^(?:[0-9]|1[0-6])$/.test(raw)) {
    out.push(`${where}: grpc-status ${JSON.stringify(raw)} is not a code 0–16`);
    return undefined;
  }
  const code = Number(raw);
  const message = decodeGrpcMessage(fields["grpc-message"]);
  checkMessage(`${where} grpc-message`, message, out);
  if ((code === 2 || code === 13) && !expectedInternal(message))
    out.push(`${where}: unexpected ${grpcCodeName[code]}: ${JSON.stringify(message.slice(0, 300))}`);
  return code;
}

/** The body, decompressed as its content-encoding says (as it came when it does not decompress). */
function bodyBytes(a: Answer): Buffer {
  const enc = a.headers["content-encoding"];
  try {
    if (enc === "gzip") return zlib.gunzipSync(a.body);
    if (enc === "br") return zlib.brotliDecompressSync(a.body);
  } catch {
    return a.body;
  }
  return a.body;
}

const bodyText = (a: Answer): string => bodyBytes(a).toString("utf8");

/** A Connect error body: `{ "code": "…", "message": "…" }` with a known code. */
function checkConnectError(where: string, answer: Answer, out: string[], allowEmpty: boolean): string | undefined {
  if (answer.body.length === 0 && allowEmpty) return undefined;
  if (!/^application\/json\b/.test(answer.headers["content-type"] ?? "")) {
    out.push(
      `${where}: HTTP ${answer.status} with content-type ${JSON.stringify(answer.headers["content-type"])} and ${answer.body.length} body bytes, not a Connect error`,
    );
    return undefined;
  }
  let err: { code?: unknown; message?: unknown };
  try {
    err = JSON.parse(bodyText(answer)) as typeof err;
  } catch {
    out.push(
      `${where}: the error body is not JSON (content-encoding ${answer.headers["content-encoding"] ?? "none"}): ${JSON.stringify(answer.body.toString("latin1").slice(0, 200))}`,
    );
    return undefined;
  }
  return checkConnectErrorJson(where, err, out);
}

function checkConnectErrorJson(
  where: string,
  err: { code?: unknown; message?: unknown } | null,
  out: string[],
): string | undefined {
  if (typeof err !== "object" || err === null || typeof err.code !== "string" || !CONNECT_CODES.has(err.code)) {
    out.push(`${where}: error without a known code: ${JSON.stringify(err).slice(0, 200)}`);
    return undefined;
  }
  const message = typeof err.message === "string" ? err.message : "";
  if (err.message !== undefined && typeof err.message !== "string") out.push(`${where}: error message is not a string`);
  checkMessage(`${where} error message`, message, out);
  if ((err.code === "internal" || err.code === "unknown") && !expectedInternal(message))
    out.push(`${where}: unexpected ${err.code}: ${JSON.stringify(message.slice(0, 300))}`);
  return err.code;
}

/** The messages of a gRPC body, decompressed; a problem with the framing is a violation. */
function grpcMessages(
  where: string,
  body: Buffer,
  encoding: string | undefined,
  out: string[],
  whole: boolean,
): Buffer[] | undefined {
  const { envelopes, rest } = splitEnvelopes(body);
  if (whole && rest.length > 0) {
    out.push(`${where}: ${rest.length} bytes after the last whole message`);
    return undefined;
  }
  const messages: Buffer[] = [];
  for (const e of envelopes) {
    if (e.flags === 0) messages.push(e.data);
    else if (e.flags === 1 && (encoding === "gzip" || encoding === "br"))
      messages.push(encoding === "gzip" ? zlib.gunzipSync(e.data) : zlib.brotliDecompressSync(e.data));
    else if (e.flags === 0x80 || e.flags === 0x81 || e.flags === 2)
      messages.push(e.data); // trailers / end of stream: the caller looks
    else {
      out.push(`${where}: a message with flags 0x${e.flags.toString(16)} (grpc-encoding ${encoding ?? "none"})`);
      return undefined;
    }
  }
  return messages;
}

/** "grpc-status: 0\r\ngrpc-message: …\r\n" (a gRPC-Web trailer message) as fields. */
function parseWebTrailer(data: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of data.toString("latin1").split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0) fields[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return fields;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** The result of a valid iris call, from the response message's bytes or JSON. */
function checkIrisResult(
  where: string,
  result: { shape: bigint[]; dtype: string; data: Uint8Array } | undefined,
  expected: Expected & { kind: "iris" },
  out: string[],
): void {
  if (result === undefined) return void out.push(`${where}: no result tensor`);
  const shape = result.shape.map(Number);
  if (shape[0] !== expected.rows || shape[1] !== 3 || shape.length !== 2 || result.dtype !== "float32") {
    return void out.push(
      `${where}: result shape [${shape.join(", ")}] ${result.dtype}, expected [${expected.rows}, 3] float32`,
    );
  }
  if (!sameBytes(result.data, expected.result))
    out.push(`${where}: result data differs from a direct call of the model`);
}

function checkExpected(
  c: FuzzCase,
  answer: Answer | undefined,
  messages: Buffer[] | undefined,
  expected: Expected,
  out: string[],
): void {
  const where = "valid request";
  if (answer === undefined || !answer.complete) return void out.push(`${where}: no whole answer`);
  if (expected.kind === "iris") {
    if (c.protocol === "connect" && !answer.headers["content-type"]?.includes("proto")) {
      try {
        const res = fromJson(PredictIrisResponseSchema, JSON.parse(bodyText(answer)) as JsonValue);
        checkIrisResult(where, res.result, expected, out);
      } catch (e) {
        out.push(`${where}: the answer does not parse: ${String(e)}`);
      }
      return;
    }
    const bytes = c.protocol === "connect" ? bodyBytes(answer) : messages?.[0];
    if (bytes === undefined) return void out.push(`${where}: no response message`);
    try {
      checkIrisResult(where, fromBinary(PredictIrisResponseSchema, bytes).result, expected, out);
    } catch (e) {
      out.push(`${where}: the answer does not parse: ${String(e)}`);
    }
    return;
  }
  try {
    const words = (messages ?? []).map((m) => fromBinary(PredictGenerateResponseSchema, m).result);
    if (JSON.stringify(words) !== JSON.stringify(expected.words))
      out.push(`${where}: streamed ${JSON.stringify(words)}, expected ${JSON.stringify(expected.words)}`);
  } catch (e) {
    out.push(`${where}: the answer does not parse: ${String(e)}`);
  }
}

/**
 * Checks that hold for any HTTP answer: a real status, no stack trace in an error body, and
 * no 500 unless it is a Connect error (Connect answers `internal` with 500; the message is
 * checked like any other).
 */
function checkHttp(where: string, a: Answer, out: string[]): void {
  if (!Number.isInteger(a.status) || a.status < 100 || a.status > 599) out.push(`${where}: HTTP status ${a.status}`);
  if (a.status === 500) {
    // Whatever the case meant to send, the server may have read it as a Connect call.
    let err: { code?: unknown; message?: unknown } | undefined;
    try {
      err = /^application\/json\b/.test(a.headers["content-type"] ?? "")
        ? (JSON.parse(bodyText(a)) as typeof err)
        : undefined;
    } catch {
      err = undefined;
    }
    if (err === undefined) out.push(`${where}: HTTP 500`);
    else checkConnectErrorJson(`${where} HTTP 500`, err, out);
  }
  const type = a.headers["content-type"] ?? "";
  if (a.status >= 400 && (type.startsWith("text/") || type.startsWith("application/json") || type === "")) {
    const text = bodyText(a);
    if (LEAK.test(text))
      out.push(`${where}: the error body leaks a stack trace or path: ${JSON.stringify(text.slice(0, 300))}`);
  }
}

/** A gRPC answer: a grpc-status 0–16 in the trailers (or trailers-only headers), whole messages. */
function checkGrpc(a: Answer, expected: Expected | undefined, out: string[]): Buffer[] | undefined {
  const fields = a.headersOnly === true ? a.headers : a.trailers;
  // A stream cut by RST_STREAM (or by us) need not carry a status; one that ended normally must.
  if (fields === undefined || fields["grpc-status"] === undefined) {
    if (a.complete) out.push(`gRPC answer ended without grpc-status`);
    return undefined;
  }
  const code = checkGrpcStatus(a.headersOnly === true ? "trailers-only headers" : "trailers", fields, out);
  if (code !== 0 && expected !== undefined)
    out.push(
      `valid request answered ${grpcCodeName[code ?? 2] ?? code}: ${decodeGrpcMessage(fields["grpc-message"]).slice(0, 300)}`,
    );
  return code === 0 ? grpcMessages("gRPC body", a.body, a.headers["grpc-encoding"], out, a.complete) : undefined;
}

/** A gRPC-Web answer: whole messages, then a trailer message with a grpc-status 0–16 (or a trailers-only response). */
function checkGrpcWeb(a: Answer, expected: Expected | undefined, out: string[]): Buffer[] | undefined {
  if (!a.complete) return undefined;
  if (a.headers["grpc-status"] !== undefined && a.body.length === 0) {
    const code = checkGrpcStatus("trailers-only headers", a.headers, out);
    if (expected !== undefined) out.push(`valid request answered grpc-status ${code}`);
    return undefined;
  }
  const all = grpcMessages("gRPC-Web body", a.body, a.headers["grpc-encoding"], out, true);
  if (all === undefined) return undefined;
  const { envelopes } = splitEnvelopes(a.body);
  const last = envelopes[envelopes.length - 1];
  if (last === undefined || (last.flags & 0x80) === 0) {
    out.push(`gRPC-Web answer without a trailer message`);
    return undefined;
  }
  const trailer = parseWebTrailer(last.data);
  const code = checkGrpcStatus("gRPC-Web trailer", trailer, out);
  if (code === undefined && trailer["grpc-status"] === undefined) out.push(`gRPC-Web trailer without grpc-status`);
  if (code !== 0 && expected !== undefined)
    out.push(
      `valid request answered ${grpcCodeName[code ?? 2] ?? code}: ${decodeGrpcMessage(trailer["grpc-message"]).slice(0, 300)}`,
    );
  return code === 0 ? all.slice(0, -1) : undefined;
}

/** Every violation of the invariants by this outcome; empty when it is fine. */
export function checkOutcome(c: FuzzCase, o: Outcome, expected: Expected | undefined): string[] {
  const out: string[] = [];
  if (o.timedOut === true) return [`no answer and no close within the case's time limit`];
  if (o.malformed !== undefined) out.push(`malformed HTTP/1.1 from the server: ${o.malformed}`);
  if (o.unsendable !== undefined) return out;
  o.answers.forEach((a, i) => checkHttp(o.answers.length > 1 ? `answer ${i + 1}` : "answer", a, out));
  const a = o.answers[0];
  let messages: Buffer[] | undefined;
  if (a !== undefined && o.answers.length === 1) {
    const type = a.headers["content-type"] ?? "";
    switch (c.protocol) {
      case "grpc":
      case "grpc-web": {
        // What answers is decided by the request's content-type: a gRPC case may send gRPC-Web's.
        // A GET is not a call at all (GET /healthz answers as it always does).
        if (a.status !== 200 || c.method !== "POST") break;
        if (type.startsWith("application/grpc-web")) messages = checkGrpcWeb(a, expected, out);
        else if (type.startsWith("application/grpc")) messages = checkGrpc(a, expected, out);
        else out.push(`${c.protocol} request answered 200 with content-type ${JSON.stringify(type)}`);
        break;
      }
      case "connect":
      case "connect-get": {
        if (a.status === 200) break;
        if (!a.complete) break;
        // 404 (no such path), 405 and 415 (not a Connect request at all) may come with no body.
        checkConnectError(
          `HTTP ${a.status}`,
          a,
          out,
          a.status === 404 || a.status === 405 || a.status === 415 || a.status === 505,
        );
        break;
      }
      case "connect-stream": {
        if (!a.complete) break;
        if (a.status !== 200) {
          checkConnectError(
            `HTTP ${a.status}`,
            a,
            out,
            a.status === 404 || a.status === 405 || a.status === 415 || a.status === 505,
          );
          break;
        }
        if (!type.startsWith("application/connect+")) {
          out.push(`Connect streaming request answered 200 with content-type ${JSON.stringify(type)}`);
          break;
        }
        const { envelopes, rest } = splitEnvelopes(a.body);
        const last = envelopes[envelopes.length - 1];
        if (rest.length > 0 || last === undefined || (last.flags & 2) === 0) {
          out.push(`Connect stream without an end-of-stream message`);
          break;
        }
        try {
          const end = JSON.parse(last.data.toString("utf8")) as { error?: { code?: unknown; message?: unknown } };
          if (end.error !== undefined) checkConnectErrorJson("end-of-stream error", end.error, out);
        } catch {
          out.push(
            `Connect end-of-stream message is not JSON: ${JSON.stringify(last.data.toString("latin1").slice(0, 200))}`,
          );
        }
        break;
      }
      case "http":
        break;
    }
  }
  if (expected !== undefined) {
    const answer = o.answers[0];
    if (answer !== undefined && c.protocol === "connect" && answer.status !== 200)
      out.push(`valid request answered HTTP ${answer.status}: ${answer.body.toString("utf8").slice(0, 300)}`);
    else if (out.length === 0) checkExpected(c, answer, messages, expected, out);
  }
  return out;
}

/** A short name for what the client saw, for the statistics. */
export function outcomeKind(c: FuzzCase, o: Outcome): string {
  if (o.timedOut === true) return "timeout";
  if (o.unsendable !== undefined) return `unsendable ${o.unsendable}`;
  const a = o.answers[0];
  if (a === undefined) return `closed ${o.closed ?? ""}`.trim();
  if (c.protocol === "grpc" && a.status === 200) {
    const fields = a.headersOnly === true ? a.headers : a.trailers;
    const code = fields?.["grpc-status"];
    return code !== undefined
      ? `grpc ${grpcCodeName[Number(code)] ?? code}`
      : `grpc 200 ${o.closed ?? o.cancelled ?? "no status"}`;
  }
  if (c.protocol === "grpc-web" && a.status === 200) {
    const { envelopes } = splitEnvelopes(a.body);
    const last = envelopes[envelopes.length - 1];
    const code =
      a.headers["grpc-status"] ??
      (last !== undefined && (last.flags & 0x80) !== 0 ? parseWebTrailer(last.data)["grpc-status"] : undefined);
    return code !== undefined
      ? `grpc-web ${grpcCodeName[Number(code)] ?? code}`
      : `grpc-web 200 ${o.closed ?? o.cancelled ?? "no status"}`;
  }
  if ((c.protocol === "connect" || c.protocol === "connect-get") && a.status !== 200 && a.body.length > 0) {
    try {
      return `HTTP ${a.status} ${(JSON.parse(a.body.toString("utf8")) as { code?: string }).code}`;
    } catch {
      return `HTTP ${a.status}`;
    }
  }
  return `HTTP ${a.status}${o.answers.length > 1 ? ` (+${o.answers.length - 1})` : ""}${o.cancelled !== undefined ? " cancelled" : ""}`;
}
