#!/usr/bin/env node
// Side-by-side benchmark: BlazeRPC's server vs a bare connect-node handler vs a bare grpc-js
// server, all answering the same iris gRPC unary call, driven by h2load over h2c.
//
//   npm run bench            builds, runs everything (~2 minutes), rewrites docs/benchmarks.md
//   node bench/run.cjs       the same without the build step (run `tsc -b` first)
//   node bench/run.cjs --quick   1-second runs to try the harness; docs/benchmarks.md untouched
//
// Raw results go to .bench-out/ as JSON. See docs/benchmarks.md for what is measured and how.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const h = require("./harness.cjs");
const { ROOT, RPC_PATH, fixture, grpcFrame, loadIrisPb, fromBinary } = require("./iris.cjs");

const QUICK = process.argv.includes("--quick");
const WARMUP_S = QUICK ? 1 : 2;
const DURATION_S = QUICK ? 1 : 8;
/** Concurrent streams on one HTTP/2 connection (h2load -c1 -m<N>). */
const CONCURRENCY = [1, 16, 64];
const { SERVER_CORE, LOADGEN_CORE } = h;

const SERVERS = [
  { name: "blazerpc", script: "servers/blazerpc.cjs" },
  { name: "connect-node (bare)", script: "servers/connect-node.cjs" },
  { name: "grpc-js (bare)", script: "servers/grpc-js.cjs" },
];
const GRPC_JS = "grpc-js (bare)";
const CONNECT = "connect-node (bare)";

const OUT_DIR = path.join(ROOT, ".bench-out");
const DOC = path.join(ROOT, "docs", "benchmarks.md");

let interrupted = false;
h.installExitHandlers((signal) => {
  interrupted = true;
  console.error(`\nbench: ${signal}, stopping`);
});
const { track, cleanUp, spawnOnCore, ensureH2load, parseH2load, readLog, percentile, checkRun, cpuBusyCores, PIN } = h;

/** Runs h2load once against `port` with `streams` concurrent streams on one connection. */
function runH2load(port, streams, payloadFile, logFile) {
  return h.runH2load({ port, rpcPath: RPC_PATH, streams, warmupS: WARMUP_S, durationS: DURATION_S, payloadFile, logFile });
}

// ---------------------------------------------------------------------------------------
// Servers

/** Starts a server script pinned to the server core; resolves once it prints `READY <port>`. */
function startServer(server) {
  return new Promise((resolve, reject) => {
    const child = track(
      spawnOnCore(SERVER_CORE, process.execPath, [path.join(__dirname, server.script)], {
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
    child.once("exit", (code, signal) => fail(new Error(`${server.name}: exited before it was ready (${signal ?? code})`)));
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

/**
 * One real gRPC call through @grpc/grpc-js's client, sending the very bytes h2load sends:
 * checks grpc-status OK and the probabilities against the reference math. Returns whether
 * the answer was bit-identical to the reference.
 */
async function verifyCall(name, port, fx) {
  const grpc = require("@grpc/grpc-js");
  const { PredictIrisResponseSchema } = loadIrisPb();
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const res = await new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        RPC_PATH,
        () => Buffer.from(fx.request),
        (buf) => fromBinary(PredictIrisResponseSchema, buf),
        null,
        { deadline: Date.now() + 5000 },
        (err, value) => (err ? reject(err) : resolve(value)),
      );
    });
    const t = res.result;
    if (t === undefined || t.dtype !== "float32" || t.shape.join(",") !== "1,3" || t.data.byteLength !== 12) {
      throw new Error(`unexpected tensor: ${JSON.stringify(t, (_, v) => (typeof v === "bigint" ? Number(v) : v))}`);
    }
    // A copy, aligned: grpc-js hands over a Buffer, and Buffer#slice() would not copy.
    const got = new Float32Array(new Uint8Array(t.data).buffer);
    const maxDiff = Math.max(...got.map((v, i) => Math.abs(v - fx.probs[i])));
    if (!(maxDiff < 1e-6)) throw new Error(`probabilities ${[...got]} differ from expected ${[...fx.probs]}`);
    return got.every((v, i) => v === fx.probs[i]);
  } catch (err) {
    throw new Error(`${name}: the verification call failed: ${err.message}`);
  } finally {
    client.close();
  }
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

function addRatios(results) {
  const rps = (name, c) => results.find((r) => r.server === name && r.concurrency === c)?.reqPerSec;
  for (const r of results) {
    r.ratioToGrpcJs = r.reqPerSec / rps(GRPC_JS, r.concurrency);
    r.ratioToConnectNode = r.reqPerSec / rps(CONNECT, r.concurrency);
  }
}

function markdownTable(results) {
  const num = (v, digits) => v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const lines = [
    "| server | concurrency | req/s | p50 ms | p99 ms | ratio to grpc-js | ratio to connect-node |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  // Grouped by concurrency so the three servers sit next to each other.
  for (const c of CONCURRENCY) {
    for (const r of results.filter((x) => x.concurrency === c)) {
      lines.push(
        `| ${r.server} | ${c} | ${num(r.reqPerSec, 0)} | ${num(r.p50Ms, 3)} | ${num(r.p99Ms, 3)} | ` +
          `${num(r.ratioToGrpcJs, 2)}× | ${num(r.ratioToConnectNode, 2)}× |`,
      );
    }
  }
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

function docText(table, m) {
  const pinning = m.pinned
    ? `Each server runs alone (one after the other) in its own Node.js process, pinned to core
  ${SERVER_CORE} with \`taskset -c ${SERVER_CORE}\`; h2load is pinned to core ${LOADGEN_CORE} (\`taskset -c ${LOADGEN_CORE}\`), so the load generator
  never takes the server's CPU.`
    : `Each server runs alone (one after the other) in its own Node.js process. taskset or a second
  core was missing, so the server and h2load ran unpinned and shared the CPUs: these figures
  are less trustworthy than a pinned run's.`;
  return `# Benchmarks

BlazeRPC's server side by side with two bare Node.js gRPC servers, all three doing the same
work: the iris model of [\`examples/iris/models.ts\`](../examples/iris/models.ts) — a float32
tensor \`[1, 4]\` in, a linear layer 4 → 3 and a softmax, a float32 tensor \`[1, 3]\` out — as the
gRPC unary call \`${RPC_PATH}\`.

Run it with one command (it builds first, installs h2load from Debian's \`nghttp2-client\` if it
is missing, takes about two minutes, and rewrites this file; raw JSON goes to \`.bench-out/\`):

\`\`\`sh
npm run bench
\`\`\`

## The servers

- **blazerpc** — this project: \`createServer({ app, services: [InferenceServiceBinding] })\` with
  the iris example's app and generated binding (what \`examples/iris/server.ts\` runs): protocol
  sniffing on one port, HTTP routes, the generated tensor decode/encode, the executor.
- **connect-node (bare)** — a bare \`@connectrpc/connect-node\` ${m.packages["@connectrpc/connect-node"]} handler
  (\`connectNodeAdapter\` on \`http2.createServer\`) implementing the same generated service: the stack
  BlazeRPC is built on, with nothing of BlazeRPC around it.
- **grpc-js (bare)** — a bare \`@grpc/grpc-js\` ${m.packages["@grpc/grpc-js"]} server for the same path, (de)serializing
  with \`@bufbuild/protobuf\` ${m.packages["@bufbuild/protobuf"]} and the generated schemas.

The two bare servers decode the \`TensorProto\` into a \`Float32Array\` with the same checks the
BlazeRPC binding makes, run the same arithmetic (a copy of the model function, in
\`bench/iris.cjs\`) and encode the result; every server's answer is checked against it.

## How it is measured

- Load: [h2load](https://nghttp2.org/documentation/h2load-howto.html) over h2c (HTTP/2 without
  TLS) on 127.0.0.1, one connection with 1, 16 or 64 concurrent streams (\`-c1 -m<N>\`), each for
  ${DURATION_S} s after a ${WARMUP_S} s warm-up. The body is a gRPC-framed \`PredictIrisRequest\` (one row), sent with
  \`content-type: application/grpc\` and \`te: trailers\`.
- ${pinning}
- req/s is h2load's figure for the measured ${DURATION_S} s; p50 and p99 are computed from h2load's
  per-request log (\`--log-file\`), time from request start to end of response.
- Correctness: before and after its runs, each server answers one real call from a
  \`@grpc/grpc-js\` client (grpc-status OK, probabilities as expected). Each h2load run must
  report no failed, errored or timed-out requests and only 2xx statuses, and — since a gRPC error
  is an HTTP 200 with no message — at least one response message's worth of DATA per request.
- ratio = this row's req/s ÷ that server's req/s at the same concurrency (above 1 is faster).

## Results

Figures from one run (not averaged) on the machine below. Single runs are noisy — on a small or
shared machine by tens of percent — so read the ratios within one run, and the absolute numbers
as this machine's only.

- CPU: ${m.cpu}, \`nproc\` = ${m.nproc}
- OS: ${m.os}
- Node.js ${m.node}, ${m.h2load}
- Date: ${m.date}${busyNote(m.busyCores)}

${table}

## Where the time goes

- When the server was only protocol sniffing, the dispatch point, the generated tensor
  decode/encode and the executor, BlazeRPC ran at 0.85–0.96× of the bare connect-node handler.
  The operating surface added since (per-call health gate, connection tracking, Prometheus
  metrics, the call observer behind logs and traces, the abort race around each model call)
  costs about 400 µs of CPU per call on top of connect-node's: a profile of the server under
  this load (\`node --cpu-prof bench/servers/blazerpc.cjs\`, then h2load -c1 -m64) puts ~10% of
  its busy time in those layers and ~19% in garbage collection, much of it their
  per-call objects (closures, promises, listeners, label maps). Compare the ratios to
  connect-node in the table. Trimming that per-call work (allocating once per server, not
  per call, and skipping the tracing interceptor when no OpenTelemetry SDK is installed)
  belongs with the native path below, which rebuilds this hot path.
- connect-node itself is 3–5× slower than a bare grpc-js server: at about 2,000–2,500 req/s
  it uses a whole core, roughly 400–500 µs of CPU per call. A CPU profile
  (\`node --cpu-prof bench/servers/connect-node.cjs\`) shows much of it in garbage collection
  and in per-request abort-signal and async-iterator machinery. With \`--trace-gc\`, its
  per-request objects mostly survive young-generation collection: scavenges take 15–20 ms,
  a full collection runs about once a second and the heap grows about 10 MB/s, which is also
  why p99 at one stream is about 8 ms (grpc-js: 0.3 ms, with scavenges of about 1 ms).
- So the way past grpc-js is to take \`application/grpc\` traffic off connect-node: the
  native HTTP/2 path of the "gRPC at native speed" issue, at the server's dispatch point.
`;
}

// ---------------------------------------------------------------------------------------

async function main() {
  ensureH2load();
  if (!PIN) console.error("bench: taskset or a second core is missing; running unpinned");

  const busy = await cpuBusyCores();
  if (busy !== undefined && busy > 0.2) {
    console.error(`bench: WARNING: the machine is busy (${busy.toFixed(2)} cores in use before starting); figures will be noisy`);
  }

  const fx = fixture();
  const tmp = h.makeTmpDir("blazerpc-bench-");
  const payloadFile = path.join(tmp, "request.grpc");
  fs.writeFileSync(payloadFile, grpcFrame(fx.request));
  const responseFrameBytes = 5 + fx.response.length;

  const results = [];
  try {
    for (const server of SERVERS) {
      console.error(`bench: ${server.name}`);
      const { child, port } = await startServer(server);
      try {
        const bitExact = await verifyCall(server.name, port, fx);
        for (const streams of CONCURRENCY) {
          const label = `${server.name} c=${streams}`;
          const logFile = path.join(tmp, `${server.script.replace(/\W/g, "_")}-${streams}.log`);
          const run = await runH2load(port, streams, payloadFile, logFile);
          const parsed = parseH2load(run.stdout);
          const rows = readLog(logFile);
          checkRun(label, streams, parsed, rows, responseFrameBytes);
          const ms = Float64Array.from(rows.filter((r) => r.status === 200).map((r) => r.ms)).sort();
          const result = {
            server: server.name,
            concurrency: streams,
            reqPerSec: parsed.reqPerSec,
            p50Ms: percentile(ms, 50),
            p90Ms: percentile(ms, 90),
            p99Ms: percentile(ms, 99),
            p999Ms: percentile(ms, 99.9),
            h2load: { ...parsed, args: run.args, stdout: run.stdout },
          };
          results.push(result);
          console.error(
            `  c=${String(streams).padEnd(2)}  ${result.reqPerSec.toFixed(0).padStart(6)} req/s  ` +
              `p50 ${result.p50Ms.toFixed(3)} ms  p99 ${result.p99Ms.toFixed(3)} ms`,
          );
        }
        // Still answering correctly after the load, not just before it.
        await verifyCall(server.name, port, fx);
        results.filter((r) => r.server === server.name).forEach((r) => (r.bitExactAnswer = bitExact));
      } finally {
        await stopServer(child);
      }
    }
  } finally {
    h.removeTmp();
  }

  // Other work that started during the run skews it just as much; look again.
  const busyAfter = await cpuBusyCores();
  if (busyAfter !== undefined && busyAfter > 0.2) {
    console.error(`bench: WARNING: the machine is busy (${busyAfter.toFixed(2)} cores in use after the run); figures will be noisy`);
  }

  addRatios(results);
  const machine = { ...machineInfo(), busyCores: { before: busy, after: busyAfter } };
  const table = markdownTable(results);
  console.log(`\n${table}\n`);

  fs.mkdirSync(OUT_DIR, { recursive: true });
  const stamp = machine.date.replace(/[:.]/g, "-");
  const jsonFile = path.join(OUT_DIR, `bench-${stamp}${QUICK ? "-quick" : ""}.json`);
  const config = { quick: QUICK, warmupS: WARMUP_S, durationS: DURATION_S, concurrency: CONCURRENCY, connections: 1 };
  fs.writeFileSync(jsonFile, JSON.stringify({ machine, config, results }, null, 2) + "\n");
  console.error(`bench: raw results in ${path.relative(ROOT, jsonFile)}`);
  if (QUICK) {
    console.error("bench: --quick run, docs/benchmarks.md left as it was");
  } else {
    fs.mkdirSync(path.dirname(DOC), { recursive: true });
    fs.writeFileSync(DOC, withSection(docText(table, machine)));
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
