// The fuzzer's clients, long-lived so that 10,000 cases fit in seconds: a few node:http2
// sessions (a case is one stream), node:http on a keep-alive Agent, and raw TCP sockets for
// hostile HTTP/1.1 framing (a case is one socket). Each reduces what it saw to an Outcome.
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { FuzzCase } from "./cases.js";
import { parseHttp1Responses } from "./http1-parser.js";

/** One response as the client saw it. Header names lower case; repeated values joined with ", ". */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** HTTP/2 and chunked HTTP/1.1 trailers, when any came. */
  trailers?: Record<string, string>;
  /** HTTP/2: the response headers ended the stream (a gRPC trailers-only response). */
  headersOnly?: boolean;
  /** The whole body came (the response was not cut by a close, or by us). */
  complete: boolean;
}

export interface Outcome {
  /** Responses, in order (raw pipelined cases may get several). */
  answers: Answer[];
  /** How the exchange ended other than with a whole response: RST_STREAM code, GOAWAY, socket closed, error code. */
  closed?: string;
  /** The client stopped reading on purpose (endless stream, stalled request), and why. */
  cancelled?: string;
  /** Nothing at all within the case's time limit. */
  timedOut?: boolean;
  /** The client library refused to send the request (a generator limitation, not the server's fault). */
  unsendable?: string;
  /** raw: the server's bytes were not valid HTTP/1.1. */
  malformed?: string;
  /** h1: the cases sent before this one on the same keep-alive connection, latest last (a case may depend on them). */
  earlierOnConnection?: number[];
  ms: number;
}

export interface ClientOptions {
  port: number;
  /** A case with no outcome within this long fails. */
  caseTimeoutMs: number;
  /** Streaming answers are read for this long after their headers, then cancelled. */
  streamReadMs: number;
  /** Response bytes kept (and, for streams, read before cancelling). */
  maxBodyBytes: number;
  /** raw: a request the server neither answers nor closes within this long is half-closed by us. */
  rawStallMs: number;
  /** h1: send bodies of this many bytes or more with `connection: close` (see KNOWN_BUGS_FIXED.h1ReadsBodyAfterEarlyAnswer). */
  closeAfterBodyBytes: number;
}

/** The request header that names the case (so that a server-side event can be traced back to it). */
export const CASE_HEADER = "x-fuzz-case";

/** Raw cases by the local port of their socket (they carry no header that survives every mutation). */
const rawCases = new Map<number, number>();

/**
 * The case a server-side request or stream belongs to: its `x-fuzz-case` header, or the
 * raw case whose socket has the given remote port.
 */
export function caseOf(
  headers: Record<string, unknown> | undefined,
  remotePort: number | undefined,
): number | undefined {
  const tagged = headers?.[CASE_HEADER];
  if (typeof tagged === "string" && /^\d+$/.test(tagged)) return Number(tagged);
  return remotePort === undefined ? undefined : rawCases.get(remotePort);
}

/** This much of an endless stream is enough to see its shape. */
const STREAM_BODY_BYTES = 32 * 1024;

function flatten(
  h: http2.IncomingHttpHeaders | http.IncomingHttpHeaders | NodeJS.Dict<string | string[] | number>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h))
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : String(v);
  return out;
}

/** Splits `body` into the case's pieces (the rest as the last one). */
function piecesOf(c: FuzzCase): Buffer[] {
  if (c.pieces === undefined) return c.body.length > 0 ? [c.body] : [];
  const out: Buffer[] = [];
  let at = 0;
  for (const n of c.pieces) {
    if (at >= c.body.length) break;
    out.push(c.body.subarray(at, at + Math.max(1, n)));
    at += Math.max(1, n);
  }
  if (at < c.body.length) out.push(c.body.subarray(at));
  return out;
}

/**
 * Writes the pieces of a body a turn of the event loop apart, so that they leave as
 * separate frames (HTTP/2 DATA, HTTP/1.1 chunks) and often arrive in separate reads; then `end`.
 */
async function writePieces(
  req: { write(b: Buffer): boolean; readonly destroyed: boolean; readonly writableEnded: boolean },
  pieces: Buffer[],
  end: () => void,
): Promise<void> {
  for (let i = 0; i < pieces.length; i++) {
    if (req.destroyed || req.writableEnded) return;
    if (i > 0) await new Promise((r) => setImmediate(r));
    req.write(pieces[i]!);
  }
  if (!req.destroyed && !req.writableEnded) end();
}

/** Resolves once `settle` is called, or with a timed-out outcome after the case's limit. */
function bounded(
  timeoutMs: number,
  start: (settle: (o: Omit<Outcome, "ms">) => void, onTimeout: (fn: () => void) => void) => void,
): Promise<Outcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    let cleanup: (() => void) | undefined;
    const settle = (o: Omit<Outcome, "ms">) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ...o, ms: Math.round(performance.now() - t0) });
    };
    const timer = setTimeout(() => {
      settle({ answers: [], timedOut: true });
      cleanup?.();
    }, timeoutMs);
    start(settle, (fn) => (cleanup = fn));
  });
}

// ---------------------------------------------------------------------------------------
// HTTP/2

/** A few client sessions to the server, replaced when one goes away. */
export class Http2Pool {
  private sessions: ({ session: http2.ClientHttp2Session; socket: net.Socket } | undefined)[];
  private readonly retired: { session: http2.ClientHttp2Session; socket: net.Socket }[] = [];
  private next = 0;
  /** Sessions that went away while in use (GOAWAY, error, close), for the report. */
  lost = 0;

  constructor(
    private readonly port: number,
    size: number,
  ) {
    this.sessions = Array.from({ length: size }, () => undefined);
  }

  session(): http2.ClientHttp2Session {
    const i = this.next++ % this.sessions.length;
    const current = this.sessions[i];
    if (current !== undefined && !current.session.closed && !current.session.destroyed) return current.session;
    if (current !== undefined) {
      this.lost++;
      this.retired.push(current);
    }
    // Our own socket, so that closing can always end it (a session's destroy() waits for its GOAWAY to be written).
    const socket = net.connect(this.port, "127.0.0.1");
    socket.on("error", () => undefined);
    const session = http2.connect(`http://127.0.0.1:${this.port}`, {
      createConnection: () => socket,
      settings: { initialWindowSize: 4 * 1024 * 1024 },
      maxSessionMemory: 64,
    });
    session.on("error", () => undefined);
    const entry = { session, socket };
    // A session the server says goodbye to takes no new streams; the next case opens another.
    session.on("goaway", () => {
      if (this.sessions[i] !== entry) return;
      this.sessions[i] = undefined;
      this.lost++;
      this.retired.push(entry);
    });
    this.sessions[i] = entry;
    return session;
  }

  /** Closes every session (GOAWAY, then the socket); ends the sockets of those still open after `graceMs`. */
  async close(graceMs = 1000): Promise<void> {
    const all = [...this.sessions.filter((e) => e !== undefined), ...this.retired];
    this.sessions = this.sessions.map(() => undefined);
    this.retired.length = 0;
    await Promise.all(
      all.map(
        ({ session, socket }) =>
          new Promise<void>((resolve) => {
            if (socket.destroyed) return resolve();
            const timer = setTimeout(() => {
              session.destroy();
              socket.destroy();
            }, graceMs);
            socket.once("close", () => {
              clearTimeout(timer);
              resolve();
            });
            if (!session.closed) session.close();
          }),
      ),
    );
  }
}

/** Headers node:http2 sends once only (it refuses two values): the last one given wins. */
const SINGLE_VALUE = new Set([
  "authorization",
  "content-encoding",
  "content-length",
  "content-type",
  "user-agent",
  "host",
  "date",
  "etag",
  "from",
  "range",
  "referer",
  "location",
  "origin",
  "access-control-request-method",
]);

export function runHttp2(pool: Http2Pool, c: FuzzCase, o: ClientOptions): Promise<Outcome> {
  return bounded(o.caseTimeoutMs, (settle, onTimeout) => {
    const headers: http2.OutgoingHttpHeaders = { ":method": c.method, ":path": c.path, [CASE_HEADER]: String(c.index) };
    for (const [k, v] of c.headers) {
      const prev = headers[k];
      headers[k] =
        prev === undefined || SINGLE_VALUE.has(k) ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
    }
    const body = piecesOf(c);
    let req: http2.ClientHttp2Stream;
    try {
      req = pool.session().request(headers, {
        endStream: body.length === 0 && c.trailers === undefined && (c.method === "GET" || c.method === "HEAD"),
        waitForTrailers: c.trailers !== undefined,
      });
    } catch (err) {
      settle({ answers: [], unsendable: (err as NodeJS.ErrnoException).code ?? String(err) });
      return;
    }
    let answer: Answer | undefined;
    let received = 0;
    const chunks: Buffer[] = [];
    let cancelled: string | undefined;
    let error: string | undefined;
    const session = req.session;
    const cancel = (why: string) => {
      if (req.closed) return;
      cancelled ??= why;
      req.close(http2.constants.NGHTTP2_CANCEL);
    };
    onTimeout(() => cancel("timed out"));
    let streamTimer: NodeJS.Timeout | undefined;
    req.on("response", (h, flags) => {
      answer = {
        status: Number(h[":status"]),
        headers: flatten(h),
        body: Buffer.alloc(0),
        headersOnly: (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0,
        complete: false,
      };
      if (c.streaming === true)
        streamTimer = setTimeout(
          () => cancel(`stream still open ${o.streamReadMs} ms after its headers`),
          o.streamReadMs,
        );
    });
    req.on("data", (chunk: Buffer) => {
      if (received < o.maxBodyBytes) chunks.push(chunk);
      received += chunk.length;
      if (c.streaming === true && received >= STREAM_BODY_BYTES) cancel(`stream read for ${received} bytes`);
      else if (received > o.maxBodyBytes) cancel(`answer over ${o.maxBodyBytes} bytes`);
    });
    req.on("trailers", (t) => {
      if (answer !== undefined) answer.trailers = flatten(t);
    });
    req.on("end", () => {
      if (answer !== undefined && cancelled === undefined) answer.complete = true;
      // The answer is whole; if the server leaves our side of the stream open, do not wait for it.
      setTimeout(() => cancel("the server left the request side open"), 300).unref();
    });
    req.on("error", (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
    req.on("wantTrailers", () => req.sendTrailers(Object.fromEntries(c.trailers ?? [])));
    req.once("close", () => {
      clearTimeout(streamTimer);
      if (answer !== undefined) answer.body = Buffer.concat(chunks).subarray(0, o.maxBodyBytes);
      const rst = req.rstCode;
      const complete = answer?.complete === true;
      const closed =
        complete && rst === http2.constants.NGHTTP2_NO_ERROR
          ? undefined
          : [
              rst !== undefined && rst !== 0 ? `rst:${rst}` : "",
              error ?? "",
              session?.closed === true ? "session closed" : "",
            ]
              .filter((s) => s !== "")
              .join(" ") || "stream closed";
      settle({
        answers: answer !== undefined ? [answer] : [],
        ...(closed !== undefined ? { closed } : {}),
        ...(cancelled !== undefined ? { cancelled } : {}),
      });
    });
    void writePieces(req, body, () => req.end());
  });
}

// ---------------------------------------------------------------------------------------
// HTTP/1.1 with node:http

/** The cases each keep-alive connection carried. */
const connectionHistory = new WeakMap<object, number[]>();

export async function runHttp1(agent: http.Agent, c: FuzzCase, o: ClientOptions): Promise<Outcome> {
  let earlier: number[] | undefined;
  const outcome = await bounded(o.caseTimeoutMs, (settle, onTimeout) => {
    const headers: http.OutgoingHttpHeaders = { [CASE_HEADER]: String(c.index) };
    for (const [k, v] of c.headers) {
      const prev = headers[k];
      headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
    }
    const chunked = c.body.length > 0 && (c.contentLength !== true || c.trailers !== undefined);
    if (c.body.length > 0 && !chunked) headers["content-length"] = String(c.body.length);
    if (chunked) headers["transfer-encoding"] = "chunked";
    if (c.body.length >= o.closeAfterBodyBytes) headers["connection"] = "close";
    let req: http.ClientRequest;
    try {
      req = http.request({ agent, host: "127.0.0.1", port: o.port, method: c.method, path: c.path, headers });
    } catch (err) {
      settle({ answers: [], unsendable: (err as NodeJS.ErrnoException).code ?? String(err) });
      return;
    }
    let cancelled: string | undefined;
    const cancel = (why: string) => {
      cancelled ??= why;
      req.destroy();
    };
    req.once("socket", (socket) => {
      const history = connectionHistory.get(socket) ?? [];
      if (history.length > 0) earlier = history.slice(-5);
      connectionHistory.set(socket, [...history.slice(-5), c.index]);
    });
    onTimeout(() => cancel("timed out"));
    let answer: Answer | undefined;
    let streamTimer: NodeJS.Timeout | undefined;
    req.on("response", (res) => {
      const a: Answer = {
        status: res.statusCode ?? 0,
        headers: flatten(res.headers),
        body: Buffer.alloc(0),
        complete: false,
      };
      answer = a;
      const chunks: Buffer[] = [];
      let received = 0;
      if (c.streaming === true)
        streamTimer = setTimeout(
          () => cancel(`stream still open ${o.streamReadMs} ms after its headers`),
          o.streamReadMs,
        );
      res.on("data", (chunk: Buffer) => {
        if (received < o.maxBodyBytes) chunks.push(chunk);
        received += chunk.length;
        if (c.streaming === true && received >= STREAM_BODY_BYTES) cancel(`stream read for ${received} bytes`);
        else if (received > o.maxBodyBytes) cancel(`answer over ${o.maxBodyBytes} bytes`);
      });
      res.on("end", () => {
        clearTimeout(streamTimer);
        a.body = Buffer.concat(chunks).subarray(0, o.maxBodyBytes);
        if (Object.keys(res.trailers).length > 0) a.trailers = flatten(res.trailers);
        a.complete = cancelled === undefined;
        settle({ answers: [a], ...(cancelled !== undefined ? { cancelled } : {}) });
      });
      res.on("error", () => undefined);
      res.on("close", () => {
        clearTimeout(streamTimer);
        if (!a.complete) {
          a.body = Buffer.concat(chunks).subarray(0, o.maxBodyBytes);
          settle({ answers: [a], closed: "response cut short", ...(cancelled !== undefined ? { cancelled } : {}) });
        }
      });
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(streamTimer);
      settle({
        answers: answer !== undefined ? [answer] : [],
        closed: err.code ?? err.message,
        ...(cancelled !== undefined ? { cancelled } : {}),
      });
    });
    req.on("close", () => {
      // Closed without a response and without an error event (destroyed by us).
      if (answer === undefined)
        settle({ answers: [], closed: "socket closed", ...(cancelled !== undefined ? { cancelled } : {}) });
    });
    void writePieces(req, piecesOf(c), () => {
      if (chunked && c.trailers !== undefined) req.addTrailers(Object.fromEntries(c.trailers));
      req.end();
    });
  });
  return earlier !== undefined ? { ...outcome, earlierOnConnection: earlier } : outcome;
}

// ---------------------------------------------------------------------------------------
// Raw HTTP/1.1 bytes on a fresh TCP connection

export function runRaw(c: FuzzCase, o: ClientOptions): Promise<Outcome> {
  return bounded(o.caseTimeoutMs, (settle, onTimeout) => {
    const socket = net.connect(o.port, "127.0.0.1");
    socket.setNoDelay(true);
    const chunks: Buffer[] = [];
    let received = 0;
    let cancelled: string | undefined;
    let error: string | undefined;
    const wanted = c.rawResponses ?? 1;
    const finish = (closedBy: string | undefined) => {
      clearTimeout(stallTimer);
      clearTimeout(streamTimer);
      const parsed = parseHttp1Responses(Buffer.concat(chunks), closedBy !== undefined);
      settle({
        answers: parsed.responses,
        ...(closedBy !== undefined ? { closed: closedBy } : {}),
        ...(cancelled !== undefined ? { cancelled } : {}),
        ...(parsed.malformed !== undefined ? { malformed: parsed.malformed } : {}),
      });
      socket.destroy();
    };
    onTimeout(() => socket.destroy());
    let stallTimer: NodeJS.Timeout | undefined;
    let streamTimer: NodeJS.Timeout | undefined;
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received > o.maxBodyBytes) {
        cancelled = `answer over ${o.maxBodyBytes} bytes`;
        finish(undefined);
        return;
      }
      const parsed = parseHttp1Responses(Buffer.concat(chunks), false);
      if (parsed.malformed !== undefined) return finish(undefined);
      if (parsed.responses.filter((r) => r.complete).length >= wanted) return finish(undefined);
      // An answer has started: no stall then (a response that starts and never ends times out).
      if (parsed.responses.length > 0) clearTimeout(stallTimer);
      if (c.streaming === true && streamTimer === undefined && parsed.responses.length > 0) {
        streamTimer = setTimeout(() => {
          cancelled = `stream still open ${o.streamReadMs} ms after its headers`;
          finish(undefined);
        }, o.streamReadMs);
      }
    });
    socket.on("error", (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
    socket.on("close", () => finish(error ?? "socket closed"));
    socket.once("connect", () => {
      rawCases.set(socket.localPort!, c.index);
      socket.write(c.raw ?? Buffer.alloc(0));
      if (c.rawFin === true) socket.end();
      else {
        // Neither answered nor closed: we say we are done sending; the server must then close.
        stallTimer = setTimeout(() => {
          cancelled = `no answer within ${o.rawStallMs} ms: half-closed`;
          socket.end();
        }, o.rawStallMs);
      }
    });
  });
}
