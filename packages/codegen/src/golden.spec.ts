/**
 * The golden tests. The committed examples/{iris,types}/proto/** (schema, lock file, copies
 * of the BlazeRPC protos) and examples/{iris,types}/gen/** (protoc-gen-es's `_pb.ts`,
 * protoc-gen-blaze's `_blaze.ts` and `_client.ts`) are the golden files of the two
 * examples; `__fixtures__/errors.golden.txt` is the one of the diagnostics, and
 * `__fixtures__/code-first.golden.proto` the schema of code-first RPCs (`app.rpc`) and call
 * contexts (`__fixtures__/code-first.ts`). This test runs
 * the whole pipeline — extract(models.ts) → schema files (numbered by the committed lock
 * file) → `buf generate` with protoc-gen-es and protoc-gen-blaze, using the example's
 * buf.gen.yaml — in a temp folder, and compares every file it produces, byte for byte, with
 * the committed one.
 *
 * After an intended change to the output: `UPDATE_GOLDEN=1 npm test` rewrites the
 * committed files (as `blaze generate examples/<name>/models.ts` does).
 *
 * That the generated code type-checks is covered elsewhere: examples/iris and
 * examples/types (gen/ included) are projects of the root `tsc -b`, which `npm test` runs
 * before jest.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CodegenError, formatDiagnostic } from "./diagnostics.js";
import { extract } from "./extract/extract.js";
import { readLockFile, schemaFiles, writeSchemaFiles } from "./proto-printer/schema-files.js";

const REPO = path.resolve(__dirname, "../../..");
const PLUGIN_DIST = path.join(REPO, "packages/codegen/dist/plugin/protoc-gen-blaze.js");
const BUF = path.join(path.dirname(require.resolve("@bufbuild/buf/package.json")), "bin", "buf");
const GOLDEN_DIRS = ["proto", "gen"] as const;
const UPDATE = process.env.UPDATE_GOLDEN === "1";
const howToUpdate = (example: string) =>
  `if the change is intended, run \`UPDATE_GOLDEN=1 npm test\` (or \`blaze generate examples/${example}/models.ts\`) and commit the result`;

/** Every file under `dir`, as paths relative to `root` with forward slashes, sorted. */
function listFiles(root: string, dir: string): string[] {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  const files: string[] = [];
  for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) files.push(...listFiles(root, rel));
    else if (e.isFile()) files.push(rel);
  }
  return files.sort();
}

/** The first line where `a` and `b` differ, for the failure message. */
function firstDifference(a: string, b: string): string {
  const la = a.split("\n");
  const lb = b.split("\n");
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i])
      return `line ${i + 1}:\n  committed: ${JSON.stringify(la[i] ?? "<end of file>")}\n  generated: ${JSON.stringify(lb[i] ?? "<end of file>")}`;
  }
  return "(same text; the bytes differ)";
}

describe.each([
  [
    "iris",
    [
      "proto/blazerpc/v1/options.proto",
      "proto/blazerpc/v1/tensor.proto",
      "proto/iris/v1/iris.lock.json",
      "proto/iris/v1/iris.proto",
      "gen/iris/v1/iris_blaze.ts",
      "gen/iris/v1/iris_client.ts",
      "gen/iris/v1/iris_pb.ts",
    ],
  ],
  [
    "types",
    [
      "proto/blazerpc/v1/options.proto",
      "proto/blazerpc/v1/tensor.proto",
      "proto/types/v1/types.lock.json",
      "proto/types/v1/types.proto",
      "gen/types/v1/types_blaze.ts",
      "gen/types/v1/types_client.ts",
      "gen/types/v1/types_pb.ts",
    ],
  ],
])("golden: examples/%s", (example, expectedFiles) => {
  const dir = path.join(REPO, "examples", example);
  let out: string;
  let produced: string[];
  let committed: string[];

  beforeAll(() => {
    if (!fs.existsSync(PLUGIN_DIST)) {
      throw new Error(
        "packages/codegen/dist is missing: run `node scripts/pnpm.cjs exec tsc -b` (npm test does) before jest",
      );
    }
    out = fs.mkdtempSync(path.join(os.tmpdir(), `blaze-golden-${example}-`));

    // Step 1, as `blaze proto` does it: the entry relative to its folder, the committed lock's numbers.
    const app = extract("models.ts", { cwd: dir });
    writeSchemaFiles(
      schemaFiles(app, { previousLock: readLockFile(path.join(dir, "proto"), app.name) }),
      path.join(out, "proto"),
    );

    // Step 2, as `blaze generate` does it: buf generate with the example's own template,
    // its plugins' relative paths made absolute (they live in the example's node_modules:
    // protoc-gen-es, and protoc-gen-blaze from packages/codegen/bin via the workspace link).
    const template = fs.readFileSync(path.join(dir, "buf.gen.yaml"), "utf8");
    let plugins = 0;
    const local = template.replace(/\["node", "(node_modules\/[^"]+)"\]/g, (_, rel: string) => {
      plugins++;
      return `[${JSON.stringify(process.execPath)}, ${JSON.stringify(path.join(dir, rel))}]`;
    });
    expect(plugins).toBe(2);
    expect(fs.realpathSync(path.join(dir, "node_modules/@blazerpc/codegen/bin/protoc-gen-blaze.js"))).toBe(
      fs.realpathSync(path.join(REPO, "packages/codegen/bin/protoc-gen-blaze.js")),
    );
    fs.writeFileSync(path.join(out, "buf.gen.yaml"), local);
    const r = spawnSync(BUF, ["generate"], { cwd: out, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`buf generate failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
    fs.rmSync(path.join(out, "buf.gen.yaml"));

    produced = GOLDEN_DIRS.flatMap((d) => listFiles(out, d));
    committed = GOLDEN_DIRS.flatMap((d) => listFiles(dir, d));

    if (UPDATE) {
      for (const f of committed) if (!produced.includes(f)) fs.rmSync(path.join(dir, f));
      for (const f of produced) {
        const target = path.join(dir, f);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, fs.readFileSync(path.join(out, f)));
      }
      console.log(
        `UPDATE_GOLDEN=1: rewrote ${produced.length} golden files under examples/${example}/{${GOLDEN_DIRS.join(",")}}`,
      );
      committed = GOLDEN_DIRS.flatMap((d) => listFiles(dir, d));
    }
  });

  afterAll(() => {
    if (out !== undefined) fs.rmSync(out, { recursive: true, force: true });
  });

  it("produces the schema, its lock file, the _pb, _blaze and _client files (the vendored blazerpc protos get no code)", () => {
    expect(produced).toEqual(expectedFiles);
  });

  it("produces every committed file byte for byte", () => {
    const problems: string[] = [];
    for (const f of produced) {
      const committedPath = path.join(dir, f);
      if (!fs.existsSync(committedPath)) {
        problems.push(`examples/${example}/${f}: generated, but not committed`);
        continue;
      }
      const want = fs.readFileSync(committedPath);
      const got = fs.readFileSync(path.join(out, f));
      if (!want.equals(got)) {
        problems.push(
          `examples/${example}/${f} differs from what the generators produce now, at ${firstDifference(want.toString("utf8"), got.toString("utf8"))}`,
        );
      }
    }
    if (problems.length > 0)
      throw new Error(`golden files out of date:\n${problems.join("\n")}\n\n${howToUpdate(example)}`);
  });

  it("passes buf lint (STANDARD), the vendored BlazeRPC protos included", () => {
    const config = JSON.stringify({ version: "v2", lint: { use: ["STANDARD"] } });
    const r = spawnSync(BUF, ["lint", ".", "--config", config], { cwd: path.join(out, "proto"), encoding: "utf8" });
    expect({ code: r.status, out: r.stdout + r.stderr }).toEqual({ code: 0, out: "" });
  });

  it("leaves no committed file that the generators no longer produce", () => {
    const stale = committed.filter((f) => !produced.includes(f));
    if (stale.length > 0) {
      throw new Error(
        `committed but no longer generated:\n${stale.map((f) => `examples/${example}/${f}`).join("\n")}\n\n${howToUpdate(example)}`,
      );
    }
    expect(committed).toEqual(produced);
  });
});

describe("golden: the schema of extract/__fixtures__/code-first.ts (code-first RPCs, call contexts)", () => {
  const fixtures = path.join(__dirname, "extract/__fixtures__");
  const golden = path.join(fixtures, "code-first.golden.proto");
  const lint = (cwd: string) => {
    const r = spawnSync(
      BUF,
      ["lint", ".", "--config", JSON.stringify({ version: "v2", lint: { use: ["STANDARD"] } })],
      { cwd, encoding: "utf8" },
    );
    return { code: r.status, out: r.stdout + r.stderr };
  };
  let out: string;
  let proto: string;
  let paths: string[];

  beforeAll(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-golden-code-first-"));
    const files = schemaFiles(extract("code-first.ts", { cwd: fixtures }));
    writeSchemaFiles(files, out);
    paths = files.map((f) => f.path).sort();
    proto = files.find((f) => f.path === "code_first/v1/code_first.proto")!.content;
    if (UPDATE) fs.writeFileSync(golden, proto);
  });

  afterAll(() => {
    if (out !== undefined) fs.rmSync(out, { recursive: true, force: true });
  });

  it("is code-first.golden.proto", () => {
    const want = fs.existsSync(golden) ? fs.readFileSync(golden, "utf8") : "";
    if (want !== proto) {
      throw new Error(
        `extract/__fixtures__/code-first.golden.proto differs from what blaze proto prints now, at ${firstDifference(want, proto)}\n\nif the change is intended, run \`UPDATE_GOLDEN=1 npm test\` and commit the result`,
      );
    }
  });

  it("comes with a copy of blazerpc/v1/call.proto, which only such a schema imports", () => {
    expect(paths).toEqual([
      "blazerpc/v1/call.proto",
      "blazerpc/v1/options.proto",
      "blazerpc/v1/tensor.proto",
      "code_first/v1/code_first.lock.json",
      "code_first/v1/code_first.proto",
    ]);
    expect(proto).toContain('import "blazerpc/v1/call.proto";\n');
  });

  it("passes buf lint (STANDARD) thanks to its buf:lint:ignore comments, and only thanks to them", () => {
    expect(lint(out)).toEqual({ code: 0, out: "" });
    const file = path.join(out, "code_first/v1/code_first.proto");
    fs.writeFileSync(file, proto.replace(/^ *\/\/ buf:lint:ignore .*\n/gm, ""));
    const without = lint(out);
    expect(without.code).not.toBe(0);
    const rules = [...without.out.matchAll(/^code_first\/v1\/code_first\.proto:\d+:\d+:(.*)$/gm)].map((m) => m[1]);
    expect(rules).toEqual([
      'Service name "InferenceDirector" should be suffixed with "Service".',
      'RPC response type "HealthStatusResponse" should be named "GetHealthStatusResponse" or "InferenceDirectorGetHealthStatusResponse".',
      'Service name "Calculator" should be suffixed with "Service".',
      '"code_first.v1.Scaled" is used as the request or response type for multiple RPCs.',
      'RPC request type "Scaling" should be named "ScaleRequest" or "CalculatorScaleRequest".',
      'RPC response type "Scaled" should be named "ScaleResponse" or "CalculatorScaleResponse".',
      '"code_first.v1.Scaled" is used as the request or response type for multiple RPCs.',
      'RPC request type "Scaled" should be named "UnscaleRequest" or "CalculatorUnscaleRequest".',
    ]);
  });
});

describe("golden: the diagnostics of extract/__fixtures__/errors.ts", () => {
  it("are errors.golden.txt, as blaze prints them", () => {
    const fixtures = path.join(__dirname, "extract/__fixtures__");
    const golden = path.join(fixtures, "errors.golden.txt");
    let text = "";
    try {
      extract("errors.ts", { cwd: fixtures });
    } catch (err) {
      if (!(err instanceof CodegenError)) throw err;
      text = `${err.diagnostics.map(formatDiagnostic).join("\n\n")}\n`;
    }
    expect(text).not.toBe("");
    if (UPDATE) fs.writeFileSync(golden, text);
    const want = fs.existsSync(golden) ? fs.readFileSync(golden, "utf8") : "";
    if (want !== text) {
      throw new Error(
        `extract/__fixtures__/errors.golden.txt differs from the diagnostics now, at ${firstDifference(want, text)}\n\nif the change is intended, run \`UPDATE_GOLDEN=1 npm test\` and commit the result`,
      );
    }
  });
});
