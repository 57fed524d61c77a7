import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { createWriteTimeout } from "./write-timeout.js";

/**
 * A server that writes 64 KiB chunks while the socket takes them (as a stream respecting
 * backpressure does), or one `whole` buffer at once (a large response).
 */
async function writer(timeoutMs: number, whole?: Buffer) {
  const writes = createWriteTimeout({ timeoutMs });
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    writes.watch(socket);
    socket.on("error", () => undefined);
    if (whole !== undefined) {
      socket.end(whole);
      return;
    }
    const chunk = Buffer.alloc(64 * 1024);
    const pump = () => {
      while (!socket.destroyed && socket.write(chunk));
    };
    socket.on("drain", pump);
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, sockets, close: () => new Promise((r) => server.close(r)) };
}

const connect = (port: number) =>
  new Promise<net.Socket>((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.on("error", () => undefined);
  });

describe("createWriteTimeout", () => {
  it("destroys a socket whose peer takes none of its output for the timeout", async () => {
    const w = await writer(300);
    const c = await connect(w.port);
    c.pause(); // never reads: the socket buffers fill, then nothing moves
    const started = Date.now();
    await new Promise((resolve) =>
      w.sockets[0]!.destroyed ? resolve(undefined) : w.sockets[0]!.once("close", resolve),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(3000);
    c.destroy();
    await w.close();
  });

  it("keeps a reader slower than one write: a 16 MiB response read a buffer every 10 ms", async () => {
    const size = 16 * 1024 * 1024;
    const w = await writer(500, Buffer.alloc(size));
    const c = await connect(w.port);
    c.pause();
    // One buffer (≤ 64 KiB) every 10 ms: the write takes seconds to complete, yet moves all along.
    let got = 0;
    const timer = setInterval(() => (got += c.read()?.length ?? 0), 10);
    await new Promise<void>((resolve) => c.once("close", () => resolve()));
    clearInterval(timer);
    expect(got).toBe(size);
    await w.close();
  });

  it("keeps an idle socket with nothing to write", async () => {
    const writes = createWriteTimeout({ timeoutMs: 100 });
    const server = net.createServer((socket) => writes.watch(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const c = await connect((server.address() as AddressInfo).port);
    let closed = false;
    c.on("close", () => (closed = true));
    await new Promise((r) => setTimeout(r, 500));
    expect(closed).toBe(false);
    c.destroy();
    await new Promise((r) => server.close(r));
  });
});
