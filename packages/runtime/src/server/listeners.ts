import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { TLSSocket } from "node:tls";
import type { ConnectionTracker } from "./connections.js";
import type { Dispatch } from "./dispatch.js";
import { sniffProtocol } from "./sniff.js";

/** Options of {@link createListener}. */
export interface ListenerOptions {
  /** Where every request and stream goes. */
  readonly dispatch: Dispatch;
  /** Connection bookkeeping: timeouts, requests in flight, graceful close. */
  readonly tracker: ConnectionTracker;
  /** TLS: HTTP/2 and HTTP/1.1 chosen by ALPN. Without it, plaintext (h2c by prior knowledge, and HTTP/1.1 sniffed). */
  readonly tls: { cert: string | Buffer; key: string | Buffer } | undefined;
  readonly http2ConnectionWindowBytes: number;
  readonly http2StreamWindowBytes: number;
  readonly http2MaxFrameBytes: number;
  readonly http2MaxConcurrentStreams: number;
  readonly readMaxBytes: number;
  readonly headersTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxConnections: number | undefined;
  /** Watches an HTTP/1.1 socket for a client that stopped reading. */
  readonly watchWrites: (socket: net.Socket) => void;
  /** Pings an HTTP/2 session that went silent. */
  readonly ping: (session: http2.ServerHttp2Session, socket: net.Socket | undefined) => void;
}

/**
 * The one listening socket of a server and the HTTP servers behind it: with TLS, Node's
 * HTTP/2 server with HTTP/1.1 allowed (ALPN); in plaintext, a TCP server that sniffs each
 * connection's first bytes and hands it to an HTTP/2 (h2c prior knowledge) or HTTP/1.1
 * server. Both end in the same {@link Dispatch}.
 *
 * @example
 * const listener = createListener({ dispatch, tracker, tls: undefined, ...limits });
 * listener.listen(0, "127.0.0.1");
 */
export function createListener(options: ListenerOptions): net.Server {
  const { dispatch, tracker, tls, http2ConnectionWindowBytes, headersTimeoutMs, watchWrites, ping } = options;
  const settings: http2.Settings = {
    initialWindowSize: options.http2StreamWindowBytes,
    maxFrameSize: options.http2MaxFrameBytes,
    maxConcurrentStreams: options.http2MaxConcurrentStreams,
  };
  // Node refuses new streams once a session holds more than maxSessionMemory (default 10 MB)
  // of unsent and unread data; with a 16 MiB window one large tensor can be that much.
  const maxSessionMemory = Math.max(
    10,
    Math.ceil((2 * http2ConnectionWindowBytes + options.readMaxBytes) / (1024 * 1024)),
  );
  let listener: net.Server;
  let h2: http2.Http2Server | http2.Http2SecureServer;
  if (tls !== undefined) {
    h2 = http2.createSecureServer(
      {
        cert: tls.cert,
        key: tls.key,
        allowHTTP1: true,
        settings,
        maxSessionMemory,
        ...(headersTimeoutMs > 0 ? { handshakeTimeout: headersTimeoutMs } : {}),
      },
      dispatch.request,
    );
    h2.on("secureConnection", (socket: TLSSocket) => {
      tracker.accept(socket);
      if (socket.alpnProtocol !== "h2") watchWrites(socket);
    });
    listener = h2;
  } else {
    h2 = http2.createServer({ settings, maxSessionMemory }, dispatch.request);
    const h1 = http.createServer(dispatch.request);
    // Our own timers close idle connections; Node's keep-alive timer would close them sooner.
    h1.keepAliveTimeout = options.idleTimeoutMs;
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
          watchWrites(socket);
          socket.resume();
        }
      });
    });
  }
  // Every HTTP/2 stream goes to the dispatch point first; what it leaves goes on to Node's
  // compatibility layer (the 'stream' listener that `createServer`'s request handler
  // installed), which builds a request and response and calls `dispatch.request`.
  const compat = h2.listeners("stream") as ((...args: unknown[]) => void)[];
  if (compat.length !== 1)
    throw new Error(`expected Node's HTTP/2 compatibility 'stream' listener, found ${compat.length}`);
  const toCompat = compat[0]!;
  h2.removeAllListeners("stream");
  h2.on(
    "stream",
    (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      if (!dispatch.stream(stream, headers)) toCompat.call(h2, stream, headers, flags, rawHeaders);
    },
  );
  if (options.maxConnections !== undefined) listener.maxConnections = options.maxConnections;
  h2.on("session", tracker.session);
  h2.on("session", (session: http2.ServerHttp2Session) => ping(session, tracker.socketOf(session)));
  h2.on("session", (session: http2.ServerHttp2Session) => {
    // The window can be set once the session's own settings are in place.
    session.once("localSettings", () => {
      if (!session.destroyed) session.setLocalWindowSize(http2ConnectionWindowBytes);
    });
  });
  return listener;
}
