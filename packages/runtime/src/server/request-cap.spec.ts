import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { createRequestCap } from "./request-cap.js";

describe("createRequestCap", () => {
  it("refuses an HTTP/2 stream with REFUSED_STREAM once `max` are in flight, and takes it again when one ends", async () => {
    const held = new Set<http2.ServerHttp2Stream>();
    const cap = createRequestCap({ max: 2, inFlight: () => held.size });
    const h2 = http2.createServer();
    h2.on("stream", (stream) => {
      if (cap.refuseStream(stream)) return;
      held.add(stream);
      stream.once("close", () => held.delete(stream));
    });
    await new Promise<void>((resolve) => h2.listen(0, "127.0.0.1", resolve));
    const client = http2.connect(`http://127.0.0.1:${(h2.address() as AddressInfo).port}`);
    const open = () => {
      const req = client.request({ ":path": "/", ":method": "POST" });
      const closed = new Promise<number>((resolve) => req.once("close", () => resolve(req.rstCode ?? -1)));
      req.on("error", () => undefined);
      return { req, closed };
    };
    const a = open();
    const b = open();
    const c = open();
    expect(await c.closed).toBe(http2.constants.NGHTTP2_REFUSED_STREAM);
    expect(held.size).toBe(2);
    // Not in the same tick: Node 20's client spins when a stream is closed from within the
    // 'close' of one the peer reset.
    await new Promise((r) => setImmediate(r));
    a.req.close();
    await a.closed;
    await new Promise((r) => setTimeout(r, 50));
    const d = open();
    await new Promise((r) => setTimeout(r, 50));
    expect(held.size).toBe(2);
    for (const x of [b, d]) x.req.close();
    client.destroy();
    await new Promise((r) => h2.close(r));
  });

  it("answers an HTTP/1.1 request counted past `max` with 503 and retry-after", async () => {
    let inFlight = 0;
    const cap = createRequestCap({ max: 1, inFlight: () => inFlight });
    const server = http.createServer((req, res) => {
      inFlight++;
      res.once("close", () => inFlight--);
      if (!cap.refuseRequest(req, res)) res.end("served");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const get = () =>
      fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`).then(async (r) => ({
        status: r.status,
        retryAfter: r.headers.get("retry-after"),
        body: await r.text(),
      }));
    expect(await get()).toEqual({ status: 200, retryAfter: null, body: "served" });
    inFlight++; // another request, held elsewhere
    expect(await get()).toEqual({
      status: 503,
      retryAfter: "1",
      body: "the server is at its limit of 1 requests in flight (maxConcurrentRequests); retry later\n",
    });
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
});
