// The open runtime through real servers on 127.0.0.1 port 0: a service of the app's own
// (`app.service`) over the native gRPC path and connect-node alike, HTTP routes
// (`app.route`) behind the same auth, CORS and logs, start and stop hooks, and the routes
// createServer refuses. The own service is the diff fixture's schema (unary and
// server-streaming methods) and the Inference Director's, implemented here by hand.
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { createApp, createServer, type App, type BlazeServer } from "@blazerpc/runtime";
import {
  InferenceService,
  PredictEchoRequestSchema,
  PredictEchoResponseSchema,
  PredictFailRequestSchema,
  PredictFailResponseSchema,
  PredictSlowRequestSchema,
  PredictSlowResponseSchema,
  PredictTensorRequestSchema,
  PredictTensorResponseSchema,
  PredictTicksRequestSchema,
  PredictTicksResponseSchema,
} from "./fixtures/diff/gen/diff/v1/diff_pb.js";
import {
  GetHealthStatusRequestSchema,
  GetHealthStatusResponseSchema,
  HealthStatus,
  InferenceDirector,
} from "../../examples/inference-director/gen/director/v1/director_pb.js";
import { Health } from "../../packages/runtime/src/gen/grpc/health/v1/health_pb.js";
import { NativeCall } from "../../packages/runtime/src/server/protocol-grpc/call.js";
import { grpcMessage, grpcServerStream, run } from "./support.js";

const DIFF = "diff.v1.InferenceService";
const DIRECTOR = "director.v1.InferenceDirector";

/** A grpc-js unary call that resolves with the answer and the response headers, or rejects with the ServiceError. */
function unary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: string,
  input: I,
  output: O,
  req: MessageInitShape<I>,
  metadata = new grpc.Metadata(),
): Promise<{ message: MessageShape<O>; headers: grpc.Metadata }> {
  return new Promise((resolve, reject) => {
    let headers = new grpc.Metadata();
    const call = client.makeUnaryRequest(
      method,
      (m: MessageShape<I>) => Buffer.from(toBinary(input, m)),
      (b: Buffer) => fromBinary(output, b),
      create(input, req),
      metadata,
      (err, res) => (err ? reject(err) : resolve({ message: res!, headers })),
    );
    call.on("metadata", (m) => (headers = m));
  });
}

async function failure(p: Promise<unknown>): Promise<{ code: grpc.status; message: string | undefined }> {
  const err = await p.then(
    () => undefined,
    (e: grpc.ServiceError) => e,
  );
  expect(err).toBeDefined();
  return { code: err!.code, message: grpcMessage(err) };
}

/** curl with the response head: status, headers (lower-cased names), body. */
async function curl(args: string[]): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const r = await run("curl", ["-sS", "--max-time", "10", "-D", "-", ...args]);
  expect(r.stderr).toBe("");
  // The last head (after a 100 Continue, the real one).
  const heads = r.stdout.split("\r\n\r\n");
  let i = 0;
  while (/^HTTP\/[\d.]+ 100/.test(heads[i] ?? "")) i++;
  const head = heads[i]!;
  const headers: Record<string, string> = {};
  for (const line of head.split("\r\n").slice(1)) {
    const cut = line.indexOf(":");
    headers[line.slice(0, cut).toLowerCase()] = line.slice(cut + 1).trim();
  }
  return { status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(head)?.[1]), headers, body: heads.slice(i + 1).join("\r\n\r\n") };
}

/** A port no one listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

/** The own services every server here serves: diff.v1.InferenceService (PredictTensor left out) and a director written as a class. */
function ownApp(name: string, slow?: { started: () => void; finished: () => void }): App {
  const app = createApp({ name });
  app.service(InferenceService, {
    predictEcho: (req) => ({ result: req.data }),
    predictFail: (req) => {
      throw new ConnectError(req.message, req.code as Code);
    },
    predictSlow: async (req, ctx) => {
      slow?.started();
      await new Promise((r) => setTimeout(r, req.ms));
      slow?.finished();
      return { result: `slept ${req.ms} ms, aborted: ${ctx.signal.aborted}` };
    },
    predictTicks: async function* (req) {
      for (let i = 1; i <= req.count; i++) yield { result: i };
    },
  });
  // A servicer as ported from Python: methods on the prototype, calling each other through `this`.
  class DirectorServicer {
    current(): HealthStatus {
      return HealthStatus.DEGRADED;
    }
    getHealthStatus() {
      return { overallStatus: this.current() };
    }
  }
  app.service(InferenceDirector, new DirectorServicer());
  return app;
}

describe.each([
  ["the native gRPC path", true],
  ["connect-node alone (fastPath: false)", false],
])("an own service over gRPC, gRPC-Web and Connect, %s", (_name, fastPath) => {
  let server: BlazeServer;
  let client: grpc.Client;
  let base: string;
  const intercepted: string[] = [];
  const interceptor: Interceptor = (next) => async (req) => {
    intercepted.push(`${req.service.typeName}/${req.method.name}`);
    const res = await next(req);
    res.header.set("x-intercepted", "yes");
    return res;
  };
  let nativeRuns: jest.SpyInstance;

  beforeAll(async () => {
    // Which path answered: a call the native path takes runs a NativeCall; connect-node runs none.
    nativeRuns = jest.spyOn(NativeCall.prototype, "run");
    server = createServer({ app: ownApp("own"), port: 0, fastPath, interceptors: [interceptor] });
    await server.listen();
    base = server.url();
    client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    nativeRuns.mockRestore();
    client?.close();
    await server?.close();
  });
  beforeEach(() => {
    intercepted.length = 0;
    nativeRuns.mockClear();
  });

  it("lists the implemented methods of its own services as RPCs of no model", () => {
    expect(server.rpcs.filter((r) => r.path.startsWith(`/${DIFF}/`))).toEqual([
      { path: `/${DIFF}/PredictEcho`, model: "", kind: "unary" },
      { path: `/${DIFF}/PredictFail`, model: "", kind: "unary" },
      { path: `/${DIFF}/PredictSlow`, model: "", kind: "unary" },
      { path: `/${DIFF}/PredictTicks`, model: "", kind: "server_streaming" },
    ]);
  });

  it("answers a unary method over grpc-js, through the interceptors, on the native path when it is on", async () => {
    const { message, headers } = await unary(
      client,
      `/${DIFF}/PredictEcho`,
      PredictEchoRequestSchema,
      PredictEchoResponseSchema,
      { data: new Uint8Array([0, 1, 254, 255]) },
    );
    expect(message.result).toEqual(new Uint8Array([0, 1, 254, 255]));
    expect(headers.get("x-intercepted")).toEqual(["yes"]);
    expect(intercepted).toEqual([`${DIFF}/PredictEcho`]);
    expect(nativeRuns).toHaveBeenCalledTimes(fastPath ? 1 : 0);
  });

  it("answers a server-streaming method over grpc-js, through the interceptors", async () => {
    const got = await grpcServerStream(
      client,
      `/${DIFF}/PredictTicks`,
      PredictTicksRequestSchema,
      PredictTicksResponseSchema,
      { count: 3 },
    );
    expect(got.map((m) => m.result)).toEqual([1, 2, 3]);
    expect(intercepted).toEqual([`${DIFF}/PredictTicks`]);
    expect(nativeRuns).toHaveBeenCalledTimes(fastPath ? 1 : 0);
  });

  it("sends a ConnectError the method throws as its code and message", async () => {
    const p = unary(client, `/${DIFF}/PredictFail`, PredictFailRequestSchema, PredictFailResponseSchema, {
      code: Code.NotFound,
      message: "no job 42",
    });
    expect(await failure(p)).toEqual({ code: grpc.status.NOT_FOUND, message: "no job 42" });
  });

  it("answers UNIMPLEMENTED for a method the implementation leaves out", async () => {
    const p = unary(client, `/${DIFF}/PredictTensor`, PredictTensorRequestSchema, PredictTensorResponseSchema, {});
    expect(await failure(p)).toEqual({
      code: grpc.status.UNIMPLEMENTED,
      message: `${DIFF}.PredictTensor is not implemented`,
    });
  });

  it("calls a servicer's methods on the servicer (a class instance, `this` inside)", async () => {
    const { message } = await unary(
      client,
      `/${DIRECTOR}/GetHealthStatus`,
      GetHealthStatusRequestSchema,
      GetHealthStatusResponseSchema,
      {},
    );
    expect(message.overallStatus).toBe(HealthStatus.DEGRADED);
  });

  it("answers Connect JSON (curl) and gRPC-Web, through the interceptors", async () => {
    const json = await curl([
      "-X",
      "POST",
      "-H",
      "content-type: application/json",
      "-d",
      '{"data":"aGk="}',
      `${base}/${DIFF}/PredictEcho`,
    ]);
    expect([json.status, json.headers["x-intercepted"], JSON.parse(json.body)]).toEqual([
      200,
      "yes",
      { result: "aGk=" },
    ]);
    const missing = await curl([
      "-X",
      "POST",
      "-H",
      "content-type: application/json",
      "-d",
      "{}",
      `${base}/${DIFF}/PredictTensor`,
    ]);
    expect([missing.status, JSON.parse(missing.body)]).toEqual([
      501,
      { code: "unimplemented", message: `${DIFF}.PredictTensor is not implemented` },
    ]);
    const web = createClient(InferenceService, createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" }));
    expect((await web.predictEcho({ data: new Uint8Array([9]) })).result).toEqual(new Uint8Array([9]));
    expect(intercepted).toEqual([`${DIFF}/PredictEcho`, `${DIFF}/PredictTensor`, `${DIFF}/PredictEcho`]);
  });
});

describe("start and stop hooks around a server", () => {
  it("a start hook that throws: listen() rejects with its message, later hooks do not run, the port stays unbound", async () => {
    const app = ownApp("own");
    const ran: string[] = [];
    app.onStart(async function connectDatabase() {
      throw new Error("ECONNREFUSED 127.0.0.1:5432");
    });
    app.onStart(() => void ran.push("second start hook"));
    app.onStop(() => void ran.push("stop hook"));
    const port = await freePort();
    const server = createServer({ app, port });
    try {
      await expect(server.listen()).rejects.toThrow(
        "start hook 1 of 2 (connectDatabase) failed: ECONNREFUSED 127.0.0.1:5432",
      );
      expect(() => server.address()).toThrow("the server is not listening — call listen() first");
      expect(await refused(port)).toBe(true);
    } finally {
      await server.close();
    }
    expect(ran).toEqual([]);
  });

  it("stop hooks run at close(), in reverse order, after the call in flight has finished", async () => {
    const events: string[] = [];
    let started!: () => void;
    const inFlight = new Promise<void>((r) => (started = r));
    const app = ownApp("own", {
      started: () => (events.push("call started"), started()),
      finished: () => void events.push("call finished"),
    });
    const port = await freePort();
    app.onStart(async () => void events.push(`start a, port bound: ${!(await refused(port))}`));
    app.onStart(() => void events.push("start b"));
    app.onStop(() => void events.push("stop a"));
    app.onStop(async () => {
      await new Promise((r) => setTimeout(r, 10));
      events.push("stop b");
    });
    const server = createServer({ app, port });
    await server.listen();
    expect(events).toEqual(["start a, port bound: false", "start b"]);
    const client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure());
    try {
      const call = unary(client, `/${DIFF}/PredictSlow`, PredictSlowRequestSchema, PredictSlowResponseSchema, {
        ms: 300,
      });
      await inFlight;
      const closed = server.close().then(() => void events.push("closed"));
      expect((await call).message.result).toBe("slept 300 ms, aborted: false");
      await closed;
    } finally {
      client.close();
      await server.close();
    }
    expect(events).toEqual([
      "start a, port bound: false",
      "start b",
      "call started",
      "call finished",
      "stop b",
      "stop a",
      "closed",
    ]);
  });

  it("a port already in use: listen() rejects, and close() still runs the stop hooks of the start hooks that ran", async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const ran: string[] = [];
    const app = ownApp("own");
    app.onStart(() => void ran.push("start"));
    app.onStop(() => void ran.push("stop"));
    const server = createServer({ app, port: (taken.address() as net.AddressInfo).port });
    try {
      await expect(server.listen()).rejects.toThrow(/EADDRINUSE/);
      await server.close();
      expect(ran).toEqual(["start", "stop"]);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  it("close() lets a route request in flight answer; one still running past the grace period has its signal aborted (shutting down) and answers 503, before the stop hooks run", async () => {
    const app = ownApp("own");
    const events: string[] = [];
    let entered = 0;
    let bothIn!: () => void;
    const inFlight = new Promise<void>((r) => (bothIn = r));
    const arrived = () => ++entered === 2 && bothIn();
    app.route("GET", "/report", async () => {
      arrived();
      await new Promise((r) => setTimeout(r, 200));
      events.push("report answered");
      return { rows: 3 };
    });
    app.route("GET", "/forever", (req) => {
      arrived();
      return new Promise((_resolve, reject) =>
        req.signal.addEventListener("abort", () => {
          events.push(`forever aborted: ${(req.signal.reason as Error).message}`);
          reject(req.signal.reason as Error);
        }),
      );
    });
    app.onStop(() => void events.push("stop hook"));
    const server = createServer({ app, port: 0, closeGraceMs: 500 });
    await server.listen();
    const report = run("curl", ["-sS", "--max-time", "10", `${server.url()}/report`]);
    const forever = run("curl", ["-sS", "--max-time", "10", "-w", "\n%{http_code}", `${server.url()}/forever`]);
    await inFlight;
    await server.close();
    expect((await report).stdout).toBe('{"rows":3}\n');
    expect((await forever).stdout).toBe('{"code":"unavailable","message":"the server is shutting down"}\n\n503');
    expect(events).toEqual([
      "report answered",
      "forever aborted: [unavailable] the server is shutting down",
      "stop hook",
    ]);
  });

  it("close() while the start hooks still run: listen() then rejects and does not bind the port", async () => {
    let release!: () => void;
    const app = ownApp("own");
    app.onStart(() => new Promise<void>((r) => (release = r)));
    const port = await freePort();
    const server = createServer({ app, port });
    // Only to clean up should the server bind after all: its socket, as it listens.
    const listens = jest.spyOn(net.Server.prototype, "listen");
    try {
      const listening = server.listen().then(
        () => "listening",
        (e: Error) => `rejected: ${e.message}`,
      );
      await new Promise((r) => setImmediate(r));
      // close() cannot interrupt a start hook: it waits for it, then runs the stop hooks.
      const closed = server.close();
      release();
      await closed;
      const outcome = await listening;
      expect([outcome, await refused(port)]).toEqual([expect.stringMatching(/^rejected: /), true]);
    } finally {
      for (const r of listens.mock.contexts as net.Server[])
        if (r.listening) await new Promise((done) => r.close(done));
      listens.mockRestore();
    }
  });
});

describe("routes and own services behind auth, CORS and request logs", () => {
  let server: BlazeServer;
  let client: grpc.Client;
  let base: string;
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  const logs = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split("\n"))
        if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      waiters.splice(0).forEach((w) => w());
      cb();
    },
  });
  /** Resolves with the first log line that matches. */
  const logLine = (match: (l: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const check = () => {
        const hit = lines.find(match);
        if (hit !== undefined) resolve(hit);
        else waiters.push(check);
      };
      check();
    });
  const TOKEN = ["-H", "authorization: Bearer s3cret"];
  const ORIGIN = "https://app.example.com";
  const big = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "blaze-own-")), "big.json");

  beforeAll(async () => {
    fs.writeFileSync(big, JSON.stringify({ pad: "x".repeat(200_000) }));
    const app = ownApp("own");
    app.route("GET", "/health", () => ({ overall_status: "HEALTHY" }));
    app.route("GET", "/jobs/:id", (req) => ({ id: req.params.id, verbose: req.query.get("verbose") }));
    app.route("POST", "/jobs", async (req) => ({ size: JSON.stringify(await req.json()).length }));
    server = createServer({
      app,
      port: 0,
      readMaxBytes: 64 * 1024,
      auth: { tokens: ["s3cret"], exempt: ["health", "/health"] },
      cors: { origins: [ORIGIN] },
      log: pino({ base: null }, logs),
    });
    await server.listen();
    base = server.url();
    client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    fs.rmSync(path.dirname(big), { recursive: true, force: true });
  });

  it("an own service needs the token over gRPC and Connect", async () => {
    const echo = (metadata?: grpc.Metadata) =>
      unary(
        client,
        `/${DIFF}/PredictEcho`,
        PredictEchoRequestSchema,
        PredictEchoResponseSchema,
        { data: new Uint8Array([7]) },
        metadata,
      );
    expect(await failure(echo())).toEqual({
      code: grpc.status.UNAUTHENTICATED,
      message: "missing bearer token: send the header `authorization: Bearer <token>`",
    });
    const md = new grpc.Metadata();
    md.set("authorization", "Bearer s3cret");
    expect((await echo(md)).message.result).toEqual(new Uint8Array([7]));
    const connect = (extra: string[]) =>
      curl([
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        ...extra,
        "-d",
        '{"data":"Bw=="}',
        `${base}/${DIFF}/PredictEcho`,
      ]);
    const refusedCall = await connect([]);
    expect([refusedCall.status, refusedCall.headers["www-authenticate"]]).toEqual([401, 'Bearer realm="blazerpc"']);
    const ok = await connect(TOKEN);
    expect([ok.status, JSON.parse(ok.body)]).toEqual([200, { result: "Bw==" }]);
  });

  it("a route needs the token: 401 with a challenge without it, 200 with it", async () => {
    const none = await curl([`${base}/jobs/42?verbose=1`]);
    expect([none.status, none.headers["www-authenticate"], JSON.parse(none.body)]).toEqual([
      401,
      'Bearer realm="blazerpc"',
      { code: "unauthenticated", message: "missing bearer token: send the header `authorization: Bearer <token>`" },
    ]);
    const ok = await curl([...TOKEN, `${base}/jobs/42?verbose=1`]);
    expect([ok.status, JSON.parse(ok.body)]).toEqual([200, { id: "42", verbose: "1" }]);
  });

  it("a route `exempt` lists is open", async () => {
    const r = await curl([`${base}/health`]);
    expect([r.status, JSON.parse(r.body)]).toEqual([200, { overall_status: "HEALTHY" }]);
  });

  it("a known path with another method: 405 with allow", async () => {
    const r = await curl(["-X", "DELETE", ...TOKEN, `${base}/jobs`]);
    expect([r.status, r.headers.allow, JSON.parse(r.body)]).toEqual([
      405,
      "POST",
      { code: "unimplemented", message: "DELETE is not allowed here; allowed: POST" },
    ]);
  });

  it("HEAD on a path only POST answers: 405 over HTTP/1.1 and HTTP/2 alike", async () => {
    for (const version of ["--http1.1", "--http2-prior-knowledge"]) {
      const r = await curl([version, "-I", ...TOKEN, `${base}/jobs`]);
      expect([version, r.status, r.headers.allow]).toEqual([version, 405, "POST"]);
    }
  });

  it("CORS headers on a route for an allowed origin, none for another; a preflight is answered without a token", async () => {
    const allowed = await curl(["-H", `origin: ${ORIGIN}`, `${base}/health`]);
    expect([allowed.status, allowed.headers["access-control-allow-origin"], allowed.headers.vary]).toEqual([
      200,
      ORIGIN,
      "Origin",
    ]);
    const other = await curl(["-H", "origin: https://evil.example.com", `${base}/health`]);
    expect([other.status, other.headers["access-control-allow-origin"]]).toEqual([200, undefined]);
    const preflight = await curl([
      "-X",
      "OPTIONS",
      "-H",
      `origin: ${ORIGIN}`,
      "-H",
      "access-control-request-method: POST",
      "-H",
      "access-control-request-headers: authorization, content-type",
      `${base}/jobs`,
    ]);
    expect(preflight.status).toBe(204);
    expect(preflight.headers["access-control-allow-origin"]).toBe(ORIGIN);
    expect(preflight.headers["access-control-allow-headers"]).toMatch(/Authorization/);
  });

  it("a body over readMaxBytes streamed without a length → 413, over HTTP/1.1 (chunked) and HTTP/2", async () => {
    for (const [version, unsized] of [
      ["--http1.1", "transfer-encoding: chunked"],
      ["--http2-prior-knowledge", "content-length:"],
    ]) {
      const r = await curl([
        version!,
        "-X",
        "POST",
        ...TOKEN,
        "-H",
        "content-type: application/json",
        "-H",
        unsized!,
        "--data-binary",
        `@${big}`,
        `${base}/jobs`,
      ]);
      expect([version, r.status, JSON.parse(r.body)]).toEqual([
        version,
        413,
        { code: "resource_exhausted", message: "the request body is larger than the server's limit of 65536 bytes" },
      ]);
    }
    const small = await curl([
      "-X",
      "POST",
      ...TOKEN,
      "-H",
      "content-type: application/json",
      "-d",
      '{"a":1}',
      `${base}/jobs`,
    ]);
    expect([small.status, JSON.parse(small.body)]).toEqual([200, { size: 7 }]);
  });

  it('logs a "msg":"http" line for a route request, and a "msg":"rpc" line for an own-service call', async () => {
    await curl([...TOKEN, `${base}/jobs/log-me`]);
    const http = await logLine((l) => l.msg === "http" && l.path === "/jobs/log-me");
    expect(http).toEqual({
      level: 30,
      time: expect.any(Number),
      msg: "http",
      method: "GET",
      route: "/jobs/:id",
      path: "/jobs/log-me",
      http: "1.1",
      peer: "127.0.0.1",
      status: 200,
      ms: expect.any(Number),
    });
    await curl(["--http2-prior-knowledge", ...TOKEN, `${base}/jobs/over-h2`]);
    expect(await logLine((l) => l.msg === "http" && l.path === "/jobs/over-h2")).toMatchObject({
      level: 30,
      http: "2.0",
      status: 200,
    });
    await curl([`${base}/jobs/refused`]);
    expect(await logLine((l) => l.msg === "http" && l.path === "/jobs/refused")).toMatchObject({
      level: 40,
      status: 401,
    });
    await curl([
      "-X",
      "POST",
      "-H",
      "content-type: application/json",
      ...TOKEN,
      "-d",
      '{"code":5,"message":"no job 7"}',
      `${base}/${DIFF}/PredictFail`,
    ]);
    expect(await logLine((l) => l.msg === "rpc" && l.method === "PredictFail")).toMatchObject({
      level: 40,
      service: DIFF,
      model: "",
      protocol: "connect",
      code: "NOT_FOUND",
      error: "no job 7",
    });
  });
});

describe("createServer refuses routes it cannot serve", () => {
  const withRoutes = (routes: [method: "GET" | "POST", path: string][]) => {
    const app = ownApp("clash");
    for (const [method, p] of routes) app.route(method, p, () => ({}));
    return app;
  };

  it("lists every route on a path the server answers itself or on an RPC's path", () => {
    const app = withRoutes([
      ["GET", "/healthz"],
      ["GET", "/metrics"],
      ["POST", `/${DIFF}/PredictEcho`],
      ["GET", "/fine"],
    ]);
    expect(() => createServer({ app, port: 0 })).toThrow(
      `app "clash" has routes that cannot be served:\n  GET /healthz: the server answers /healthz itself\n  GET /metrics: the server answers /metrics itself\n  POST /${DIFF}/PredictEcho: that is the path of an RPC`,
    );
  });

  it("refuses a serving status set on a service the server does not serve", () => {
    const app = ownApp("typo");
    app.setServingStatus("NOT_SERVING", "director.v1.InferenceDirectr");
    expect(() => createServer({ app, port: 0 })).toThrow(
      `setServingStatus: no service "director.v1.InferenceDirectr" is served (served: ${DIFF}, ${DIRECTOR}; "" is the whole server)`,
    );
  });

  it("takes /metrics and /docs when the server does not serve them", () => {
    const app = withRoutes([
      ["GET", "/metrics"],
      ["GET", "/docs"],
    ]);
    expect(() => createServer({ app, port: 0, prometheus: false, docs: false })).not.toThrow();
  });

  it("refuses a route on the path of a method the implementation left out (reflection still lists it)", () => {
    const app = withRoutes([["POST", `/${DIFF}/PredictTensor`]]);
    expect(() => createServer({ app, port: 0 })).toThrow(`POST /${DIFF}/PredictTensor`);
  });

  it("refuses a pattern route that matches an RPC's path", () => {
    const app = withRoutes([["POST", "/:service/:method"]]);
    expect(() => createServer({ app, port: 0 })).toThrow("POST /:service/:method");
  });

  it("refuses an own service with the name of one the server serves itself", () => {
    const app = createApp({ name: "clash" });
    app.service(Health, {});
    expect(() => createServer({ app, port: 0 })).toThrow("service grpc.health.v1.Health is served twice");
  });
});
