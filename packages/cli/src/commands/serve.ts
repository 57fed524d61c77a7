import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import type { App, BlazeServer, ModelServiceBinding } from "@blazerpc/runtime";
import { isTypeScript, projectPaths, splitEntry } from "../paths.js";
import { bindingFile, bufBin, generate, isNoModels } from "./generate.js";
import { isZeroCodeEntry } from "../zero-code/model-repository.js";
import { isWorker, shareMetrics, workerMetrics, workerReadiness } from "./workers.js";
import type { ResolvedServeOptions } from "./serve-options.js";

/** Flags of `blaze serve` (see serve-options.ts for each one's flag, variable and default). */
export interface ServeFlags extends Partial<Omit<ResolvedServeOptions, "host" | "port">> {
  host: string;
  port: number;
  /** Where progress and the banner go. */
  log: (line: string) => void;
}

/**
 * `blaze serve <entry>[:export]`: loads the app (TypeScript through tsx, or compiled
 * JavaScript as is), regenerates the schema and code first when a TypeScript entry's
 * generated code is missing or stale, and serves it on one port.
 */
export async function serve(entrySpec: string, flags: ServeFlags): Promise<BlazeServer> {
  const loaded = isZeroCodeEntry(entrySpec) ? await loadModelFiles(entrySpec, flags) : loadEntry(entrySpec, flags);
  const { app, services, runtime } = loaded;
  // The settings the flags (and BLAZE_* variables) gave; --descriptor-set wins over the schema built here.
  const settings = runtime.serverOptionsFromSettings({ ...flags, host: flags.host, port: flags.port });
  // A worker of --workers N: /metrics answers the whole set's, summed by the primary.
  const worker = isWorker();
  // …and gRPC health and /readyz speak for the whole set of workers.
  const readiness = worker ? workerReadiness() : undefined;
  const server = runtime.createServer({
    app,
    services,
    ...(loaded.descriptorSet !== undefined ? { descriptorSet: loaded.descriptorSet } : {}),
    ...settings,
    ...(worker && settings.prometheus !== false ? { prometheus: { render: workerMetrics() } } : {}),
    ...(readiness !== undefined ? { peers: readiness.peers } : {}),
  });
  if (worker && server.registry !== undefined) shareMetrics(server.registry);
  await server.listen();
  readiness?.report(server.health);
  const id = process.env.BLAZE_WORKER_ID;
  if (!worker || id === "1") flags.log(banner(app, server, settings.tls !== undefined, flags.oip !== false));
  else flags.log(`blaze: worker ${id ?? "?"} (pid ${process.pid}) serving app "${app.name}" on ${server.url()}`);
  return server;
}

/** What is served: the app, its bindings, the runtime they belong to, and the schema with its comments. */
interface Loaded {
  readonly app: App;
  readonly services: ModelServiceBinding[];
  readonly runtime: typeof import("@blazerpc/runtime");
  readonly descriptorSet?: Uint8Array;
}

/** A TypeScript or compiled entry: the app it exports and its generated bindings (regenerated when stale). */
function loadEntry(entrySpec: string, flags: ServeFlags): Loaded {
  const { file, exportName } = splitEntry(entrySpec);
  const paths = projectPaths(file, flags);
  if (!fs.existsSync(paths.entry)) throw new Error(`entry file not found: ${file}`);
  const ts = isTypeScript(paths.entry);
  if (ts) {
    const started = Date.now();
    try {
      const result = generate(paths, { buf: true, regenerate: "when-stale" });
      if (result.generated) {
        flags.log(
          `blaze: regenerated ${path.relative(process.cwd(), paths.genDir) || "."} (${Date.now() - started} ms)`,
        );
      }
    } catch (err) {
      // An app with no models (only services of its own and routes) has no schema to generate.
      if (!isNoModels(err)) throw err;
    }
    // TypeScript entries load through tsx; compiled entries need no loader.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: tsx only for TypeScript entries
    (require("tsx/cjs/api") as { register(): unknown }).register();
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the user's entry, loaded synchronously (through tsx when it is TypeScript)
  const entryModule = require(paths.entry) as Record<string, unknown>;
  const app = findApp(entryModule, exportName, file);
  // Resolve the runtime the way the user's code does, so both share one copy.
  const userRequire = createRequire(paths.entry);
  const runtime = userRequire("@blazerpc/runtime") as typeof import("@blazerpc/runtime");
  let services: ModelServiceBinding[] = [];
  if (app.models.length > 0) {
    const bindingPath = bindingFile(paths.genDir, app.name, ts ? ".ts" : ".js");
    if (!fs.existsSync(bindingPath)) {
      throw new Error(
        `generated code not found: ${path.relative(process.cwd(), bindingPath)} — run \`blaze generate ${file}\`${ts ? "" : " and compile it"}`,
      );
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the generated binding, loaded at run time
    services = Object.values(require(bindingPath) as Record<string, unknown>).filter(
      runtime.isModelServiceBinding,
    ) as ModelServiceBinding[];
  }
  const descriptorSet =
    ts && flags.descriptorSet === undefined ? buildDescriptorSet(paths.protoDir, flags.log) : undefined;
  return { app, services, runtime, ...(descriptorSet !== undefined ? { descriptorSet } : {}) };
}

/**
 * An `.onnx` file or a model repository folder, served without code: the models are loaded,
 * their schema printed and built (into a temporary folder; the project's lock file, if any,
 * keeps its field numbers) and bound at run time.
 */
async function loadModelFiles(entry: string, flags: ServeFlags): Promise<Loaded> {
  const started = Date.now();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: onnxruntime only for an .onnx entry
  const zeroCode = require("../zero-code/zero-code.js") as typeof import("../zero-code/zero-code.js");
  const zc = await zeroCode.loadZeroCode(entry);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: the schema printer
    const cg = require("@blazerpc/codegen") as typeof import("@blazerpc/codegen");
    const paths = projectPaths(entry, flags);
    const files = cg.schemaFiles(zc.spec, { previousLock: cg.readLockFile(paths.protoDir, zc.appName) });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "blazerpc-schema-"));
    let descriptorSet: Uint8Array | undefined;
    try {
      cg.writeSchemaFiles(files, dir);
      descriptorSet = buildDescriptorSet(dir, flags.log);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    if (descriptorSet === undefined) throw new Error(`the schema of ${entry} could not be built`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the CLI's own runtime: no user code shares it
    const runtime = require("@blazerpc/runtime") as typeof import("@blazerpc/runtime");
    const service = zeroCode.serviceOf(descriptorSet, `${cg.protoPackage(zc.appName)}.InferenceService`);
    const { app, services } = zeroCode.zeroCodeApp(runtime, zc, service);
    app.onStop(() => zc.release());
    flags.log(
      `blaze: loaded ${zc.models.map((m) => `"${m.model.name}" v${m.model.version}${zeroCode.batchOptions(m) !== undefined ? " (batched)" : ""}`).join(", ")} from ${entry} (${Date.now() - started} ms)`,
    );
    return { app, services, runtime, descriptorSet };
  } catch (err) {
    await zc.release();
    throw err;
  }
}

function findApp(mod: Record<string, unknown>, exportName: string | undefined, file: string): App {
  const isApp = (v: unknown): v is App =>
    typeof v === "object" &&
    v !== null &&
    typeof (v as App).model === "function" &&
    typeof (v as App).getModel === "function";
  if (exportName !== undefined) {
    const v = mod[exportName];
    if (!isApp(v)) throw new Error(`${file} has no export "${exportName}" that is a BlazeRPC app (createApp(...))`);
    return v;
  }
  if (isApp(mod.app)) return mod.app;
  if (isApp(mod.default)) return mod.default;
  const apps = Object.entries(mod).filter(([, v]) => isApp(v));
  if (apps.length === 1) return apps[0]![1] as App;
  if (apps.length === 0)
    throw new Error(
      `${file} exports no BlazeRPC app — export the value of createApp(...), e.g. \`export const app = createApp({ name: "iris" })\``,
    );
  throw new Error(
    `${file} exports several apps (${apps.map(([k]) => k).join(", ")}) — pick one: blaze serve ${file}:${apps[0]![0]}`,
  );
}

/**
 * The schema with its comments, for reflection and the docs: `buf build` of the proto
 * folder (a TypeScript entry, in development). A compiled entry takes `--descriptor-set`.
 */
function buildDescriptorSet(protoDir: string, log: (line: string) => void): Uint8Array | undefined {
  if (!fs.existsSync(protoDir)) return undefined;
  const r = spawnSync(bufBin(), ["build", protoDir, "--as-file-descriptor-set", "-o", "-"], {
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) {
    // Reflection still works from the generated code, only without comments.
    log(`blaze: buf build ${protoDir} failed, reflection serves no comments: ${r.stderr.toString().trim()}`);
    return undefined;
  }
  return r.stdout;
}

function banner(app: App, server: BlazeServer, tls: boolean, oip: boolean): string {
  const url = server.url();
  const lines = [
    `blaze: serving app "${app.name}" on ${url}`,
    `  protocols: gRPC, gRPC-Web, Connect (binary and JSON) over ${tls ? "HTTP/2 and HTTP/1.1 (TLS, ALPN)" : "HTTP/2 (h2c, prior knowledge) and HTTP/1.1"}, one port`,
  ];
  const width = Math.max(...server.rpcs.map((r) => r.path.length));
  for (const r of server.rpcs) {
    lines.push(
      `  ${r.kind === "unary" ? "unary " : "stream"}  POST ${r.path.padEnd(width)}  ${r.model !== "" ? `model "${r.model}"` : "service"}`,
    );
  }
  lines.push(`  grpc    grpc.health.v1.Health, grpc.reflection.v1 and v1alpha`);
  if (oip) lines.push(`  oip     gRPC inference.GRPCInferenceService, REST /v2 (the Open Inference Protocol)`);
  for (const r of app.routes) lines.push(`  http    ${r.method.padEnd(4)} ${r.path}`);
  lines.push(`  http    GET  /healthz  /readyz  /metrics  /openapi.json  /docs`);
  return lines.join("\n");
}
