import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { AppSpec, SchemaFile } from "@blazerpc/codegen";
import type { ProjectPaths } from "../paths.js";

/** Result of writing the schema: the app spec and which files changed. */
export interface ProtoResult {
  readonly app: AppSpec;
  readonly files: readonly SchemaFile[];
  readonly written: readonly string[];
}

/** Step 1: extract the signatures from the entry and write the schema under the proto folder. */
export function writeProto(paths: ProjectPaths): ProtoResult {
  // Loaded here, not at the top: `blaze serve dist/models.js` never loads ts-morph.
  const codegen = require("@blazerpc/codegen") as typeof import("@blazerpc/codegen");
  const app = codegen.extract(paths.entry, { cwd: process.cwd() });
  const files = codegen.schemaFiles({ ...app, entry: path.relative(paths.projectDir, paths.entry).replace(/\\/g, "/") });
  const written = codegen.writeSchemaFiles(files, paths.protoDir);
  return { app, files, written };
}

/** The `buf` binary shipped by @bufbuild/buf. */
export function bufBin(): string {
  return path.join(path.dirname(require.resolve("@bufbuild/buf/package.json")), "bin", "buf");
}

/** The template `blaze generate` uses for a project without its own buf.gen.yaml. */
export function defaultTemplate(paths: ProjectPaths): string {
  const opt = ["target=ts", "import_extension=js", "rewrite_imports=./blazerpc/**/*_pb.js:@blazerpc/tensor"];
  const protocGenEs = path.join(path.dirname(require.resolve("@bufbuild/protoc-gen-es/package.json")), "bin", "protoc-gen-es");
  const protocGenBlaze = path.join(path.dirname(require.resolve("@blazerpc/codegen/package.json")), "bin", "protoc-gen-blaze.js");
  return JSON.stringify({
    version: "v2",
    plugins: [
      { local: [process.execPath, protocGenEs], out: paths.genDir, opt },
      { local: [process.execPath, protocGenBlaze], out: paths.genDir, opt },
    ],
  });
}

/**
 * Step 2: `buf generate`, offline, with the local plugins. Uses the project's
 * buf.gen.yaml when there is one beside the entry; otherwise the built-in template
 * (protoc-gen-es and protoc-gen-blaze into the gen folder).
 *
 * @throws Error with buf's own output when it fails.
 */
export function runBufGenerate(paths: ProjectPaths): { template: string } {
  const own = path.join(paths.projectDir, "buf.gen.yaml");
  const args = fs.existsSync(own)
    ? ["generate"]
    : ["generate", paths.protoDir, "--template", defaultTemplate(paths), "--exclude-path", path.join(paths.protoDir, "blazerpc")];
  const r = spawnSync(bufBin(), args, { cwd: paths.projectDir, encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`buf generate failed (exit ${r.status}):\n${r.stderr || r.stdout}`);
  }
  return { template: fs.existsSync(own) ? own : "built-in" };
}

/** The generated binding file for an app, in TypeScript or compiled JavaScript. */
export function bindingFile(genDir: string, appName: string, ext: ".ts" | ".js"): string {
  const { protoFilePath } = require("@blazerpc/codegen") as typeof import("@blazerpc/codegen");
  return path.join(genDir, protoFilePath(appName).replace(/\.proto$/, `_blaze${ext}`));
}

/**
 * True when the generated code must be (re)written: the schema's content changed in this
 * run (writeProto compares by content), or a generated file is missing. File times are not
 * used: a fresh git checkout writes files in any order.
 */
export function isGenStale(paths: ProjectPaths, result: ProtoResult): boolean {
  if (result.written.length > 0) return true;
  const { protoFilePath } = require("@blazerpc/codegen") as typeof import("@blazerpc/codegen");
  const pb = path.join(paths.genDir, protoFilePath(result.app.name).replace(/\.proto$/, "_pb.ts"));
  return [bindingFile(paths.genDir, result.app.name, ".ts"), pb].some((f) => !fs.existsSync(f));
}
