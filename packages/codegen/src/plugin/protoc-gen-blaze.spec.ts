// protoc-gen-blaze in-process, as buf runs it, on a compiled image of the examples' schemas
// and of hand-written protos. The examples' whole output is compared byte for byte by
// golden.spec.ts and type-checked by `tsc -b`; here: what it emits where, what it imports,
// and what it refuses.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { create, fromBinary } from "@bufbuild/protobuf";
import {
  CodeGeneratorRequestSchema,
  FileDescriptorSetSchema,
  type CodeGeneratorResponse,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import ts from "typescript";
import { extract } from "../extract/extract.js";
import { schemaFiles, writeSchemaFiles } from "../proto-printer/schema-files.js";
import { protocGenBlaze } from "./protoc-gen-blaze.js";

const REPO = path.resolve(__dirname, "../../../..");
const BUF = path.join(path.dirname(require.resolve("@bufbuild/buf/package.json")), "bin", "buf");

/** Hand-written: a model whose response has two fields without object_result, which the plugin must refuse. */
const BAD_PROTO = `syntax = "proto3";
package bad.v1;
import "blazerpc/v1/options.proto";
service InferenceService {
  rpc PredictTwo(PredictTwoRequest) returns (PredictTwoResponse) {
    option (blazerpc.v1.model) = { name: "two" };
  }
}
message PredictTwoRequest { string a = 1; }
message PredictTwoResponse {
  string result = 1;
  string extra = 2;
}
`;

/** Hand-written: an enum without the ts_value options blaze proto writes. */
const PLAIN_ENUM_PROTO = `syntax = "proto3";
package plain.v1;
import "blazerpc/v1/options.proto";
service InferenceService {
  rpc PredictPick(PredictPickRequest) returns (PredictPickResponse) {
    option (blazerpc.v1.model) = { name: "pick" };
  }
}
enum Fruit {
  FRUIT_UNSPECIFIED = 0;
  FRUIT_APPLE = 1;
}
message PredictPickRequest { Fruit fruit = 1; }
message PredictPickResponse { Fruit result = 1; }
`;

let protoFiles: FileDescriptorProto[];

/** Runs the plugin in-process, as protoc / buf would, on `files` of the built image. */
function runPlugin(fileToGenerate: string[], parameter = "target=ts,import_extension=js"): CodeGeneratorResponse {
  return protocGenBlaze.run(create(CodeGeneratorRequestSchema, { fileToGenerate, parameter, protoFile: protoFiles }));
}

function fileOf(response: CodeGeneratorResponse, name: string): string {
  const f = response.file.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no ${name} in ${response.file.map((x) => x.name).join(", ")}`);
  return f.content;
}

/** The modules a generated file imports. */
function importsOf(content: string): string[] {
  return [...new Set([...content.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]!))].sort();
}

beforeAll(() => {
  // Every schema compiled by buf into one image: files in dependency order, with source info.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-plugin-"));
  try {
    const proto = path.join(dir, "proto");
    fs.cpSync(path.join(REPO, "examples/types/proto"), proto, { recursive: true });
    fs.cpSync(path.join(REPO, "examples/iris/proto/iris"), path.join(proto, "iris"), { recursive: true });
    for (const [name, text] of [
      ["bad", BAD_PROTO],
      ["plain", PLAIN_ENUM_PROTO],
    ] as const) {
      fs.mkdirSync(path.join(proto, `${name}/v1`), { recursive: true });
      fs.writeFileSync(path.join(proto, `${name}/v1/${name}.proto`), text);
    }
    const image = path.join(dir, "image.binpb");
    const r = spawnSync(BUF, ["build", proto, "-o", image], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`buf build failed (exit ${r.status}):\n${r.stderr}`);
    protoFiles = fromBinary(FileDescriptorSetSchema, fs.readFileSync(image)).file;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe("protoc-gen-blaze on examples/types", () => {
  let response: CodeGeneratorResponse;
  let client: string;
  let binding: string;
  beforeAll(() => {
    response = runPlugin(["types/v1/types.proto"]);
    client = fileOf(response, "types/v1/types_client.ts");
    binding = fileOf(response, "types/v1/types_blaze.ts");
  });

  it("writes <file>_client.ts and <file>_blaze.ts, and no error", () => {
    expect(response.error ?? "").toBe("");
    expect(response.file.map((f) => f.name)).toEqual(["types/v1/types_client.ts", "types/v1/types_blaze.ts"]);
  });

  it("keeps the client browser-safe: it imports only protobuf-es, connect, @blazerpc/tensor and the _pb file", () => {
    expect(importsOf(client)).toEqual([
      "./types_pb.js",
      "@blazerpc/tensor",
      "@bufbuild/protobuf",
      "@bufbuild/protobuf/wkt",
      "@connectrpc/connect",
    ]);
    const code = client.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, "");
    expect(code).not.toMatch(/\b(Buffer|process|__dirname|require)\b/);
  });

  it("declares the models' own types: interfaces, literal unions, Date, Map, Record, Tensor", () => {
    expect(client).toContain('export type Color = "red" | "green" | "blue";\n');
    expect(client).toContain("export type Level = 0 | 1 | 2;\n");
    expect(client).toContain('export type PredictEnumsRequest_Mode = "fast" | "exact";\n');
    expect(client).toMatch(/export interface Point \{\n(.*\n)*? {2}label\?: string;\n\}/);
    expect(client).toContain("  userID: string;\n");
    expect(client).toContain("  scores: Map<string, number>;\n");
    expect(client).toContain("  points: Record<string, Point>;\n");
    expect(client).toContain("  when?: Date;\n");
    expect(client).toContain('  named: Record<string, Tensor<"int64", [2]>>;\n');
  });

  it("converts enums both ways, refusing the zero value and unknown values with the field's path", () => {
    expect(client).toContain(
      [
        "export function decodeColor(value: number, path: string): Color {",
        "  switch (value) {",
        '    case 1: return "red"; // COLOR_RED',
        '    case 2: return "green"; // COLOR_GREEN',
        '    case 3: return "blue"; // COLOR_BLUE',
        "  }",
        "  throw new Error(value === 0 ? `${path}: missing: no value was sent` : `${path}: unknown value ${value} of types.v1.Color`);",
        "}",
      ].join("\n"),
    );
    expect(client).toContain("    case 0: return 1; // LEVEL_LOW\n");
  });

  it("gives the client one method per model taking and returning those types", () => {
    expect(client).toContain(
      "  optionals(name?: string, count?: number, point?: Point, color?: Color, when?: Date, options?: CallOptions): Promise<PredictOptionalsResponse>;\n",
    );
    expect(client).toContain(
      "  search(request: PredictSearchRequest, options?: CallOptions): Promise<PredictSearchResponse>;\n",
    );
    expect(client).toContain("  count(to: number, options?: CallOptions): AsyncIterable<PredictCountResponse>;\n");
    expect(client).toContain("  square(x: number, options?: CallOptions): Promise<number>;\n");
    expect(client).toContain(
      "export function createInferenceServiceClient(transport: Transport): InferenceServiceClient {\n",
    );
    expect(client).toContain(
      '      for await (const $res of $client.predictCount({ to }, $options)) yield decodePredictCountResponse($res, "");\n',
    );
  });

  it("binds each model with the same conversions, importing them from the client file", () => {
    expect(importsOf(binding)).toEqual([
      "./types_client.js",
      "./types_pb.js",
      "@blazerpc/runtime",
      "@blazerpc/tensor",
      "@bufbuild/protobuf/wkt",
    ]);
    expect(binding).toContain(
      "  exact(request: PredictExactRequest): Promise<PredictExactResponse> | PredictExactResponse;\n",
    );
    expect(binding).toContain("  count(to: number): AsyncIterable<PredictCountResponse>;\n");
    expect(binding).toContain(
      [
        '    decode: (req: PredictOptionalsRequest): Parameters<InferenceServiceModels["optionals"]> => [',
        "      req.name,",
        "      req.count,",
        '      req.point === undefined ? undefined : decodePoint(req.point, "point."),',
        '      req.color === undefined ? undefined : decodeColor(req.color, "color"),',
        "      req.when === undefined ? undefined : timestampDate(req.when),",
        "    ],",
      ].join("\n"),
    );
    expect(binding).toContain(
      '    encode: (result: Awaited<ReturnType<InferenceServiceModels["search"]>>) => encodePredictSearchResponse(result, ""),\n',
    );
    expect(binding).toContain(
      '    encode: (result: Awaited<ReturnType<InferenceServiceModels["square"]>>) => ({\n      result: result,\n    }),\n',
    );
  });

  it("is deterministic", () => {
    const again = runPlugin(["types/v1/types.proto"]);
    expect(again.file.map((f) => f.content)).toEqual(response.file.map((f) => f.content));
  });
});

describe("protoc-gen-blaze on other files", () => {
  it("declares no types, and imports neither runtime helpers nor the client, where no model needs them (iris)", () => {
    const response = runPlugin(["iris/v1/iris.proto"]);
    expect(response.file.map((f) => f.name)).toEqual(["iris/v1/iris_client.ts", "iris/v1/iris_blaze.ts"]);
    const client = fileOf(response, "iris/v1/iris_client.ts");
    const binding = fileOf(response, "iris/v1/iris_blaze.ts");
    expect(client).not.toMatch(/export (type|interface) (?!InferenceServiceClient)/);
    expect(importsOf(client)).toEqual(["./iris_pb.js", "@blazerpc/tensor", "@connectrpc/connect"]);
    expect(importsOf(binding)).toEqual(["./iris_pb.js", "@blazerpc/runtime", "@blazerpc/tensor"]);
    expect(client).toContain(
      '  iris(features: Tensor<"float32", ["batch", 4]>, options?: CallOptions): Promise<Tensor<"float32", ["batch", 3]>>;\n',
    );
  });

  it("writes nothing for a file without model methods", () => {
    expect(runPlugin(["blazerpc/v1/tensor.proto", "blazerpc/v1/options.proto"]).file).toEqual([]);
  });

  it("uses the proto names of an enum written by hand (no ts_value options)", () => {
    const client = fileOf(runPlugin(["plain/v1/plain.proto"]), "plain/v1/plain_client.ts");
    expect(client).toContain('export type Fruit = "FRUIT_APPLE";\n');
  });

  it("refuses a model whose response is not exactly one field, unless it returns an object", () => {
    let message = "";
    try {
      message = runPlugin(["bad/v1/bad.proto"]).error ?? "";
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`bad.v1.PredictTwoResponse: a model's response must have exactly one field, "result"`);
  });
});

/**
 * Code-first RPCs and call contexts: the schema blaze proto prints for
 * extract/__fixtures__/code-first.ts (its golden file is checked by golden.spec.ts), the
 * plugin's output for it, and that output compiled with an implementation of its own.
 */
describe("protoc-gen-blaze on code-first RPCs (extract/__fixtures__/code-first.ts)", () => {
  const FIXTURES = path.join(__dirname, "../extract/__fixtures__");
  // Inside examples/types (its .tmp-cli-* folders are ignored by git), so that the generated
  // code's imports (@blazerpc/runtime, @connectrpc/connect …) resolve from its node_modules.
  const TYPES_EXAMPLE = path.join(REPO, "examples/types");
  let dir: string;
  let lint: { code: number | null; out: string };
  let response: CodeGeneratorResponse;
  let client: string;
  let binding: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(TYPES_EXAMPLE, ".tmp-cli-code-first-"));
    const proto = path.join(dir, "proto");
    writeSchemaFiles(schemaFiles(extract("code-first.ts", { cwd: FIXTURES })), proto);
    const l = spawnSync(
      BUF,
      ["lint", ".", "--config", JSON.stringify({ version: "v2", lint: { use: ["STANDARD"] } })],
      { cwd: proto, encoding: "utf8" },
    );
    lint = { code: l.status, out: l.stdout + l.stderr };
    const image = path.join(dir, "image.binpb");
    const b = spawnSync(BUF, ["build", proto, "-o", image], { encoding: "utf8" });
    if (b.status !== 0) throw new Error(`buf build failed (exit ${b.status}):\n${b.stderr}`);
    const files = fromBinary(FileDescriptorSetSchema, fs.readFileSync(image)).file;
    response = protocGenBlaze.run(
      create(CodeGeneratorRequestSchema, {
        fileToGenerate: ["code_first/v1/code_first.proto"],
        parameter: "target=ts,import_extension=js,rewrite_imports=./blazerpc/**/*_pb.js:@blazerpc/tensor",
        protoFile: files,
      }),
    );
    client = fileOf(response, "code_first/v1/code_first_client.ts");
    binding = fileOf(response, "code_first/v1/code_first_blaze.ts");
    // protoc-gen-es's _pb.ts beside them, as `blaze generate` makes it.
    const template = JSON.stringify({
      version: "v2",
      plugins: [
        {
          local: [process.execPath, path.join(REPO, "node_modules/@bufbuild/protoc-gen-es/bin/protoc-gen-es")],
          out: path.join(dir, "gen"),
          opt: ["target=ts", "import_extension=js", "rewrite_imports=./blazerpc/**/*_pb.js:@blazerpc/tensor"],
        },
      ],
    });
    const g = spawnSync(
      BUF,
      ["generate", proto, "--template", template, "--exclude-path", path.join(proto, "blazerpc")],
      { encoding: "utf8" },
    );
    if (g.status !== 0) throw new Error(`buf generate failed (exit ${g.status}):\n${g.stderr}`);
    for (const f of response.file) fs.writeFileSync(path.join(dir, "gen", f.name), f.content);
  });

  afterAll(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reads a schema that passes buf lint (STANDARD)", () => {
    expect(lint).toEqual({ code: 0, out: "" });
  });

  it("writes a binding and a client for every service of the file, the RPCs' own included", () => {
    expect(response.error ?? "").toBe("");
    expect(response.file.map((f) => f.name)).toEqual([
      "code_first/v1/code_first_client.ts",
      "code_first/v1/code_first_blaze.ts",
    ]);
    for (const service of ["InferenceService", "InferenceDirector", "Calculator"]) {
      expect(binding).toContain(`export interface ${service}Models {\n`);
      expect(binding).toContain(`export const ${service}Binding = defineModelService(${service}, {\n`);
      expect(client).toContain(`export interface ${service}Client {\n`);
      expect(client).toContain(`export function create${service}Client(transport: Transport): ${service}Client {\n`);
    }
  });

  it("binds an RPC by its Service.Method, and types it by the named interface it returns", () => {
    expect(binding).toContain(
      '  "InferenceDirector.GetHealthStatus"(): Promise<HealthStatusResponse> | HealthStatusResponse;\n',
    );
    expect(binding).toContain(
      [
        "  getHealthStatus: {",
        '    kind: "unary",',
        '    model: "InferenceDirector.GetHealthStatus",',
        '    decode: (req: GetHealthStatusRequest): Parameters<InferenceDirectorModels["InferenceDirector.GetHealthStatus"]> => [',
        "    ],",
        '    encode: (result: Awaited<ReturnType<InferenceDirectorModels["InferenceDirector.GetHealthStatus"]>>) => encodeHealthStatusResponse(result, ""),',
        "  },",
      ].join("\n"),
    );
    expect(client).toContain("export interface HealthStatusResponse {\n");
    expect(client).toContain("  overallStatus: HealthStatusResponse_OverallStatus;\n");
    expect(client).toContain(
      'export type HealthStatusResponse_OverallStatus = "HEALTHY" | "DEGRADED" | "UNHEALTHY";\n',
    );
  });

  it("passes the call context last: in the signature, `context: true` in the binding, never in the client", () => {
    expect(binding).toContain('import type { CallContext } from "@blazerpc/runtime";\n');
    expect(binding).toContain(
      '  "InferenceDirector.Greet"(name: string, ctx: CallContext): Promise<string> | string;\n',
    );
    expect(binding).toContain('  "InferenceDirector.Watch"(ctx: CallContext): AsyncIterable<number>;\n');
    expect(binding).toContain("  tagged(text: string, ctx: CallContext): Promise<string> | string;\n");
    expect(binding).toContain(
      '    model: "InferenceDirector.Greet",\n    context: true,\n    decode: (req: GreetRequest): [name: string] => [\n      req.name,\n    ],\n',
    );
    expect(binding).toContain(
      '    model: "InferenceDirector.Watch",\n    context: true,\n    decode: (req: WatchRequest): [] => [\n    ],\n',
    );
    expect(binding.match(/context: true/g)).toHaveLength(3);
    expect(client).not.toContain("CallContext");
    expect(client).toContain("  greet(name: string, options?: CallOptions): Promise<string>;\n");
    expect(client).toContain("  watch(options?: CallOptions): AsyncIterable<number>;\n");
  });

  it("names a client's RPC methods after the method, its models' after the model, and leaves buf's lint comments out", () => {
    expect(client).toContain("  getHealthStatus(options?: CallOptions): Promise<HealthStatusResponse>;\n");
    expect(client).toContain("  scale(request: Scaling, options?: CallOptions): Promise<Scaled>;\n");
    expect(client).toContain("  info(options?: CallOptions): Promise<string>;\n");
    expect(client).toContain("  add(a: number, b: number, options?: CallOptions): Promise<number>;\n");
    expect(client).toContain("      const $res = await $client.getHealthStatus({}, $options);\n");
    expect(client + binding).not.toContain("buf:lint");
  });

  it("compiles, and checks an implementation against the signatures", () => {
    const impl = path.join(dir, "impl.ts");
    const source = `
import { createApp, createServer, type CallContext } from "@blazerpc/runtime";
import { CalculatorBinding, InferenceDirectorBinding, InferenceServiceBinding, type CalculatorModels as C, type InferenceDirectorModels as D, type InferenceServiceModels as M } from "./gen/code_first/v1/code_first_blaze.js";
import { createInferenceDirectorClient } from "./gen/code_first/v1/code_first_client.js";

export const app = createApp({ name: "code-first" });
app.model("tagged", (async (text: string, ctx: CallContext) => (ctx.requestHeader.get("x-tag") ?? "") + text) satisfies M["tagged"]); // ok
app.rpc("InferenceDirector.GetHealthStatus", (async () => ({ overallStatus: "HEALTHY" as const })) satisfies D["InferenceDirector.GetHealthStatus"]); // ok
app.rpc("InferenceDirector.Greet", (async (name: string, ctx: CallContext) => name + (ctx.peer ?? "")) satisfies D["InferenceDirector.Greet"]); // ok
app.rpc("InferenceDirector.Watch", async function* (ctx: CallContext) { yield ctx.timeoutMs() ?? 0; } satisfies D["InferenceDirector.Watch"]); // ok
app.rpc("Calculator.Scale", (async ({ factor, values }) => ({ factor, values: values.map((v) => v * factor) })) satisfies C["Calculator.Scale"]); // ok
app.rpc("InferenceDirector.Greet", (async (name: string, ctx: string) => name + ctx) satisfies D["InferenceDirector.Greet"]); // error: Type 'CallContext' is not assignable to type 'string'
app.rpc("InferenceDirector.GetHealthStatus", (async () => ({ overallStatus: "FINE" as const })) satisfies D["InferenceDirector.GetHealthStatus"]); // error: Type '"FINE"' is not assignable
createServer({ app, services: [InferenceServiceBinding, InferenceDirectorBinding, CalculatorBinding] }); // ok
export async function call(c = createInferenceDirectorClient(null!)): Promise<string> {
  const status: "HEALTHY" | "DEGRADED" | "UNHEALTHY" = (await c.getHealthStatus()).overallStatus; // ok
  for await (const n of c.watch()) void n; // ok
  return status + (await c.greet("ada")); // ok
}
`;
    fs.writeFileSync(impl, source);
    const program = ts.createProgram([impl], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      noUncheckedIndexedAccess: true,
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2022.d.ts"],
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      types: [],
    });
    const lineOf = (d: ts.Diagnostic) =>
      d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
    const found = ts.getPreEmitDiagnostics(program).map((d) => ({
      file: path.relative(dir, d.file?.fileName ?? "?"),
      line: lineOf(d),
      text: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
    }));
    // Nothing in the generated files; in the implementation, exactly the lines marked `// error:`.
    const marked = source.split("\n").flatMap((text, i) => {
      const m = /\/\/ error: (.*)$/.exec(text);
      return m === null ? [] : [{ line: i + 1, error: m[1]! }];
    });
    expect(found.filter((d) => d.file !== "impl.ts")).toEqual([]);
    expect(found.map((d) => d.line)).toEqual(marked.map((m) => m.line));
    for (const m of marked) expect(found.find((d) => d.line === m.line)?.text).toContain(m.error);
  });
});
