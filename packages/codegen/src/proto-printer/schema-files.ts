import * as fs from "node:fs";
import * as path from "node:path";
import type { AppSpec } from "../model-spec.js";
import { protoFilePath } from "../names.js";
import { assignNumbers, formatLockFile, parseLockFile, type LockFile } from "./lock-file.js";
import { CALL_PROTO, numberingInput, printProto } from "./print-proto.js";

/** A file of the generated schema, relative to the proto folder. */
export interface SchemaFile {
  readonly path: string;
  readonly content: string;
}

/** Options of {@link schemaFiles}. */
export interface SchemaFilesOptions {
  /** The lock file committed so far (see {@link readLockFile}): its numbers are kept. */
  readonly previousLock?: LockFile | undefined;
}

/**
 * The protos every generated schema comes with, shipped in @blazerpc/tensor's `proto/`
 * folder. A schema with code-first RPCs or call contexts also gets `blazerpc/v1/call.proto`
 * ({@link CALL_PROTO}), which it imports.
 */
export const BLAZERPC_PROTOS = ["blazerpc/v1/options.proto", "blazerpc/v1/tensor.proto"] as const;

/** The path of an app's lock file inside the proto folder: `iris/v1/iris.lock.json`. */
export function lockFilePath(appName: string): string {
  return protoFilePath(appName).replace(/\.proto$/, ".lock.json");
}

/**
 * Reads the lock file of app `appName` under `protoDir`; undefined when there is none.
 *
 * @throws Error when the file exists but is not a lock file.
 */
export function readLockFile(protoDir: string, appName: string): LockFile | undefined {
  const file = path.join(protoDir, lockFilePath(appName));
  if (!fs.existsSync(file)) return undefined;
  return parseLockFile(fs.readFileSync(file, "utf8"), file);
}

/**
 * Every file of an app's schema: the app's `.proto`, its lock file (field numbers, kept
 * from `previousLock`), and copies of the BlazeRPC protos it imports, so that the proto
 * folder is a complete contract on its own (`buf curl --schema proto`, `grpcurl
 * -import-path proto`, and generators for other languages need nothing else).
 *
 * @example
 * const app = extract("models.ts");
 * writeSchemaFiles(schemaFiles(app, { previousLock: readLockFile("proto", app.name) }), "proto");
 */
export function schemaFiles(app: AppSpec, options: SchemaFilesOptions = {}): SchemaFile[] {
  const lock = assignNumbers(numberingInput(app), options.previousLock);
  const proto = printProto(app, lock);
  const files: SchemaFile[] = [
    { path: protoFilePath(app.name), content: proto },
    { path: lockFilePath(app.name), content: formatLockFile(lock) },
  ];
  const protoRoot = path.join(path.dirname(require.resolve("@blazerpc/tensor/package.json")), "proto");
  const copied: string[] = app.models.some((m) => m.rpc === true || m.context === true)
    ? [CALL_PROTO, ...BLAZERPC_PROTOS]
    : [...BLAZERPC_PROTOS];
  for (const p of copied) {
    const original = fs.readFileSync(path.join(protoRoot, p), "utf8");
    files.push({
      path: p,
      content: `// Copied from @blazerpc/tensor by blaze proto. DO NOT EDIT.\n${original}`,
    });
  }
  return files;
}

/**
 * Writes the schema files under `outDir`, leaving files whose content is unchanged
 * untouched. Returns the paths it wrote.
 */
export function writeSchemaFiles(files: readonly SchemaFile[], outDir: string): string[] {
  const written: string[] = [];
  for (const f of files) {
    const target = path.join(outDir, f.path);
    if (fs.existsSync(target) && fs.readFileSync(target, "utf8") === f.content) continue;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, f.content);
    written.push(target);
  }
  return written;
}
