// The engine benchmark's server (bench/engine.cjs): examples/mlp's production entry,
// dist/server.js, as is — configured by its environment (MLP_BATCH, MLP_MAX_DELAY_MS,
// MLP_QUEUE_CAPACITY, MLP_STATS=1, BLAZE_PORT=0) — plus two things:
//
// - it stops (SIGTERM, so the server closes and prints its STATS line) when its stdin
//   closes, so it never outlives a driver that was killed outright;
// - BENCH_H2_WINDOW=<bytes>, a diagnostic: each HTTP/2 session's connection receive window
//   is raised to that size (Node.js keeps the protocol's default, 64 KB), to measure what
//   the window costs under open-loop load. Not something the runtime does (yet).
"use strict";
const http2 = require("node:http2");
const path = require("node:path");

const window = Number(process.env.BENCH_H2_WINDOW ?? 0);
if (window > 0) {
  const createServer = http2.createServer;
  http2.createServer = (...args) => {
    const server = createServer(...args);
    server.on("session", (session) => session.once("localSettings", () => session.setLocalWindowSize(window)));
    return server;
  };
}

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  process.kill(process.pid, "SIGTERM");
};
process.stdin.once("end", stop).once("close", stop);
process.stdin.resume();
require(path.join(__dirname, "..", "..", "examples", "mlp", "dist", "server.js"));
