import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { createConnectionTracker } from "./connections.js";

describe("createConnectionTracker", () => {
  it("counts requests in flight in O(1), and ends those still pipelined when their socket closes", async () => {
    const tracker = createConnectionTracker({ headersTimeoutMs: 0, idleTimeoutMs: 0, requestTimeoutMs: 0 });
    // A handler that never answers: the first response holds the socket, the next two wait behind it.
    const h1 = http.createServer((req, res) => tracker.request(req, res));
    const listener = net.createServer((socket) => {
      tracker.accept(socket);
      h1.emit("connection", socket);
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const client = net.connect((listener.address() as AddressInfo).port, "127.0.0.1");
    try {
      client.on("error", () => undefined);
      client.write("GET /a HTTP/1.1\r\nhost: x\r\n\r\n".repeat(3));
      while (tracker.active < 3) await new Promise((r) => setTimeout(r, 10));
      expect(tracker.active).toBe(3);
      expect(tracker.size).toBe(1);
      // Node emits 'close' only on the response that had the socket; the two behind it never
      // get one. Uncounted, they would hold the server-wide request cap for ever.
      client.destroy();
      while (tracker.size > 0) await new Promise((r) => setTimeout(r, 10));
      expect(tracker.active).toBe(0);
      expect(tracker.inFlight()).toBe(0);
    } finally {
      client.destroy();
      await new Promise((r) => listener.close(r));
    }
  });
});
