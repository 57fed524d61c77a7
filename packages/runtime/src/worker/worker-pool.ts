import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Piscina } from "piscina";
import { prepareTransfer } from "./transfer.js";
import type { WorkerTask } from "./worker-entry.js";

/** Options of a model that runs in worker threads (`app.model(name, { worker: { ... } }, fn)`). */
export interface WorkerOptions {
  /**
   * Absolute path of the module that exports the function (for ES modules, or to be
   * explicit). Default: found among the loaded CommonJS modules' exports.
   */
  module?: string;
  /** The export's name in `module`. Default: `default` (or `module.exports` itself). */
  export?: string;
  /** Most threads. Default: the number of cores minus one (at least 1). */
  maxThreads?: number;
  /** Threads kept alive when idle. Default 1. */
  minThreads?: number;
  /** How long an idle thread above minThreads lives, in ms. Default 30000. */
  idleTimeoutMs?: number;
}

/** Where a model function comes from: the module that exports it, and the export's name. */
export interface FunctionSource {
  readonly file: string;
  readonly exportName: string;
}

/**
 * Finds the CommonJS module that exports `fn` (a model registered with `worker: true` must
 * be exported from its own module, so each worker thread can load it).
 */
export function findFunctionSource(fn: unknown): FunctionSource | undefined {
  for (const [file, mod] of Object.entries(require.cache)) {
    const exports = mod?.exports as unknown;
    if (exports === fn) return { file, exportName: "default" };
    if (typeof exports === "object" && exports !== null) {
      for (const [name, value] of Object.entries(exports)) {
        if (value === fn) return { file, exportName: name };
      }
    }
  }
  return undefined;
}

/** A pool of worker threads running one model's function. */
export interface WorkerPool {
  run(args: readonly unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Creates a piscina pool whose threads load `source` and run it. Tensor arguments and
 * results cross threads by transfer, not by copy.
 */
export function createWorkerPool(source: FunctionSource, options: WorkerOptions = {}): WorkerPool {
  const cores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  const { maxThreads = Math.max(1, cores - 1), minThreads = 1, idleTimeoutMs = 30_000 } = options;
  const pool = new Piscina({
    filename: workerEntry(),
    maxThreads,
    minThreads: Math.min(minThreads, maxThreads),
    idleTimeout: idleTimeoutMs,
  });
  return {
    run(args) {
      const transferList: ArrayBuffer[] = [];
      const task: WorkerTask = {
        file: source.file,
        exportName: source.exportName,
        args: prepareTransfer([...args], transferList),
      };
      return pool.run(task, { transferList });
    },
    close: () => pool.destroy(),
  };
}

/**
 * The compiled worker entry. Beside this file in dist/; when this file runs from source
 * (the test runner), the compiled one in dist/ (built by `tsc -b` before tests run).
 */
function workerEntry(): string {
  const beside = path.join(__dirname, "worker-entry.js");
  if (fs.existsSync(beside)) return beside;
  return path.resolve(__dirname, "..", "..", "dist", "worker", "worker-entry.js");
}
