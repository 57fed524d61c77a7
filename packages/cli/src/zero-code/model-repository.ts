import * as fs from "node:fs";
import * as path from "node:path";

/**
 * What a model's config file may set (`<name>.json` beside `<name>.onnx`, or
 * `<name>/config.json` in a `<name>/<version>/model.onnx` tree). Every key is optional.
 *
 * @example
 * { "name": "sklearn-iris", "batch": { "maxBatchSize": 64, "maxDelayMs": 5 }, "intraOpNumThreads": 1 }
 */
export interface ModelConfig {
  /** The model's name (default: the file's or the folder's name). */
  readonly name?: string;
  /** The version to serve, of a versioned tree (default: the highest number). */
  readonly version?: string;
  /** One line describing the model: the RPC's comment in the schema, `/docs` and reflection. */
  readonly description?: string;
  /**
   * Adaptive batching: `false` turns it off; an object overrides the defaults (see
   * `ZERO_CODE_BATCH`). Only a model whose every input and output has a dynamic first
   * dimension can batch.
   */
  readonly batch?: false | BatchConfig;
  /** onnxruntime threads inside one operator (default: onnxruntime's, one per physical core). */
  readonly intraOpNumThreads?: number;
  /** onnxruntime threads across operators (with `executionMode: "parallel"`). */
  readonly interOpNumThreads?: number;
  /** onnxruntime execution providers in order of preference, e.g. `["cuda", "cpu"]` (default `["cpu"]`). */
  readonly executionProviders?: readonly string[];
}

/** The batch options a config may set (those of `app.model`'s `batch`). */
export interface BatchConfig {
  readonly maxBatchSize?: number;
  readonly maxDelayMs?: number;
  readonly maxRowsPerRequest?: number;
  readonly queueCapacity?: number;
  readonly preferredBatchSizes?: readonly number[];
  readonly adaptiveWait?: boolean;
  readonly staleQueueMs?: number;
}

/** Batching of a model with a dynamic first dimension, unless its config says otherwise. */
export const ZERO_CODE_BATCH = { maxBatchSize: 32, maxDelayMs: 2, queueCapacity: 1024 } as const;

/** One model found in a model repository. */
export interface RepositoryModel {
  /** Its name: the config's, else the file's (`iris.onnx` → `iris`) or the folder's. */
  readonly name: string;
  /** The version served: the version folder's name, the config's, or `"1"` for a lone file. */
  readonly version: string;
  /** The `.onnx` file (absolute). */
  readonly file: string;
  /** The file within the repository (`mlp/2/model.onnx`, `iris.onnx`), as the schema names it. */
  readonly location: string;
  /** Its config file (absolute), if there is one. */
  readonly configFile?: string;
  readonly config: ModelConfig;
}

const CONFIG_KEYS = new Set([
  "name",
  "version",
  "description",
  "batch",
  "intraOpNumThreads",
  "interOpNumThreads",
  "executionProviders",
]);
const BATCH_KEYS = new Set([
  "maxBatchSize",
  "maxDelayMs",
  "maxRowsPerRequest",
  "queueCapacity",
  "preferredBatchSizes",
  "adaptiveWait",
  "staleQueueMs",
]);

/** True when `entry` is served without code: an `.onnx` file or a folder (a model repository). */
export function isZeroCodeEntry(entry: string): boolean {
  if (entry.endsWith(".onnx")) return true;
  try {
    return fs.statSync(entry).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The models of a model repository: an `.onnx` file, or a folder where each model is a
 * file `<name>.onnx` (with an optional `<name>.json` config) or a tree
 * `<name>/<version>/model.onnx` (with an optional `<name>/config.json`), Triton's layout.
 * A tree serves its highest numbered version unless its config names one.
 *
 * @throws Error naming the file or folder that is not a model, a config that is not valid
 *   (unknown key, wrong type), or two models of the same name.
 * @example
 * findModels("models"); // [{ name: "iris", version: "1", file: "/abs/models/iris.onnx", config: {} }, …]
 */
export function findModels(entry: string): RepositoryModel[] {
  const abs = path.resolve(entry);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch {
    throw new Error(`model not found: ${entry} does not exist`);
  }
  const models: RepositoryModel[] = [];
  if (stat.isFile()) {
    if (!abs.endsWith(".onnx")) throw new Error(`${entry} is not an .onnx file`);
    models.push(fileModel(abs));
  } else {
    for (const name of fs.readdirSync(abs).sort()) {
      const p = path.join(abs, name);
      const st = fs.statSync(p);
      if (st.isFile() && name.endsWith(".onnx")) models.push(fileModel(p));
      else if (st.isDirectory() && !name.startsWith(".") && !["proto", "gen", "node_modules"].includes(name)) {
        const m = treeModel(p);
        if (m !== undefined) models.push(m);
      }
    }
    if (models.length === 0) {
      throw new Error(
        `${entry} holds no model: put <name>.onnx files in it, or <name>/<version>/model.onnx folders (Triton's layout)`,
      );
    }
  }
  const seen = new Map<string, RepositoryModel>();
  for (const m of models) {
    const first = seen.get(m.name);
    if (first !== undefined) {
      throw new Error(`two models are named "${m.name}": ${rel(first.file)} and ${rel(m.file)} — rename one`);
    }
    seen.set(m.name, m);
  }
  return models;
}

function fileModel(file: string): RepositoryModel {
  const base = path.basename(file, ".onnx");
  const configFile = path.join(path.dirname(file), `${base}.json`);
  const config = readConfig(configFile);
  if (config.version !== undefined) {
    throw new Error(`${rel(configFile)}: "version" picks a version folder of a <name>/<version>/model.onnx tree`);
  }
  return {
    name: config.name ?? base,
    version: "1",
    file,
    location: path.basename(file),
    ...(fs.existsSync(configFile) ? { configFile } : {}),
    config,
  };
}

function treeModel(dir: string): RepositoryModel | undefined {
  const configFile = path.join(dir, "config.json");
  const config = readConfig(configFile);
  const versions = fs
    .readdirSync(dir)
    .filter((v) => /^\d+$/.test(v) && fs.existsSync(path.join(dir, v, "model.onnx")))
    .sort((a, b) => Number(a) - Number(b));
  if (versions.length === 0) {
    if (fs.existsSync(configFile)) {
      throw new Error(`${rel(dir)} has a config.json but no <version>/model.onnx (e.g. ${rel(dir)}/1/model.onnx)`);
    }
    return undefined; // some other folder
  }
  const version = config.version ?? versions[versions.length - 1]!;
  if (!versions.includes(version)) {
    throw new Error(
      `${rel(configFile)}: version "${version}" has no ${rel(dir)}/${version}/model.onnx (versions: ${versions.join(", ")})`,
    );
  }
  return {
    name: config.name ?? path.basename(dir),
    version,
    file: path.join(dir, version, "model.onnx"),
    location: `${path.basename(dir)}/${version}/model.onnx`,
    ...(fs.existsSync(configFile) ? { configFile } : {}),
    config,
  };
}

/** Reads and checks a config file; `{}` when there is none. */
export function readConfig(file: string): ModelConfig {
  if (!fs.existsSync(file)) return {};
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${rel(file)} is not JSON: ${(err as Error).message}`);
  }
  const bad = (what: string) => new Error(`${rel(file)}: ${what}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("must hold a JSON object");
  const c = value as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!CONFIG_KEYS.has(key)) throw bad(`unknown key "${key}" (known: ${[...CONFIG_KEYS].join(", ")})`);
  }
  for (const key of ["name", "version", "description"]) {
    if (c[key] !== undefined && typeof c[key] !== "string") throw bad(`"${key}" must be a string`);
  }
  for (const key of ["intraOpNumThreads", "interOpNumThreads"]) {
    const n = c[key];
    if (n !== undefined && !(typeof n === "number" && Number.isInteger(n) && n >= 1)) {
      throw bad(`"${key}" must be an integer ≥ 1`);
    }
  }
  const eps = c.executionProviders;
  if (eps !== undefined && !(Array.isArray(eps) && eps.length > 0 && eps.every((e) => typeof e === "string"))) {
    throw bad(`"executionProviders" must be a list of provider names, e.g. ["cpu"]`);
  }
  const batch = c.batch;
  if (batch !== undefined && batch !== false) {
    if (typeof batch !== "object" || batch === null || Array.isArray(batch)) {
      throw bad(`"batch" must be false or an object of batch options (${[...BATCH_KEYS].join(", ")})`);
    }
    const b = batch as Record<string, unknown>;
    for (const key of Object.keys(b)) {
      if (!BATCH_KEYS.has(key)) throw bad(`unknown key "batch.${key}" (known: ${[...BATCH_KEYS].join(", ")})`);
    }
    // Types here, so that the message names the file; ranges are checked by app.model.
    for (const key of ["maxBatchSize", "maxDelayMs", "maxRowsPerRequest", "queueCapacity", "staleQueueMs"]) {
      if (b[key] !== undefined && typeof b[key] !== "number") throw bad(`"batch.${key}" must be a number`);
    }
    const sizes = b.preferredBatchSizes;
    if (sizes !== undefined && !(Array.isArray(sizes) && sizes.every((s) => typeof s === "number"))) {
      throw bad(`"batch.preferredBatchSizes" must be a list of numbers`);
    }
    if (b.adaptiveWait !== undefined && typeof b.adaptiveWait !== "boolean") {
      throw bad(`"batch.adaptiveWait" must be true or false`);
    }
  }
  return c as ModelConfig;
}

function rel(p: string): string {
  return path.relative(process.cwd(), p) || p;
}
