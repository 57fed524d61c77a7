import * as http2 from "node:http2";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { createHttp2Ping } from "./http2-ping.js";

const INTERVAL_MS = 100;

/** An HTTP/2 server that holds every stream open and watches its sessions with a PING every INTERVAL_MS. */
async function server() {
  const watch = createHttp2Ping({ intervalMs: INTERVAL_MS });
  const h2 = http2.createServer();
  const sockets: net.Socket[] = [];
  h2.on("connection", (socket: net.Socket) => sockets.push(socket));
  h2.on("session", (session) => watch(session, sockets[sockets.length - 1]));
  h2.on("stream", () => undefined); // held: never answered
  await new Promise<void>((resolve) => h2.listen(0, "127.0.0.1", resolve));
  return { h2, sockets, port: (h2.address() as AddressInfo).port };
}

const frame = (type: number, flags: number, stream: number, payload = Buffer.alloc(0)) => {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
};
/** `:method GET`, `:scheme http`, `:path /` from HPACK's static table (indexes 2, 6, 4), and a literal `:authority x`. */
const GET_HEADERS = Buffer.from([0x82, 0x86, 0x84, 0x41, 0x01, 0x78]);

describe("createHttp2Ping", () => {
  it("keeps a live client that sends nothing: it answers the PINGs", async () => {
    const s = await server();
    const client = http2.connect(`http://127.0.0.1:${s.port}`);
    let pings = 0;
    client.on("ping", () => pings++);
    client.request({ ":path": "/" }).on("error", () => undefined); // a stream held open, then silence
    await new Promise((r) => setTimeout(r, 8 * INTERVAL_MS));
    expect(pings).toBeGreaterThan(0);
    expect(client.destroyed || client.closed).toBe(false);
    expect(s.sockets[0]!.destroyed).toBe(false);
    client.destroy();
    await new Promise((r) => s.h2.close(r));
  });

  it("closes the socket of a session Node stopped reading after a connection error's GOAWAY, with a stream open", async () => {
    const s = await server();
    const c = net.connect(s.port, "127.0.0.1");
    c.on("error", () => undefined);
    let got = Buffer.alloc(0);
    c.on("data", (d: Buffer) => (got = Buffer.concat([got, d])));
    c.write(
      Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frame(4, 0, 0), frame(1, 0x4, 1, GET_HEADERS)]),
    );
    await new Promise((r) => setTimeout(r, 50));
    c.write(frame(0, 0, 0, Buffer.alloc(8))); // DATA on stream 0: PROTOCOL_ERROR
    await new Promise((r) => setTimeout(r, 50));
    expect(got.includes(Buffer.from([0x07, 0x00, 0x00, 0x00, 0x00, 0x00]))).toBe(true); // a GOAWAY frame came
    c.end(); // the client leaves; Node never reads its FIN
    const started = Date.now();
    await new Promise((resolve) =>
      s.sockets[0]!.destroyed ? resolve(undefined) : s.sockets[0]!.once("close", resolve),
    );
    expect(Date.now() - started).toBeLessThan(10 * INTERVAL_MS);
    await new Promise((r) => s.h2.close(r));
  });
});
