// Limits and bad input against a real server on loopback: 1,000 connections that send
// nothing (and a few that send half a request) are closed by the header timeout; idle
// HTTP/2 connections get GOAWAY; a request body cut off half way or never finished,
// wrong content types and wrong methods get clear answers or closed sockets; the server
// keeps serving, and no socket is left open (handles counted before and after).
import * as http2 from "node:http2";
import * as net from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { toTensorProto } from "@blazerpc/tensor";
import { createServer, type BlazeServer } from "@blazerpc/runtime";
import { app } from "../../examples/iris/models.js";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import { InferenceService } from "../../examples/iris/gen/iris/v1/iris_pb.js";
import { run } from "./support.js";

const IRIS = "/iris.v1.InferenceService/PredictIris";

/** Open TCP sockets of this process (client and server sides alike). */
const tcpHandles = () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;

/** A raw connection; resolves with it once connected. */
function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

const closed = (s: net.Socket) =>
  new Promise<void>((resolve) => (s.closed ? resolve() : s.once("close", () => resolve())));

async function healthy(server: BlazeServer): Promise<void> {
  const r = await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", `${server.url()}/healthz`]);
  expect(r.stdout).toBe("200");
}

describe("limits and bad input", () => {
  let server: BlazeServer;
  beforeEach(async () => {
    server = createServer({
      app,
      services: [InferenceServiceBinding],
      port: 0,
      headersTimeoutMs: 400,
      idleTimeoutMs: 400,
      requestTimeoutMs: 400,
    });
    await server.listen();
  });
  afterEach(() => server.close());

  it("closes 1,000 connections that send nothing, and a few that send half a request; no socket is left, the server keeps serving", async () => {
    const before = tcpHandles();
    const started = Date.now();
    const silent: net.Socket[] = [];
    for (let i = 0; i < 1000; i += 100)
      silent.push(...(await Promise.all(Array.from({ length: 100 }, () => connect(server.address().port)))));
    const slow = await Promise.all(Array.from({ length: 5 }, () => connect(server.address().port)));
    for (const s of slow) s.write("POST /iris.v1.InferenceService/PredictIris HTTP/1.1\r\nhost: x\r\n"); // headers never end
    const h2Slow = await Promise.all(Array.from({ length: 5 }, () => connect(server.address().port)));
    for (const s of h2Slow) s.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"); // the preface, then nothing
    // They read what the server sends (an HTTP/2 server sends SETTINGS, then GOAWAY), or they would never see it close.
    for (const s of [...silent, ...slow, ...h2Slow]) s.on("error", () => undefined).resume();
    // Meanwhile, real clients are answered.
    await healthy(server);
    await Promise.all([...silent, ...slow, ...h2Slow].map(closed));
    // Closed by the server's 400 ms header timeout, not by us, and not much later.
    expect(Date.now() - started).toBeLessThan(10_000);
    await healthy(server);
    // Every socket of those connections is gone, on both sides.
    await new Promise((r) => setImmediate(r));
    expect(tcpHandles()).toBeLessThanOrEqual(before);
  });

  it("sends GOAWAY on an HTTP/2 connection idle for the idle timeout", async () => {
    const session = http2.connect(server.url());
    const goaway = new Promise<number>((resolve) => session.once("goaway", (code) => resolve(code)));
    const req = session.request({ ":path": "/healthz" });
    req.resume();
    await new Promise((resolve) => req.once("close", resolve));
    const started = Date.now();
    expect(await goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    session.close();
  });

  it("survives a body cut off half way (HTTP/1.1 and gRPC), and drops a body that never ends", async () => {
    const body = Buffer.from(
      JSON.stringify({ features: { shape: ["1", "4"], dtype: "float32", data: Buffer.alloc(16).toString("base64") } }),
    );
    // HTTP/1.1: half the announced body, then the client goes away.
    const cut = await connect(server.address().port);
    cut.write(
      `POST ${IRIS} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    cut.write(body.subarray(0, body.length / 2));
    cut.destroy();
    // HTTP/1.1: half the body, then nothing: the request timeout closes the socket.
    const stalled = await connect(server.address().port);
    stalled.on("error", () => undefined);
    stalled.write(
      `POST ${IRIS} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    stalled.write(body.subarray(0, body.length / 2));
    await closed(stalled);

    // gRPC: a frame that announces 100 bytes, 10 sent, then the stream ends.
    const session = http2.connect(server.url());
    const req = session.request({
      ":method": "POST",
      ":path": IRIS,
      "content-type": "application/grpc",
      te: "trailers",
    });
    const frame = Buffer.alloc(15);
    frame.writeUInt32BE(100, 1);
    req.end(frame);
    const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve) => {
      req.on("trailers", resolve);
      req.resume();
    });
    expect(trailers["grpc-status"]).not.toBe("0");
    expect(decodeURIComponent(String(trailers["grpc-message"]))).toMatch(/premature EOF|incomplete|protocol error/i);
    session.close();

    // And the server answers a whole request as usual.
    const ok = await run("curl", [
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-X",
      "POST",
      "-H",
      "content-type: application/json",
      "--data-binary",
      body.toString(),
      `${server.url()}${IRIS}`,
    ]);
    expect(ok.stdout).toBe("200");
  });

  it("answers wrong content types with 415 and wrong methods with 405", async () => {
    const status = async (args: string[]) =>
      (await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", ...args, `${server.url()}${IRIS}`])).stdout;
    expect(await status(["-X", "POST", "-H", "content-type: text/plain", "-d", "hello"])).toBe("415");
    expect(await status(["-X", "POST", "-H", "content-type: application/xml", "-d", "<a/>"])).toBe("415");
    // gRPC with a codec the server does not have, over HTTP/2.
    const session = http2.connect(server.url());
    const req = session.request({
      ":method": "POST",
      ":path": IRIS,
      "content-type": "application/grpc+xml",
      te: "trailers",
    });
    req.end(Buffer.from([0, 0, 0, 0, 0]));
    req.resume();
    const head = await new Promise<http2.IncomingHttpHeaders>((resolve) => req.once("response", resolve));
    expect(head[":status"]).toBe(415);
    session.close();
    expect(await status(["-X", "PUT", "-H", "content-type: application/json", "-d", "{}"])).toBe("405");
    // A GET on a method with side effects (not declared NO_SIDE_EFFECTS).
    expect(
      await status([
        "-G",
        "--data-urlencode",
        "connect=v1",
        "--data-urlencode",
        "encoding=json",
        "--data-urlencode",
        "message={}",
      ]),
    ).toBe("405");
    await healthy(server);
  });

  it("answers a message over the cap with RESOURCE_EXHAUSTED over gRPC-Web too", async () => {
    const small = createServer({ app, services: [InferenceServiceBinding], port: 0, readMaxBytes: 256 });
    await small.listen();
    try {
      const client = createClient(
        InferenceService,
        createGrpcWebTransport({ baseUrl: small.url(), httpVersion: "1.1" }),
      );
      const err = await client
        .predictIris({ features: toTensorProto({ dtype: "float32", shape: [32, 4], data: new Float32Array(128) }) })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
      expect((err as ConnectError).rawMessage).toMatch(/message size .* is larger than configured readMaxBytes 256/);
    } finally {
      await small.close();
    }
  });
});
