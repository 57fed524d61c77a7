// The engine benchmark's server (bench/engine.cjs): examples/mlp's production entry,
// dist/server.js, as is — configured by its environment (MLP_BATCH, MLP_MAX_DELAY_MS,
// MLP_QUEUE_CAPACITY, MLP_STATS=1, BLAZE_PORT=0) — plus one thing:
//
// - it stops (SIGTERM, so the server closes and prints its STATS line) when its stdin
//   closes, so it never outlives a driver that was killed outright.
"use strict";
const path = require("node:path");

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  process.kill(process.pid, "SIGTERM");
};
process.stdin.once("end", stop).once("close", stop);
process.stdin.resume();
require(path.join(__dirname, "..", "..", "examples", "mlp", "dist", "server.js"));
