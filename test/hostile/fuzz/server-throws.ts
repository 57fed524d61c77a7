// Catches what a server throws out of its event listeners (a 'request' or 'stream' handler
// that throws synchronously). In production nothing catches that: the process exits. Here
// it is recorded, so that the fuzzer can name the case that does it, and swallowed, so that
// the other cases go on. (Jest gives a test file a `process` of its own: the real
// 'uncaughtException' cannot be listened to from a test.)
import * as net from "node:net";

/** Wraps every net.Server's emit (http, https and http2 servers are net.Servers); returns the undo. */
export function catchServerThrows(onThrow: (err: unknown, event: string, args: unknown[]) => void): () => void {
  const proto = net.Server.prototype as { emit: (event: string | symbol, ...args: unknown[]) => boolean };
  const own = Object.getOwnPropertyDescriptor(proto, "emit");
  const emit = proto.emit;
  proto.emit = function (this: net.Server, event: string | symbol, ...args: unknown[]): boolean {
    try {
      return emit.call(this, event, ...args);
    } catch (err) {
      onThrow(err, String(event), args);
      return true;
    }
  };
  return () => {
    if (own !== undefined) Object.defineProperty(proto, "emit", own);
    else delete (proto as { emit?: unknown }).emit;
  };
}
