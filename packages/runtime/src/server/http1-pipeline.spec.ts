import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { createHttp1Pipeline } from "./http1-pipeline.js";

/** A server whose handler holds each response until the test answers it; requests are listed by URL. */
async function holdingServer(maxPending: number) {
  const schedule = createHttp1Pipeline({ maxPending });
  const held: { url: string; res: http.ServerResponse; body: string }[] = [];
  const waiters = new Set<() => void>();
  const server = http.createServer((req, res) =>
    schedule(req, res, () => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (d: string) => (body += d));
      req.on("end", () => {
        held.push({ url: req.url!, res, body });
        for (const w of [...waiters]) w();
      });
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  /** Resolves once `n` requests have been started (and their bodies read). */
  const started = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (held.length < n) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  const answer = (i: number) => held[i]!.res.end(`answer to ${held[i]!.url}`);
  return { server, port, held, started, answer, close: () => new Promise((r) => server.close(r)) };
}

function client(port: number): Promise<{ socket: net.Socket; text: () => string; closed: Promise<void> }> {
  return new Promise((resolve) => {
    let text = "";
    const socket = net.connect(port, "127.0.0.1", () => resolve({ socket, text: () => text, closed }));
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => (text += d));
    socket.on("error", () => undefined);
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
  });
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`;
const tick = () => new Promise((r) => setTimeout(r, 50));

describe("createHttp1Pipeline", () => {
  it("runs at most maxPending pipelined requests of a connection at once; the rest in order as those finish", async () => {
    const s = await holdingServer(2);
    const c = await client(s.port);
    c.socket.write(get("/1") + get("/2") + get("/3") + get("/4"));
    await s.started(2);
    await tick();
    expect(s.held.map((h) => h.url)).toEqual(["/1", "/2"]);
    s.answer(1); // the second one first: it is written after the first
    await tick();
    expect(s.held.map((h) => h.url)).toEqual(["/1", "/2"]);
    s.answer(0);
    await s.started(4);
    s.answer(2);
    s.answer(3);
    await tick();
    expect(c.text().match(/answer to \/\d/g)).toEqual(["answer to /1", "answer to /2", "answer to /3", "answer to /4"]);
    c.socket.destroy();
    await s.close();
  });

  it("closes a connection with more than twice maxPending pending, having run only maxPending of them", async () => {
    const s = await holdingServer(2);
    const c = await client(s.port);
    c.socket.write(get("/x").repeat(100));
    await c.closed;
    expect(s.held.length).toBe(2);
    await s.close();
  });

  it("reads the body of a request that starts when the connection is at its limit", async () => {
    const s = await holdingServer(1);
    const c = await client(s.port);
    // The headers first, the body later: were the socket paused as the request starts, its body would never come.
    c.socket.write("POST /p HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\n");
    await tick();
    c.socket.write("hello");
    await s.started(1);
    expect(s.held[0]!.body).toBe("hello");
    c.socket.destroy();
    await s.close();
  });
});
