// The worker thread of `blaze dev` that regenerates and type-checks (ts-morph and buf are
// synchronous), so that the dev process stays free to start servers, watch files and
// answer signals meanwhile.
import { parentPort, workerData } from "node:worker_threads";
import type { ProjectPaths } from "../paths.js";
import { DevBuilder, type BuildOutcome, type DevBuilderOptions } from "./builder.js";

/** A request from the dev process. */
export interface BuildRequest {
  readonly id: number;
  /** `build`: regenerate, with `check` also type-check; `warm`: after the first start, see DevBuilder.warm. */
  readonly kind: "build" | "warm";
  readonly check?: boolean;
}

/** The answer to a {@link BuildRequest}. */
export type BuildReply =
  { readonly id: number; readonly outcome: BuildOutcome } | { readonly id: number; readonly error: string };

const { paths, options } = workerData as { paths: ProjectPaths; options: DevBuilderOptions };
const builder = new DevBuilder(paths, options);
parentPort!.on("message", (req: BuildRequest) => {
  let reply: BuildReply;
  try {
    reply = { id: req.id, outcome: req.kind === "warm" ? builder.warm() : builder.build(req.check === true) };
  } catch (err) {
    reply = { id: req.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  parentPort!.postMessage(reply);
});
