#!/usr/bin/env node
// A/B of this tree's BlazeRPC server against another tree's (e.g. a `git worktree` of an
// older commit), for a change that must not cost per-call time: both iris servers run at
// once, pinned to the server core; h2load (gRPC unary PredictIris, one connection) is pinned
// to the other core and alternates between them round by round, so that drift of the
// machine (CPU frequency, a neighbour) falls on both alike.
//
//   git worktree add /tmp/blaze-old <commit> && (cd /tmp/blaze-old && npm run build)
//   npm run build && node bench/ab.cjs /tmp/blaze-old [--streams 1,16,64] [--rounds 4]
//
// Prints, per concurrency, each round's calls/s for both trees and their means.
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn, execFileSync } = require("node:child_process");
const { ROOT, RPC_PATH, fixture, grpcFrame } = require("./iris.cjs");
const { SERVER_CORE, LOADGEN_CORE } = require("./harness.cjs");

const other = process.argv[2];
if (other === undefined || !fs.existsSync(path.join(other, "bench", "servers", "blazerpc.cjs"))) {
  console.error("usage: node bench/ab.cjs <other tree, built> [--streams 1,16,64] [--rounds 4]");
  process.exit(2);
}
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const STREAMS = arg("--streams", "1,16,64").split(",").map(Number);
const ROUNDS = Number(arg("--rounds", "4"));
const trees = { other: path.resolve(other), this: ROOT };

const payload = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "blaze-ab-")), "request.bin");
fs.writeFileSync(payload, grpcFrame(fixture().request));

function start(tree) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "taskset",
      ["-c", String(SERVER_CORE), process.execPath, path.join(tree, "bench", "servers", "blazerpc.cjs"), "iris"],
      {
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
    child.once("error", reject);
    child.stdout.on("data", (d) => {
      const m = /READY (\d+)/.exec(String(d));
      if (m !== null) resolve({ child, port: Number(m[1]) });
    });
  });
}

function h2load(port, streams) {
  const out = execFileSync(
    "taskset",
    [
      "-c",
      String(LOADGEN_CORE),
      "h2load",
      "-c1",
      `-m${streams}`,
      "-t1",
      "-D",
      "5",
      "--warm-up-time=2",
      "-d",
      payload,
    ].concat(["-H", "content-type: application/grpc", "-H", "te: trailers", `http://127.0.0.1:${port}${RPC_PATH}`]),
    { encoding: "utf8" },
  );
  const m = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out);
  if (m === null || !/requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, 0 failed/.test(out))
    throw new Error(`h2load failed:\n${out}`);
  return Number(m[1]);
}

(async () => {
  const servers = { other: await start(trees.other), this: await start(trees.this) };
  try {
    for (const streams of STREAMS) {
      const got = { other: [], this: [] };
      for (let r = 0; r < ROUNDS; r++) {
        for (const k of r % 2 === 0 ? ["other", "this"] : ["this", "other"])
          got[k].push(Math.round(h2load(servers[k].port, streams)));
      }
      const mean = (xs) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
      console.log(
        `c=${streams}: other ${got.other.join(", ")} (mean ${mean(got.other)}); this ${got.this.join(", ")} (mean ${mean(got.this)}); this/other ${(mean(got.this) / mean(got.other)).toFixed(2)}`,
      );
    }
  } finally {
    for (const s of Object.values(servers)) s.child.stdin.end();
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
