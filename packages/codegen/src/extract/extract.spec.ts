import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CodegenError, formatDiagnostic, type Diagnostic } from "../diagnostics.js";
import type { AppSpec, EnumSpec, MessageSpec, ModelSpec, ScalarKind, TypeSpec } from "../model-spec.js";
import { extract, extractWithSources } from "./extract.js";
import { parseJsDoc } from "./jsdoc.js";
import { assignNumbers } from "../proto-printer/lock-file.js";
import { numberingInput, printProto } from "../proto-printer/print-proto.js";

// The fixtures import createApp / Tensor from @blazerpc/runtime (a devDependency of this
// package), resolved to packages/runtime/dist/*.d.ts: `tsc -b` must have run first, as
// `npm test` does.
const FIXTURES = path.join(__dirname, "__fixtures__");
const REPO = path.resolve(__dirname, "../../../..");
const TYPES_EXAMPLE = path.join(REPO, "examples/types");

const scalar = (s: ScalarKind): TypeSpec => ({ kind: "scalar", scalar: s });
const repeated = (element: TypeSpec): TypeSpec => ({ kind: "repeated", element });
const tensor = (dtype: string, shape: (number | string)[]): TypeSpec => ({ kind: "tensor", dtype, shape });
const message = (name: string): TypeSpec => ({ kind: "message", name });
const enumOf = (name: string): TypeSpec => ({ kind: "enum", name });
const record = (value: TypeSpec): TypeSpec => ({ kind: "map", value, container: "record" });
const esMap = (value: TypeSpec): TypeSpec => ({ kind: "map", value, container: "map" });
const timestamp: TypeSpec = { kind: "timestamp" };

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

function finder(spec: () => AppSpec) {
  return {
    model: (name: string): ModelSpec => {
      const m = spec().models.find((x) => x.name === name);
      if (m === undefined)
        throw new Error(
          `no model "${name}" in ${spec()
            .models.map((x) => x.name)
            .join(", ")}`,
        );
      return m;
    },
    messageSpec: (name: string): MessageSpec => {
      const m = spec().messages?.find((x) => x.name === name);
      if (m === undefined)
        throw new Error(
          `no message "${name}" in ${spec()
            .messages?.map((x) => x.name)
            .join(", ")}`,
        );
      return m;
    },
    enumSpec: (name: string): EnumSpec => {
      const e = spec().enums?.find((x) => x.name === name);
      if (e === undefined)
        throw new Error(
          `no enum "${name}" in ${spec()
            .enums?.map((x) => x.name)
            .join(", ")}`,
        );
      return e;
    },
  };
}

describe("extract: every row of the type mapping (examples/types)", () => {
  let spec: AppSpec;
  let sources: readonly string[];
  const { model, messageSpec, enumSpec } = finder(() => spec);
  const types = (fields: readonly { name: string; type: TypeSpec; optional?: boolean }[]) =>
    fields.map((f) => `${f.name}${f.optional === true ? "?" : ""}: ${JSON.stringify(f.type)}`);

  beforeAll(() => {
    const result = extractWithSources("models.ts", { cwd: TYPES_EXAMPLE });
    spec = result.app;
    sources = result.sources;
  });

  it("reads the app and its models in source order, following imports", () => {
    expect(spec.name).toBe("types");
    expect(spec.models.map((m) => m.name)).toEqual([
      "scalars",
      "exact",
      "lists",
      "enums",
      "optionals",
      "maps",
      "nested",
      "dates",
      "tensors",
      "search",
      "measure",
      "count",
      "square",
      "shout",
    ]);
    // What a cache must watch: the entry, the files it imports, and the declarations it reads.
    expect(sources.map((s) => path.relative(REPO, s))).toEqual(
      expect.arrayContaining([
        "examples/types/models.ts",
        "examples/types/options.ts",
        "examples/types/shout.ts",
        "examples/types/types.ts",
        "examples/types/tsconfig.json",
        "packages/runtime/dist/scalars.d.ts",
      ]),
    );
    expect(sources.some((s) => s.includes("node_modules") || /lib\.[\w.]+\.d\.ts$/.test(s))).toBe(false);
  });

  it("string, number, bigint, boolean, Uint8Array → string, double, int64, bool, bytes; a returned interface → the response's fields", () => {
    const m = model("scalars");
    expect(m.params).toEqual([
      { name: "text", type: scalar("string"), doc: "a string" },
      { name: "score", type: scalar("double"), doc: "a double" },
      { name: "count", type: scalar("int64") },
      { name: "flag", type: scalar("bool") },
      { name: "blob", type: scalar("bytes") },
    ]);
    expect(m.objectResult).toBe(true);
    expect(m.results).toEqual([
      { name: "text", type: scalar("string"), doc: "A UTF-8 string." },
      { name: "score", type: scalar("double"), doc: "A number is a proto double." },
      { name: "count", type: scalar("int64"), doc: "A bigint is a proto int64." },
      { name: "flag", type: scalar("bool") },
      { name: "blob", type: scalar("bytes") },
    ]);
  });

  it("Int32, Uint32, Float32, Float64, Int64, Uint64 → their proto scalars; a destructured parameter → the request's fields", () => {
    const m = model("exact");
    expect(m.objectParams).toBe(true);
    const exact = ["int32", "uint32", "float", "double", "int64", "uint64"].map((s) => scalar(s as ScalarKind));
    expect(m.params.map((f) => f.type)).toEqual(exact);
    expect(m.results.map((f) => f.type)).toEqual(exact);
    expect(m.params.map((f) => f.name)).toEqual(["i32", "u32", "f32", "f64", "i64", "u64"]);
  });

  it("T[] and readonly T[] → repeated, of scalars, exact numbers and messages; an inline returned object → the response's fields", () => {
    const m = model("lists");
    expect(types(m.params)).toEqual(
      types([
        { name: "words", type: repeated(scalar("string")) },
        { name: "values", type: repeated(scalar("float")) },
        { name: "points", type: repeated(message("Point")) },
      ]),
    );
    expect(m.objectResult).toBe(true);
    expect(types(m.results)).toEqual(types(m.params));
  });

  it("interfaces → messages named after them, with their JSDoc and optional properties", () => {
    expect(messageSpec("Point")).toEqual({
      name: "Point",
      doc: "A point on the plane.",
      fields: [
        { name: "x", type: scalar("double") },
        { name: "y", type: scalar("double") },
        { name: "label", type: scalar("string"), optional: true, doc: "Optional: absent when not sent." },
      ],
    });
    expect(messageSpec("Hit").fields.map((f) => [f.name, f.type])).toEqual([
      ["id", scalar("string")],
      ["score", scalar("float")],
      ["color", enumOf("Color")],
    ]);
  });

  it("string-literal unions and TypeScript enums → enums with their values (literal order, member order)", () => {
    expect(types(model("enums").params)).toEqual(
      types([
        { name: "color", type: enumOf("Color") },
        { name: "level", type: enumOf("Level") },
        { name: "shape", type: enumOf("Shape") },
        { name: "mode", type: enumOf("PredictEnumsRequest.Mode") },
        { name: "palette", type: repeated(enumOf("Color")) },
      ]),
    );
    expect(enumSpec("Color")).toEqual({
      name: "Color",
      doc: "A colour: a string-literal union becomes an enum.",
      values: [
        { name: "COLOR_RED", value: "red" },
        { name: "COLOR_GREEN", value: "green" },
        { name: "COLOR_BLUE", value: "blue" },
      ],
    });
    expect(enumSpec("Level").values).toEqual([
      { name: "LEVEL_LOW", value: 0 },
      { name: "LEVEL_MEDIUM", value: 1 },
      { name: "LEVEL_HIGH", value: 2, doc: "The highest level." },
    ]);
    expect(enumSpec("Shape").values.map((v) => [v.name, v.value])).toEqual([
      ["SHAPE_CIRCLE", "circle"],
      ["SHAPE_SQUARE", "square"],
    ]);
    // An inline union is an enum nested in the message of its field.
    expect(enumSpec("PredictEnumsRequest.Mode").values.map((v) => [v.name, v.value])).toEqual([
      ["MODE_FAST", "fast"],
      ["MODE_EXACT", "exact"],
    ]);
  });

  it("optional parameters and properties, and T | undefined → optional", () => {
    const m = model("optionals");
    expect(types(m.params)).toEqual(
      types([
        { name: "name", type: scalar("string"), optional: true },
        { name: "count", type: scalar("int32"), optional: true },
        { name: "point", type: message("Point"), optional: true },
        { name: "color", type: enumOf("Color"), optional: true },
        { name: "when", type: timestamp, optional: true },
      ]),
    );
    // `color?: Color | undefined` in the result: still the named enum, once.
    expect(m.results.find((f) => f.name === "color")).toEqual({ name: "color", type: enumOf("Color"), optional: true });
  });

  it("Record<string, T> and Map<string, T> → maps, remembering which", () => {
    expect(types(model("maps").params)).toEqual(
      types([
        { name: "labels", type: record(scalar("string")) },
        { name: "scores", type: esMap(scalar("double")) },
        { name: "points", type: record(message("Point")) },
        { name: "colors", type: esMap(enumOf("Color")) },
      ]),
    );
  });

  it("generics instantiated with concrete types get their arguments' names; inline object types nest in their parent", () => {
    expect(types(model("nested").params)).toEqual(
      types([
        { name: "page", type: message("PagePoint") },
        { name: "box", type: message("PredictNestedRequest.Box") },
      ]),
    );
    expect(messageSpec("PagePoint").fields).toEqual([
      { name: "items", type: repeated(message("Point")) },
      { name: "next", type: scalar("string"), optional: true },
    ]);
    expect(messageSpec("PageString").fields[0]).toEqual({ name: "items", type: repeated(scalar("string")) });
    expect(messageSpec("PredictNestedRequest.Box").fields.map((f) => f.type)).toEqual([
      message("Point"),
      message("Point"),
    ]);
    expect(messageSpec("PredictNestedResponse.Box")).toBeDefined();
  });

  it("Date → google.protobuf.Timestamp", () => {
    expect(types(model("dates").params)).toEqual(
      types([
        { name: "at", type: timestamp },
        { name: "history", type: repeated(timestamp) },
      ]),
    );
  });

  it("Tensor<dtype, shape> alone, in arrays, in maps and optional", () => {
    expect(types(model("tensors").params)).toEqual(
      types([
        { name: "image", type: tensor("uint8", ["batch", 2, 2]) },
        { name: "masks", type: repeated(tensor("float32", ["n"])) },
        { name: "named", type: record(tensor("int64", [2])) },
        { name: "extra", type: tensor("float64", [1]), optional: true },
      ]),
    );
  });

  it("reads options declared in another file, and a destructured parameter's defaults as optional", () => {
    const m = model("search");
    expect(m.version).toBe("2.1.0");
    expect(m.objectParams).toBe(true);
    expect(types(m.params)).toEqual(
      types([
        { name: "text", type: scalar("string") },
        { name: "topK", type: scalar("int32"), optional: true },
        { name: "filters", type: record(scalar("string")) },
        { name: "userID", type: scalar("string") },
      ]),
    );
    expect(types(m.results)).toEqual(
      types([
        { name: "hits", type: repeated(message("Hit")) },
        { name: "total", type: scalar("int32") },
        { name: "echo", type: message("PageString") },
      ]),
    );
  });

  it("list batching: batch options and not only tensors → the request and response hold one request's values", () => {
    const m = model("measure");
    expect(m.listBatched).toBe(true);
    expect(m.version).toBe("1.0.0");
    // (texts: string[], scales: number[]): Promise<({ length: Int32; scaled: number } | Error)[]>
    expect(types(m.params)).toEqual(
      types([
        { name: "texts", type: scalar("string") },
        { name: "scales", type: scalar("double") },
      ]),
    );
    expect(m.objectResult).toBe(true);
    expect(types(m.results)).toEqual(
      types([
        { name: "length", type: scalar("int32") },
        { name: "scaled", type: scalar("double") },
      ]),
    );
    // Not batched, or batched on tensors only (stacked): the signature as written.
    expect("listBatched" in model("search")).toBe(false);
  });

  it("marks a model registered with the option pure: true (typed by ModelOptions)", () => {
    const file = path.join(__dirname, "__fixtures__", `tmp-pure-${process.pid}.ts`);
    fs.writeFileSync(
      file,
      [
        'import { createApp } from "@blazerpc/runtime";',
        'export const app = createApp({ name: "p" });',
        'app.model("double", { pure: true }, async (x: number): Promise<number> => 2 * x);',
        'app.model("log", { pure: false }, async (x: string): Promise<string> => x);',
        "",
      ].join("\n"),
    );
    try {
      const spec = extract(file);
      expect(spec.models.map((m) => [m.name, m.pure === true])).toEqual([
        ["double", true],
        ["log", false],
      ]);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it("reads options that hold a validate function (arrow or method) and batch.maxRowsPerRequest", () => {
    const file = path.join(__dirname, "__fixtures__", `tmp-validate-${process.pid}.ts`);
    fs.writeFileSync(
      file,
      [
        'import { createApp, type Tensor } from "@blazerpc/runtime";',
        'export const app = createApp({ name: "v" });',
        "const MAX = 1000;",
        'app.model("arrow", { streaming: true, version: "1.1.0", validate: (_p: string, n: number) => { if (n > MAX) throw new Error("too many"); } }, async function* (p: string, n: number): AsyncGenerator<string> { yield p + n; });',
        'app.model("method", { pure: true, validate(p: string) { if (p.length > 10) throw new Error("too long"); } }, async (p: string): Promise<string> => p);',
        'function check(x: Tensor<"float32", ["batch", 4]>): void { void x; }',
        'app.model("rows", { batch: { maxBatchSize: 32, maxDelayMs: 0, maxRowsPerRequest: 64 }, validate: check }, async (x: Tensor<"float32", ["batch", 4]>): Promise<Tensor<"float32", ["batch", 4]>> => x);',
        "",
      ].join("\n"),
    );
    try {
      const spec = extract(file);
      expect(
        spec.models.map((m) => [m.name, m.streaming, m.version, m.pure === true, m.params.map((p) => p.name)]),
      ).toEqual([
        ["arrow", true, "1.1.0", false, ["p", "n"]],
        ["method", false, undefined, true, ["p"]],
        ["rows", false, undefined, false, ["x"]],
      ]);
      // Batched on tensors only: stacked, the signature as written.
      expect("listBatched" in spec.models[2]!).toBe(false);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it("streams objects, marks @pure models, and reads a function registered by name from another file", () => {
    expect(model("count")).toMatchObject({
      streaming: true,
      objectResult: true,
      params: [{ name: "to", type: scalar("int32") }],
    });
    expect(model("count").results.map((f) => f.type)).toEqual([scalar("int32"), scalar("int64")]);
    expect(model("square").pure).toBe(true);
    expect(model("square").params).toEqual([{ name: "x", type: scalar("double"), doc: "The number to square." }]);
    expect(model("square").doc).toBe(
      "Squares a number. Pure: no side effects, so Connect clients may call it with HTTP GET.",
    );
    expect("pure" in model("shout")).toBe(false);
    expect(model("shout")).toMatchObject({
      doc: "Upper-cases its input. Declared in another file, registered by name.",
      params: [{ name: "text", type: scalar("string") }],
      results: [{ name: "result", type: scalar("string") }],
    });
  });

  it("registers each named type once, in first-use order", () => {
    expect(spec.messages?.map((m) => m.name)).toEqual([
      "Point",
      "PagePoint",
      "PredictNestedRequest.Box",
      "PredictNestedResponse.Box",
      "Hit",
      "PageString",
    ]);
    expect(spec.enums?.map((e) => e.name)).toEqual([
      "Color",
      "Level",
      "Shape",
      "PredictEnumsRequest.Mode",
      "PredictEnumsResponse.Mode",
    ]);
  });
});

describe("extract: how a model function may be written (all-types.ts)", () => {
  let spec: AppSpec;
  const { model } = finder(() => spec);

  beforeAll(() => {
    spec = extract("all-types.ts", { cwd: FIXTURES });
  });

  it("reads the app's name and the entry as given, models in source order", () => {
    expect(spec.name).toBe("all_types");
    expect(spec.entry).toBe("all-types.ts");
    expect(spec.models.map((m) => m.name)).toEqual([
      "scalars",
      "arrays",
      "tensors",
      "generate",
      "frames",
      "is_positive",
      "raw",
      "counter",
      "embed",
      "lines",
    ]);
  });

  it("treats Promise<T> and sync returns as unary, AsyncGenerator / AsyncIterable / AsyncIterableIterator as streams, a value as field result", () => {
    const streaming = Object.fromEntries(spec.models.map((m) => [m.name, m.streaming]));
    expect(streaming).toEqual({
      scalars: false,
      arrays: false,
      tensors: false,
      generate: true,
      frames: true,
      is_positive: false,
      raw: false,
      counter: false,
      embed: false,
      lines: true,
    });
    expect(model("generate").results).toEqual([{ name: "result", type: scalar("string") }]);
    expect(model("frames").results).toEqual([{ name: "result", type: tensor("int64", [2]) }]);
    expect(model("arrays").results).toEqual([{ name: "result", type: repeated(scalar("double")) }]);
    expect(model("counter").params).toEqual([]);
    // Through a type alias, with a readonly shape tuple.
    expect(model("embed").results[0]!.type).toEqual(repeated(tensor("float16", [768])));
    expect(model("tensors").params.map((p) => p.type)).toEqual([
      tensor("uint8", ["batch", 224, 224, 3]),
      repeated(tensor("float32", ["batch", "n"])),
    ]);
  });

  it("carries JSDoc from the statement (@param tags to the fields), an exported const, or a function declaration", () => {
    expect(model("scalars").doc).toBe("Every scalar, unary, with a version.\nSecond line of the doc.");
    expect(model("scalars").params[0]).toEqual({
      name: "text",
      type: scalar("string"),
      doc: "becomes the comment of field text",
    });
    expect(model("arrays").doc).toBe("Arrays of scalars; returns synchronously.");
    expect(model("is_positive").doc).toBe("Declared as a function: its doc comes from the declaration.");
    expect(model("embed").doc).toBe("Exported: the doc is on the variable statement.");
    expect("doc" in model("raw")).toBe(false);
    expect(model("scalars").version).toBe("1.2.0");
    expect("version" in model("arrays")).toBe(false);
  });

  it("records where each model is registered", () => {
    const at = (marker: string) => lineOf("all-types.ts", marker);
    expect(model("scalars").position).toEqual({
      file: "all-types.ts",
      line: at('app.model("scalars"').line,
      column: 1,
    });
    expect(model("tensors").position).toEqual({ file: "all-types.ts", line: at('"tensors",').line - 1, column: 1 });
    const embed = at('app.model("embed"');
    expect(model("embed").position).toEqual({
      file: "all-types.ts",
      line: embed.line,
      column: embed.text.indexOf("app.model") + 1,
    });
  });
});

describe("extract: code-first RPCs and the call context (code-first.ts)", () => {
  let spec: AppSpec;
  const { model, messageSpec, enumSpec } = finder(() => spec);
  const shape = (m: ModelSpec) => ({
    rpc: m.rpc,
    context: m.context,
    requestType: m.requestType,
    responseType: m.responseType,
    objectParams: m.objectParams,
    objectResult: m.objectResult,
  });

  beforeAll(() => {
    spec = extract("code-first.ts", { cwd: FIXTURES });
  });

  it("reads app.rpc calls beside app.model calls, in source order, by their Service.Method", () => {
    expect(spec.models.map((m) => [m.name, m.rpc === true])).toEqual([
      ["add", false],
      ["InferenceDirector.GetHealthStatus", true],
      ["InferenceDirector.Greet", true],
      ["InferenceDirector.Watch", true],
      ["Calculator.Scale", true],
      ["Calculator.Unscale", true],
      ["Calculator.Ping", true],
      ["Calculator.Pong", true],
      ["tagged", false],
      ["InferenceService.Info", true],
    ]);
    expect(model("add")).toEqual({
      name: "add",
      doc: "Adds two numbers.",
      streaming: false,
      params: [
        { name: "a", type: scalar("double") },
        { name: "b", type: scalar("double") },
      ],
      results: [{ name: "result", type: scalar("double") }],
      position: model("add").position,
    });
    expect(model("InferenceService.Info")).toMatchObject({
      rpc: true,
      params: [],
      results: [{ name: "result", type: scalar("string") }],
    });
  });

  it("gives a returned interface's own name to the response it is alone to be, with its fields and nested enum", () => {
    const health = model("InferenceDirector.GetHealthStatus");
    expect(shape(health)).toEqual({
      rpc: true,
      context: undefined,
      requestType: undefined,
      responseType: "HealthStatusResponse",
      objectParams: undefined,
      objectResult: true,
    });
    expect(health.params).toEqual([]);
    expect(health.results).toEqual(messageSpec("HealthStatusResponse").fields);
    expect(messageSpec("HealthStatusResponse")).toEqual({
      name: "HealthStatusResponse",
      doc: "The service's health, as the director reports it.",
      fields: [
        {
          name: "overallStatus",
          type: enumOf("HealthStatusResponse.OverallStatus"),
          doc: "How the service is doing as a whole.",
        },
        { name: "since", type: timestamp, optional: true, doc: "When it last changed, if it did." },
      ],
    });
    expect(enumSpec("HealthStatusResponse.OverallStatus").values.map((v) => v.name)).toEqual([
      "OVERALL_STATUS_HEALTHY",
      "OVERALL_STATUS_DEGRADED",
      "OVERALL_STATUS_UNHEALTHY",
    ]);
  });

  it("names a destructured parameter's interface as the request, when no other registration takes it", () => {
    expect(shape(model("Calculator.Scale"))).toEqual({
      rpc: true,
      context: undefined,
      requestType: "Scaling",
      responseType: "Scaled",
      objectParams: true,
      objectResult: true,
    });
    expect(model("Calculator.Scale").pure).toBe(true);
    // Scaled is Unscale's request and Scale's response: one message, each use unique in its role.
    expect(shape(model("Calculator.Unscale"))).toEqual({
      rpc: true,
      context: undefined,
      requestType: "Scaled",
      responseType: undefined,
      objectParams: true,
      objectResult: undefined,
    });
    expect(model("Calculator.Unscale").params).toEqual(messageSpec("Scaled").fields);
  });

  it("keeps <Method>Response for a type two registrations return (and registers no message of its own)", () => {
    for (const name of ["Calculator.Ping", "Calculator.Pong"]) {
      expect(shape(model(name))).toEqual({
        rpc: true,
        context: undefined,
        requestType: undefined,
        responseType: undefined,
        objectParams: undefined,
        objectResult: true,
      });
      expect(model(name).results).toEqual([{ name: "ok", type: scalar("bool") }]);
    }
    expect(spec.messages?.map((m) => m.name)).toEqual(["HealthStatusResponse", "Scaling", "Scaled"]);
  });

  it("leaves the call context out of the request, and marks the function as taking it (models, RPCs, streams)", () => {
    expect(shape(model("InferenceDirector.Greet")).context).toBe(true);
    expect(model("InferenceDirector.Greet").params).toEqual([
      { name: "name", type: scalar("string"), doc: "who to greet" },
    ]);
    expect(model("InferenceDirector.Watch")).toMatchObject({
      rpc: true,
      context: true,
      streaming: true,
      params: [],
      results: [{ name: "result", type: scalar("double") }],
    });
    expect(model("tagged")).toMatchObject({ context: true, params: [{ name: "text", type: scalar("string") }] });
    expect(model("tagged").rpc).toBeUndefined();
    expect(model("add").context).toBeUndefined();
  });
});

/**
 * Every diagnostic rpc-errors.ts must produce, in order: [a marker of its line, the text the
 * caret points at, a part of the message].
 */
const expectedRpcErrors = (): [string, string, string][] => [
  [
    "ok: false",
    '"Director.Status"',
    'rpc "Director.Status" is registered twice (first at rpc-errors.ts:13:1) — give each RPC its own "Service.Method"',
  ],
  [
    '"InferenceService.PredictIris"',
    '"InferenceService.PredictIris"',
    'model "iris" (rpc-errors.ts:12:1) and rpc "InferenceService.PredictIris" both become rpc InferenceService.PredictIris in the schema — rename one',
  ],
  [
    '"InferenceService.Iris"',
    '"InferenceService.Iris"',
    'model "iris" (rpc-errors.ts:12:1) and rpc "InferenceService.Iris" both become method "iris" of the generated InferenceServiceClient',
  ],
  [
    '"Other.Status"',
    '"Other.Status"',
    'rpc "Other.Status": its request message "StatusRequest" is also the request message of rpc "Director.Status" (rpc-errors.ts:13:1) — rename one',
  ],
  ['"director.lower"', '"director.lower"', 'rpc name "director.lower" is not "Service.Method" — both PascalCase'],
  ['"NoMethod"', '"NoMethod"', 'rpc name "NoMethod" is not "Service.Method"'],
  ["app.rpc(dynamicName", "dynamicName", "an RPC's name must be a string literal"],
  [
    '"Director.Batched"',
    "batch:",
    'rpc "Director.Batched": option "batch" is for models (app.model) — an RPC takes streaming, pure and validate',
  ],
  ['"Director.Versioned"', "version:", 'rpc "Director.Versioned": option "version" is for models (app.model)'],
  [
    '"Director.Early"',
    "ctx: CallContext",
    `rpc "Director.Early": the call context ("ctx: CallContext") must be the function's last parameter — move it after the others`,
  ],
  [
    '"batched_ctx"',
    "ctx: CallContext",
    'model "batched_ctx": a batch serves many calls, so a batched model gets no call context — remove the "ctx" parameter, or the batch options',
  ],
  ['"worker_ctx"', "ctx: CallContext", 'model "worker_ctx": a model in a worker thread gets no call context'],
  [
    '"Director.Nothing"',
    "Promise<void>",
    'rpc "Director.Nothing": the function returns nothing — an RPC must return its result',
  ],
  ['"Director.Either"', "string | number", 'rpc "Director.Either": parameter "value" is a union of unrelated types'],
  [
    '"uses_request"',
    "GetHealthStatusRequest)",
    'model "uses_request": parameter "r" has type "GetHealthStatusRequest", a name the schema already uses for the request of rpc "Director.GetHealthStatus" (rpc-errors.ts:14:1) — rename the type',
  ],
  [
    '"uses_service"',
    "Director)",
    'model "uses_service": parameter "d" has type "Director", a name the schema already uses for the service of rpc "Director.Status" (rpc-errors.ts:13:1)',
  ],
  [
    '"Director.NotStreaming"',
    "{ streaming",
    'rpc "Director.NotStreaming" has streaming: true but does not return an AsyncIterable',
  ],
];

describe("extract: diagnostics of code-first RPCs and call contexts (rpc-errors.ts)", () => {
  let diagnostics: readonly Diagnostic[];
  beforeAll(() => {
    diagnostics = errorOf("rpc-errors.ts").diagnostics;
  });

  it("reports each one at its place, naming the other place where two registrations clash", () => {
    const want = expectedRpcErrors().map(([marker, anchor, message]) => {
      const { line, text } = lineOf("rpc-errors.ts", marker);
      const column = text.indexOf(anchor) + 1;
      if (column === 0) throw new Error(`rpc-errors.ts:${line}: no ${JSON.stringify(anchor)}`);
      return { at: `rpc-errors.ts:${line}:${column}`, message };
    });
    expect(diagnostics.map((d) => `${d.file}:${d.line}:${d.column}`)).toEqual(want.map((w) => w.at));
    diagnostics.forEach((d, i) => expect(d.message).toContain(want[i]!.message));
  });

  it("says how to fix each one (what — how)", () => {
    for (const d of diagnostics) expect(d.message).toMatch(/ — \S/);
  });
});

describe("parseJsDoc", () => {
  it("splits the description from tags, with @param names in every common form", () => {
    expect(
      parseJsDoc(
        "/**\n * Line one.\n *\n * Line two.\n * @param a first\n *   continued\n * @param {string} b - second\n * @param [c] third\n * @pure\n * @returns the sum\n */",
      ),
    ).toEqual({
      text: "Line one.\n\nLine two.",
      tags: [
        { tag: "param", name: "a", text: "first\n  continued" },
        { tag: "param", name: "b", text: "second" },
        { tag: "param", name: "c", text: "third" },
        { tag: "pure", text: "" },
        { tag: "returns", text: "the sum" },
      ],
    });
    expect(parseJsDoc("/** */")).toEqual({ text: undefined, tags: [] });
  });
});

/**
 * Every diagnostic errors.ts (and errors-types.ts) must produce, in order: [file, a marker
 * of its line, the text the caret points at, the start of the message after `model "x": `].
 */
const expectedErrors = (): [string, string, string, string][] => [
  [
    "errors.ts",
    "interface Clash",
    "string }",
    'property "Clash.user_id" and "userID" both become field "user_id" in the schema — rename one',
  ],
  ["errors.ts", "interface Odd", "string }", 'property "Odd.content-type" has no usable schema field name'],
  ["errors.ts", "enum Computed", "Computed", 'parameter "c" has enum "Computed", whose member A has no constant value'],
  ["errors.ts", '"any_param"', "any)", 'parameter "value" is "any" — give it a concrete type'],
  ["errors.ts", '"unknown_param"', "unknown)", 'parameter "value" is "unknown" — give it a concrete type'],
  [
    "errors.ts",
    '"function_param"',
    "(x: number) =>",
    'parameter "callback" is a function type ("(x: number) => string") — functions cannot be sent',
  ],
  ["errors.ts", '"either"', "string | number", 'parameter "value" is a union of unrelated types ("string | number")'],
  [
    "errors.ts",
    '"nullable"',
    "string | null",
    'parameter "text" includes null ("string | null") — use an optional instead',
  ],
  ["errors.ts", '"numbers"', "1 | 2 | 3", 'parameter "level" is a union of number literals ("1 | 2 | 3")'],
  ["errors.ts", '"variants"', "{ circle", 'parameter "shape" is a union of object types'],
  ["errors.ts", '"tuple"', "[number, string]", 'parameter "pair" is a tuple ("[number, string]")'],
  [
    "errors.ts",
    '"grid"',
    "number[][]",
    'parameter "rows" is a nested array (number[][]) — use a Tensor for numeric grids',
  ],
  ["errors.ts", '"holes"', "(string | undefined)[]", 'parameter "items" is an array of optional values'],
  ["errors.ts", '"number_keys"', "Record<number", 'parameter "m" is a map with number keys'],
  [
    "errors.ts",
    '"map_keys"',
    "Map<number",
    'parameter "m" is a map with number keys (Map<number, string>) — use string keys',
  ],
  ["errors.ts", '"map_holes"', "Record<string, string | undefined>", 'parameter "m" is a map with optional values'],
  ["errors.ts", '"list_of_maps"', "Record<string, string>[]", 'parameter "ms" is an array of maps'],
  ["errors.ts", '"mixed"', "Mixed)", 'parameter "m" mixes properties and an index signature ("Mixed")'],
  ["errors.ts", '"void_param"', "void)", 'parameter "x" has no value ("void")'],
  [
    "errors.ts",
    '"unnamed_generic"',
    "Wrap<",
    'parameter "w" has type "Wrap<{ a: string; }>", whose name in the schema cannot be made from its type argument',
  ],
  ["errors.ts", '"overloaded"', "overloaded)", "the function has 2 overloads, so its signature is ambiguous"],
  ["errors.ts", '"never_param"', "never)", 'parameter "x" is "never" — give it a concrete type'],
  ["errors.ts", '"null_param"', "null)", 'parameter "x" is null — leave it out, or make it optional'],
  ["errors.ts", '"weak_ref"', "WeakRef<", 'parameter "r" has built-in type "WeakRef<object>", which is not data'],
  [
    "errors.ts",
    '"no_properties"',
    "string)",
    'the destructured parameter has type "string", which has no properties to become the request\'s fields',
  ],
  ["errors.ts", '"array_pattern"', "[first]", "an array-destructured parameter has no name — name it"],
  [
    "errors.ts",
    '"digit_values"',
    '"2d" | "3d"',
    'parameter "d" has enum "PredictDigitValuesRequest.D" whose value "2d" has no usable schema name',
  ],
  [
    "errors.ts",
    '"tagged"',
    "string & {",
    'parameter "x" has unsupported type "string & { tag: true; }" — an intersection with a primitive',
  ],
  ["errors.ts", '"batched_destructured"', "{ a }", "a destructured parameter cannot take one array per parameter"],
  ["errors.ts", '"map_of_lists"', "Record<string, string[]>", 'parameter "m" is a map whose values are arrays'],
  [
    "errors.ts",
    '"instance"',
    "Thing)",
    'parameter "thing" is an instance of class "Thing" — only plain data crosses the wire',
  ],
  ["errors.ts", '"set"', "Set<string>", 'parameter "tags" is a Set — use an array'],
  ["errors.ts", '"typed_array"', "Float32Array", 'parameter "xs" is a Float32Array — use Tensor<"float32", [n]>'],
  [
    "errors.ts",
    '"promise_param"',
    "Promise<string>)",
    'parameter "p" is a Promise — only a model\'s return type may be a Promise',
  ],
  ["errors.ts", '"object_param"', "object)", 'parameter "o" is "object" — use an interface'],
  [
    "errors.ts",
    '"unresolved"',
    "NoSuchType)",
    'parameter "data" has type "NoSuchType", which cannot be resolved — check its import',
  ],
  [
    "errors.ts",
    '"two_points"',
    "OtherPoint)",
    'parameter "b" has type "Point", but another type is also named "Point" in the schema (errors.ts:',
  ],
  [
    "errors.ts",
    '"reserved_name"',
    "PredictOkRequest)",
    'parameter "r" has type "PredictOkRequest", a name the schema already uses for the request of model "ok"',
  ],
  [
    "errors.ts",
    '"enum_clash"',
    '"fast" | "Fast"',
    'parameter "mode" has enum "PredictEnumClashRequest.Mode" whose values "fast" and "Fast" both become MODE_FAST',
  ],
  [
    "errors.ts",
    '"enum_zero"',
    '"unspecified" | "on"',
    'parameter "mode" has enum "PredictEnumZeroRequest.Mode" whose value "unspecified" becomes MODE_UNSPECIFIED',
  ],
  ["errors.ts", '"two_destructured"', "{ a }", "a destructured parameter must be the only one"],
  ["errors.ts", '"generic"', "async <T>", "the function is generic (T)"],
  [
    "errors.ts",
    '"dynamic_options"',
    "loadOptions()",
    'its options may set "version", but code generation cannot read them — write them as an object literal',
  ],
  ["errors.ts", "app.model(dynamicName", "dynamicName", "a model's name must be a string literal"],
  ["errors.ts", '"bad/name"', '"bad/name"', 'model name "bad/name" is not usable in a schema'],
  ["errors.ts", '"untyped"', "text)", 'parameter "text" has no type annotation — annotate it'],
  ["errors.ts", '"rest"', "...texts", 'rest parameter "texts" is not supported'],
  ["errors.ts", '"not_streaming"', "{ streaming", "has streaming: true but does not return an AsyncIterable"],
  ["errors.ts", '"is_streaming"', "{ streaming", "has streaming: false but returns an AsyncIterable"],
  ["errors.ts", '"no_dtype"', "Tensor)", 'parameter "t" is a Tensor without a dtype literal'],
  ["errors.ts", '"no_shape"', "Tensor<", 'parameter "t" is a Tensor without a shape tuple'],
  ["errors.ts", '"bad_dtype"', "Tensor<", 'parameter "t" has unknown dtype "float128" — use one of float32, float64'],
  ["errors.ts", '"bad_dim"', "Tensor<", 'parameter "t" has shape dimension "number"'],
  ["errors.ts", '"nothing"', "Promise<void>", "the function returns nothing — a model must return its result"],
  ["errors.ts", '"nothing_sync"', "void =>", "the function returns nothing"],
  [
    "errors.ts",
    '"nothing_streamed"',
    "AsyncGenerator<void>",
    "the stream yields nothing — a model must yield its result",
  ],
  ["errors.ts", '"no_return"', "async (", "the function returns nothing"],
  ["errors.ts", "(again", '"ok"', 'model "ok" is registered twice (first at line '],
  ["errors.ts", '"two_errors"', "() => void", 'parameter "when" is a function type'],
  ["errors.ts", '"two_errors"', "string[][]", 'parameter "grid" is a nested array (string[][])'],
  ["errors.ts", '"two_errors"', "Promise<symbol>", 'the return type has unsupported type "symbol"'],
  ["errors.ts", '"versioned"', "2 }", 'version must be a string known at build time — e.g. version: "1.2.0"'],
  ["errors.ts", '"not_a_function"', "42", "the last argument must be a function"],
  [
    "errors.ts",
    '"batched_value"',
    "string)",
    'model "batched_value" is list-batched (it has batch options and not every parameter is a tensor): parameter "text" must be an array with one value per request',
  ],
  [
    "errors.ts",
    '"batched_result"',
    "Promise<string>",
    'model "batched_result" is list-batched (it has batch options and not every parameter is a tensor): it must return an array with one result per request',
  ],
  [
    "errors.ts",
    '"batched_stream"',
    "{ maxBatchSize",
    'model "batched_stream" is a stream and has batch options — batching is for unary models',
  ],
  ["errors.ts", '"text_embed"', '"text_embed"', 'models "textEmbed" (line '],
  [
    "errors.ts",
    '"same_field"',
    "max_tokens:",
    'parameters "maxTokens" and "max_tokens" both become field "max_tokens"',
  ],
  ["errors.ts", '"unnamed_field"', "_:", 'parameter "_" has no usable schema field name ("")'],
  [
    "errors.ts",
    'other.model("elsewhere"',
    "other.model",
    'models of a second app "other" — an entry file serves one app (this one is "broken")',
  ],
  ["errors.ts", 'unnamed.model("anonymous"', "unnamed.model", "cannot tell this app's name — pass a string literal"],
  [
    "errors-types.ts",
    "children: Tree[]",
    "Tree[]",
    'property "Tree.children" has recursive type "Tree" (it contains itself)',
  ],
  ["errors-types.ts", "greet(): string", "greet", 'property "Broken.greet" is a method — functions cannot be sent'],
  ["errors-types.ts", "when?: Date | null", "Date | null", 'property "Broken.when" includes null'],
];

describe("extract: diagnostics (errors.ts, errors-types.ts)", () => {
  let error: CodegenError;
  let diagnostics: readonly Diagnostic[];
  beforeAll(() => {
    error = errorOf("errors.ts");
    diagnostics = error.diagnostics;
  });

  /** The position and message each expected diagnostic must have. */
  function want(): { file: string; line: number; column: number; message: string }[] {
    return expectedErrors().map(([file, marker, anchor, message]) => {
      const { line, text } = lineOf(file, marker);
      const column = text.indexOf(anchor) + 1;
      if (column === 0) throw new Error(`${file}:${line}: no ${JSON.stringify(anchor)}`);
      return { file, line, column, message };
    });
  }

  it("reports every error in one run: the entry's in source order, then those of the files it imports", () => {
    const w = want();
    // One diagnostic per expected entry, no more: every error found, none invented.
    expect(diagnostics.map((d) => `${d.file}:${d.line}:${d.column}`)).toEqual(
      w.map((x) => `${x.file}:${x.line}:${x.column}`),
    );
    diagnostics.forEach((d, i) => expect(d.message).toContain(w[i]!.message));
  });

  it("says how to fix each one (what — how)", () => {
    for (const d of diagnostics) expect(d.message).toMatch(/ — \S/);
  });

  it("carries the source line of each diagnostic, from the file it is in", () => {
    for (const d of diagnostics) {
      const source = fs.readFileSync(path.join(FIXTURES, d.file), "utf8").split("\n");
      expect(d.sourceLine).toBe(source[d.line - 1]);
    }
  });

  it("formats a diagnostic as file:line:col error: message, the source line and a caret", () => {
    const { line, text } = lineOf("errors.ts", '"either"');
    const d = diagnostics.find((x) => x.file === "errors.ts" && x.line === line)!;
    const col = text.indexOf("string | number") + 1;
    expect(formatDiagnostic(d)).toBe(
      [
        `errors.ts:${line}:${col} error: model "either": parameter "value" is a union of unrelated types ("string | number") — use one type, a string-literal union, or an object with optional properties`,
        `${line} | ${text}`,
        `${" ".repeat(`${line} | `.length + col - 1)}^`,
      ].join("\n"),
    );
  });

  it("puts every diagnostic, formatted, in the CodegenError's message", () => {
    expect(error.name).toBe("CodegenError");
    expect(error.message).toBe(diagnostics.map(formatDiagnostic).join("\n\n"));
  });

  it("formats a diagnostic without a source line as the head line alone", () => {
    expect(formatDiagnostic({ file: "m.ts", line: 3, column: 7, message: "boom" })).toBe("m.ts:3:7 error: boom");
    expect(formatDiagnostic({ file: "m.ts", line: 123, column: 1, message: "boom", sourceLine: "x" })).toBe(
      "m.ts:123:1 error: boom\n123 | x\n      ^",
    );
  });
});

describe("extract: files without models", () => {
  it("reports no models or RPCs found, with the code a program acts on (a lookalike .model() call does not count)", () => {
    const { diagnostics } = errorOf("no-models.ts");
    expect(diagnostics).toEqual([
      {
        file: "no-models.ts",
        line: 1,
        column: 1,
        message:
          'no models or RPCs found — register one with app.model(name, fn) or app.rpc("Service.Method", fn) on an app from createApp({ name }) of @blazerpc/runtime',
        code: "no-models",
      },
    ]);
  });

  it("takes an app of code-first RPCs alone (no app.model) as any other", () => {
    const spec = extract("rpc-only.ts", { cwd: FIXTURES });
    expect(spec.name).toBe("rpc-only");
    expect(spec.models).toEqual([
      {
        name: "Clock.Now",
        rpc: true,
        streaming: false,
        params: [],
        results: [{ name: "result", type: timestamp }],
        position: { file: "rpc-only.ts", line: lineOf("rpc-only.ts", '"Clock.Now"').line, column: 1 },
      },
    ]);
  });

  it("reports an entry file that does not exist", () => {
    expect(errorOf("missing.ts").diagnostics).toEqual([
      { file: "missing.ts", line: 1, column: 1, message: 'cannot read entry file "missing.ts"' },
    ]);
  });

  it("shows the absolute path of an entry outside cwd", () => {
    const entry = path.join(FIXTURES, "no-models.ts");
    expect(errorOf(entry, path.join(FIXTURES, "elsewhere")).diagnostics.map((d) => d.file)).toEqual([entry]);
  });
});

describe("blaze proto on a file with errors", () => {
  it("exits 1 and prints every diagnostic, compiler style, on stderr, writing nothing", () => {
    const blaze = path.join(REPO, "packages/cli/bin/blaze.js");
    if (!fs.existsSync(path.join(REPO, "packages/cli/dist/cli.js"))) {
      throw new Error(
        "packages/cli/dist is missing: run `node scripts/pnpm.cjs exec tsc -b` (npm test does) before jest",
      );
    }
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-proto-"));
    try {
      const r = spawnSync(process.execPath, [blaze, "proto", "errors.ts", "--out", out, "--force"], {
        cwd: FIXTURES,
        encoding: "utf8",
      });
      expect(r.status).toBe(1);
      const { line, text } = lineOf("errors.ts", '"either"');
      const col = text.indexOf("string | number") + 1;
      expect(r.stderr).toContain(
        `errors.ts:${line}:${col} error: model "either": parameter "value" is a union of unrelated types`,
      );
      expect(r.stderr).toContain(`${line} | ${text}\n${" ".repeat(`${line} | `.length + col - 1)}^`);
      expect(r.stderr).toMatch(
        /^errors-types\.ts:\d+:\d+ error: model "recursive": property "Tree.children" has recursive type "Tree"/m,
      );
      expect(r.stderr.match(/^errors(-types)?\.ts:\d+:\d+ error: /gm)).toHaveLength(expectedErrors().length);
      // Not "blaze: CodegenError: ...": the diagnostics alone.
      expect(r.stderr).not.toContain("CodegenError");
      expect(fs.readdirSync(out)).toEqual([]);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("extract: model names as users write them (model-names.ts)", () => {
  it('takes letters, digits, "-", "_" and "." and serves each as Predict + its PascalCase', () => {
    const spec = extract("model-names.ts", { cwd: FIXTURES });
    expect(spec.models.map((m) => m.name)).toEqual(["score-reviews", "sklearn.iris", "text-embedding-3", "3d-unet"]);
    const proto = printProto(spec, assignNumbers(numberingInput(spec), undefined));
    for (const rpc of ["PredictScoreReviews", "PredictSklearnIris", "PredictTextEmbedding3", "Predict3dUnet"]) {
      expect(proto).toContain(`rpc ${rpc}(${rpc}Request) returns (${rpc}Response)`);
    }
    expect(proto).toContain('name: "score-reviews"');
    expect(proto).toContain('name: "sklearn.iris"');
  });

  it("reports two names that become one RPC together, each with its place", () => {
    const err = errorOf("model-names-clash.ts");
    expect(err.diagnostics).toHaveLength(1);
    const d = err.diagnostics[0]!;
    expect(d.message).toBe(
      'models "score-reviews" (line 6) and "score_reviews" both become rpc PredictScoreReviews in the schema — rename one',
    );
    expect(d.line).toBe(lineOf("model-names-clash.ts", '"score_reviews"').line);
  });
});
