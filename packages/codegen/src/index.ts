export type {
  AppSpec,
  EnumSpec,
  EnumValueSpec,
  FieldSpec,
  MessageSpec,
  ModelSpec,
  ScalarKind,
  SourcePosition,
  TypeSpec,
} from "./model-spec.js";
export type { Diagnostic } from "./diagnostics.js";
export { CodegenError, formatDiagnostic } from "./diagnostics.js";
export type { ExtractOptions, ExtractResult } from "./extract/extract.js";
export { extract, extractWithSources } from "./extract/extract.js";
export type { TypeCheck, TypeCheckOptions, TypeCheckResult } from "./typecheck/typecheck.js";
export { createTypeCheck } from "./typecheck/typecheck.js";
export { CALL_PROTO, numberingInput, printProto, SERVICE_NAME } from "./proto-printer/print-proto.js";
export type { LockedEnum, LockedMessage, LockFile, NumberingInput } from "./proto-printer/lock-file.js";
export { assignNumbers, formatLockFile, parseLockFile } from "./proto-printer/lock-file.js";
export type { SchemaFile, SchemaFilesOptions } from "./proto-printer/schema-files.js";
export {
  BLAZERPC_PROTOS,
  lockFilePath,
  readLockFile,
  schemaFiles,
  writeSchemaFiles,
} from "./proto-printer/schema-files.js";
export type { Registration } from "./names.js";
export {
  MODEL_NAME,
  defaultJsonName,
  protoFilePath,
  protoPackage,
  requestMessageName,
  requestName,
  responseMessageName,
  responseName,
  rpcName,
  schemaMethod,
  toPascalCase,
  toSnakeCase,
  toUpperSnakeCase,
} from "./names.js";
export { version } from "./version.js";

import type { Plugin } from "@bufbuild/protoplugin";
import { version } from "./version.js";

/**
 * protoc-gen-blaze (see `plugin/protoc-gen-blaze.ts`), loaded on its first run: the
 * plugin framework brings a TypeScript compiler of its own, which `blaze proto` and
 * `blaze generate` (they run the plugin through buf, in another process) never need.
 *
 * @example
 * runNodeJs(protocGenBlaze); // what bin/protoc-gen-blaze.js does
 */
export const protocGenBlaze: Plugin = {
  name: "protoc-gen-blaze",
  version: `v${version}`,
  run: (request) => plugin().protocGenBlaze.run(request),
};

function plugin(): typeof import("./plugin/protoc-gen-blaze.js") {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see protocGenBlaze
  return require("./plugin/protoc-gen-blaze.js") as typeof import("./plugin/protoc-gen-blaze.js");
}
