import * as net from "node:net";
import { sniffProtocol } from "./sniff.js";

/** Connects to a throwaway server, writes `chunks` with pauses between, and reports what the sniffer decided and the bytes it put back. */
async function sniff(chunks: string[]): Promise<{ protocol: string; replay: string }> {
  let done!: (v: { protocol: string; replay: string }) => void;
  const result = new Promise<{ protocol: string; replay: string }>((r) => (done = r));
  const server = net.createServer((socket) => {
    sniffProtocol(socket, (protocol) => {
      socket.resume();
      socket.once("data", (d: Buffer) => {
        done({ protocol, replay: d.toString("latin1") });
        socket.destroy();
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  await new Promise((r) => client.once("connect", r));
  for (const c of chunks) {
    client.write(c);
    await new Promise((r) => setTimeout(r, 20));
  }
  const out = await result;
  client.destroy();
  await new Promise((r) => server.close(r));
  return out;
}

describe("sniffProtocol", () => {
  const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

  it("detects the HTTP/2 preface even when it arrives in pieces, and puts every byte back", async () => {
    const out = await sniff(["PRI * HT", "TP/2.0\r\n\r\nSM\r\n", "\r\nxyz"]);
    expect(out.protocol).toBe("h2");
    expect(out.replay.startsWith(preface)).toBe(true);
  });

  it("decides HTTP/1.1 from the first byte that is not the preface", async () => {
    const out = await sniff(["GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"]);
    expect(out).toEqual({ protocol: "http/1.1", replay: "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n" });
  });

  it("decides HTTP/1.1 for a method that starts like the preface", async () => {
    const out = await sniff(["PR", "OPFIND / HTTP/1.1\r\n\r\n"]);
    expect(out.protocol).toBe("http/1.1");
    expect(out.replay).toBe("PROPFIND / HTTP/1.1\r\n\r\n");
  });
});
