import type * as net from "node:net";

/** Options of {@link createWriteTimeout}. */
export interface WriteTimeoutOptions {
  /** A socket with output waiting that has not taken a byte of it for this long is destroyed. 0: never. */
  timeoutMs: number;
}

/** What {@link createWriteTimeout} returns. */
export interface WriteTimeout {
  /** Watches `socket` until it closes (a second call is a no-op). */
  watch(socket: net.Socket): void;
}

const kWatched = Symbol("blazerpc.writeTimeout");

/**
 * Closes connections whose peer stops reading what we write. Node has no such timeout: a
 * response (or a server stream) to a client that never reads waits for 'drain' for ever,
 * holding its socket, its request and — for a stream — the model's generator. The kernel
 * takes a few MB first (the send buffer and the peer's receive buffer), then nothing.
 *
 * A watched socket is checked every quarter of the timeout: it has stalled when output is
 * waiting (`writableLength > 0`) and none of it has moved since the last check — neither a
 * write completed (`bytesWritten - writableLength`) nor the kernel took part of the one in
 * progress (libuv's write queue, `_handle.writeQueueSize`, shrank: a 64 MB tensor to a
 * slow client completes one write, minutes later). A slow reader that takes anything at
 * all is never dropped (nginx's `send_timeout`, between two successive writes). For plain
 * and TLS sockets; not for HTTP/2, whose session writes to the socket natively (see
 * {@link createHttp2Ping}).
 *
 * @example
 * const writes = createWriteTimeout({ timeoutMs: 30_000 });
 * h1server.on("connection", (socket) => writes.watch(socket));
 */
export function createWriteTimeout({ timeoutMs }: WriteTimeoutOptions): WriteTimeout {
  const on = timeoutMs > 0 && Number.isFinite(timeoutMs);
  const everyMs = Math.max(10, Math.floor(timeoutMs / 4));
  return {
    watch(socket) {
      const s = socket as net.Socket & { [kWatched]?: true };
      if (!on || s[kWatched] === true || socket.destroyed) return;
      s[kWatched] = true;
      let written = -1;
      let queued = -1;
      let stalledSince = 0;
      const timer = setInterval(() => {
        const waiting = socket.writableLength;
        const done = socket.bytesWritten - waiting;
        const inKernelQueue = queueSize(socket);
        const now = Date.now();
        if (waiting === 0 || done !== written || inKernelQueue !== queued) {
          written = done;
          queued = inKernelQueue;
          stalledSince = now;
        } else if (now - stalledSince >= timeoutMs) {
          clearInterval(timer);
          socket.destroy();
        }
      }, everyMs);
      timer.unref();
      socket.once("close", () => clearInterval(timer));
    },
  };
}

/** Bytes libuv still holds of the write in progress (-1 when the handle does not say: TLS). */
function queueSize(socket: net.Socket): number {
  const n = (socket as net.Socket & { _handle?: { writeQueueSize?: unknown } })._handle?.writeQueueSize;
  return typeof n === "number" ? n : -1;
}
