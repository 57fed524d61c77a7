// Runs in each worker thread of a model's pool (loaded by piscina): loads the model's own
// module once, calls the exported function, and sends the result back by transfer.
import { createRequire } from "node:module";
import { move, transferableSymbol, valueSymbol } from "piscina";
import { prepareTransfer } from "./transfer.js";

/** One call of a worker model. */
export interface WorkerTask {
  /** Absolute path of the module that exports the model function. */
  file: string;
  /** The export's name (`default` for `module.exports = fn`). */
  exportName: string;
  args: unknown[];
}

const loaded = new Map<string, (...args: unknown[]) => unknown>();

function load(file: string, exportName: string): (...args: unknown[]) => unknown {
  const key = `${file}#${exportName}`;
  let fn = loaded.get(key);
  if (fn === undefined) {
    const req = createRequire(file);
    if (/\.[cm]?ts$/.test(file)) {
      // A TypeScript model module in development: load it through tsx, resolved from the
      // user's project (production runs compiled JavaScript and never gets here).
      (req("tsx/cjs/api") as { register(): unknown }).register();
    }
    const mod = req(file) as Record<string, unknown> | ((...a: unknown[]) => unknown);
    const value =
      exportName === "default" && typeof mod === "function" ? mod : (mod as Record<string, unknown>)[exportName];
    if (typeof value !== "function") throw new Error(`${file} has no exported function "${exportName}"`);
    fn = value as (...args: unknown[]) => unknown;
    loaded.set(key, fn);
  }
  return fn;
}

export default async function runTask(task: WorkerTask): Promise<unknown> {
  const result = await load(task.file, task.exportName)(...task.args);
  const transfer: ArrayBuffer[] = [];
  const value = prepareTransfer(result, transfer);
  // move() marks it for piscina, which then sends `value` with `transfer` as its transfer list.
  return move({ [transferableSymbol]: transfer, [valueSymbol]: value } as never);
}
