import * as http2 from "node:http2";
import type * as net from "node:net";
import type { AnyRequest, AnyResponse } from "../http/routes.js";

/** Time limits on connections (see {@link ServerOptions}). 0 turns one off. */
export interface ConnectionLimits {
  /** From accepting a connection to the first request's headers. */
  headersTimeoutMs: number;
  /** A connection with no request in flight for this long is closed (GOAWAY on HTTP/2). */
  idleTimeoutMs: number;
  /** From a request's first byte to the last byte of its body. */
  requestTimeoutMs: number;
}

interface Connection {
  readonly socket: net.Socket;
  session?: http2.ServerHttp2Session;
  /** Requests in flight on it: what closes when they are done (a response, or an HTTP/2 stream). */
  readonly active: Set<object>;
  timer?: NodeJS.Timeout;
}

const kConnection = Symbol("blazerpc.connection");

/**
 * Every connection of a server, with the requests in flight on each and in all: what the
 * header, idle and request timeouts and the graceful shutdown need.
 */
export interface ConnectionTracker {
  /** A connection was accepted (plaintext: before sniffing; TLS: after the handshake). */
  accept(socket: net.Socket): void;
  /** An HTTP/2 session started on an accepted socket. */
  session(session: http2.ServerHttp2Session): void;
  /** The accepted socket a session runs on (not the proxy `session.socket`, which refuses `destroy()`). */
  socketOf(session: http2.ServerHttp2Session): net.Socket | undefined;
  /** A request arrived: counts it until its response closes. */
  request(req: AnyRequest, res: AnyResponse): void;
  /** An HTTP/2 stream the native gRPC path answers: counts it until it closes. */
  stream(stream: http2.ServerHttp2Stream, path: string): void;
  /** Requests in flight; `filter` picks which count. */
  inFlight(filter?: (path: string) => boolean): number;
  /** Requests and streams in flight on every connection, in O(1): what the server-wide request cap counts. */
  readonly active: number;
  /** Resolves once no request that `filter` picks is in flight, or after `timeoutMs`; true when it timed out. */
  settled(timeoutMs: number, filter?: (path: string) => boolean): Promise<boolean>;
  /** HTTP/2: GOAWAY to every session; HTTP/1.1: idle sockets close now, busy ones after their response. */
  closeGracefully(): void;
  /** Destroys every connection still open. */
  destroyAll(): void;
  /** Open connections. */
  readonly size: number;
}

/**
 * HTTP/1.1 answered before its body was read to the end (an early error: connect-node stops
 * reading at a message it refuses). The connection's next request comes after the rest of
 * this body, which nobody reads now: it is read and dropped, as Node does for a body no
 * handler touched (still bounded by the request timeout), so the connection serves on.
 */
function dumpUnreadBody(req: AnyRequest): void {
  if (req.complete || req.destroyed) return;
  // An abandoned async iterator's 'readable' listener would keep the stream from flowing.
  req.removeAllListeners("readable");
  req.removeAllListeners("data");
  req.on("data", () => undefined);
  req.resume();
}

/** How long a stream answered in full may go on receiving a body nobody reads. */
const UNREAD_BODY_GRACE_MS = 1000;

/**
 * An HTTP/2 stream whose response is complete while its request body is not read to the end
 * (an early error: an oversize message prefix, a first message that does not parse) is closed
 * with RST_STREAM NO_ERROR — which RFC 9113 §8.1 lets a server send to ask the client to stop
 * sending — unless the client ends it first. Left alone, the unread body held the stream, its
 * call and its connection open. Not at once: a reset drops what the stream still has queued
 * (its trailers), so the answer gets a moment to leave first.
 */
function endUnreadStream(stream: http2.Http2Stream, compat?: AnyRequest): void {
  if (stream.readableEnded || stream.closed) return;
  const timer = setTimeout(() => {
    if (stream.readableEnded || stream.closed || stream.destroyed) return;
    stream.close(http2.constants.NGHTTP2_NO_ERROR);
    // After a NO_ERROR reset Node destroys the stream (and emits 'close') only once its
    // readable side has ended: what is buffered is read and dropped. Connect-node's request
    // object (compatibility API) pauses the stream while it is not read: it flows too.
    if (compat !== undefined) dumpUnreadBody(compat);
    stream.resume();
  }, UNREAD_BODY_GRACE_MS);
  timer.unref();
  stream.once("close", () => clearTimeout(timer));
}

/** {@link endUnreadStream} for a stream the native gRPC path answers; `this` is the stream (no closure per call). */
function endUnreadNativeStream(this: http2.Http2Stream): void {
  endUnreadStream(this);
}

export function createConnectionTracker(limits: ConnectionLimits): ConnectionTracker {
  const connections = new Set<Connection>();
  const requests = new Map<object, string>();
  const listeners = new Set<() => void>();
  let closing = false;

  const arm = (c: Connection, ms: number) => {
    clearTimeout(c.timer);
    c.timer = undefined;
    if (ms <= 0) return;
    c.timer = setTimeout(() => {
      c.timer = undefined;
      if (c.active.size > 0) return;
      if (c.session !== undefined && !c.session.destroyed) {
        // GOAWAY: the client learns not to send more on it, and reconnects when it needs to.
        c.session.close();
        const last = setTimeout(() => c.socket.destroy(), 1000);
        last.unref();
      } else {
        c.socket.destroy();
      }
    }, ms);
    c.timer.unref();
  };
  const closeIfIdle = (c: Connection) => {
    if (c.active.size > 0) return;
    if (c.session !== undefined) c.session.close();
    else c.socket.destroySoon();
  };
  const connectionOf = (req: AnyRequest): Connection | undefined =>
    // HTTP/2 requests see their session's socket through a proxy, which forwards this read.
    (req.socket as unknown as Record<symbol, Connection | undefined> | undefined)?.[kConnection];

  /**
   * Counts a request in flight until `key` (its response, or its HTTP/2 stream) closes, and
   * drops it when its body (`body`) has not fully arrived within the request timeout.
   */
  const started = (
    key: AnyResponse | http2.ServerHttp2Stream,
    path: string,
    c: Connection | undefined,
    body: { readonly readableEnded: boolean; destroy(): void; once(event: "end", fn: () => void): unknown },
  ) => {
    requests.set(key, path);
    if (c !== undefined) {
      c.active.add(key);
      clearTimeout(c.timer);
    }
    let bodyTimer: NodeJS.Timeout | undefined;
    if (limits.requestTimeoutMs > 0 && !body.readableEnded) {
      bodyTimer = setTimeout(() => {
        // The client did not send its whole request in time: drop it.
        if (!body.readableEnded) body.destroy();
      }, limits.requestTimeoutMs);
      bodyTimer.unref();
      body.once("end", () => clearTimeout(bodyTimer));
    }
    key.once("close", () => {
      clearTimeout(bodyTimer);
      finished(key, c);
    });
  };
  const finished = (key: object, c: Connection | undefined) => {
    if (!requests.delete(key)) return;
    if (c !== undefined) {
      c.active.delete(key);
      if (closing) closeIfIdle(c);
      else if (c.active.size === 0 && !c.socket.destroyed) arm(c, limits.idleTimeoutMs);
    }
    if (listeners.size > 0) for (const l of [...listeners]) l();
  };
  const inFlight = (filter?: (path: string) => boolean) => {
    let n = 0;
    for (const path of requests.values()) if (filter === undefined || filter(path)) n++;
    return n;
  };
  return {
    accept(socket) {
      const c: Connection = { socket, active: new Set() };
      (socket as unknown as Record<symbol, Connection>)[kConnection] = c;
      connections.add(c);
      arm(c, limits.headersTimeoutMs);
      socket.once("close", () => {
        clearTimeout(c.timer);
        connections.delete(c);
        // A pipelined HTTP/1.1 response still waiting for its turn never emits 'close' when
        // its socket closes: what is left on the connection is over now.
        for (const key of [...c.active]) finished(key, c);
      });
    },
    session(session) {
      const c = (session.socket as unknown as Record<symbol, Connection | undefined>)[kConnection];
      if (c === undefined) return;
      c.session = session;
      (session as unknown as Record<symbol, Connection>)[kConnection] = c;
      if (closing) session.close();
    },
    socketOf(session) {
      return (session as unknown as Record<symbol, Connection | undefined>)[kConnection]?.socket;
    },
    request(req, res) {
      // Node goes on parsing what it had read after its socket was destroyed (a connection
      // closed for pipelining too much): those requests are never answered.
      if (req.socket?.destroyed === true) return;
      const c = connectionOf(req);
      // HTTP/1.1 while shutting down: this is the socket's last response.
      if (closing && req.httpVersionMajor === 1)
        (res as { setHeader(k: string, v: string): void }).setHeader("connection", "close");
      started(res, (req.url ?? "/").split("?", 1)[0]!, c, req);
      if (!("stream" in req)) res.once("finish", () => dumpUnreadBody(req));
      else req.stream.once("finish", () => endUnreadStream(req.stream, req));
    },
    stream(stream, path) {
      started(
        stream,
        path,
        (stream.session as unknown as Record<symbol, Connection | undefined> | undefined)?.[kConnection],
        stream,
      );
      stream.once("finish", endUnreadNativeStream);
    },
    inFlight,
    get active() {
      return requests.size;
    },
    settled(timeoutMs, filter) {
      return new Promise<boolean>((resolve) => {
        const check = () => {
          if (inFlight(filter) > 0) return;
          done(false);
        };
        const timer = setTimeout(() => done(true), timeoutMs);
        const done = (timedOut: boolean) => {
          clearTimeout(timer);
          listeners.delete(check);
          resolve(timedOut);
        };
        listeners.add(check);
        check();
      });
    },
    closeGracefully() {
      closing = true;
      for (const c of connections) closeIfIdle(c);
      for (const c of connections) if (c.session !== undefined) c.session.close();
    },
    destroyAll() {
      for (const c of connections) {
        c.session?.destroy();
        c.socket.destroy();
      }
    },
    get size() {
      return connections.size;
    },
  };
}
