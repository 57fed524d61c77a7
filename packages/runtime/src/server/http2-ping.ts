import type * as http2 from "node:http2";
import type * as net from "node:net";

/** Options of {@link createHttp2Ping}. */
export interface Http2PingOptions {
  /**
   * A session from which no byte has arrived for about this long is sent a PING; one that
   * has not answered it this long later is destroyed, and its socket. 0: never.
   */
  intervalMs: number;
}

/**
 * Watches HTTP/2 sessions for a peer that is gone, or that Node's HTTP/2 layer stopped
 * listening to.
 *
 * The second is why this exists. When a client commits a connection error (a DATA frame
 * over the frame size, DATA on stream 0, a bad HPACK index…) nghttp2 sends GOAWAY and from
 * then on wants neither to read nor to write, so Node stops reading the socket — and tells
 * JavaScript nothing: no 'error', no 'goaway', no 'close'. The client's FIN is never read,
 * the socket sits in CLOSE-WAIT, and the session's open streams keep it until their
 * request timeout (RFC 9113 §5.4.1: after a connection error's GOAWAY the endpoint "MUST
 * close the TCP connection"). No state of the session shows it, so it is probed: a PING
 * that such a session never sends, and a dead peer never answers. A live peer answers at
 * once (every HTTP/2 implementation must), and one that keeps sending frames is never
 * pinged; each silent session costs one PING (17 bytes each way) about every two intervals.
 *
 * `socket` is the session's own (`session.socket` is a proxy that refuses `destroy()`): a
 * destroyed session only ends its socket once what it wrote is sent, which a peer that
 * reads nothing never lets happen.
 *
 * @example
 * const watch = createHttp2Ping({ intervalMs: 10_000 });
 * h2server.on("session", (session) => watch(session, socketOf(session)));
 */
export function createHttp2Ping({
  intervalMs,
}: Http2PingOptions): (session: http2.ServerHttp2Session, socket: net.Socket | undefined) => void {
  return (session, socket) => {
    if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) return;
    let lastRead = -1;
    let unanswered = false;
    const timer = setInterval(() => {
      if (session.destroyed) return clearInterval(timer);
      if (unanswered) {
        // The PING of the previous tick was not answered (or, on a session nghttp2 gave up
        // on, not even sent): the peer is gone.
        clearInterval(timer);
        session.destroy();
        socket?.destroy();
        return;
      }
      // Bytes read from the socket, HTTP/2's own included (the session reads it natively).
      const read = bytesRead(session);
      if (read === undefined) return clearInterval(timer);
      if (read !== lastRead) {
        lastRead = read;
        return;
      }
      // A session being closed gracefully sends no PING; its streams still end it, and the
      // connection tracker's timers bound the wait.
      if (session.closed) return;
      unanswered = true;
      try {
        session.ping((err) => {
          if (err === null) unanswered = false;
        });
      } catch {
        session.destroy();
        socket?.destroy();
      }
    }, intervalMs);
    timer.unref();
    session.once("close", () => clearInterval(timer));
  };
}

function bytesRead(session: http2.ServerHttp2Session): number | undefined {
  try {
    // The session's socket is a proxy that throws once the socket is unbound.
    return session.socket.bytesRead;
  } catch {
    return undefined;
  }
}
