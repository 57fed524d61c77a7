import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CodegenError, formatDiagnostic, type Diagnostic } from "../diagnostics.js";
import type { AppSpec, ModelSpec, ScalarKind, TypeSpec } from "../model-spec.js";
import { extract } from "./extract.js";

// The fixtures import createApp / Tensor from @blazerpc/runtime (a devDependency of this
// package), resolved to packages/runtime/dist/*.d.ts: `tsc -b` must have run first, as
// `npm test` does.
const FIXTURES = path.join(__dirname, "__fixtures__");
const REPO = path.resolve(__dirname, "../../../..");

const scalar = (s: ScalarKind): TypeSpec => ({ kind: "scalar", scalar: s });
const repeated = (element: TypeSpec): TypeSpec => ({ kind: "repeated", element });
const tensor = (dtype: string, shape: (number | string)[]): TypeSpec => ({ kind: "tensor", dtype, shape });

/** The 1-based line of `file` (in the fixtures) holding `marker`, which must occur on exactly one line. */
function lineOf(file: string, marker: string): { line: number; text: string } {
  const lines = fs.readFileSync(path.join(FIXTURES, file), "utf8").split("\n");
  const hits = lines.flatMap((text, i) => (text.includes(marker) ? [{ line: i + 1, text }] : []));
  if (hits.length !== 1) throw new Error(`${file}: ${hits.length} lines hold ${JSON.stringify(marker)}, expected one`);
  return hits[0]!;
}

/** Runs extract on a fixture that must fail, and returns the error. */
function errorOf(file: string, cwd = FIXTURES): CodegenError {
  try {
    extract(file, { cwd });
  } catch (err) {
    if (err instanceof CodegenError) return err;
    throw err;
  }
  throw new Error(`extract("${file}") succeeded; the fixture should have failed`);
}

describe("extract: every supported type (all-types.ts)", () => {
  let spec: AppSpec;
  const model = (name: string): ModelSpec => {
    const m = spec.models.find((x) => x.name === name);
    if (m === undefined) throw new Error(`no model "${name}" in ${spec.models.map((x) => x.name).join(", ")}`);
    return m;
  };

  beforeAll(() => {
    spec = extract("all-types.ts", { cwd: FIXTURES });
  });

  it("reads the app's name and the entry as given", () => {
    expect(spec.name).toBe("all_types");
    expect(spec.entry).toBe("all-types.ts");
  });

  it("lists the models in source order", () => {
    expect(spec.models.map((m) => m.name)).toEqual([
      "scalars", "arrays", "tensors", "generate", "frames", "is_positive", "raw", "counter", "embed", "lines",
    ]);
  });

  it("maps string, number, bigint, boolean and Uint8Array to string, double, int64, bool and bytes", () => {
    expect(model("scalars").params).toEqual([
      { name: "text", type: scalar("string") },
      { name: "score", type: scalar("double") },
      { name: "count", type: scalar("int64") },
      { name: "flag", type: scalar("bool") },
      { name: "blob", type: scalar("bytes") },
    ]);
    expect(model("scalars").result).toEqual({ name: "result", type: scalar("string") });
    expect(model("is_positive").result.type).toEqual(scalar("bool"));
    expect(model("raw").result.type).toEqual(scalar("bytes"));
    expect(model("counter").result.type).toEqual(scalar("int64"));
    expect(model("counter").params).toEqual([]);
  });

  it("maps T[] and readonly T[] to repeated, and a sync return type as is", () => {
    expect(model("arrays").params).toEqual([
      { name: "words", type: repeated(scalar("string")) },
      { name: "values", type: repeated(scalar("double")) },
      { name: "flags", type: repeated(scalar("bool")) },
      { name: "ids", type: repeated(scalar("int64")) },
      { name: "blobs", type: repeated(scalar("bytes")) },
    ]);
    expect(model("arrays").result.type).toEqual(repeated(scalar("double")));
    expect(model("arrays").streaming).toBe(false);
  });

  it("maps Tensor<dtype, shape> with named and fixed dimensions, alone and in arrays", () => {
    expect(model("tensors").params).toEqual([
      { name: "image", type: tensor("uint8", ["batch", 224, 224, 3]) },
      { name: "masks", type: repeated(tensor("float32", ["batch", "n"])) },
    ]);
    expect(model("tensors").result.type).toEqual(repeated(tensor("float32", ["batch", 10])));
    // Through a type alias, with a readonly shape tuple.
    expect(model("embed").result.type).toEqual(repeated(tensor("float16", [768])));
  });

  it("treats Promise<T> and sync returns as unary, AsyncGenerator / AsyncIterable / AsyncIterableIterator as streams", () => {
    const streaming = Object.fromEntries(spec.models.map((m) => [m.name, m.streaming]));
    expect(streaming).toEqual({
      scalars: false, arrays: false, tensors: false, generate: true, frames: true,
      is_positive: false, raw: false, counter: false, embed: false, lines: true,
    });
    // The element type of a stream, not the iterable, is the result.
    expect(model("generate").result.type).toEqual(scalar("string"));
    expect(model("frames").result.type).toEqual(tensor("int64", [2]));
    expect(model("lines").result.type).toEqual(scalar("string"));
    expect(model("generate").params).toEqual([
      { name: "prompt", type: scalar("string") },
      { name: "maxTokens", type: scalar("double") },
    ]);
  });

  it("carries JSDoc (tags dropped) from the statement, an exported const, or a function declaration", () => {
    expect(model("scalars").doc).toBe("Every scalar, unary, with a version.\nSecond line of the doc.");
    expect(model("arrays").doc).toBe("Arrays of scalars; returns synchronously.");
    expect(model("generate").doc).toBe("Generate tokens from a prompt.");
    expect(model("is_positive").doc).toBe("Declared as a function: its doc comes from the declaration.");
    expect(model("embed").doc).toBe("Exported: the doc is on the variable statement.");
    expect(model("tensors").doc).toBeUndefined();
    expect("doc" in model("raw")).toBe(false);
  });

  it("carries the version option", () => {
    expect(model("scalars").version).toBe("1.2.0");
    expect("version" in model("arrays")).toBe(false);
  });

  it("records where each model is registered", () => {
    const at = (marker: string) => lineOf("all-types.ts", marker);
    expect(model("scalars").position).toEqual({ file: "all-types.ts", line: at('app.model("scalars"').line, column: 1 });
    expect(model("tensors").position).toEqual({ file: "all-types.ts", line: at('"tensors",').line - 1, column: 1 });
    const embed = at('app.model("embed"');
    expect(model("embed").position).toEqual({ file: "all-types.ts", line: embed.line, column: embed.text.indexOf("app.model") + 1 });
  });
});

const line = (marker: string): number => lineOf("errors.ts", marker).line;
/**
 * Every error errors.ts must produce, in order: [a marker of its line, the text the caret
 * points at, the message or its start].
 */
const expectedErrors = (): [string, string, string][] => [
  ['"when"', "Date", 'model "when": parameter "at" has unsupported type "Date" — use string, number, bigint, boolean, Uint8Array, Tensor<dtype, shape> or an array of these'],
  ['"obj"', "{ x", 'model "obj": parameter "point" has unsupported type "{ x: number; y: number; }"'],
  ['"either"', "string | number", 'model "either": parameter "value" has unsupported type "string | number"'],
  ['"grid"', "number[][]", 'model "grid": parameter "rows" is a nested array (number[][]) — use a Tensor for numeric grids'],
  ["app.model(dynamicName", "dynamicName", 'a model\'s name must be a string literal: app.model("iris", fn)'],
  ['"bad-name"', '"bad-name"', 'model name "bad-name" is not usable in a schema — use letters, digits and underscores, starting with a letter'],
  ['"untyped"', "text)", 'model "untyped": parameter "text" has no type annotation — annotate it, e.g. text: string'],
  ['"destructured"', "{ text }", 'model "destructured": destructured parameters are not supported yet'],
  ['"optional"', "text?", 'model "optional": optional parameter "text" is not supported yet — make it required'],
  ['"defaulted"', "text:", 'model "defaulted": optional parameter "text" is not supported yet — make it required'],
  ['"rest"', "...texts", 'model "rest": rest parameter "texts" is not supported — declare one parameter per input'],
  ['"not_streaming"', "{ streaming", 'model "not_streaming" has streaming: true but does not return an AsyncIterable'],
  ['"is_streaming"', "{ streaming", 'model "is_streaming" has streaming: false but returns an AsyncIterable'],
  ['"no_dtype"', "Tensor)", 'model "no_dtype": parameter "t" is a Tensor without a dtype literal — write it as Tensor<"float32", ["batch", 4]>'],
  ['"no_shape"', "Tensor<", 'model "no_shape": parameter "t" is a Tensor without a shape tuple'],
  ['"bad_dtype"', "Tensor<", 'model "bad_dtype": parameter "t" has unknown dtype "float128" — use one of float32, float64'],
  ['"bad_dim"', "Tensor<", 'model "bad_dim": parameter "t" has shape dimension "number" — each dimension is a size literal (4) or a name ("batch")'],
  ['"nothing"', "Promise<void>", 'model "nothing": the function returns nothing — a model must return its result'],
  ['"nothing_sync"', "void =>", 'model "nothing_sync": the function returns nothing'],
  ['"nothing_streamed"', "AsyncGenerator<void>", 'model "nothing_streamed": the stream yields nothing — a model must yield its result'],
  ['"no_return"', "async (", 'model "no_return": the function returns nothing'],
  ["(again", '"ok"', `model "ok" is registered twice (first at line ${line('app.model("ok", async (text')}) — give each model its own name`],
  ['"two_errors"', "Date", 'model "two_errors": parameter "when" has unsupported type "Date"'],
  ['"two_errors"', "string[][]", 'model "two_errors": parameter "grid" is a nested array (string[][])'],
  ['"two_errors"', "Promise<object>", 'model "two_errors": the return type has unsupported type "object"'],
  ['"versioned"', "version: 2", 'model "versioned": version must be a string literal, e.g. version: "1.2.0"'],
  ['"not_a_function"', "42", 'model "not_a_function": the last argument must be a function'],
  ['"text_embed"', '"text_embed"', `models "textEmbed" (line ${line('"textEmbed"')}) and "text_embed" both become rpc PredictTextEmbed in the schema — rename one`],
  ['"same_field"', "max_tokens:", 'model "same_field": parameters "maxTokens" and "max_tokens" both become field "max_tokens" in the schema — rename one'],
  ['"unnamed_field"', "_:", 'model "unnamed_field": parameter "_" has no usable schema field name ("") — start its name with a letter'],
  ['other.model("elsewhere"', "other.model", 'models of a second app "other" — an entry file serves one app (this one is "broken")'],
  ['unnamed.model("anonymous"', "unnamed.model", "cannot tell this app's name — pass a string literal: createApp({ name: \"iris\" })"],
];

describe("extract: diagnostics (errors.ts)", () => {
  let error: CodegenError;
  let diagnostics: readonly Diagnostic[];
  beforeAll(() => {
    error = errorOf("errors.ts");
    diagnostics = error.diagnostics;
  });

  /** The position and message each expected diagnostic must have. */
  function want(): { line: number; column: number; message: string }[] {
    return expectedErrors().map(([marker, anchor, message]) => {
      const { line, text } = lineOf("errors.ts", marker);
      const column = text.indexOf(anchor) + 1;
      if (column === 0) throw new Error(`errors.ts:${line}: no ${JSON.stringify(anchor)}`);
      return { line, column, message };
    });
  }

  it("reports every error of the file in one run, in source order", () => {
    const w = want();
    // One diagnostic per expected entry, no more: every error found, none invented.
    expect(diagnostics.map((d) => `${d.line}:${d.column}`)).toEqual(w.map((x) => `${x.line}:${x.column}`));
    diagnostics.forEach((d, i) => {
      expect(d.file).toBe("errors.ts");
      expect(d.message).toContain(w[i]!.message);
    });
  });

  it("carries the source line of each diagnostic", () => {
    const source = fs.readFileSync(path.join(FIXTURES, "errors.ts"), "utf8").split("\n");
    for (const d of diagnostics) expect(d.sourceLine).toBe(source[d.line - 1]);
  });

  it("formats a diagnostic as file:line:col error: message, the source line and a caret", () => {
    const when = lineOf("errors.ts", '"when"');
    expect(when.line).toBe(10);
    const d = diagnostics.find((x) => x.line === 10);
    expect(d).toBeDefined();
    expect(formatDiagnostic(d!)).toBe(
      [
        'errors.ts:10:30 error: model "when": parameter "at" has unsupported type "Date" — use string, number, bigint, boolean, Uint8Array, Tensor<dtype, shape> or an array of these',
        '10 | app.model("when", async (at: Date): Promise<string> => at.toISOString());',
        `${" ".repeat("10 | ".length + 29)}^`,
      ].join("\n"),
    );
    const badName = diagnostics.find((x) => x.line === 15);
    expect(formatDiagnostic(badName!)).toBe(
      [
        'errors.ts:15:11 error: model name "bad-name" is not usable in a schema — use letters, digits and underscores, starting with a letter',
        '15 | app.model("bad-name", async (text: string): Promise<string> => text);',
        `${" ".repeat("15 | ".length + 10)}^`,
      ].join("\n"),
    );
    const rest = diagnostics.find((x) => x.line === 20);
    expect(formatDiagnostic(rest!)).toBe(
      [
        'errors.ts:20:26 error: model "rest": rest parameter "texts" is not supported — declare one parameter per input',
        '20 | app.model("rest", async (...texts: string[]): Promise<string> => texts.join(""));',
        `${" ".repeat("20 | ".length + 25)}^`,
      ].join("\n"),
    );
  });

  it("puts every diagnostic, formatted, in the CodegenError's message", () => {
    expect(error.name).toBe("CodegenError");
    expect(error.message).toBe(diagnostics.map(formatDiagnostic).join("\n\n"));
  });

  it("formats a diagnostic without a source line as the head line alone", () => {
    expect(formatDiagnostic({ file: "m.ts", line: 3, column: 7, message: "boom" })).toBe("m.ts:3:7 error: boom");
    expect(formatDiagnostic({ file: "m.ts", line: 123, column: 1, message: "boom", sourceLine: "x" })).toBe("m.ts:123:1 error: boom\n123 | x\n      ^");
  });
});

describe("extract: files without models", () => {
  it("reports no models found (a lookalike .model() call does not count)", () => {
    const { diagnostics } = errorOf("no-models.ts");
    expect(diagnostics).toEqual([
      {
        file: "no-models.ts",
        line: 1,
        column: 1,
        message: "no models found — register one with app.model(name, fn) on an app from createApp({ name }) of @blazerpc/runtime",
      },
    ]);
    expect(formatDiagnostic(diagnostics[0]!)).toBe(
      "no-models.ts:1:1 error: no models found — register one with app.model(name, fn) on an app from createApp({ name }) of @blazerpc/runtime",
    );
  });

  it("reports an entry file that does not exist", () => {
    expect(errorOf("missing.ts").diagnostics).toEqual([{ file: "missing.ts", line: 1, column: 1, message: 'cannot read entry file "missing.ts"' }]);
  });

  it("shows the absolute path of an entry outside cwd", () => {
    const entry = path.join(FIXTURES, "no-models.ts");
    expect(errorOf(entry, path.join(FIXTURES, "elsewhere")).diagnostics.map((d) => d.file)).toEqual([entry]);
  });
});

describe("blaze proto on a file with errors", () => {
  it("exits 1 and prints every diagnostic, compiler style, on stderr", () => {
    const blaze = path.join(REPO, "packages/cli/bin/blaze.js");
    if (!fs.existsSync(path.join(REPO, "packages/cli/dist/cli.js"))) {
      throw new Error("packages/cli/dist is missing: run `node scripts/pnpm.cjs exec tsc -b` (npm test does) before jest");
    }
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-proto-"));
    try {
      const r = spawnSync(process.execPath, [blaze, "proto", "errors.ts", "--out", out], { cwd: FIXTURES, encoding: "utf8" });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('errors.ts:10:30 error: model "when": parameter "at" has unsupported type "Date"');
      expect(r.stderr).toContain('10 | app.model("when", async (at: Date): Promise<string> => at.toISOString());\n' + " ".repeat(34) + "^");
      expect(r.stderr).toContain('errors.ts:15:11 error: model name "bad-name" is not usable in a schema');
      expect(r.stderr.match(/^errors\.ts:\d+:\d+ error: /gm)).toHaveLength(expectedErrors().length);
      // Not "blaze: CodegenError: ...": the diagnostics alone.
      expect(r.stderr).not.toContain("CodegenError");
      expect(fs.readdirSync(out)).toEqual([]);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
