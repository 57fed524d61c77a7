import cluster, { type Worker } from "node:cluster";
import { createRequire } from "node:module";
import * as os from "node:os";

/** The message a worker sends its primary for the whole set's `/metrics`, and the answer. */
interface MetricsRequest {
  readonly blazerpc: "metrics";
  readonly id: number;
}
interface MetricsAnswer {
  readonly blazerpc: "metrics";
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}
/** A worker's own readiness (its models, its drain, the app's status), sent on every change. */
interface ReadyReport {
  readonly blazerpc: "ready";
  readonly ready: boolean;
}
/** The primary's answer to every worker: whether the whole set is ready. */
interface PeersReport {
  readonly blazerpc: "peers";
  readonly ready: boolean;
}

/**
 * How many processes `--workers` asks for: an integer ≥ 1, or `auto` (one per core the
 * process may use).
 *
 * @throws Error naming where the value came from.
 * @example
 * workerCount("auto", "--workers"); // os.availableParallelism()
 */
export function workerCount(value: string | undefined, where: string): number {
  if (value === undefined || value === "") return 1;
  if (value === "auto") return os.availableParallelism();
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${where} must be an integer ≥ 1 or "auto", got ${JSON.stringify(value)}`);
  return n;
}

/** The prom-client that @blazerpc/runtime uses (its registry's class must be that one's). */
function promClient(): typeof import("prom-client") {
  const runtimeRequire = createRequire(require.resolve("@blazerpc/runtime"));
  return runtimeRequire("prom-client") as typeof import("prom-client");
}

/** Options of {@link runPrimary}. */
export interface PrimaryOptions {
  readonly count: number;
  /** Where its lines go. */
  readonly log: (line: string) => void;
  /** How long the workers get to drain after SIGTERM before they are killed: drain delay + grace + a margin. */
  readonly stopAfterMs: number;
}

/**
 * `blaze serve --workers N`: this process becomes the primary of N workers, each a `blaze
 * serve` of its own (its own models, its own onnxruntime sessions) sharing the one port
 * (node:cluster hands out the connections). The primary serves nothing itself. It:
 * - starts a worker again when one exits while serving, saying so;
 * - answers the workers' requests for the whole set's metrics (prom-client's
 *   AggregatorRegistry: counters and histograms summed, `/metrics` on any worker shows all);
 * - tells every worker whether the whole set is ready — every worker running and SERVING —
 *   so that gRPC health and `/readyz` on any of them speak for all (the server's `peers`);
 * - on SIGINT/SIGTERM sends SIGTERM to every worker (each drains: readiness NOT_SERVING, the
 *   drain delay, GOAWAY, the grace period) and exits 0 once all have exited.
 *
 * @example
 * if (cluster.isPrimary && count > 1) return runPrimary({ count, log: console.log, stopAfterMs: 30_000 });
 */
export function runPrimary(options: PrimaryOptions): Promise<void> {
  const { count, log } = options;
  const { AggregatorRegistry } = promClient();
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let announced = false;
  const ids = new Map<Worker, number>();
  const ready = new Map<Worker, boolean>();
  let allReady = false;
  const recompute = () => {
    const now = ids.size === count && [...ids.keys()].every((w) => ready.get(w) === true);
    if (now === allReady) return;
    allReady = now;
    for (const w of ids.keys()) if (w.isConnected()) w.send({ blazerpc: "peers", ready: now } satisfies PeersReport);
  };
  const fork = (id: number) => {
    const worker = cluster.fork({ BLAZE_WORKER_ID: String(id) });
    ids.set(worker, id);
    worker.on("message", (m: MetricsRequest | ReadyReport) => {
      if (m?.blazerpc === "ready") {
        ready.set(worker, m.ready);
        // A worker that starts while the set is ready learns it (it assumes not).
        if (allReady && worker.isConnected()) worker.send({ blazerpc: "peers", ready: true } satisfies PeersReport);
        recompute();
        return;
      }
      if (m?.blazerpc !== "metrics") return;
      aggregator.clusterMetrics().then(
        (text) => worker.isConnected() && worker.send({ blazerpc: "metrics", id: m.id, text } satisfies MetricsAnswer),
        (err: unknown) =>
          worker.isConnected() &&
          worker.send({ blazerpc: "metrics", id: m.id, error: String(err) } satisfies MetricsAnswer),
      );
    });
    worker.on("listening", (address) => {
      if (announced) return;
      announced = true;
      log(
        `blaze: ${count} workers (pids ${[...ids.keys()].map((w) => w.process.pid).join(", ")}) share port ${address.port}`,
      );
    });
    worker.on("exit", (code, signal) => {
      ids.delete(worker);
      ready.delete(worker);
      recompute();
      if (stopping) return;
      log(`blaze: worker ${id} (pid ${worker.process.pid}) exited (${signal ?? code}) — starting another`);
      fork(id);
    });
  };
  for (let i = 1; i <= count; i++) fork(i);
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log(`blaze: ${signal} again, exiting now`);
        for (const w of ids.keys()) w.process.kill("SIGKILL");
        process.exit(1);
      }
      stopping = true;
      log(`blaze: ${signal}: stopping ${ids.size} workers (each drains)`);
      for (const w of ids.keys()) w.process.kill("SIGTERM");
      const killer = setTimeout(() => {
        for (const w of ids.keys()) w.process.kill("SIGKILL");
      }, options.stopAfterMs);
      const check = () => {
        if (ids.size > 0) return;
        clearTimeout(killer);
        log("blaze: closed");
        resolve();
      };
      cluster.on("exit", check);
      check();
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
  });
}

/**
 * In a worker: the `/metrics` renderer that asks the primary for the whole set's metrics.
 * {@link shareMetrics} must have registered the worker's own registry first.
 *
 * @example
 * createServer({ ..., prometheus: { render: workerMetrics() } });
 */
export function workerMetrics(): () => Promise<string> {
  let next = 0;
  const pending = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  process.on("message", (m: MetricsAnswer) => {
    if (m?.blazerpc !== "metrics") return;
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    if (m.text !== undefined) p.resolve(m.text);
    else p.reject(new Error(m.error ?? "no metrics"));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      process.send!({ blazerpc: "metrics", id } satisfies MetricsRequest);
    });
}

/** In a worker: the registry whose metrics this worker gives the primary's aggregation. */
export function shareMetrics(registry: import("prom-client").Registry): void {
  const { AggregatorRegistry } = promClient();
  AggregatorRegistry.setRegistries([registry]);
  // prom-client answers the primary's requests once an AggregatorRegistry exists in the worker.
  new AggregatorRegistry();
}

/**
 * In a worker: the server's `peers` — the whole set's readiness as the primary last said it
 * (not ready until it says so) — and the function that reports this worker's own readiness
 * to the primary whenever it changes.
 *
 * @example
 * const { peers, report } = workerReadiness();
 * const server = createServer({ ..., peers });
 * report(server.health);
 */
export function workerReadiness(): {
  peers: { ready(): boolean; subscribe(listener: () => void): () => void };
  report(health: { localStatus(): string; subscribe(listener: () => void): () => void }): void;
} {
  let ready = false;
  const listeners = new Set<() => void>();
  process.on("message", (m: PeersReport) => {
    if (m?.blazerpc !== "peers" || m.ready === ready) return;
    ready = m.ready;
    for (const l of [...listeners]) l();
  });
  return {
    peers: {
      ready: () => ready,
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
    report(health) {
      let last: boolean | undefined;
      const send = () => {
        const now = health.localStatus() === "SERVING";
        if (now === last || !process.connected) return;
        last = now;
        process.send!({ blazerpc: "ready", ready: now } satisfies ReadyReport);
      };
      health.subscribe(send);
      send();
    },
  };
}

/** True in a worker of `blaze serve --workers N`. */
export function isWorker(): boolean {
  return cluster.isWorker;
}
