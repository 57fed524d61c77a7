/**
 * The parent this process started under, read as this module loads (at start-up, long before
 * a server listens): a parent that goes away while the server starts — a SIGTERM to
 * `npm start` right after it printed its address — is then still seen to have gone.
 */
const startedUnder = process.ppid;

/** Options of {@link stopOnSignals}. */
export interface StopOnSignalsOptions {
  /** Where its lines go. Default: `console.log`. */
  readonly log?: (line: string) => void;
  /** Where a failed shutdown is reported. Default: `console.error`. */
  readonly error?: (line: string) => void;
  /** The line printed once stopping begins, given why (`SIGTERM`, `SIGINT`, `parent exited`). */
  readonly saying?: (why: string) => string;
  /** The line printed once closed. Default: none. */
  readonly closed?: string;
  /**
   * Also stop when the parent process exits. Default: when run by a package manager's script
   * (`npm start`, `pnpm start`: `npm_lifecycle_event` is set) — npm runs a script under
   * `sh -c`, and a SIGTERM to npm (what a supervisor or a container runtime sends) ends npm
   * and the shell but not the shell's child, which would serve on as an orphan holding the
   * port. A server started any other way (`nohup`, a service manager) keeps serving when its
   * parent goes.
   */
  readonly followParent?: boolean;
  /** How often the parent is looked at, in ms. Default 250. */
  readonly parentCheckMs?: number;
  /** The signals that stop it. Default SIGINT and SIGTERM. */
  readonly signals?: readonly NodeJS.Signals[];
}

/**
 * Stops `target` gracefully on SIGINT or SIGTERM — or when the parent process exits (see
 * {@link StopOnSignalsOptions.followParent}) — then exits the process: 0 once `close()`
 * resolved, 1 when it failed. A second signal exits at once with 1.
 *
 * @example
 * const server = createServer({ app, services: [InferenceServiceBinding], port: 50051 });
 * await server.listen();
 * stopOnSignals(server);
 */
export function stopOnSignals(target: { close(): Promise<void> }, options: StopOnSignalsOptions = {}): void {
  const {
    log = (line: string) => console.log(line),
    error = (line: string) => console.error(line),
    saying = (why: string) => `${why}: shutting down`,
    closed,
    followParent = process.env.npm_lifecycle_event !== undefined,
    parentCheckMs = 250,
    signals = ["SIGINT", "SIGTERM"],
  } = options;
  let stopping = false;
  let watch: NodeJS.Timeout | undefined;
  const stop = (why: string) => {
    if (stopping) {
      log(`${why} again, exiting now`);
      process.exit(1);
    }
    stopping = true;
    clearInterval(watch);
    log(saying(why));
    target.close().then(
      () => {
        if (closed !== undefined) log(closed);
        process.exit(0);
      },
      (err: unknown) => {
        error(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, () => stop(signal));
  if (followParent) {
    const parent = startedUnder;
    watch = setInterval(() => {
      if (process.ppid !== parent) stop(`parent process ${parent} exited`);
    }, parentCheckMs);
    watch.unref();
  }
}
