import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import type { AppSpec, CodegenError, TypeCheck } from "@blazerpc/codegen";
import { bufBin, generate, isNoModels } from "../commands/generate.js";
import type { ProjectPaths } from "../paths.js";
import { describeSchemaChange } from "./describe-change.js";

/** Options of {@link DevBuilder}. */
export interface DevBuilderOptions {
  /** Type-check the entry and its imports before a change is served (`--no-type-check`: only the schema is checked). */
  readonly typeCheck: boolean;
  /** Where to write the schema as a FileDescriptorSet for the servers (reflection and docs with comments); undefined: they build their own. */
  readonly descriptorSetFile?: string;
}

/** What one run of {@link DevBuilder} found; plain data (it crosses a worker thread). */
export interface BuildOutcome {
  /** Nothing stops serving the code on disk: the schema and code are current and it type-checks. */
  readonly ok: boolean;
  /** The schema was rewritten (a signature, a doc comment or the set of models changed). */
  readonly protoWritten: boolean;
  /** buf generate ran. */
  readonly codeGenerated: boolean;
  /** Per RPC, what changed in the schema (`PredictIris signature changed`); [] when unknown or unchanged. */
  readonly changes: readonly string[];
  /** Extract, schema and buf generate, in ms. */
  readonly generateMs: number;
  /** The type check, in ms (0 when it did not run). */
  readonly checkMs: number;
  /** Code generation errors, formatted as `blaze generate` prints them ("" when none). */
  readonly codegenErrors: string;
  readonly codegenErrorCount: number;
  /** Type errors, formatted the same way ("" when none). */
  readonly typeErrors: string;
  readonly typeErrorCount: number;
  /** Every source file the schema and the type check read: what to watch. */
  readonly watch: readonly string[];
  /** The descriptor set file, when it is current. */
  readonly descriptorSet?: string;
}

/** Type errors printed per run; the rest are counted. */
const MAX_SHOWN = 20;

/**
 * The build side of `blaze dev`: what `blaze generate` does (with its no-op fast path), then
 * a type check kept warm between runs, then the schema as a descriptor set for the servers.
 * Synchronous (ts-morph and buf are): `blaze dev` runs it in a worker thread.
 */
export class DevBuilder {
  private spec: AppSpec | undefined;
  private sources: readonly string[] = [];
  private checkFiles: readonly string[] = [];
  private typeCheck: TypeCheck | undefined;
  private descriptorCurrent = false;

  constructor(
    private readonly paths: ProjectPaths,
    private readonly options: DevBuilderOptions,
  ) {}

  /** Regenerates what changed, then (with `check`) type-checks; the first run's check is the slow one (all of @types/node). */
  build(check: boolean): BuildOutcome {
    const t0 = performance.now();
    let codegenErrors = "";
    let codegenErrorCount = 0;
    let protoWritten = false;
    let codeGenerated = false;
    let changes: string[] = [];
    try {
      const r = generate(this.paths, { buf: true, regenerate: "when-stale" });
      this.sources = r.sources;
      protoWritten = r.written.length > 0;
      codeGenerated = r.generated;
      if (r.spec !== undefined) {
        if (protoWritten) changes = describeSchemaChange(this.spec, r.spec);
        this.spec = r.spec;
      }
      if (protoWritten || codeGenerated) this.descriptorCurrent = false;
    } catch (err) {
      // An app with no models (services of its own and routes only) has nothing to generate.
      if (!isNoModels(err)) {
        codegenErrors =
          err instanceof Error ? (err.name === "CodegenError" ? err.message : `blaze: ${err.message}`) : String(err);
        codegenErrorCount =
          err instanceof Error && err.name === "CodegenError" ? (err as CodegenError).diagnostics.length : 1;
      }
    }
    const generateMs = performance.now() - t0;
    const checked = check ? this.check() : { text: "", count: 0, ms: 0 };
    const ok = codegenErrorCount === 0 && checked.count === 0;
    if (ok) this.writeDescriptorSet();
    return {
      ok,
      protoWritten,
      codeGenerated,
      changes,
      generateMs,
      checkMs: checked.ms,
      codegenErrors,
      codegenErrorCount,
      typeErrors: checked.text,
      typeErrorCount: checked.count,
      watch: [...new Set([...this.sources, ...this.checkFiles])].sort(),
      ...(this.descriptorCurrent && this.options.descriptorSetFile !== undefined
        ? { descriptorSet: this.options.descriptorSetFile }
        : {}),
    };
  }

  /**
   * After the first server started: the spec later changes are compared with (extract had
   * nothing to do when no source changed since the last run), and the first, slow, type check.
   */
  warm(): BuildOutcome {
    if (this.spec === undefined) {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: ts-morph loads only when a build needs it
        const cg = require("@blazerpc/codegen") as typeof import("@blazerpc/codegen");
        this.spec = cg.extractWithSources(this.paths.entry, { cwd: process.cwd() }).app;
      } catch {
        // The next build reports it.
      }
    }
    return this.build(true);
  }

  private check(): { text: string; count: number; ms: number } {
    if (!this.options.typeCheck) return { text: "", count: 0, ms: 0 };
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: ts-morph loads only when a build needs it
    const cg = require("@blazerpc/codegen") as typeof import("@blazerpc/codegen");
    this.typeCheck ??= cg.createTypeCheck(this.paths.entry, { cwd: process.cwd() });
    const r = this.typeCheck.check();
    this.checkFiles = r.files;
    const shown = r.diagnostics.slice(0, MAX_SHOWN).map(cg.formatDiagnostic);
    if (r.diagnostics.length > MAX_SHOWN) shown.push(`… and ${r.diagnostics.length - MAX_SHOWN} more`);
    return { text: shown.join("\n\n"), count: r.diagnostics.length, ms: r.ms };
  }

  /** `buf build` of the proto folder once per schema, instead of once per server start. */
  private writeDescriptorSet(): void {
    const file = this.options.descriptorSetFile;
    if (file === undefined || this.descriptorCurrent || !fs.existsSync(this.paths.protoDir)) return;
    const r = spawnSync(bufBin(), ["build", this.paths.protoDir, "--as-file-descriptor-set", "-o", `${file}.tmp`], {
      encoding: "utf8",
    });
    if (r.status !== 0) return; // the server builds its own and reports why it could not
    fs.renameSync(`${file}.tmp`, file);
    this.descriptorCurrent = true;
  }
}
