import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { AppSpec, SchemaFile } from "@blazerpc/codegen";
import {
  hashFiles,
  hashText,
  listFiles,
  manifestPath,
  packageStamp,
  readManifest,
  unchanged,
  writeManifest,
} from "../cache.js";
import type { ProjectPaths } from "../paths.js";

/** Result of writing the schema: the app spec and which files changed. */
export interface ProtoResult {
  readonly app: AppSpec;
  readonly files: readonly SchemaFile[];
  readonly written: readonly string[];
  /** The source files extract read (absolute paths). */
  readonly sources: readonly string[];
  /** ts-morph start-up (loading it and building the program), the rest of extract, and printing and writing the schema, in ms. */
  readonly timings: { readonly startup: number; readonly extract: number; readonly write: number };
}

/** Loads @blazerpc/codegen (and with it ts-morph) only when a step needs it. */
function codegen(): typeof import("@blazerpc/codegen") {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: ts-morph loads only when a step needs it
  return require("@blazerpc/codegen") as typeof import("@blazerpc/codegen");
}

/**
 * An app spec made without reading TypeScript: a model repository's (`blaze proto
 * model.onnx`), from the signatures of its files.
 */
export interface GivenSpec {
  readonly spec: AppSpec;
  /** The files it was made from (absolute): the model files and their configs. */
  readonly sources: readonly string[];
}

/**
 * Step 1: extract the signatures from the entry (or take the `given` spec) and write the
 * schema under the proto folder, keeping the field numbers of the lock file there.
 */
export function writeProto(paths: ProjectPaths, given?: GivenSpec): ProtoResult {
  const t0 = performance.now();
  // Loaded here, not at the top: `blaze serve dist/models.js` never loads ts-morph.
  const cg = codegen();
  const loaded = performance.now() - t0;
  const { app, sources, timings } =
    given !== undefined
      ? { app: given.spec, sources: [...given.sources], timings: { startup: 0, extract: 0 } }
      : cg.extractWithSources(paths.entry, { cwd: process.cwd() });
  const t1 = performance.now();
  const files = cg.schemaFiles(
    { ...app, entry: path.relative(paths.projectDir, paths.entry).replace(/\\/g, "/") },
    { previousLock: cg.readLockFile(paths.protoDir, app.name) },
  );
  const written = cg.writeSchemaFiles(files, paths.protoDir);
  return {
    app,
    files,
    written,
    sources,
    timings: { startup: loaded + timings.startup, extract: timings.extract, write: performance.now() - t1 },
  };
}

/** The `buf` binary shipped by @bufbuild/buf. */
export function bufBin(): string {
  return path.join(path.dirname(require.resolve("@bufbuild/buf/package.json")), "bin", "buf");
}

/** The template `blaze generate` uses for a project without its own buf.gen.yaml. */
export function defaultTemplate(paths: ProjectPaths): string {
  const opt = ["target=ts", "import_extension=js", "rewrite_imports=./blazerpc/**/*_pb.js:@blazerpc/tensor"];
  const protocGenEs = path.join(
    path.dirname(require.resolve("@bufbuild/protoc-gen-es/package.json")),
    "bin",
    "protoc-gen-es",
  );
  const protocGenBlaze = path.join(
    path.dirname(require.resolve("@blazerpc/codegen/package.json")),
    "bin",
    "protoc-gen-blaze.js",
  );
  return JSON.stringify({
    version: "v2",
    plugins: [
      { local: [process.execPath, protocGenEs], out: paths.genDir, opt },
      { local: [process.execPath, protocGenBlaze], out: paths.genDir, opt },
    ],
  });
}

/** The project's own buf.gen.yaml (beside the entry), if it has one. */
function ownTemplate(paths: ProjectPaths): string | undefined {
  const own = path.join(paths.projectDir, "buf.gen.yaml");
  return fs.existsSync(own) ? own : undefined;
}

/** The folders `buf generate` writes to: the `out:` entries of the project's template, or the gen folder. */
function outputDirs(paths: ProjectPaths): string[] {
  const own = ownTemplate(paths);
  if (own === undefined) return [paths.genDir];
  const dirs = [...fs.readFileSync(own, "utf8").matchAll(/^\s*out:\s*["']?([^"'\s#]+)/gm)].map((m) =>
    path.resolve(paths.projectDir, m[1]!),
  );
  return [...new Set(dirs)];
}

/**
 * Step 2: `buf generate`, offline, with the local plugins. Uses the project's
 * buf.gen.yaml when there is one beside the entry; otherwise the built-in template
 * (protoc-gen-es and protoc-gen-blaze into the gen folder).
 *
 * @throws Error with buf's own output when it fails.
 */
export function runBufGenerate(paths: ProjectPaths): { template: string } {
  const own = ownTemplate(paths);
  const args =
    own !== undefined
      ? ["generate"]
      : [
          "generate",
          paths.protoDir,
          "--template",
          defaultTemplate(paths),
          "--exclude-path",
          path.join(paths.protoDir, "blazerpc"),
        ];
  const r = spawnSync(bufBin(), args, { cwd: paths.projectDir, encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`buf generate failed (exit ${r.status}):\n${r.stderr || r.stdout}`);
  }
  return { template: own ?? "built-in" };
}

/** The generated binding file for an app, in TypeScript or compiled JavaScript. */
export function bindingFile(genDir: string, appName: string, ext: ".ts" | ".js"): string {
  // The naming rules alone, without loading ts-morph (serve of compiled code needs this too).
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: the naming rules without ts-morph
  const { protoFilePath } = require("@blazerpc/codegen/names") as typeof import("@blazerpc/codegen");
  return path.join(genDir, protoFilePath(appName).replace(/\.proto$/, `_blaze${ext}`));
}

/** `3 model(s)`, or `1 model(s), 2 RPC(s)` for an app with code-first RPCs. */
function count(app: AppSpec): string {
  const rpcs = app.models.filter((m) => m.rpc === true).length;
  return `${app.models.length - rpcs} model(s)${rpcs > 0 ? `, ${rpcs} RPC(s)` : ""}`;
}

/** One step of {@link generate}, as printed. */
export interface StepReport {
  readonly step: "extract" | "proto" | "generate";
  /** Whether the step did its work (false: skipped, its inputs unchanged). */
  readonly ran: boolean;
  readonly ms: number;
  readonly detail: string;
}

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** Run `buf generate` too (`blaze generate`, `blaze serve`), not only write the schema (`blaze proto`). */
  readonly buf: boolean;
  /** Ignore what the last run remembers: extract and generate again. */
  readonly force?: boolean;
  /**
   * `always` (blaze generate): run buf generate unless the last run made the current
   * code from the current schema. `when-stale` (blaze serve): only when the schema just
   * changed or a generated file is missing, so a fresh checkout serves its committed code.
   */
  readonly regenerate?: "always" | "when-stale";
  /** The app spec, when it does not come from TypeScript (a model repository's); extract is then skipped. */
  readonly given?: GivenSpec;
}

/** What {@link generate} did. */
export interface GenerateResult {
  readonly app: string;
  readonly models: readonly string[];
  readonly steps: readonly StepReport[];
  /** Schema files written in this run. */
  readonly written: readonly string[];
  /** True when buf generate ran. */
  readonly generated: boolean;
  /** The source files the schema comes from (the entry, what it imports, tsconfig.json), as read by extract now or last time. */
  readonly sources: readonly string[];
  /** The app's spec, when extract ran (it did not when no source file changed). */
  readonly spec?: AppSpec;
}

/**
 * extract → schema → buf generate, skipping each step whose inputs are unchanged since
 * the last run (see `Manifest` in ../cache.ts): a run with nothing changed loads neither ts-morph
 * nor buf and rewrites nothing.
 */
export function generate(paths: ProjectPaths, options: GenerateOptions): GenerateResult {
  const rel = (p: string) => path.relative(process.cwd(), p) || ".";
  const steps: StepReport[] = [];
  const own = ownTemplate(paths);
  const codegenPkg = require.resolve("@blazerpc/codegen/package.json");
  const esPkg = require.resolve("@bufbuild/protoc-gen-es/package.json");
  const key = hashText(
    JSON.stringify({
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: the naming rules without ts-morph
      cli: (require("../../package.json") as { version: string }).version,
      codegen: packageStamp(codegenPkg),
      entry: paths.entry,
      protoDir: paths.protoDir,
      genDir: paths.genDir,
    }),
  );
  let t = performance.now();
  const file = manifestPath(paths.projectDir, `${paths.entry}\0${paths.protoDir}\0${paths.genDir}`);
  const previous = options.force === true ? undefined : readManifest(file);
  // A given spec is read from its files anew each run: only the schema it prints can be unchanged.
  const fresh =
    options.given === undefined &&
    previous !== undefined &&
    previous.key === key &&
    unchanged(previous.sources) &&
    unchanged(previous.proto);

  let app: string;
  let models: readonly string[];
  let sources: Readonly<Record<string, string>>;
  let proto: Readonly<Record<string, string>>;
  let written: readonly string[] = [];
  let spec: AppSpec | undefined;
  if (fresh) {
    app = previous.app;
    models = previous.models;
    sources = previous.sources;
    proto = previous.proto;
    steps.push({
      step: "extract",
      ran: false,
      ms: performance.now() - t,
      detail: `unchanged (${Object.keys(sources).length} source files as last run)`,
    });
    steps.push({ step: "proto", ran: false, ms: 0, detail: `unchanged (${rel(paths.protoDir)})` });
  } else {
    const result = writeProto(paths, options.given);
    const extracted = performance.now() - t - result.timings.write;
    spec = result.app;
    app = result.app.name;
    models = result.app.models.map((m) => m.name);
    sources = hashFiles(result.sources);
    steps.push({
      step: "extract",
      ran: true,
      ms: extracted,
      detail:
        options.given !== undefined
          ? `${rel(paths.entry)}: app "${app}", ${count(result.app)} read from ${result.sources.filter((f) => f.endsWith(".onnx")).length} ONNX file(s)`
          : `${rel(paths.entry)}: app "${app}", ${count(result.app)} (ts-morph start-up ${Math.round(result.timings.startup)} ms)`,
    });
    proto = hashFiles(result.files.map((f) => path.join(paths.protoDir, f.path)));
    written = result.written;
    steps.push({
      step: "proto",
      ran: written.length > 0,
      ms: result.timings.write,
      detail:
        written.length === 0
          ? `unchanged (${result.files.length} files in ${rel(paths.protoDir)})`
          : `wrote ${written.map(rel).join(", ")}`,
    });
  }

  let genInput = previous?.genInput;
  let genProto = previous?.genProto;
  let gen = previous?.gen;
  let generated = false;
  if (options.buf) {
    t = performance.now();
    const template = own !== undefined ? fs.readFileSync(own, "utf8") : "built-in";
    const protoHash = hashText(JSON.stringify(hashFiles(listFiles(paths.protoDir))));
    const input = hashText(
      JSON.stringify({ protoHash, template, es: packageStamp(esPkg), codegen: packageStamp(codegenPkg) }),
    );
    const dirs = outputDirs(paths);
    const outputs = () => hashFiles(dirs.flatMap(listFiles));
    let need: boolean;
    if (options.regenerate === "when-stale") {
      const suffixes = ["_pb.ts", "_blaze.ts", "_client.ts"];
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the CLI's own package.json, read at run time
      const { protoFilePath } = require("@blazerpc/codegen/names") as typeof import("@blazerpc/codegen");
      const missing = suffixes.some(
        (s) => !fs.existsSync(path.join(paths.genDir, protoFilePath(app).replace(/\.proto$/, s))),
      );
      // The schema alone decides: a newer generator does not make committed code stale.
      need = written.length > 0 || missing || (previous?.genProto !== undefined && previous.genProto !== protoHash);
    } else {
      need = options.force === true || previous?.genInput !== input || !unchanged(previous?.gen);
    }
    if (need) {
      genInput = input;
      genProto = protoHash;
      runBufGenerate(paths);
      gen = outputs();
      generated = true;
      steps.push({
        step: "generate",
        ran: true,
        ms: performance.now() - t,
        detail: `buf generate with ${own !== undefined ? rel(own) : "the built-in template"} → ${dirs.map(rel).join(", ")}`,
      });
    } else {
      // Serving committed code: remember which schema it stands for, so that a later change
      // of the schema alone (`blaze proto`) regenerates it.
      genProto ??= protoHash;
      gen ??= outputs();
      steps.push({
        step: "generate",
        ran: false,
        ms: performance.now() - t,
        detail: `unchanged (${dirs.map(rel).join(", ")})`,
      });
    }
  }
  writeManifest(file, {
    version: 1,
    key,
    app,
    models,
    sources,
    proto,
    ...(genInput !== undefined ? { genInput } : {}),
    ...(genProto !== undefined ? { genProto } : {}),
    ...(gen !== undefined ? { gen } : {}),
  });
  return {
    app,
    models,
    steps,
    written,
    generated,
    sources: Object.keys(sources),
    ...(spec !== undefined ? { spec } : {}),
  };
}

/** The lines `blaze proto` / `blaze generate` print for a run. */
export function formatSteps(result: GenerateResult, totalMs: number): string[] {
  const lines = result.steps.map((s) => `blaze: ${s.step.padEnd(8)} ${s.detail} (${Math.round(s.ms)} ms)`);
  const changed = result.steps.some((s) => s.ran);
  lines.push(
    `blaze: app "${result.app}": ${result.models.join(", ")} — ${changed ? "done" : "nothing changed"} in ${Math.round(totalMs)} ms`,
  );
  return lines;
}

/**
 * True when code generation found no model in the entry: an app of services of its own and
 * routes only, which has no schema to write (`blaze serve` and `blaze dev` serve it as is).
 */
export function isNoModels(err: unknown): boolean {
  const diagnostics = (err as { diagnostics?: readonly { code?: string }[] } | null)?.diagnostics;
  return (
    err instanceof Error &&
    err.name === "CodegenError" &&
    diagnostics?.length === 1 &&
    diagnostics[0]!.code === "no-models"
  );
}
