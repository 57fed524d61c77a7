// The production entry: compiled to dist/server.js and run with plain `node`
// (no code generation, no TypeScript loader at run time). The MLP is built and loaded
// before the server listens, so the first request does not pay for it.
//
// MLP_STATS=1 counts what the executor did (ExecutorMetrics hooks) and prints it as one
// `STATS {json}` line on stdout on SIGUSR2 and at exit: the engine benchmark
// (bench/engine.cjs) compares the rows the model computed with the answers clients got.
import * as fs from "node:fs";
import { createServer, type ExecutorMetrics, serverOptionsFromEnv, stopOnSignals } from "@blazerpc/runtime";
import { InferenceServiceBinding } from "./gen/mlp/v1/mlp_blaze.js";
import { app, batchOptionsFromEnv, getMlpModel } from "./models.js";

/** Counters of the executor's hooks (MLP_STATS=1). */
interface Stats {
  /** Model calls, and the rows they computed (ok and failed). */
  batches: number;
  rowsComputed: number;
  rowsFailed: number;
  computeMs: number;
  /** Batch size → number of model calls of that size. */
  batchSizes: Record<number, number>;
  /** Requests taken from the queue into a batch, the longest wait, and those that waited ≥ MLP_STATS_LATE_MS. */
  dequeued: number;
  maxWaitMs: number;
  dequeuedLate: number;
  maxDepth: number;
  rejected: Record<string, number>;
}

function collectStats(lateMs: number): { stats: Stats; metrics: ExecutorMetrics } {
  const stats: Stats = {
    batches: 0,
    rowsComputed: 0,
    rowsFailed: 0,
    computeMs: 0,
    batchSizes: {},
    dequeued: 0,
    maxWaitMs: 0,
    dequeuedLate: 0,
    maxDepth: 0,
    rejected: {},
  };
  const metrics: ExecutorMetrics = {
    queued(_model, depth) {
      if (depth > stats.maxDepth) stats.maxDepth = depth;
    },
    dequeued(_model, waitMs) {
      stats.dequeued++;
      if (waitMs > stats.maxWaitMs) stats.maxWaitMs = waitMs;
      if (waitMs >= lateMs) stats.dequeuedLate++;
    },
    computed(_model, size, computeMs, ok) {
      stats.batches++;
      if (ok) stats.rowsComputed += size;
      else stats.rowsFailed += size;
      stats.computeMs += computeMs;
      stats.batchSizes[size] = (stats.batchSizes[size] ?? 0) + 1;
    },
    rejected(_model, reason) {
      stats.rejected[reason] = (stats.rejected[reason] ?? 0) + 1;
    },
  };
  return { stats, metrics };
}

const collected =
  process.env.MLP_STATS === "1" ? collectStats(Number(process.env.MLP_STATS_LATE_MS ?? 100)) : undefined;
if (collected !== undefined) {
  // A synchronous write: the exit handler cannot wait for a stream.
  const print = () => fs.writeSync(1, `STATS ${JSON.stringify(collected.stats)}\n`);
  process.on("SIGUSR2", print);
  process.on("exit", print);
}

const server = createServer({
  app,
  services: [InferenceServiceBinding],
  // Every BLAZE_* setting (BLAZE_HOST, BLAZE_PORT, limits, timeouts, drain, auth, …), as `blaze serve` reads it.
  ...serverOptionsFromEnv(),
  ...(collected !== undefined ? { metrics: collected.metrics } : {}),
});
getMlpModel()
  .then(() => server.listen())
  .then(
    () => {
      const batch = batchOptionsFromEnv();
      console.log(`mlp listening on ${server.url()} (batch: ${batch === undefined ? "off" : JSON.stringify(batch)})`);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
// SIGINT/SIGTERM (and, under `npm start`, npm's exit) drain the server, then exit.
stopOnSignals(server);
