import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ProjectPaths } from "../paths.js";
import { bufBin, generate, type StepReport } from "./generate.js";

/** The buf configuration `blaze check` applies: STANDARD lint, FILE breaking rules. */
export const CHECK_CONFIG = JSON.stringify({ version: "v2", lint: { use: ["STANDARD"] }, breaking: { use: ["FILE"] } });

/** Options of {@link check}. */
export interface CheckOptions {
  /**
   * What to compare the schema with: a git ref (`main`, `origin/main`, `HEAD~1`, a tag or a
   * commit) — the proto folder as it is in that commit — or any buf input holding `#`
   * (`../other/.git#branch=main,subdir=proto`). Default: `HEAD`, the last commit.
   */
  readonly against?: string;
  readonly log: (line: string) => void;
}

/** What {@link check} found. */
export interface CheckResult {
  /** True when lint and breaking both passed. */
  readonly ok: boolean;
  readonly lint: { readonly ok: boolean; readonly output: string };
  /** Undefined when there was nothing to compare with (no schema at the ref). */
  readonly breaking?: { readonly ok: boolean; readonly output: string; readonly against: string };
}

/**
 * `blaze check`: brings the schema up to date with the signatures (like `blaze proto`),
 * then runs `buf lint` on it and `buf breaking` against the schema in a git ref, printing
 * buf's findings as they are.
 */
export function check(paths: ProjectPaths, options: CheckOptions): CheckResult {
  const rel = (p: string) => path.relative(process.cwd(), p) || ".";
  const proto = generate(paths, { buf: false });
  for (const s of proto.steps) options.log(stepLine(s));

  const lint = runBuf(["lint", ".", "--config", CHECK_CONFIG], paths.protoDir);
  options.log(
    lint.ok
      ? `blaze: lint     ok (buf lint, STANDARD rules, ${rel(paths.protoDir)})`
      : `blaze: lint     buf lint found problems in ${rel(paths.protoDir)}/:\n${indent(lint.output)}`,
  );

  const ref = options.against ?? "HEAD";
  const against = againstInput(paths.protoDir, ref, options.against === undefined);
  if (against.input === undefined) {
    options.log(`blaze: breaking skipped — ${against.why}`);
    return { ok: lint.ok, lint };
  }
  // Run inside the proto folder: the configuration's module is ".", the folder itself. The
  // schema at the ref has no configuration of its own, so buf reads it with its defaults.
  const breaking = runBuf(["breaking", ".", "--against", against.input, "--config", CHECK_CONFIG], paths.protoDir);
  options.log(
    breaking.ok
      ? `blaze: breaking ok (buf breaking, FILE rules, against ${ref})`
      : `blaze: breaking ${rel(paths.protoDir)}/ breaks clients of the schema at ${ref} (buf breaking, FILE rules):\n${indent(breaking.output)}`,
  );
  return { ok: lint.ok && breaking.ok, lint, breaking: { ...breaking, against: against.input } };
}

function stepLine(s: StepReport): string {
  return `blaze: ${s.step.padEnd(8)} ${s.detail} (${Math.round(s.ms)} ms)`;
}

function runBuf(args: string[], cwd: string): { ok: boolean; output: string } {
  const r = spawnSync(bufBin(), args, { cwd, encoding: "utf8" });
  if (r.error !== undefined) throw r.error;
  const output = `${r.stdout}${r.stderr}`.trim();
  // buf exits 100 for findings, other non-zero codes for failures to run.
  if (r.status !== 0 && r.status !== 100) throw new Error(`buf ${args[0]} failed (exit ${r.status}):\n${output}`);
  return { ok: r.status === 0, output };
}

/** The buf input of the schema at `ref`, or why there is none. */
function againstInput(protoDir: string, ref: string, byDefault: boolean): { input?: string; why?: string } {
  if (ref.includes("#")) return { input: ref };
  const git = (args: string[]) => spawnSync("git", args, { cwd: protoDir, encoding: "utf8" });
  const top = git(["rev-parse", "--show-toplevel"]);
  if (top.status !== 0)
    throw new Error(
      `blaze check compares with a git ref, but ${protoDir} is not in a git repository — pass --against with a buf input instead`,
    );
  const root = top.stdout.trim();
  const subdir = path.relative(fs.realpathSync(root), fs.realpathSync(protoDir)).split(path.sep).join("/");
  if (git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).status !== 0) {
    if (byDefault) return { why: `${root} has no commit yet to compare with` };
    throw new Error(`--against ${ref}: not a commit, branch or tag of ${root}`);
  }
  if (git(["cat-file", "-e", `${ref}:${subdir}`]).status !== 0) {
    return { why: `${ref} has no ${subdir}/ to compare with (a new schema)` };
  }
  return { input: `${path.join(root, ".git")}#ref=${ref},subdir=${subdir}` };
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}
