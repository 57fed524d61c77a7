// findModels and readConfig on scratch model repositories: the two layouts (a folder of
// <name>.onnx files, Triton's <name>/<version>/model.onnx trees), which version is served,
// what a config may set, and every way a repository or a config is refused. The .onnx
// files are empty: finding models does not read them.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findModels, isZeroCodeEntry, readConfig, ZERO_CODE_BATCH } from "./model-repository.js";

let root: string;
let n = 0;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-model-repo-"));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A fresh repository holding `files` (path → content; JSON values are written as JSON). */
function repo(files: Record<string, unknown>): string {
  const dir = path.join(root, `repo-${++n}`);
  fs.mkdirSync(dir);
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
  }
  return dir;
}

/** A path as the messages print it (relative to the working directory). */
const rel = (p: string) => path.relative(process.cwd(), p);

/** The message findModels throws for `dir`. */
function errorOf(dir: string): string {
  try {
    findModels(dir);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`findModels(${dir}) did not throw`);
}

describe("layouts", () => {
  it("a folder of <name>.onnx files, each with its optional <name>.json beside it", () => {
    const dir = repo({
      "iris.onnx": "",
      "iris.json": { description: "Iris species", intraOpNumThreads: 1 },
      "resnet50.v2.onnx": "",
      "notes.txt": "not a model",
      "labels.json": ["not", "a", "config"],
    });
    expect(findModels(dir)).toEqual([
      {
        name: "iris",
        version: "1",
        file: path.join(dir, "iris.onnx"),
        location: "iris.onnx",
        configFile: path.join(dir, "iris.json"),
        config: { description: "Iris species", intraOpNumThreads: 1 },
      },
      {
        name: "resnet50.v2",
        version: "1",
        file: path.join(dir, "resnet50.v2.onnx"),
        location: "resnet50.v2.onnx",
        config: {},
      },
    ]);
  });

  it("Triton's <name>/<version>/model.onnx: the highest numbered version (10 above 9), with <name>/config.json", () => {
    const dir = repo({
      "mlp/1/model.onnx": "",
      "mlp/9/model.onnx": "",
      "mlp/10/model.onnx": "",
      "mlp/11/other.onnx": "", // no model.onnx: not a version
      "mlp/latest/model.onnx": "", // not a number: not a version
      "mlp/config.json": { batch: { maxBatchSize: 16, maxDelayMs: 25 } },
      "embed/3/model.onnx": "",
    });
    expect(findModels(dir)).toEqual([
      {
        name: "embed",
        version: "3",
        file: path.join(dir, "embed", "3", "model.onnx"),
        location: "embed/3/model.onnx",
        config: {},
      },
      {
        name: "mlp",
        version: "10",
        file: path.join(dir, "mlp", "10", "model.onnx"),
        location: "mlp/10/model.onnx",
        configFile: path.join(dir, "mlp", "config.json"),
        config: { batch: { maxBatchSize: 16, maxDelayMs: 25 } },
      },
    ]);
  });

  it("both layouts in one folder, sorted by file name", () => {
    const dir = repo({ "b.onnx": "", "a/1/model.onnx": "", "c.onnx": "" });
    expect(findModels(dir).map((m) => [m.name, m.file])).toEqual([
      ["a", path.join(dir, "a", "1", "model.onnx")],
      ["b", path.join(dir, "b.onnx")],
      ["c", path.join(dir, "c.onnx")],
    ]);
  });

  it('a config\'s "version" picks a version folder other than the highest', () => {
    const dir = repo({ "mlp/1/model.onnx": "", "mlp/2/model.onnx": "", "mlp/config.json": { version: "1" } });
    const [m] = findModels(dir);
    expect(m).toMatchObject({ name: "mlp", version: "1", file: path.join(dir, "mlp", "1", "model.onnx") });
  });

  it("a config's \"name\" overrides the file's and the folder's", () => {
    const dir = repo({
      "embedding_model.onnx": "",
      "embedding_model.json": { name: "wake-embedding" },
      "m/1/model.onnx": "",
      "m/config.json": { name: "mlp" },
    });
    expect(findModels(dir).map((m) => [m.name, path.relative(dir, m.file)])).toEqual([
      ["wake-embedding", "embedding_model.onnx"],
      ["mlp", path.join("m", "1", "model.onnx")],
    ]);
  });

  it("one .onnx file: version 1, its config beside it", () => {
    const dir = repo({ "iris.onnx": "", "iris.json": { name: "sklearn-iris" }, "other.onnx": "" });
    expect(findModels(path.join(dir, "iris.onnx"))).toEqual([
      {
        name: "sklearn-iris",
        version: "1",
        file: path.join(dir, "iris.onnx"),
        location: "iris.onnx",
        configFile: path.join(dir, "iris.json"),
        config: { name: "sklearn-iris" },
      },
    ]);
  });

  it("ignores folders that are not models: hidden ones, proto/, gen/, node_modules/, and folders without versions", () => {
    const dir = repo({
      "iris.onnx": "",
      "docs/README.md": "# models",
      "data/1/weights.bin": "",
      "empty/.keep": "",
      ".git/1/model.onnx": "",
      "proto/1/model.onnx": "",
      "proto/config.json": { name: "not-a-model" },
      "gen/1/model.onnx": "",
      "node_modules/1/model.onnx": "",
    });
    expect(findModels(dir).map((m) => m.name)).toEqual(["iris"]);
  });

  it("isZeroCodeEntry: an .onnx file (even one not there yet) or a folder; not a TypeScript entry", () => {
    const dir = repo({ "models.ts": "", "iris.onnx": "" });
    expect(isZeroCodeEntry(path.join(dir, "iris.onnx"))).toBe(true);
    expect(isZeroCodeEntry(path.join(dir, "missing.onnx"))).toBe(true);
    expect(isZeroCodeEntry(dir)).toBe(true);
    expect(isZeroCodeEntry(path.join(dir, "models.ts"))).toBe(false);
    expect(isZeroCodeEntry(path.join(dir, "missing"))).toBe(false);
  });

  it("batches by default with a bounded queue and a short wait", () => {
    expect(ZERO_CODE_BATCH).toEqual({ maxBatchSize: 32, maxDelayMs: 2, queueCapacity: 1024 });
  });
});

describe("repositories that are refused", () => {
  it("a folder with no model says what to put in it", () => {
    const dir = repo({ "README.md": "", "docs/1/notes.txt": "" });
    expect(errorOf(dir)).toBe(
      `${dir} holds no model: put <name>.onnx files in it, or <name>/<version>/model.onnx folders (Triton's layout)`,
    );
  });

  it("a path that does not exist, a file that is not .onnx", () => {
    const dir = repo({ "model.pt": "" });
    expect(errorOf(path.join(dir, "nope"))).toBe(`model not found: ${path.join(dir, "nope")} does not exist`);
    expect(errorOf(path.join(dir, "model.pt"))).toBe(`${path.join(dir, "model.pt")} is not an .onnx file`);
  });

  it("two models of the same name: one message naming both files", () => {
    const dir = repo({ "iris.onnx": "", "iris/1/model.onnx": "" });
    expect(errorOf(dir)).toBe(
      `two models are named "iris": ${rel(path.join(dir, "iris", "1", "model.onnx"))} and ${rel(path.join(dir, "iris.onnx"))} — rename one`,
    );
    const renamed = repo({ "a.onnx": "", "a.json": { name: "b" }, "b.onnx": "" });
    expect(errorOf(renamed)).toBe(
      `two models are named "b": ${rel(path.join(renamed, "a.onnx"))} and ${rel(path.join(renamed, "b.onnx"))} — rename one`,
    );
  });

  it('"version" in the config of a lone file', () => {
    const dir = repo({ "iris.onnx": "", "iris.json": { version: "2" } });
    expect(errorOf(dir)).toBe(
      `${rel(path.join(dir, "iris.json"))}: "version" picks a version folder of a <name>/<version>/model.onnx tree`,
    );
  });

  it('"version" that has no version folder: the versions there are listed', () => {
    const dir = repo({ "mlp/1/model.onnx": "", "mlp/3/model.onnx": "", "mlp/config.json": { version: "2" } });
    expect(errorOf(dir)).toBe(
      `${rel(path.join(dir, "mlp", "config.json"))}: version "2" has no ${rel(path.join(dir, "mlp"))}/2/model.onnx (versions: 1, 3)`,
    );
  });

  it("a config.json in a folder with no <version>/model.onnx", () => {
    const dir = repo({ "iris.onnx": "", "mlp/config.json": {}, "mlp/model.onnx": "" });
    const mlp = rel(path.join(dir, "mlp"));
    expect(errorOf(dir)).toBe(`${mlp} has a config.json but no <version>/model.onnx (e.g. ${mlp}/1/model.onnx)`);
  });

  it("a config error is found through findModels, for either layout", () => {
    const file = repo({ "iris.onnx": "", "iris.json": { nmae: "x" } });
    expect(errorOf(file)).toMatch(`${rel(path.join(file, "iris.json"))}: unknown key "nmae"`);
    const tree = repo({ "mlp/1/model.onnx": "", "mlp/config.json": { batch: { maxBatch: 4 } } });
    expect(errorOf(tree)).toMatch(`${rel(path.join(tree, "mlp", "config.json"))}: unknown key "batch.maxBatch"`);
  });
});

describe("readConfig", () => {
  const configError = (content: unknown): string => {
    const dir = repo({ "c.json": content });
    const file = path.join(dir, "c.json");
    try {
      readConfig(file);
    } catch (err) {
      const message = (err as Error).message;
      const prefix = `${rel(file)}: `;
      if (message.startsWith(prefix)) return message.slice(prefix.length);
      if (message.startsWith(`${rel(file)} is not JSON: `)) return "not JSON";
      return `(no file in the message) ${message}`;
    }
    throw new Error(`readConfig accepted ${JSON.stringify(content)}`);
  };

  it("no file: an empty config", () => {
    expect(readConfig(path.join(root, "no-such.json"))).toEqual({});
  });

  it("every key, valid", () => {
    const config = {
      name: "iris",
      version: "3",
      description: "Iris species",
      batch: {
        maxBatchSize: 64,
        maxDelayMs: 5,
        maxRowsPerRequest: 128,
        queueCapacity: 100,
        preferredBatchSizes: [8, 16],
        adaptiveWait: false,
      },
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      executionProviders: ["cuda", "cpu"],
    };
    const dir = repo({ "c.json": config, "off.json": { batch: false } });
    expect(readConfig(path.join(dir, "c.json"))).toEqual(config);
    expect(readConfig(path.join(dir, "off.json"))).toEqual({ batch: false });
  });

  const known = "name, version, description, batch, intraOpNumThreads, interOpNumThreads, executionProviders";
  const batchKnown =
    "maxBatchSize, maxDelayMs, maxRowsPerRequest, queueCapacity, preferredBatchSizes, adaptiveWait, staleQueueMs";

  it.each<[string, unknown, string]>([
    ["not JSON", "{ name: iris }", "not JSON"],
    ["an array", ["iris"], "must hold a JSON object"],
    ["a JSON string", '"iris"', "must hold a JSON object"],
    ["null", "null", "must hold a JSON object"],
    ["an unknown key", { name: "iris", threads: 2 }, `unknown key "threads" (known: ${known})`],
    ["an unknown batch key", { batch: { maxBatch: 4 } }, `unknown key "batch.maxBatch" (known: ${batchKnown})`],
    ["a name that is not a string", { name: 7 }, '"name" must be a string'],
    ["a version that is a number", { version: 2 }, '"version" must be a string'],
    ["a description that is a list", { description: ["x"] }, '"description" must be a string'],
    ["threads = 0", { intraOpNumThreads: 0 }, '"intraOpNumThreads" must be an integer ≥ 1'],
    ["threads = 1.5", { interOpNumThreads: 1.5 }, '"interOpNumThreads" must be an integer ≥ 1'],
    ['threads = "2"', { intraOpNumThreads: "2" }, '"intraOpNumThreads" must be an integer ≥ 1'],
    [
      "providers as a string",
      { executionProviders: "cpu" },
      '"executionProviders" must be a list of provider names, e.g. ["cpu"]',
    ],
    ["no providers", { executionProviders: [] }, '"executionProviders" must be a list of provider names, e.g. ["cpu"]'],
    [
      "a provider number",
      { executionProviders: [1] },
      '"executionProviders" must be a list of provider names, e.g. ["cpu"]',
    ],
    ["batch: true", { batch: true }, `"batch" must be false or an object of batch options (${batchKnown})`],
    ["batch: a list", { batch: [16] }, `"batch" must be false or an object of batch options (${batchKnown})`],
    ["batch: null", { batch: null }, `"batch" must be false or an object of batch options (${batchKnown})`],
    ['maxBatchSize: "16"', { batch: { maxBatchSize: "16" } }, '"batch.maxBatchSize" must be a number'],
    ["maxDelayMs: null", { batch: { maxDelayMs: null } }, '"batch.maxDelayMs" must be a number'],
    ["queueCapacity: a list", { batch: { queueCapacity: [1] } }, '"batch.queueCapacity" must be a number'],
    ['maxRowsPerRequest: "all"', { batch: { maxRowsPerRequest: "all" } }, '"batch.maxRowsPerRequest" must be a number'],
    [
      'preferredBatchSizes: "8"',
      { batch: { preferredBatchSizes: "8" } },
      '"batch.preferredBatchSizes" must be a list of numbers',
    ],
    [
      "preferredBatchSizes: {}",
      { batch: { preferredBatchSizes: {} } },
      '"batch.preferredBatchSizes" must be a list of numbers',
    ],
    ['adaptiveWait: "no"', { batch: { adaptiveWait: "no" } }, '"batch.adaptiveWait" must be true or false'],
    ['staleQueueMs: "soon"', { batch: { staleQueueMs: "soon" } }, '"batch.staleQueueMs" must be a number'],
  ])("refuses %s, naming the file", (_what, content, message) => {
    expect(configError(content)).toBe(message);
  });
});
