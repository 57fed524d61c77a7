import type { Socket } from "node:net";

/** The client connection preface every HTTP/2 connection starts with (RFC 9113 §3.4). */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Reads the first bytes of a plaintext connection and tells whether it speaks HTTP/2
 * (prior knowledge: the connection preface) or HTTP/1.x. The bytes read are put back,
 * so the server the socket is handed to sees the whole stream.
 *
 * Calls `onDecided` once; a socket that closes or errors before deciding is dropped.
 */
export function sniffProtocol(socket: Socket, onDecided: (protocol: "h2" | "http/1.1") => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const cleanup = () => {
    socket.off("data", onData);
    socket.off("error", onEnd);
    socket.off("end", onEnd);
  };
  const onEnd = () => {
    cleanup();
    socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const isPrefix = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (isPrefix && seen.length < PREFACE.length) return; // could still be HTTP/2: wait for more
    cleanup();
    socket.pause();
    socket.unshift(seen);
    onDecided(isPrefix ? "h2" : "http/1.1");
  };
  socket.on("data", onData);
  socket.on("error", onEnd);
  socket.on("end", onEnd);
}
