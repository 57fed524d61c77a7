/**
 * The golden test of the iris example: the committed examples/iris/proto/** and
 * examples/iris/gen/** are the golden files. This test runs the whole pipeline —
 * extract(models.ts) → schema files → `buf generate` with protoc-gen-es and
 * protoc-gen-blaze, using examples/iris/buf.gen.yaml — in a temp folder, and compares
 * every file it produces, byte for byte, with the committed one.
 *
 * After an intended change to the output: `UPDATE_GOLDEN=1 npm test` rewrites the
 * committed files (as `blaze generate examples/iris/models.ts` does).
 *
 * That the plugin's output type-checks is covered elsewhere: examples/iris (gen/ included)
 * is a project of the root `tsc -b`, which `npm test` runs before jest.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { extract } from "./extract/extract.js";
import { schemaFiles, writeSchemaFiles } from "./proto-printer/schema-files.js";

const REPO = path.resolve(__dirname, "../../..");
const IRIS = path.join(REPO, "examples/iris");
const PLUGIN_DIST = path.join(REPO, "packages/codegen/dist/plugin/protoc-gen-blaze.js");
const BUF = path.join(path.dirname(require.resolve("@bufbuild/buf/package.json")), "bin", "buf");
const GOLDEN_DIRS = ["proto", "gen"] as const;
const UPDATE = process.env.UPDATE_GOLDEN === "1";
const HOW_TO_UPDATE = "if the change is intended, run `UPDATE_GOLDEN=1 npm test` (or `blaze generate examples/iris/models.ts`) and commit the result";

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
    if (la[i] !== lb[i]) return `line ${i + 1}:\n  committed: ${JSON.stringify(la[i] ?? "<end of file>")}\n  generated: ${JSON.stringify(lb[i] ?? "<end of file>")}`;
  }
  return "(same text; the bytes differ)";
}

describe("golden: examples/iris", () => {
  let out: string;
  let produced: string[];
  let committed: string[];

  beforeAll(() => {
    if (!fs.existsSync(PLUGIN_DIST)) {
      throw new Error("packages/codegen/dist is missing: run `node scripts/pnpm.cjs exec tsc -b` (npm test does) before jest");
    }
    out = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-golden-"));

    // Step 1, as `blaze proto` does it: the entry relative to its folder.
    const app = extract("models.ts", { cwd: IRIS });
    writeSchemaFiles(schemaFiles(app), path.join(out, "proto"));

    // Step 2, as `blaze generate` does it: buf generate with the example's own template,
    // its plugins' relative paths made absolute (they live in examples/iris/node_modules:
    // protoc-gen-es, and protoc-gen-blaze from packages/codegen/bin via the workspace link).
    const template = fs.readFileSync(path.join(IRIS, "buf.gen.yaml"), "utf8");
    let plugins = 0;
    const local = template.replace(/\["node", "(node_modules\/[^"]+)"\]/g, (_, rel: string) => {
      plugins++;
      return `[${JSON.stringify(process.execPath)}, ${JSON.stringify(path.join(IRIS, rel))}]`;
    });
    expect(plugins).toBe(2);
    expect(local).toContain(JSON.stringify(path.join(IRIS, "node_modules/@blazerpc/codegen/bin/protoc-gen-blaze.js")));
    expect(fs.realpathSync(path.join(IRIS, "node_modules/@blazerpc/codegen/bin/protoc-gen-blaze.js"))).toBe(
      fs.realpathSync(path.join(REPO, "packages/codegen/bin/protoc-gen-blaze.js")),
    );
    fs.writeFileSync(path.join(out, "buf.gen.yaml"), local);
    const r = spawnSync(BUF, ["generate"], { cwd: out, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`buf generate failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
    fs.rmSync(path.join(out, "buf.gen.yaml"));

    produced = GOLDEN_DIRS.flatMap((d) => listFiles(out, d));
    committed = GOLDEN_DIRS.flatMap((d) => listFiles(IRIS, d));

    if (UPDATE) {
      for (const f of committed) if (!produced.includes(f)) fs.rmSync(path.join(IRIS, f));
      for (const f of produced) {
        const target = path.join(IRIS, f);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, fs.readFileSync(path.join(out, f)));
      }
      console.log(`UPDATE_GOLDEN=1: rewrote ${produced.length} golden files under examples/iris/{${GOLDEN_DIRS.join(",")}}`);
      committed = GOLDEN_DIRS.flatMap((d) => listFiles(IRIS, d));
    }
  });

  afterAll(() => {
    if (out !== undefined) fs.rmSync(out, { recursive: true, force: true });
  });

  it("produces the schema, the _pb file and the _blaze binding (the vendored blazerpc protos get no code)", () => {
    expect(produced).toEqual([
      "proto/blazerpc/v1/options.proto",
      "proto/blazerpc/v1/tensor.proto",
      "proto/iris/v1/iris.proto",
      "gen/iris/v1/iris_blaze.ts",
      "gen/iris/v1/iris_pb.ts",
    ]);
  });

  it("produces every committed file byte for byte", () => {
    const problems: string[] = [];
    for (const f of produced) {
      const committedPath = path.join(IRIS, f);
      if (!fs.existsSync(committedPath)) {
        problems.push(`examples/iris/${f}: generated, but not committed`);
        continue;
      }
      const want = fs.readFileSync(committedPath);
      const got = fs.readFileSync(path.join(out, f));
      if (!want.equals(got)) {
        problems.push(`examples/iris/${f} differs from what the generators produce now, at ${firstDifference(want.toString("utf8"), got.toString("utf8"))}`);
      }
    }
    if (problems.length > 0) throw new Error(`golden files out of date:\n${problems.join("\n")}\n\n${HOW_TO_UPDATE}`);
  });

  it("leaves no committed file that the generators no longer produce", () => {
    const stale = committed.filter((f) => !produced.includes(f));
    if (stale.length > 0) {
      throw new Error(`committed but no longer generated:\n${stale.map((f) => `examples/iris/${f}`).join("\n")}\n\n${HOW_TO_UPDATE}`);
    }
    expect(committed).toEqual(produced);
  });
});
