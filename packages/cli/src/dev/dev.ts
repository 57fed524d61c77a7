import cluster, { type Worker as ClusterWorker } from "node:cluster";
import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { watch, type FSWatcher } from "chokidar";
import { hashFile, manifestPath } from "../cache.js";
import type { ResolvedServeOptions } from "../commands/serve-options.js";
import { isZeroCodeEntry } from "../zero-code/model-repository.js";
import { isTypeScript, projectPaths, splitEntry } from "../paths.js";
import type { BuildOutcome } from "./builder.js";
import type { BuildReply, BuildRequest } from "./builder-thread.js";
import type { ChildMessage, ServeRequest } from "./serve-child.js";

/** Options of {@link dev}: those of `blaze serve`, and how to report. */
export interface DevOptions extends ResolvedServeOptions {
  /** Type-check a change before serving it (default true). */
  readonly typeCheck?: boolean;
  /** Quiet time after the last file event before a rebuild, in ms (default 100): an editor's save is a burst of events. */
  readonly debounceMs?: number;
  /** Progress lines (stdout). */
  readonly log: (line: string) => void;
  /** Diagnostics and failures (stderr). */
  readonly error: (text: string) => void;
}

/** A running `blaze dev`. */
export interface DevSession {
  /** Where the servers listen (the same across restarts); undefined before the first one served. */
  url(): string | undefined;
  /** Stops the watcher, the builder and every server (gracefully, as SIGTERM stops `blaze serve`). */
  close(): Promise<void>;
}

/** A server process (a cluster worker) and what it said. */
interface Child {
  readonly worker: ClusterWorker;
  /** spare: loaded the runtime, waits; starting: told to serve; serving: answered ready; gone: exited. */
  state: "spare" | "starting" | "serving" | "gone";
  /** The port it was asked to listen on: 0 while it shares the dev process's first port-0 socket. */
  portArg: number;
  url: string;
  rpcs: readonly string[];
  banner: string;
  readonly exited: Promise<void>;
  /** Resolves once it no longer accepts connections (it is draining, or gone). */
  readonly closing: Promise<void>;
  /** Called once when a starting server serves or fails. */
  settle?: (r: { ok: true } | { ok: false; failed: string }) => void;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(ms < 1000 ? 2 : 1)} s`;
const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
const rel = (f: string) => path.relative(process.cwd(), f) || f;

/**
 * `blaze dev <entry>[:export]`: serves the entry as `blaze serve` does, watches it and every
 * file it imports, and on a change regenerates the schema and code (when a signature
 * changed), type-checks, and restarts the server on the same port. A change that does not
 * type-check, does not generate or does not start leaves the last good server answering.
 *
 * The dev process owns the port: each server is a cluster worker, and cluster shares one
 * listening socket among them (SCHED_NONE: the workers accept from it themselves), so the
 * new server starts beside the old one, which then stops gracefully — no connection is
 * refused during a restart, and every restart loads the user's modules afresh.
 *
 * @example
 * const session = await dev("models.ts", { ...resolveServeOptions({}, process.env), log: console.log, error: console.error });
 * process.once("SIGINT", () => void session.close());
 */
export async function dev(entrySpec: string, options: DevOptions): Promise<DevSession> {
  const { file } = splitEntry(entrySpec);
  const paths = projectPaths(file, options);
  if (!fs.existsSync(paths.entry)) throw new Error(`entry file not found: ${file}`);
  if (!isTypeScript(paths.entry))
    throw new Error(
      `blaze dev watches a TypeScript entry (models.ts); serve ${isZeroCodeEntry(file) ? "model files" : "compiled JavaScript"} with \`blaze serve ${file}\``,
    );
  const { log, error } = options;
  const debounceMs = options.debounceMs ?? 100;
  const started = performance.now();
  // Beside `blaze generate`'s manifest (node_modules/.cache/blazerpc), rewritten per schema.
  const descriptorSetFile = manifestPath(paths.projectDir, `${paths.entry}\0${paths.protoDir}\0descriptor set`).replace(
    /\.json$/,
    ".binpb",
  );
  fs.mkdirSync(path.dirname(descriptorSetFile), { recursive: true });
  const outputs = [paths.genDir, paths.protoDir].map((d) => d + path.sep);

  // ---- the builder thread --------------------------------------------------------------
  let thread: Worker | undefined;
  let nextId = 0;
  const pending = new Map<number, { resolve: (o: BuildOutcome) => void; reject: (e: Error) => void }>();
  const startThread = (): Worker => {
    const w = new Worker(path.join(__dirname, "builder-thread.js"), {
      workerData: {
        paths,
        options: {
          typeCheck: options.typeCheck !== false,
          ...(options.descriptorSet === undefined ? { descriptorSetFile } : {}),
        },
      },
    });
    w.on("message", (reply: BuildReply) => {
      const p = pending.get(reply.id);
      pending.delete(reply.id);
      if ("error" in reply) p?.reject(new Error(reply.error));
      else p?.resolve(reply.outcome);
    });
    w.on("error", (err) => {
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    });
    w.on("exit", () => {
      if (thread === w) thread = undefined;
      for (const p of pending.values()) p.reject(new Error("the builder stopped"));
      pending.clear();
    });
    return w;
  };
  const request = (kind: BuildRequest["kind"], check = false): Promise<BuildOutcome> => {
    thread ??= startThread();
    const id = nextId++;
    const req: BuildRequest = { id, kind, check };
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      thread!.postMessage(req);
    });
  };

  // ---- servers ---------------------------------------------------------------------------
  // SCHED_NONE: the workers accept connections themselves, so the dev process being busy
  // never delays one; must be set before the first fork.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({
    exec: path.join(__dirname, "serve-child.js"),
    args: [],
    // A debugger port of the dev process must not be taken by each server too.
    execArgv: process.execArgv.filter((a) => !a.startsWith("--inspect")),
  });
  const children = new Set<Child>();
  let current: Child | undefined;
  let spare: Child | undefined;
  let learnedPort: number | undefined;
  let closed = false;

  /** A new server process; it loads the runtime and waits to be told what to serve. */
  const fork = (): Child => {
    const worker = cluster.fork({ BLAZE_DEV_ENTRY: paths.entry });
    let resolveExit!: () => void;
    let resolveClosing!: () => void;
    const child: Child = {
      worker,
      state: "spare",
      portArg: 0,
      url: "",
      rpcs: [],
      banner: "",
      exited: new Promise((r) => (resolveExit = r)),
      closing: new Promise((r) => (resolveClosing = r)),
    };
    children.add(child);
    let failed: (ChildMessage & { type: "failed" }) | undefined;
    worker.on("message", (m: ChildMessage) => {
      if (m.type === "log") {
        if (m.line.startsWith("blaze: serving app ")) child.banner = m.line;
        else log(m.line);
      } else if (m.type === "ready") {
        child.state = "serving";
        child.url = m.url;
        child.rpcs = m.rpcs;
        child.settle?.({ ok: true });
      } else if (m.type === "closing") {
        resolveClosing();
      } else if (m.type === "failed") {
        failed = m;
      }
    });
    // Its last messages may still be in the IPC channel when the exit is reported: the
    // channel's end (disconnect) comes after them.
    const disconnected = new Promise<void>((r) => (worker.isConnected() ? worker.once("disconnect", () => r()) : r()));
    worker.once("exit", (code, signal) => {
      children.delete(child);
      resolveExit();
      resolveClosing();
      const how = signal ?? `code ${code}`;
      void disconnected.then(() => {
        if (spare === child) spare = undefined;
        if (child.state === "starting") {
          child.settle?.({
            ok: false,
            failed: failed !== undefined ? failureText(failed) : `the server exited (${how}) before it served`,
          });
        } else if (child.state === "serving" && child === current && !closed) {
          current = undefined;
          error(`blaze: the server exited (${how}); saving a file starts it again`);
        }
        child.state = "gone";
      });
    });
    return child;
  };

  /** Serves the current code in the spare (or a new process); resolves once it serves, or with why it could not. */
  const startChild = async (
    descriptorSet: string | undefined,
  ): Promise<{ child: Child; ms: number } | { failed: string }> => {
    const t0 = performance.now();
    const child = spare !== undefined && spare.worker.isConnected() ? spare : fork();
    spare = undefined;
    // A new server shares the socket the current one listens on: same port argument, same
    // key in cluster's table. With none alive, it binds the port the first one got.
    child.portArg = current?.portArg ?? learnedPort ?? options.port;
    child.state = "starting";
    const { log: _log, error: _error, typeCheck: _tc, debounceMs: _d, ...serveOptions } = options;
    const request: ServeRequest = {
      type: "serve",
      config: {
        entry: entrySpec,
        flags: { ...serveOptions, port: child.portArg, ...(descriptorSet !== undefined ? { descriptorSet } : {}) },
      },
    };
    const r = await new Promise<{ ok: true } | { ok: false; failed: string }>((resolve) => {
      child.settle = resolve;
      child.worker.send(request);
    });
    // The next change is served by a process that has already loaded the runtime.
    if (!closed) spare ??= fork();
    return r.ok ? { child, ms: performance.now() - t0 } : { failed: r.failed };
  };

  /** Stops a server as SIGTERM stops `blaze serve`: NOT_SERVING, in-flight calls get the grace period. */
  const stopChild = (child: Child): Promise<void> => {
    if (!child.worker.isDead()) child.worker.process.kill("SIGTERM");
    const timer = setTimeout(
      () => child.worker.isDead() || child.worker.process.kill("SIGKILL"),
      options.shutdownGraceMs + 5000,
    );
    return child.exited.finally(() => clearTimeout(timer));
  };

  // ---- watching --------------------------------------------------------------------------
  const watched = new Set<string>();
  const seen = new Map<string, string | undefined>();
  const watcher: FSWatcher = watch([], { ignoreInitial: true, persistent: true });
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let lastFailed = false;

  /** Watches exactly these files (the builder's sources, never its own outputs). */
  const updateWatch = (files: readonly string[]) => {
    const want = new Set([paths.entry, ...files].filter((f) => !outputs.some((o) => f.startsWith(o))));
    const add = [...want].filter((f) => !watched.has(f));
    const drop = [...watched].filter((f) => !want.has(f));
    for (const f of add) {
      watched.add(f);
      seen.set(f, hashFile(f));
    }
    for (const f of drop) {
      watched.delete(f);
      seen.delete(f);
    }
    if (add.length > 0) watcher.add(add);
    if (drop.length > 0) watcher.unwatch(drop);
  };
  watcher.on("all", (_event, p) => {
    const f = path.resolve(p);
    if (closed || !watched.has(f)) return;
    changed.add(f);
    clearTimeout(timer);
    timer = setTimeout(flush, debounceMs);
  });
  watcher.on("error", (err) => error(`blaze: watching failed: ${err instanceof Error ? err.message : String(err)}`));

  function flush(): void {
    if (closed || running !== undefined) return; // a running cycle flushes again when it ends
    // Saving a file unchanged (or touching it) is no change.
    const files = [...changed].filter((f) => {
      const h = hashFile(f);
      if (seen.get(f) === h) return false;
      seen.set(f, h);
      return true;
    });
    changed.clear();
    if (files.length === 0) return;
    running = cycle(files)
      .catch((err: unknown) => {
        if (!closed) error(`blaze: ${err instanceof Error ? err.message : String(err)}`);
      })
      .finally(() => {
        running = undefined;
        if (changed.size > 0) flush();
      });
  }

  /** One change: rebuild, and serve the result if it is good. */
  async function cycle(files: readonly string[]): Promise<void> {
    const names =
      files.length <= 3
        ? files.map(rel).join(", ")
        : `${files.slice(0, 2).map(rel).join(", ")} and ${files.length - 2} more files`;
    const head = `blaze: ${names} changed →`;
    const outcome = await request("build", true);
    if (closed) return;
    updateWatch(outcome.watch);
    if (!outcome.ok) {
      lastFailed = true;
      reportErrors(head, outcome);
      return;
    }
    const what = buildSummary(outcome);
    const r = await startChild(outcome.descriptorSet);
    if (closed) return;
    if ("failed" in r) {
      lastFailed = true;
      error(`${head} ${what}, but the new server did not start; ${keeps()}:\n${r.failed}`);
      return;
    }
    const old = current;
    current = r.child;
    learnedPort ??= Number(new URL(r.child.url).port);
    if (old !== undefined) {
      void stopChild(old);
      // Once it says so, every new connection reaches the new server: only then "restarted".
      await Promise.race([old.closing, new Promise((r) => setTimeout(r, 2000).unref())]);
      if (closed) return;
    }
    const fixed = lastFailed ? "fixed: " : "";
    lastFailed = false;
    log(`${head} ${fixed}${what}, restarted in ${secs(r.ms)}`);
    if (old === undefined || old.rpcs.join() !== r.child.rpcs.join()) log(r.child.banner);
  }

  const keeps = () =>
    current !== undefined
      ? `the last good server keeps answering on ${current.url}`
      : "no server runs until it is fixed";

  function buildSummary(o: BuildOutcome): string {
    const checked = o.checkMs > 0 ? `, type-checked in ${secs(o.checkMs)}` : "";
    if (o.protoWritten) {
      const which = o.changes.length > 0 ? o.changes.join(", ") : "schema changed";
      return `${which}: regenerated proto + code in ${secs(o.generateMs)}${checked}`;
    }
    if (o.codeGenerated) return `regenerated code in ${secs(o.generateMs)}${checked}`;
    return `schema unchanged (${secs(o.generateMs + o.checkMs)})`;
  }

  function reportErrors(head: string, o: BuildOutcome, then = `; ${keeps()}`): void {
    const counts = [
      o.codegenErrorCount > 0 ? plural(o.codegenErrorCount, "codegen error") : "",
      o.typeErrorCount > 0 ? plural(o.typeErrorCount, "type error") : "",
    ]
      .filter(Boolean)
      .join(" and ");
    // Type errors first: a codegen error is often one of their consequences.
    error(`${head} ${counts}${then}\n${[o.typeErrors, o.codegenErrors].filter(Boolean).join("\n\n")}`);
  }

  // ---- start -----------------------------------------------------------------------------
  const session: DevSession = {
    url: () => current?.url,
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      await watcher.close();
      await thread?.terminate();
      await Promise.all([...children].map(stopChild));
    },
  };

  let first: BuildOutcome;
  try {
    first = await request("build", false);
  } catch (err) {
    await session.close();
    throw err;
  }
  updateWatch(first.watch);
  const watching = new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
  if (!first.ok) {
    await watching;
    lastFailed = true;
    reportErrors(`blaze: ${rel(paths.entry)}:`, first, "; the server starts once they are fixed");
    log(`blaze: watching ${rel(paths.entry)} and ${plural(watched.size - 1, "more file")} it reads (Ctrl-C stops)`);
    return session;
  }
  const [r] = await Promise.all([startChild(first.descriptorSet), watching]);
  if ("failed" in r) {
    lastFailed = true;
    error(`blaze: the server did not start:\n${r.failed}`);
    log(
      `blaze: watching ${rel(paths.entry)} and ${plural(watched.size - 1, "more file")}; saving a file starts it again (Ctrl-C stops)`,
    );
    return session;
  }
  current = r.child;
  learnedPort ??= Number(new URL(r.child.url).port);
  log(r.child.banner);
  log(
    `blaze: watching ${rel(paths.entry)} and ${plural(watched.size - 1, "more file")} it reads; ready in ${secs(performance.now() - started)} (Ctrl-C stops)`,
  );
  // The first type check is the slow one (all of @types/node): done now, while the first
  // server already answers, it makes every later change quick.
  void request("warm").then(
    (o) => {
      if (closed) return;
      updateWatch(o.watch);
      if (!o.ok) {
        lastFailed = true;
        reportErrors(
          `blaze: ${rel(paths.entry)}:`,
          o,
          " (served anyway, being the first version; from now on a change is served once it type-checks)",
        );
      }
    },
    (err: unknown) => closed || error(`blaze: ${err instanceof Error ? err.message : String(err)}`),
  );
  return session;
}

function failureText(m: ChildMessage & { type: "failed" }): string {
  // The frames of the user's own code, if the error came from there.
  const own = (m.stack ?? "")
    .split("\n")
    .slice(1)
    .filter(
      (l) => /^\s+at /.test(l) && !/node:internal|[\\/]node_modules[\\/]|[\\/]packages[\\/](cli|runtime)[\\/]/.test(l),
    )
    .slice(0, 5);
  return [m.message, ...own].join("\n");
}
