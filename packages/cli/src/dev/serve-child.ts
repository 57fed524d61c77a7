// One server of `blaze dev`: a cluster worker running what `blaze serve` runs, so that every
// restart loads the user's modules afresh. Its port is the dev process's (cluster shares the
// listening socket), so a new server starts serving beside the old one before that one stops.
//
// It starts as a spare: it loads @blazerpc/runtime (most of a server's start-up) and waits;
// the dev process sends {type: "serve"} when a change is to be served, and the spare loads
// the user's code and listens. It talks to the dev process over IPC only.
import { createRequire } from "node:module";
import type { BlazeServer } from "@blazerpc/runtime";
import { serve, type ServeFlags } from "../commands/serve.js";

/** What to serve: the entry (with its :export) and the flags of `blaze serve`. */
export interface ChildConfig {
  readonly entry: string;
  readonly flags: Omit<ServeFlags, "log">;
}

/** The message that turns a spare into a server. */
export interface ServeRequest {
  readonly type: "serve";
  readonly config: ChildConfig;
}

/** Messages a child sends to the dev process. */
export type ChildMessage =
  | { readonly type: "log"; readonly line: string }
  | { readonly type: "ready"; readonly url: string; readonly rpcs: readonly string[] }
  /** It stopped accepting connections and drains the ones it has. */
  | { readonly type: "closing" }
  | { readonly type: "failed"; readonly message: string; readonly stack?: string };

const send = (m: ChildMessage, then?: () => void) => {
  if (process.send !== undefined && process.connected) process.send(m, undefined, {}, () => then?.());
  else then?.();
};

let server: BlazeServer | undefined;
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  if (server === undefined) process.exit(0);
  const closing = server.close();
  // close() stops accepting at once (then drains): from now on the new server takes every
  // connection, which the dev process waits for before it says "restarted".
  send({ type: "closing" });
  closing.then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
// The dev process decides when a server stops (SIGTERM, also on Ctrl-C); the SIGINT a
// terminal sends the whole process group is left to it.
process.on("SIGINT", () => {});
process.on("SIGTERM", stop);

// Resolved from the entry, as the user's code and `serve` resolve it: the same copy.
const entry = process.env.BLAZE_DEV_ENTRY;
if (entry !== undefined) {
  try {
    createRequire(entry)("@blazerpc/runtime");
  } catch {
    // serve reports it, in its own words
  }
  try {
    // tsx compiles the changed files with esbuild's synchronous API, whose first call starts
    // esbuild's service (about 0.1 s of every restart): started here, in the spare, instead.
    const esbuild = createRequire(require.resolve("tsx/package.json"))("esbuild") as {
      transformSync(code: string, options: { loader: string }): unknown;
    };
    esbuild.transformSync("let warm: number = 1;", { loader: "ts" });
  } catch {
    // only slower
  }
}

process.on("message", (m: ServeRequest) => {
  if (m?.type !== "serve" || server !== undefined || stopping) return;
  serve(m.config.entry, { ...m.config.flags, log: (line) => send({ type: "log", line }) }).then(
    async (s) => {
      server = s;
      // Models with a loader (app.loader) load once the port is bound: the old server keeps
      // answering until they have, and stays if one fails.
      await s.health.load();
      const errors = Object.entries(s.health.errors());
      if (stopping) return;
      if (errors.length > 0) {
        stopping = true;
        await s.close();
        send(
          { type: "failed", message: errors.map(([model, e]) => `model "${model}" failed to load: ${e}`).join("\n") },
          () => process.exit(1),
        );
        return;
      }
      send({ type: "ready", url: s.url(), rpcs: s.rpcs.map((r) => r.path) });
    },
    (err: unknown) => {
      const failed: ChildMessage =
        err instanceof Error
          ? {
              type: "failed",
              message: err.name === "Error" ? err.message : `${err.name}: ${err.message}`,
              ...(err.stack !== undefined ? { stack: err.stack } : {}),
            }
          : { type: "failed", message: String(err) };
      send(failed, () => process.exit(1));
    },
  );
});
