#!/usr/bin/env node
// A rolling restart, simulated locally: two `blaze serve` processes (examples/iris, compiled)
// on two ports, with --drain-delay-ms 1000 and then 0; a client that balances calls over both the way a
// health-checking load balancer does (a gRPC health Watch per server; calls go round-robin
// to the servers that are SERVING) keeps calling from 16 concurrent callers while each server
// in turn is sent SIGTERM, drains, exits, and is started again on its port. Counts every
// call's outcome: the figure is the failed ones.
//
//   npm run bench:rollout            rewrites docs/benchmarks.md between the rollout-bench markers
//   node bench/rollout.cjs --quick   shorter, docs untouched
"use strict";
const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const {
  ROOT,
  writeDocSection,
  installExitHandlers,
  cleanUp,
  spawnOnCore,
  track,
  SERVER_CORE,
} = require("./harness.cjs");
const { RPC_PATH, fixture, create, toBinary, fromBinary } = require("./iris.cjs");
const { HealthCheckRequestSchema, HealthCheckResponseSchema } = require(
  path.join(ROOT, "packages/runtime/dist/gen/grpc/health/v1/health_pb.js"),
);

const QUICK = process.argv.includes("--quick");
const DRAIN_MS = [1000, 0];
const CALLERS = 16;
const SETTLE_MS = QUICK ? 500 : 1500;
const SERVING = 1;

/** `blaze serve` of the compiled iris example on `port`, with the drain delay; resolves once it serves. */
function startServer(port, drainMs) {
  return new Promise((resolve, reject) => {
    const child = track(
      spawnOnCore(
        SERVER_CORE,
        process.execPath,
        [
          path.join(ROOT, "packages/cli/bin/blaze.js"),
          "serve",
          path.join(ROOT, "examples/iris/dist/models.js"),
          "--gen",
          path.join(ROOT, "examples/iris/dist/gen"),
          "--host",
          "127.0.0.1",
          "--port",
          String(port),
          "--drain-delay-ms",
          String(drainMs),
        ],
        { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
      ),
    );
    let out = "";
    const exited = new Promise((r) => child.once("exit", (code) => r(code)));
    child.stdout.on("data", (d) => {
      out += d;
      const m = /serving app "iris" on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m !== null) resolve({ child, port: Number(m[1]), exited });
    });
    void exited.then((code) => reject(new Error(`blaze serve exited (${code}) before serving:\n${out}`)));
  });
}

/**
 * One backend as a balancer sees it: a channel, and its health from a Watch stream (re-opened
 * when it ends: the server went away, or came back).
 */
function backend(port) {
  const b = { port, serving: false, client: undefined, watch: undefined, stopped: false };
  const connect = () => {
    if (b.stopped) return;
    b.client?.close();
    b.client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const call = b.client.makeServerStreamRequest(
      "/grpc.health.v1.Health/Watch",
      (m) => Buffer.from(toBinary(HealthCheckRequestSchema, m)),
      (buf) => fromBinary(HealthCheckResponseSchema, buf),
      create(HealthCheckRequestSchema, {}),
    );
    b.watch = call;
    call.on("data", (res) => (b.serving = res.status === SERVING));
    const again = () => {
      b.serving = false;
      if (b.watch === call) setTimeout(connect, 50);
    };
    call.on("error", again);
    call.on("end", again);
  };
  connect();
  b.close = () => {
    b.stopped = true;
    b.watch?.cancel();
    b.client?.close();
  };
  return b;
}

/** One rolling restart of both servers under load; resolves with the counts and what happened when. */
async function rollout(drainMs, body) {
  const servers = [await startServer(0, drainMs), await startServer(0, drainMs)];
  const backends = servers.map((s) => backend(s.port));
  while (!backends.every((b) => b.serving)) await new Promise((r) => setTimeout(r, 10));
  const counts = { ok: 0, failed: 0, noBackend: 0 };
  const failures = new Map();
  let next = 0;
  let running = true;
  const callOnce = () =>
    new Promise((resolve) => {
      const ready = backends.filter((b) => b.serving);
      if (ready.length === 0) {
        counts.noBackend++;
        return setTimeout(resolve, 5);
      }
      const b = ready[next++ % ready.length];
      b.client.makeUnaryRequest(
        RPC_PATH,
        (m) => m,
        (buf) => buf,
        Buffer.from(body),
        { deadline: Date.now() + 5000 },
        (err) => {
          if (err === null) counts.ok++;
          else {
            counts.failed++;
            const key = `${grpc.status[err.code]}: ${err.details}`
              .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>")
              .replace(/\s*Resolution note:\s*$/, "");
            failures.set(key, (failures.get(key) ?? 0) + 1);
          }
          resolve();
        },
      );
    });
  const callers = Array.from({ length: CALLERS }, async () => {
    while (running) await callOnce();
  });
  const events = [];
  const started = Date.now();
  const log = (what) => {
    events.push(`${((Date.now() - started) / 1000).toFixed(2)} s ${what}`);
    console.error(`bench: drain ${drainMs} ms: ${events.at(-1)}`);
  };
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  for (let i = 0; i < servers.length; i++) {
    const old = servers[i];
    log(`SIGTERM to server ${i + 1}`);
    old.child.kill("SIGTERM");
    const code = await old.exited;
    log(`server ${i + 1} exited (${code})`);
    servers[i] = await startServer(old.port, drainMs);
    log(`server ${i + 1} serving again on its port`);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  }
  running = false;
  await Promise.all(callers);
  for (const b of backends) b.close();
  for (const s of servers) s.child.kill("SIGTERM");
  await Promise.all(servers.map((s) => s.exited));
  return { drainMs, counts, failures, events, seconds: (Date.now() - started) / 1000 };
}

async function main() {
  installExitHandlers((signal) => console.error(`bench: ${signal}, stopping`));
  const { request: body } = fixture();
  const runs = [];
  for (const drainMs of DRAIN_MS) runs.push(await rollout(drainMs, body));
  const withDelay = runs[0];
  const section = [
    "## A rolling restart without errors (`npm run bench:rollout`)",
    "",
    `Two \`blaze serve\` processes of examples/iris; a client balancing like a health-checking load balancer (a gRPC health Watch per server, calls round-robin over the SERVING ones), ${CALLERS} concurrent callers; each server in turn gets SIGTERM, drains, exits and is started again on its port. With the drain delay, then without it, same run. ${new Date().toISOString().slice(0, 10)}.`,
    "",
    "| `--drain-delay-ms` | calls | OK | failed | how they failed |",
    "|---:|---:|---:|---:|---|",
    ...runs.map(
      (r) =>
        `| ${r.drainMs} | ${r.counts.ok + r.counts.failed} in ${r.seconds.toFixed(1)} s | ${r.counts.ok} | **${r.counts.failed}** | ${[...r.failures].map(([k, n]) => `${n} × ${k}`).join("; ") || "—"} |`,
    ),
    "",
    `What happened with the delay (${withDelay.drainMs} ms):`,
    "",
    ...withDelay.events.map((e) => `- ${e}`),
    "",
    "At the signal the server's Watch turns NOT_SERVING and the client stops sending it calls, while the server still answers whatever was already on its way for the drain delay; then it closes. Without the delay the port closes at the signal, and calls sent in the moment before the client heard NOT_SERVING fail.",
  ].join("\n");
  console.log(section);
  if (!QUICK) {
    const { file, start, end } = writeDocSection("rollout", section);
    console.error(`bench: wrote ${path.relative(ROOT, file)} (between ${start} and ${end})`);
  }
  await cleanUp();
  if (withDelay.counts.failed > 0) process.exitCode = 1;
}

main().catch(async (err) => {
  console.error(err);
  await cleanUp();
  process.exit(1);
});
