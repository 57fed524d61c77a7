#!/usr/bin/env node
// Side-by-side gRPC benchmark: BlazeRPC's server (fast path on, and off) vs a bare
// connect-node handler, a bare grpc-js server and a raw node:http2 floor, driven by h2load.
// Four scenarios, the targets of the "gRPC at native speed" issue:
//
//   unary     iris, gRPC over h2c, 1/16/64 streams on one connection
//   echo      a 1 MiB float32 tensor sent and sent back (examples/bench), 16 streams
//   stream    server streaming, 100 small messages per call (examples/bench), 16 streams
//   connect   Connect unary with JSON over HTTP/1.1 (iris), 8 connections × 8 pipelined
//
//   npm run bench            builds, runs everything (~5 minutes), rewrites docs/benchmarks.md
//   node bench/run.cjs       the same without the build step (run `tsc -b` first)
//   node bench/run.cjs --only unary,connect   some scenarios only; docs/benchmarks.md untouched
//   node bench/run.cjs --quick   1-second runs to try the harness; docs/benchmarks.md untouched
//   node bench/run.cjs --render .bench-out/bench-….json   rewrites the section from a run's results
//
// Raw results go to .bench-out/ as JSON. See docs/benchmarks.md for what is measured and how.
"use strict";
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const h = require("./harness.cjs");
const { ROOT, RPC_PATH, fixture, grpcFrame, loadIrisPb, fromBinary } = require("./iris.cjs");
const { ECHO_PATH, TICKS_PATH, ECHO_FLOATS, TICKS, loadBenchPb, benchFixture } = require("./payloads.cjs");
const { toJsonString, fromJsonString } = require("@bufbuild/protobuf");

const QUICK = process.argv.includes("--quick");
/** `--only <id>[,<id>…]`: run only those scenarios (unary, echo, stream, connect); docs/benchmarks.md untouched. */
const ONLY = (() => {
  const i = process.argv.indexOf("--only");
  return i >= 0 ? new Set(String(process.argv[i + 1] ?? "").split(",")) : undefined;
})();
const WARMUP_S = QUICK ? 1 : 2;
const DURATION_S = QUICK ? 1 : 8;
const { SERVER_CORE, LOADGEN_CORE } = h;

// The servers, by the names the tables use. Each scenario starts its own process of each
// (`args`: which example app, and the variant).
const BLAZE = "blazerpc";
const BLAZE_NO_FAST = "blazerpc (no fast path)";
const BLAZE_NO_BATCH = "blazerpc (no batching)";
const CONNECT = "connect-node (bare)";
const GRPC_JS = "grpc-js (bare)";
const RAW = "raw node:http2";

function serverOf(name, app, { h1 = false } = {}) {
  switch (name) {
    case BLAZE:
      return { name, script: "servers/blazerpc.cjs", args: [app] };
    case BLAZE_NO_FAST:
      return { name, script: "servers/blazerpc.cjs", args: [app, "--no-fast-path"] };
    case BLAZE_NO_BATCH:
      return { name, script: "servers/blazerpc.cjs", args: [app, "--no-batching"] };
    case CONNECT:
      return { name, script: "servers/connect-node.cjs", args: h1 ? [app, "--h1"] : [app] };
    case GRPC_JS:
      return { name, script: "servers/grpc-js.cjs", args: [app] };
    case RAW:
      return { name, script: "servers/raw-http2.cjs", args: [app] };
  }
  throw new Error(`unknown server ${name}`);
}

const OUT_DIR = path.join(ROOT, ".bench-out");
const DOC = path.join(ROOT, "docs", "benchmarks.md");

let interrupted = false;
h.installExitHandlers((signal) => {
  interrupted = true;
  console.error(`\nbench: ${signal}, stopping`);
});
const { track, cleanUp, spawnOnCore, ensureH2load, parseH2load, readLog, percentile, checkRun, cpuBusyCores, PIN } = h;

// ---------------------------------------------------------------------------------------
// Servers

/** Starts a server script pinned to the server core; resolves once it prints `READY <port>`. */
function startServer(server) {
  return new Promise((resolve, reject) => {
    const child = track(
      spawnOnCore(SERVER_CORE, process.execPath, [path.join(__dirname, server.script), ...server.args], {
        cwd: ROOT,
        stdio: ["pipe", "pipe", "inherit"],
      }),
    );
    let buffered = "";
    let ready = false;
    const fail = (err) => {
      if (ready) return;
      ready = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`${server.name}: not ready after 20 s`)), 20_000);
    child.once("error", fail);
    child.once("exit", (code, signal) =>
      fail(new Error(`${server.name}: exited before it was ready (${signal ?? code})`)),
    );
    child.stdout.on("data", function onData(chunk) {
      buffered += chunk;
      const m = /READY (\d+)\n/.exec(buffered);
      if (m === null || ready) return;
      ready = true;
      clearTimeout(timer);
      // Keep draining stdout so a chatty server can never block on a full pipe.
      child.stdout.off("data", onData);
      child.stdout.resume();
      resolve({ child, port: Number(m[1]) });
    });
  });
}

/** SIGTERM, then SIGKILL if the server has not exited within 3 s. */
function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

// ---------------------------------------------------------------------------------------
// Verification: one real call per server before and after its runs, each sending the very
// bytes h2load sends. Each returns facts for the results (or nothing) and throws when the
// answer is wrong.

/** One gRPC unary call through @grpc/grpc-js's client; resolves to the decoded response. */
async function grpcUnary(port, rpcPath, request, responseSchema) {
  const grpc = require("@grpc/grpc-js");
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        rpcPath,
        () => Buffer.from(request),
        (buf) => fromBinary(responseSchema, buf),
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + 10_000 },
        (err, value) => (err ? reject(err) : resolve(value)),
      );
    });
  } finally {
    client.close();
  }
}

/** The probabilities of an iris response's tensor, checked against the reference math; whether bit-identical. */
function checkIrisResult(t, fx) {
  if (t === undefined || t.dtype !== "float32" || t.shape.join(",") !== "1,3" || t.data.byteLength !== 12) {
    throw new Error(`unexpected tensor: ${JSON.stringify(t, (_, v) => (typeof v === "bigint" ? Number(v) : v))}`);
  }
  // A copy, aligned: grpc-js hands over a Buffer, and Buffer#slice() would not copy.
  const got = new Float32Array(new Uint8Array(t.data).buffer);
  const maxDiff = Math.max(...got.map((v, i) => Math.abs(v - fx.probs[i])));
  if (!(maxDiff < 1e-6)) throw new Error(`probabilities ${[...got]} differ from expected ${[...fx.probs]}`);
  return got.every((v, i) => v === fx.probs[i]);
}

/** iris over gRPC: grpc-status OK, probabilities as expected. */
async function verifyIris(port, { fx }) {
  const res = await grpcUnary(port, RPC_PATH, fx.request, loadIrisPb().PredictIrisResponseSchema);
  return { bitExactAnswer: checkIrisResult(res.result, fx) };
}

/** echo over gRPC: the same 1 MiB tensor back, byte for byte. */
async function verifyEcho(port, { bx }) {
  const res = await grpcUnary(port, ECHO_PATH, bx.echoRequest, loadBenchPb().PredictEchoResponseSchema);
  const t = res.result;
  if (t === undefined || t.dtype !== "float32" || t.shape.join(",") !== `1,${ECHO_FLOATS}`) {
    throw new Error(`unexpected tensor: dtype ${t?.dtype}, shape [${t?.shape}]`);
  }
  if (
    Buffer.compare(
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      Buffer.from(bx.echoData.buffer),
    ) !== 0
  ) {
    throw new Error(`the tensor came back different (${t.data.byteLength} bytes)`);
  }
}

/** ticks over gRPC: exactly TICKS messages, index i and value i/2, then grpc-status OK. */
async function verifyTicks(port, { bx }) {
  const grpc = require("@grpc/grpc-js");
  const { PredictTicksResponseSchema } = loadBenchPb();
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const messages = await new Promise((resolve, reject) => {
      const got = [];
      const call = client.makeServerStreamRequest(
        TICKS_PATH,
        () => Buffer.from(bx.ticksRequest),
        (buf) => fromBinary(PredictTicksResponseSchema, buf),
        bx.ticksRequest,
        new grpc.Metadata(),
        { deadline: Date.now() + 10_000 },
      );
      call.on("data", (m) => got.push(m));
      call.on("error", reject);
      call.on("status", (s) =>
        s.code === grpc.status.OK ? resolve(got) : reject(new Error(`grpc-status ${s.code}: ${s.details}`)),
      );
    });
    if (messages.length !== TICKS) throw new Error(`${messages.length} messages, expected ${TICKS}`);
    messages.forEach((m, i) => {
      if (m.index !== i || m.value !== i / 2) throw new Error(`message ${i} is {index: ${m.index}, value: ${m.value}}`);
    });
  } finally {
    client.close();
  }
}

/**
 * iris as a Connect unary call with JSON over HTTP/1.1 (node:http, the very body h2load
 * sends): status 200, a JSON response with the expected probabilities. Returns the
 * response body's length, the DATA each h2load request must at least get.
 */
async function verifyConnectJson(port, { fx, irisJson }) {
  const { status, body } = await new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: RPC_PATH,
        headers: { "content-type": "application/json" },
        timeout: 10_000,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode, body: text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.end(irisJson);
  });
  if (status !== 200) throw new Error(`HTTP ${status}: ${body}`);
  const res = fromJsonString(loadIrisPb().PredictIrisResponseSchema, body);
  return { bitExactAnswer: checkIrisResult(res.result, fx), responseBodyBytes: Buffer.byteLength(body) };
}

// ---------------------------------------------------------------------------------------
// Scenarios

/**
 * Checks a run's DATA count against its requests: every finished request got at least
 * `responseBytes` (a gRPC error is an HTTP 200 with no message), and no started one got
 * more (every scenario's response has a fixed size: this catches a stream with a message
 * too many). Also fails on any failed, errored or timed-out request or non-2xx status
 * (checkRun checks these again for a measured run, along with its per-request log).
 */
function checkData(label, parsed, responseBytes, stdout) {
  const problems = [];
  if (parsed.done === 0) problems.push("no request finished");
  if (parsed.failed + parsed.errored + parsed.timeout > 0) {
    problems.push(`${parsed.failed} failed, ${parsed.errored} errored, ${parsed.timeout} timed out`);
  }
  if (parsed.status["2xx"] < parsed.done)
    problems.push(`${parsed.done} requests done but ${parsed.status["2xx"]} 2xx statuses`);
  if (parsed.dataBytes < parsed.done * responseBytes) {
    problems.push(
      `only ${parsed.dataBytes} DATA bytes for ${parsed.done} responses of ${responseBytes} bytes: some calls failed`,
    );
  }
  if (parsed.dataBytes > parsed.started * responseBytes) {
    problems.push(
      `${parsed.dataBytes} DATA bytes for ${parsed.started} responses of ${responseBytes} bytes: some answered too much`,
    );
  }
  if (problems.length > 0) {
    const summary = stdout
      .split("\n")
      .filter((line) => !/^(progress:|spawning|starting|Warm-up|Main benchmark)/.test(line))
      .join("\n");
    throw new Error(`${label}: h2load run is not clean: ${problems.join("; ")}\n${summary}`);
  }
}

/** h2load's per-request figures. */
function runStats(parsed, rows) {
  const ms = Float64Array.from(rows.filter((r) => r.status === 200).map((r) => r.ms)).sort();
  return {
    reqPerSec: parsed.reqPerSec,
    p50Ms: percentile(ms, 50),
    p90Ms: percentile(ms, 90),
    p99Ms: percentile(ms, 99),
    p999Ms: percentile(ms, 99.9),
  };
}

/**
 * The four scenarios. Per scenario: the servers (in table order), the request, the load
 * (`concurrency`: requests in flight in all, over `connections` connections), the check
 * of each run's DATA, and a throughput figure besides calls/s (`rate`).
 */
function scenarios({ fx, bx, irisJson }) {
  const irisFrame = grpcFrame(fx.request);
  const echoFrame = grpcFrame(bx.echoRequest);
  const echoResponseBytes = 5 + bx.echoResponse.length;
  return [
    {
      id: "unary",
      title: "Unary iris (gRPC, HTTP/2)",
      app: "iris",
      servers: [BLAZE, BLAZE_NO_BATCH, BLAZE_NO_FAST, CONNECT, GRPC_JS, RAW],
      ratioTo: [GRPC_JS, CONNECT, RAW],
      rpcPath: RPC_PATH,
      payload: irisFrame,
      connections: 1,
      concurrency: [1, 16, 64],
      verify: verifyIris,
      responseBytes: () => 5 + fx.response.length,
    },
    {
      id: "echo",
      title: "Tensor echo, 1 MiB (gRPC, HTTP/2)",
      app: "bench",
      servers: [BLAZE, BLAZE_NO_FAST, CONNECT, GRPC_JS, RAW],
      ratioTo: [GRPC_JS, CONNECT, RAW],
      rpcPath: ECHO_PATH,
      payload: echoFrame,
      connections: 1,
      concurrency: [16],
      verify: verifyEcho,
      responseBytes: () => echoResponseBytes,
      // Request and response gRPC frames (the tensor both ways, plus ~30 bytes), in MiB.
      rate: { label: "MiB/s (in + out)", perCall: (echoFrame.length + echoResponseBytes) / 2 ** 20, digits: 1 },
    },
    {
      id: "stream",
      title: `Server streaming, ${TICKS} messages per call (gRPC, HTTP/2)`,
      app: "bench",
      servers: [BLAZE, BLAZE_NO_FAST, CONNECT, GRPC_JS, RAW],
      ratioTo: [GRPC_JS, CONNECT, RAW],
      rpcPath: TICKS_PATH,
      payload: grpcFrame(bx.ticksRequest),
      connections: 1,
      concurrency: [16],
      verify: verifyTicks,
      responseBytes: () => bx.ticksResponseBytes,
      rate: { label: "msg/s", perCall: TICKS, digits: 0 },
    },
    {
      id: "connect",
      title: "Connect unary with JSON (HTTP/1.1)",
      app: "iris",
      h1: true,
      servers: [BLAZE, BLAZE_NO_FAST, CONNECT],
      ratioTo: [CONNECT],
      rpcPath: RPC_PATH,
      payload: Buffer.from(irisJson),
      headers: ["content-type: application/json"],
      connections: 8,
      concurrency: [64],
      verify: verifyConnectJson,
      // The body of the verified response: connect-node's JSON, the same for every server.
      responseBytes: (facts) => facts.responseBodyBytes,
    },
  ];
}

/** Runs one scenario's servers one after the other; returns its results. */
async function runScenario(sc, ctx, tmp) {
  const results = [];
  const payloadFile = path.join(tmp, `${sc.id}.body`);
  fs.writeFileSync(payloadFile, sc.payload);
  console.error(`bench: ${sc.title}`);
  for (const name of sc.servers) {
    if (interrupted) throw new Error("interrupted");
    const server = serverOf(name, sc.app, { h1: sc.h1 });
    const { child, port } = await startServer(server);
    try {
      const verified = async (when) => {
        try {
          return (await sc.verify(port, ctx)) ?? {};
        } catch (err) {
          throw new Error(`${sc.id}: ${name}: the verification call ${when} the runs failed: ${err.message}`);
        }
      };
      const facts = await verified("before");
      const responseBytes = sc.responseBytes(facts);
      for (const c of sc.concurrency) {
        const label = `${sc.id}: ${name} c=${c}`;
        const base = `${sc.id}-${server.script.replace(/\W/g, "_")}-${server.args.join("_").replace(/\W/g, "_")}-${c}`;
        const load = (durationS, logFile) =>
          h.runH2load({
            port,
            rpcPath: sc.rpcPath,
            streams: c / sc.connections,
            connections: sc.connections,
            warmupS: 0,
            durationS,
            payloadFile,
            logFile,
            h1: sc.h1 === true,
            ...(sc.headers !== undefined ? { headers: sc.headers } : {}),
          });
        // The warm-up is a run of its own (its connections closed after it), not h2load's
        // --warm-up-time: h2load's DATA count would include the warm-up's, and then the
        // measured run's could not be checked exactly.
        const warm = await load(WARMUP_S, path.join(tmp, `${base}-warmup.log`));
        checkData(`${label} (warm-up)`, parseH2load(warm.stdout), responseBytes, warm.stdout);
        const logFile = path.join(tmp, `${base}.log`);
        const run = await load(DURATION_S, logFile);
        const parsed = parseH2load(run.stdout);
        const rows = readLog(logFile);
        checkRun(label, c, parsed, rows, responseBytes);
        checkData(label, parsed, responseBytes, run.stdout);
        const result = {
          scenario: sc.id,
          server: name,
          concurrency: c,
          connections: sc.connections,
          ...runStats(parsed, rows),
          ...(sc.rate !== undefined ? { rate: parsed.reqPerSec * sc.rate.perCall, rateUnit: sc.rate.label } : {}),
          ...facts,
          h2load: { ...parsed, args: run.args, stdout: run.stdout },
        };
        results.push(result);
        console.error(
          `  ${name.padEnd(24)} c=${String(c).padEnd(2)}  ${result.reqPerSec.toFixed(0).padStart(6)} req/s  ` +
            (sc.rate !== undefined ? `${result.rate.toFixed(sc.rate.digits)} ${sc.rate.label}  ` : "") +
            `p50 ${result.p50Ms.toFixed(3)} ms  p99 ${result.p99Ms.toFixed(3)} ms`,
        );
      }
      // Still answering correctly after the load, not just before it.
      await verified("after");
    } finally {
      await stopServer(child);
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------
// Report

function machineInfo() {
  const devDeps = require(path.join(ROOT, "package.json")).devDependencies;
  return {
    ...h.machineInfo(),
    packages: {
      "@grpc/grpc-js": devDeps["@grpc/grpc-js"],
      "@connectrpc/connect-node": devDeps["@connectrpc/connect-node"],
      "@bufbuild/protobuf": devDeps["@bufbuild/protobuf"],
    },
  };
}

const find = (results, scenario, server, c) =>
  results.find((r) => r.scenario === scenario && r.server === server && r.concurrency === c);

/** ratios[peer] = this row's calls/s ÷ the peer's at the same scenario and concurrency. */
function addRatios(results, list) {
  for (const r of results) {
    const sc = list.find((s) => s.id === r.scenario);
    r.ratios = {};
    for (const peer of sc.ratioTo)
      r.ratios[peer] = r.reqPerSec / find(results, r.scenario, peer, r.concurrency)?.reqPerSec;
  }
}

const num = (v, digits) =>
  Number.isFinite(v)
    ? v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "—";
const shortName = (peer) => ({ [GRPC_JS]: "grpc-js", [CONNECT]: "connect-node", [RAW]: "raw http2" })[peer] ?? peer;

function scenarioTable(sc, results) {
  const rows = results.filter((r) => r.scenario === sc.id);
  const head = [
    "server",
    "concurrency",
    "calls/s",
    ...(sc.rate ? [sc.rate.label] : []),
    "p50 ms",
    "p99 ms",
    ...sc.ratioTo.map((p) => `ratio to ${shortName(p)}`),
  ];
  const lines = [
    `| ${head.join(" | ")} |`,
    `| --- | ${head
      .slice(1)
      .map(() => "---:")
      .join(" | ")} |`,
  ];
  // Grouped by concurrency so the servers sit next to each other.
  for (const c of sc.concurrency) {
    for (const r of rows.filter((x) => x.concurrency === c)) {
      const cells = [
        r.server,
        sc.connections > 1 ? `${c} (${sc.connections} × ${c / sc.connections})` : String(c),
        num(r.reqPerSec, 0),
        ...(sc.rate ? [num(r.rate, sc.rate.digits)] : []),
        num(r.p50Ms, 3),
        num(r.p99Ms, 3),
        ...sc.ratioTo.map((p) => `${num(r.ratios[p], 2)}×`),
      ];
      lines.push(`| ${cells.join(" | ")} |`);
    }
  }
  return lines.join("\n");
}

/** The targets, each with what this run measured. */
function targets(results) {
  const ratio = (scenario, c, peer, server = BLAZE) => find(results, scenario, server, c)?.ratios[peer];
  const atLeast = (want, got, what) => ({
    measured: `${num(got, 2)}× ${what}`,
    met: Number.isFinite(got) ? got >= want : undefined,
  });
  const b1 = find(results, "unary", BLAZE, 1)?.p50Ms;
  const g1 = find(results, "unary", GRPC_JS, 1)?.p50Ms;
  return [
    {
      target: "Unary iris, c=64: blazerpc ≥ 1.3× grpc-js (req/s)",
      ...atLeast(1.3, ratio("unary", 64, GRPC_JS), "grpc-js"),
    },
    {
      target: "Unary iris without batching, c=64: blazerpc ≥ 1.3× grpc-js (req/s)",
      ...atLeast(1.3, ratio("unary", 64, GRPC_JS, BLAZE_NO_BATCH), "grpc-js"),
    },
    {
      target: "Unary iris, c=64: blazerpc ≥ 0.6× raw node:http2 (req/s)",
      ...atLeast(0.6, ratio("unary", 64, RAW), "raw http2"),
    },
    {
      target: "Unary iris, c=1: blazerpc p50 ≤ grpc-js p50",
      measured: `${num(b1, 3)} ms vs ${num(g1, 3)} ms`,
      met: Number.isFinite(b1) && Number.isFinite(g1) ? b1 <= g1 : undefined,
    },
    {
      target: "Tensor echo 1 MiB, c=16: blazerpc ≥ 2× grpc-js (MiB/s)",
      ...atLeast(2, ratio("echo", 16, GRPC_JS), "grpc-js"),
    },
    {
      target: `Server streaming ${TICKS} messages, c=16: blazerpc ≥ 1.2× grpc-js (msg/s)`,
      ...atLeast(1.2, ratio("stream", 16, GRPC_JS), "grpc-js"),
    },
    {
      target: "Connect JSON over HTTP/1.1, c=64: blazerpc ≥ 1.5× bare connect-node (req/s)",
      ...atLeast(1.5, ratio("connect", 64, CONNECT), "connect-node"),
    },
  ];
}

function targetsTable(list) {
  const lines = ["| target | measured | met? |", "| --- | ---: | :---: |"];
  for (const t of list)
    lines.push(`| ${t.target} | ${t.measured} | ${t.met === undefined ? "—" : t.met ? "yes" : "no"} |`);
  return lines.join("\n");
}

function busyNote({ before, after }) {
  const worst = Math.max(before ?? 0, after ?? 0);
  return worst > 0.2
    ? `\n- **Warning:** up to ${worst.toFixed(2)} cores were busy with other work just before or after the run; the figures are noisy.`
    : "";
}

const START = "<!-- grpc-bench:start -->";
const END = "<!-- grpc-bench:end -->";

/**
 * docs/benchmarks.md holds other benchmarks' sections too (codegen, engine), each between
 * its own markers: replace only this benchmark's, or the text before the first marker when
 * the file has none of ours yet.
 */
function withSection(text) {
  const section = `${START}\n${text.trimEnd()}\n${END}\n`;
  if (!fs.existsSync(DOC)) return section;
  const old = fs.readFileSync(DOC, "utf8");
  const start = old.indexOf(START);
  const end = old.indexOf(END);
  if (start >= 0 && end > start) return old.slice(0, start) + section + old.slice(end + END.length + 1);
  const firstOther = old.indexOf("<!-- ");
  return section + (firstOther >= 0 ? "\n" + old.slice(firstOther) : "");
}

function docText(list, results, m, { bx, targetList }) {
  const echoFrameBytes = 5 + bx.echoRequest.length;
  const pinning = m.pinned
    ? `Each server runs alone (one after the other, a fresh process per scenario), pinned to core
  ${SERVER_CORE} with \`taskset -c ${SERVER_CORE}\`; h2load is pinned to core ${LOADGEN_CORE} (\`taskset -c ${LOADGEN_CORE}\`), so the load generator
  never takes the server's CPU.`
    : `Each server runs alone (one after the other, a fresh process per scenario). taskset or a
  second core was missing, so the server and h2load ran unpinned and shared the CPUs: these
  figures are less trustworthy than a pinned run's.`;
  const sections = list.map((sc, i) => `### ${i + 1}. ${sc.title}\n\n${scenarioTable(sc, results)}`).join("\n\n");
  return `# Benchmarks

BlazeRPC's server side by side with bare Node.js servers doing the same work, in four
scenarios — the targets of the "gRPC at native speed" issue, raised by "Faster than the server a Node user would pick" (Connect JSON to 1.5×):

1. **Unary iris** — the iris model of [\`examples/iris/models.ts\`](../examples/iris/models.ts) (a
   float32 tensor \`[1, 4]\` in, a linear layer 4 → 3 and a softmax, a float32 tensor \`[1, 3]\`
   out) as the gRPC unary call \`${RPC_PATH}\`, with 1, 16 or 64 calls in flight.
2. **Tensor echo** — \`echo\` of [\`examples/bench/models.ts\`](../examples/bench/models.ts): a float32
   tensor \`[1, ${ECHO_FLOATS}]\` (1 MiB) in, the same tensor out, as \`${ECHO_PATH}\`, 16 calls
   in flight.
3. **Server streaming** — \`ticks\` of \`examples/bench\`: \`n = ${TICKS}\` in, a stream of ${TICKS} small messages
   (\`{ index: int32, value: float }\`) out, as \`${TICKS_PATH}\`, 16 calls in flight.
4. **Connect over HTTP/1.1** — the iris call as a Connect unary request with JSON (\`POST\`,
   \`content-type: application/json\`), 64 in flight over 8 connections.

Run it with one command (it builds first, installs h2load from Debian's \`nghttp2-client\` if it
is missing, takes about five minutes, and rewrites this section; raw JSON goes to \`.bench-out/\`):

\`\`\`sh
npm run bench
\`\`\`

## The servers

- **blazerpc** — this project, as an app serves itself: \`createServer({ app, services: [InferenceServiceBinding] })\`
  with the example's app and generated binding (what \`examples/iris/server.ts\` runs) and default
  options: protocol sniffing on one port, HTTP routes, the generated tensor decode/encode, the
  executor, and gRPC on the native fast path (\`fastPath\`, default on).
- **blazerpc (no fast path)** — the same with \`fastPath: false\`: every protocol through
  connect-node, as before the fast path.
- **blazerpc (no batching)** (unary only) — the same app with its models registered again
  without their \`batch\` options (\`bench/servers/blazerpc.cjs --no-batching\`): one model
  call per request, no batcher.
- **connect-node (bare)** — a bare \`@connectrpc/connect-node\` ${m.packages["@connectrpc/connect-node"]} handler
  (\`connectNodeAdapter\` on \`http2.createServer\`; in the HTTP/1.1 scenario on \`http.createServer\`)
  implementing the same generated service: the stack BlazeRPC is built on, with nothing of
  BlazeRPC around it.
- **grpc-js (bare)** — a bare \`@grpc/grpc-js\` ${m.packages["@grpc/grpc-js"]} server for the same paths, (de)serializing
  with \`@bufbuild/protobuf\` ${m.packages["@bufbuild/protobuf"]} and the generated schemas; the stream is written with
  \`call.write()\` in a loop.
- **raw node:http2** — the floor: \`http2.createServer\` and its \`stream\` event (not the
  compatibility request/response API). It reads each request body and answers precomputed
  bytes — response headers, the gRPC message frame(s), trailers with \`grpc-status: 0\` — with
  no protobuf decoding or encoding, no validation and no model: what HTTP/2 itself costs in
  Node.js. For the echo it writes the request's bytes back (the response message is
  byte-identical to the request: both are a \`TensorProto\` in field 1); for the stream, the ${TICKS}
  reference messages, one write each, whatever \`n\` says. Like blazerpc, it raises each
  connection's receive window to 16 MiB, and like grpc-js it lifts Node's per-session memory
  cap (\`maxSessionMemory\`, 10 MB by default, past which Node.js refuses new streams: 16 echoes
  of 1 MiB in flight reach it). Otherwise the bare servers keep their defaults.

The bare connect-node and grpc-js servers decode the \`TensorProto\` into a \`Float32Array\` with
the same checks the BlazeRPC binding makes (dtype, shape, byte length), run the same
arithmetic (a copy of the iris model function in \`bench/iris.cjs\`; echo and ticks in
\`bench/payloads.cjs\`) and encode the result; every server's answer is checked.

## How it is measured

- Load: [h2load](https://nghttp2.org/documentation/h2load-howto.html) on 127.0.0.1: for each
  server and concurrency, a ${WARMUP_S} s warm-up run, then the measured ${DURATION_S} s run on fresh connections
  (two h2load runs, not \`--warm-up-time\`, whose DATA count would include the warm-up's and
  so could not be checked exactly).
  - Scenarios 1–3: h2c (HTTP/2 without TLS), one connection with \`c\` concurrent streams
    (\`-c1 -m<c>\`). The body is the gRPC-framed request message, sent with
    \`content-type: application/grpc\` and \`te: trailers\`.
  - Scenario 4: \`h2load --h1 -c8 -m8\`: 8 HTTP/1.1 keep-alive connections with 8 requests
    pipelined on each. The body is the request as JSON (protobuf-es's \`toJsonString\`), sent with
    \`content-type: application/json\`. h2load rather than a Node.js load generator such as
    autocannon: h2load pipelines HTTP/1.1 requests (\`-m\`), Node.js's HTTP server takes
    pipelined requests (it handles them concurrently and answers in order), and so the same
    native tool, pinning, per-request log and checks serve all four scenarios, with no new
    dependency and no JavaScript load generator competing for its core's cache and GC. A
    pipelined request's latency includes waiting behind the ones ahead of it on its
    connection, as HTTP/1.1 has it.
- ${pinning}
- calls/s is h2load's req/s for the measured ${DURATION_S} s. MiB/s (echo) = calls/s × the request's and
  the response's gRPC frames (${num(echoFrameBytes, 0)} bytes each: the tensor both ways) ÷ 2²⁰.
  msg/s (streaming) = calls/s × ${TICKS}. p50 and p99 are computed from h2load's per-request log
  (\`--log-file\`): time from request start to end of response (for the stream, of all of it).
- Correctness: before and after its runs, each server answers one real call — over gRPC from a
  \`@grpc/grpc-js\` client (iris: grpc-status OK, probabilities as expected; echo: the tensor back
  byte for byte; streaming: exactly ${TICKS} messages with the expected values, then grpc-status OK),
  over Connect from \`node:http\` (status 200, JSON with the expected probabilities). Each
  h2load run (warm-up included) must report no failed, errored or timed-out requests and only
  2xx statuses, and — since a gRPC error is an HTTP 200 with no message — a DATA count of at
  least one whole response per finished request and at most one per started request (for
  the stream, all ${TICKS} messages: ${num(bx.ticksResponseBytes, 0)} bytes; for Connect, the JSON body).
- ratio = this row's calls/s ÷ that server's calls/s in the same scenario at the same
  concurrency (above 1 is faster). For the echo and the stream, the same as the ratio of MiB/s
  or msg/s.

## Results

Figures from one run (not averaged) on the machine below. Single runs are noisy — on a small or
shared machine by tens of percent — so read the ratios within one run, and the absolute numbers
as this machine's only.

- CPU: ${m.cpu}, \`nproc\` = ${m.nproc}
- OS: ${m.os}
- Node.js ${m.node}, ${m.h2load}
- Date: ${m.date}${busyNote(m.busyCores)}

${sections}

### Targets

The issue's targets, from the tables above (blazerpc with its defaults):

${targetsTable(targetList)}

${whereTheTimeGoes()}`;
}

/** The analysis: written by hand, kept as is from run to run. */
function whereTheTimeGoes() {
  return `## Where the time goes

Profiles: \`node --cpu-prof bench/servers/blazerpc.cjs\` pinned to one core, h2load -c1 -m64
on the other, then the self and inclusive time per function of the \`.cpuprofile\`.

- **Before the native path** (fast path off, the "no fast path" rows): connect-node itself
  is 3–5× slower than a bare grpc-js server — at about 2,000 req/s it uses a whole core,
  400–500 µs of CPU per call, much of it in garbage collection and in per-request
  abort-signal and async-iterator machinery; its per-request objects survive young-generation
  collection, so full collections run about once a second. BlazeRPC's operating surface
  (call observers, Prometheus, connection tracking, the abort race around each model call)
  added about 400 µs per call on top.
- **The native path** takes \`application/grpc\` model calls straight from the HTTP/2
  stream: no compatibility request/response objects (measured alone: a \`stream\` handler
  answers ~25,000 req/s where the same handler on the compatibility API answers ~16,000),
  no async-iterator pipeline, headers objects built only when something reads them, no
  DOMException per call (a call answered in full never aborts its signal). That took the
  iris call from ~1,450 (no fast path) to ~6,000–8,000 req/s at c=64 on this machine.
- **Prometheus** was then the largest single cost: prom-client hashes a series' labels on
  every observe and inc, four or five times per call (~25–30% of the CPU under this load).
  The server now finds each series once and updates it in place
  (\`src/middleware/metrics/fast-series.ts\`); with and without metrics now measure the same.
- **The batcher's fast lane.** The iris example batches (\`maxBatchSize 32, maxDelayMs 0\`),
  and a model that does almost no work finds itself idle for nearly every call: each call was
  queued, given an abort listener and a promise, dispatched as a batch of one, its rows
  "concatenated" and "split" — ~25% of the CPU for a 4×3 linear layer. A call that finds the
  model idle and the queue empty, and would be dispatched alone at once anyway, is now
  computed directly: no queue entry, listener, concat or split, its result as the model
  returned it (\`src/batching/batcher.ts\`, \`runAlone\`). After it, the executor, batcher and
  model together are ~7% of the CPU at c=64.
- **What stands between BlazeRPC and the 1.3× grpc-js target.** Measured per call (thread CPU
  time from /proc during h2load -c1 -m64, server pinned to one core): blazerpc ~62 µs on the
  event loop + ~21 µs in V8's garbage-collector threads (which share the pinned core); bare
  grpc-js ~45 + ~20 µs; raw node:http2 ~27 µs + its share. 1.3× grpc-js is ~0.7× the raw
  floor here: it would leave ~16 µs per call for everything beyond answering an HTTP/2 stream
  — reading the body, protobuf-es decode and encode (~8 µs together), the tensor checks, the
  model, metrics, deadlines, bookkeeping — and for their garbage. In the profile (after the
  fast lane) the rest is spread thin: garbage collection ~22% of the samples plus ~15% "idle"
  (the event loop waiting while the collector's threads run), HTTP/2 \`respond\` and
  trailers ~6% (the same work grpc-js does), protobuf-es ~8%, observers and connection
  tracking ~5%.
- **No AbortController nobody listens to.** A native call made an AbortController (an
  EventTarget) per call, and the binding raced every model call against its signal (a
  listener and a promise per call): ~5% of the CPU, and their garbage. The signal is now
  made only when something asks for it (a queued request's batcher, a model that takes a
  \`CallContext\`, an interceptor), and a unary call whose model still computes when its
  deadline passes is answered by the call itself. Garbage collection went from ~22% to ~16%
  of the samples. What is left to try: no per-call timer and listeners for the body's
  timeout in the connection tracker (a sweep instead), and fewer closures per call in the
  observers.
- **1 MiB echo**: the stream window (4 MiB, Node's default 64 KiB) and frame size (64 KiB)
  settings and writing large frames as prefix + bytes gave the native path its first lead over
  grpc-js (1.3–1.8×). The profile then showed protobuf-es's \`toBinary\` as a third of the
  CPU: its writer grows its buffer by doubling (copying what it holds each time), copies the
  tensor in, shifts it by a byte to widen the enclosing message's length prefix, and copies
  the whole out at the end — three to four copies of the megabyte per answer, and as many
  large buffers for the collector. \`toBinarySegments\` (\`src/server/message-segments.ts\`)
  writes the very same bytes with a bytes value from 64 KiB on passed by reference (when it is
  a message's last field, at any depth, as a tensor's \`data\` is), and both native paths
  write the parts one after the other: 281–288 → 323–397 calls/s in the same pinned setup,
  2.7–4.7× grpc-js. What is left is the one copy of the request (its HTTP/2 chunks joined
  for protobuf-es) and the collector's work on the megabyte buffers each call brings; the raw
  floor server sends the chunks it received straight back.
- **Connect over HTTP/1.1**: through connect-node, BlazeRPC's Connect JSON calls ran at
  0.5–0.7× a bare connect-node handler, which is itself slow here (~230 µs of CPU per call:
  its profile has a \`DOMException\` with its stack trace made for every call's abort
  signal, ~10%, and a separate \`writev\` per response). The native Connect path
  (\`src/server/protocol-connect/\`) answers Connect unary calls on Node's request and
  response, as the native gRPC path does on the stream — no universal request, async
  iterators, linked abort controllers or per-call Headers, the abort signal made only when
  something listens — and is held to connect-node's answers by
  \`test/e2e/connect-differential.spec.ts\`: 2,834 → 8,012 calls/s (h2load \`--h1 -c8 -m8\`,
  pinned), 1.9–2.6× bare connect-node.
`;
}

// ---------------------------------------------------------------------------------------

/** `--render <json>`: writes this section again from a run's raw results (after the analysis text changed). */
function render(jsonFile) {
  const { machine, results } = JSON.parse(fs.readFileSync(jsonFile, "utf8"));
  const targetList = targets(results);
  const fx = fixture();
  const bx = benchFixture();
  const { PredictIrisRequestSchema } = loadIrisPb();
  const irisJson = toJsonString(PredictIrisRequestSchema, fromBinary(PredictIrisRequestSchema, fx.request));
  const list = scenarios({ fx, bx, irisJson });
  fs.writeFileSync(DOC, withSection(docText(list, results, machine, { bx, targetList })));
  console.error(`bench: wrote ${path.relative(ROOT, DOC)} from ${path.relative(ROOT, jsonFile)}`);
}

async function main() {
  const renderAt = process.argv.indexOf("--render");
  if (renderAt > 0) return render(process.argv[renderAt + 1]);
  ensureH2load();
  if (!PIN) console.error("bench: taskset or a second core is missing; running unpinned");

  const busy = await cpuBusyCores();
  if (busy !== undefined && busy > 0.2) {
    console.error(
      `bench: WARNING: the machine is busy (${busy.toFixed(2)} cores in use before starting); figures will be noisy`,
    );
  }

  const fx = fixture();
  const bx = benchFixture();
  const { PredictIrisRequestSchema } = loadIrisPb();
  const irisJson = toJsonString(PredictIrisRequestSchema, fromBinary(PredictIrisRequestSchema, fx.request));
  const ctx = { fx, bx, irisJson };
  const list = scenarios(ctx).filter((sc) => ONLY === undefined || ONLY.has(sc.id));
  const tmp = h.makeTmpDir("blazerpc-bench-");

  const results = [];
  const began = Date.now();
  try {
    for (const sc of list) results.push(...(await runScenario(sc, ctx, tmp)));
  } finally {
    h.removeTmp();
  }
  console.error(`bench: all scenarios in ${((Date.now() - began) / 1000).toFixed(0)} s`);

  // Other work that started during the run skews it just as much; look again.
  const busyAfter = await cpuBusyCores();
  if (busyAfter !== undefined && busyAfter > 0.2) {
    console.error(
      `bench: WARNING: the machine is busy (${busyAfter.toFixed(2)} cores in use after the run); figures will be noisy`,
    );
  }

  addRatios(results, list);
  const targetList = targets(results);
  const machine = { ...machineInfo(), busyCores: { before: busy, after: busyAfter } };
  for (const [i, sc] of list.entries()) console.log(`\n${i + 1}. ${sc.title}\n\n${scenarioTable(sc, results)}`);
  console.log(`\nTargets\n\n${targetsTable(targetList)}\n`);

  fs.mkdirSync(OUT_DIR, { recursive: true });
  const stamp = machine.date.replace(/[:.]/g, "-");
  const jsonFile = path.join(OUT_DIR, `bench-${stamp}${QUICK ? "-quick" : ""}.json`);
  const config = {
    quick: QUICK,
    warmupS: WARMUP_S,
    durationS: DURATION_S,
    scenarios: list.map((sc) => ({
      id: sc.id,
      title: sc.title,
      rpcPath: sc.rpcPath,
      servers: sc.servers,
      concurrency: sc.concurrency,
      connections: sc.connections,
      http: sc.h1 ? "1.1" : "2",
      requestBodyBytes: sc.payload.length,
    })),
  };
  fs.writeFileSync(jsonFile, JSON.stringify({ machine, config, targets: targetList, results }, null, 2) + "\n");
  console.error(`bench: raw results in ${path.relative(ROOT, jsonFile)}`);
  if (QUICK || ONLY !== undefined) {
    console.error(`bench: ${QUICK ? "--quick" : "--only"} run, docs/benchmarks.md left as it was`);
  } else {
    fs.mkdirSync(path.dirname(DOC), { recursive: true });
    fs.writeFileSync(DOC, withSection(docText(list, results, machine, { bx, targetList })));
    console.error(`bench: wrote ${path.relative(ROOT, DOC)}`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    // After a signal, the failures that killing h2load causes are noise, not news.
    if (interrupted) return;
    console.error(`bench: FAILED: ${err && err.stack ? err.stack : err}`);
    cleanUp().finally(() => process.exit(1));
  },
);
