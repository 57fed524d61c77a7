// The generated `<Service>Models` interface is a compile-time contract: an implementation
// checked against it (`satisfies InferenceServiceModels["name"]`, or an object typed with
// it) fails to compile when it no longer matches the schema. This test type-checks a small
// project against examples/types' generated code with the TypeScript compiler and asserts
// which lines fail, with which error — and that the matching implementations do not.
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";

const repo = path.resolve(__dirname, "..");
const example = path.join(repo, "examples/types");

// `// ok` lines must compile; `// error: <text>` lines must fail with a message containing <text>.
const IMPLEMENTATION = `
import { createApp, type Int32, type Tensor } from "@blazerpc/runtime";
import type { InferenceServiceModels as M } from "../gen/types/v1/types_blaze.js";
import { Level, Shape, type Color } from "../types.js";

export const app = createApp({ name: "types" });
const image: Tensor<"uint8", ["batch", 2, 2]> = { dtype: "uint8", shape: [1, 2, 2], data: new Uint8Array(4) };

app.model("square", (async (x: number): Promise<number> => x * x) satisfies M["square"]); // ok
app.model("count", async function* (to: Int32) { for (let n = 1; n <= to; n++) yield { n, square: BigInt(n * n) }; } satisfies M["count"]); // ok
app.model("enums", (async (color: Color, level: Level, shape: Shape, mode: "fast" | "exact", palette: Color[]) => ({ color, level, shape, mode, palette })) satisfies M["enums"]); // ok
app.model("measure", (async (texts: string[], scales: number[]) => texts.map((t, i) => (t ? { length: t.length, scaled: scales[i]! } : new Error("empty")))) satisfies M["measure"]); // ok
app.model("shout", (async (text: number): Promise<string> => String(text)) satisfies M["shout"]); // error: Types of parameters 'text' and 'text' are incompatible
app.model("square", (async (x: number): Promise<string> => String(x)) satisfies M["square"]); // error: Type 'string' is not assignable to type 'number'
app.model("count", async function* (to: Int32) { yield { n: to, square: to }; } satisfies M["count"]); // error: Type 'Int32' is not assignable to type 'bigint'
app.model("enums", (async (color: Color) => ({ color, level: Level.Low, shape: Shape.Circle, mode: "slow" as const, palette: [] })) satisfies M["enums"]); // error: Type '"slow"' is not assignable to type 'PredictEnumsResponse_Mode'
app.model("tensors", (async (image: Tensor<"float32", ["batch", 2, 2]>) => ({ image, masks: [], named: {} })) satisfies M["tensors"]); // error: Type '"uint8"' is not assignable to type '"float32"'
app.model("measure", (async (text: string) => ({ length: text.length, scaled: 1 })) satisfies M["measure"]); // error: Type 'string[]' is not assignable to type 'string'
const models: Pick<M, "square" | "shout"> = { square: (x) => x * 2 }; // error: Property 'shout' is missing
void image; void models;
`;

interface Expectation {
  readonly line: number;
  readonly error?: string;
}

describe("the generated Models interface checks implementations at compile time", () => {
  let dir: string;
  let diagnostics: readonly ts.Diagnostic[];
  let expectations: Expectation[];
  let file: string;

  beforeAll(() => {
    // Inside examples/types so that @blazerpc/runtime resolves from its node_modules.
    dir = fs.mkdtempSync(path.join(example, ".tmp-cli-typecheck-"));
    file = path.join(dir, "impl.ts");
    fs.writeFileSync(file, IMPLEMENTATION);
    expectations = IMPLEMENTATION.split("\n").flatMap((text, i) => {
      const m = /\/\/ (ok|error: (.*))$/.exec(text);
      return m === null ? [] : [{ line: i + 1, ...(m[2] !== undefined ? { error: m[2] } : {}) }];
    });
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2022.d.ts"],
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      types: [],
    });
    diagnostics = ts.getPreEmitDiagnostics(program);
  });

  afterAll(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  const lineOf = (d: ts.Diagnostic) =>
    d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
  const text = (d: ts.Diagnostic) => ts.flattenDiagnosticMessageText(d.messageText, "\n");

  it("reports errors only in the implementation, never in the generated code", () => {
    const elsewhere = diagnostics
      .filter((d) => d.file?.fileName !== file)
      .map((d) => `${d.file?.fileName ?? "?"}: ${text(d)}`);
    expect(elsewhere).toEqual([]);
    expect(expectations.filter((e) => e.error !== undefined)).toHaveLength(7);
  });

  it("accepts implementations that match the schema (TypeScript enums, generators, list batching included)", () => {
    const ok = expectations.filter((e) => e.error === undefined).map((e) => e.line);
    expect(ok).toHaveLength(4);
    expect(diagnostics.filter((d) => ok.includes(lineOf(d))).map(text)).toEqual([]);
  });

  it("refuses each one that does not, with the mismatch in the message", () => {
    for (const e of expectations.filter((x) => x.error !== undefined)) {
      const messages = diagnostics.filter((d) => d.file?.fileName === file && lineOf(d) === e.line).map(text);
      expect({ line: e.line, found: messages.some((m) => m.includes(e.error!)) ? e.error : messages }).toEqual({
        line: e.line,
        found: e.error,
      });
    }
  });
});

describe("the generated clients are browser-safe", () => {
  it("type-check with the DOM library and no Node types at all", () => {
    const files = [
      path.join(example, "gen/types/v1/types_client.ts"),
      path.join(repo, "examples/iris/gen/iris/v1/iris_client.ts"),
      // Code-first RPCs' clients too: a call context stays on the server.
      path.join(repo, "test/e2e/fixtures/code-first/gen/code_first/v1/code_first_client.ts"),
    ];
    const program = ts.createProgram(files, {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      types: [],
    });
    // Everything the clients load: no file of @types/node among them.
    expect(
      program
        .getSourceFiles()
        .filter((f) => /@types[\\/]node/.test(f.fileName))
        .map((f) => f.fileName),
    ).toEqual([]);
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(diagnostics).toEqual([]);
  });
});
