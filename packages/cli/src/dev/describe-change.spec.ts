import type { AppSpec, ModelSpec } from "@blazerpc/codegen";
import { describeSchemaChange } from "./describe-change.js";

const position = { file: "models.ts", line: 1, column: 1 };
const str = { kind: "scalar", scalar: "string" } as const;
const model = (name: string, over: Partial<ModelSpec> = {}): ModelSpec => ({
  name,
  streaming: false,
  params: [{ name: "text", type: str }],
  results: [{ name: "result", type: str }],
  position,
  ...over,
});
const app = (models: ModelSpec[], over: Partial<AppSpec> = {}): AppSpec => ({
  name: "demo",
  entry: "models.ts",
  models,
  ...over,
});

describe("describeSchemaChange", () => {
  it("names each RPC added, removed, or whose signature changed", () => {
    const before = app([model("iris"), model("old_one")]);
    const after = app([
      model("iris", {
        params: [
          { name: "text", type: str },
          { name: "topK", type: { kind: "scalar", scalar: "double" } },
        ],
      }),
      model("shout"),
    ]);
    expect(describeSchemaChange(before, after)).toEqual([
      "PredictIris signature changed",
      "PredictShout added",
      "PredictOldOne removed",
    ]);
  });

  it("tells a doc comment or an option from a signature, and ignores where the code moved", () => {
    const before = app([model("iris"), model("echo")]);
    const after = app([
      model("iris", { doc: "Classifies.", params: [{ name: "text", type: str, doc: "the input" }] }),
      model("echo", { position: { ...position, line: 40 } }),
    ]);
    expect(describeSchemaChange(before, after)).toEqual(["PredictIris doc comment or options changed"]);
    expect(describeSchemaChange(before, app([model("iris", { streaming: true }), model("echo")]))).toEqual([
      "PredictIris signature changed",
    ]);
  });

  it("sees a change in a message a model reaches, however deep, and not in one it does not", () => {
    const query = { kind: "message", name: "Query" } as const;
    const uses = model("search", { params: [{ name: "q", type: { kind: "repeated", element: query } }] });
    const other = model("echo");
    const messages = (fields: string[]) => [
      { name: "Query", fields: [{ name: "filter", type: { kind: "message", name: "Filter" } as const }] },
      { name: "Filter", fields: fields.map((name) => ({ name, type: str })) },
    ];
    const before = app([uses, other], { messages: messages(["tag"]) });
    expect(describeSchemaChange(before, app([uses, other], { messages: messages(["tag", "lang"]) }))).toEqual([
      "PredictSearch signature changed",
    ]);
  });

  it("names a code-first RPC by its method, and sees the call context come or go", () => {
    const health = model("InferenceDirector.GetHealthStatus", { rpc: true, params: [] });
    const before = app([model("iris"), health]);
    expect(describeSchemaChange(before, app([model("iris")]))).toEqual(["GetHealthStatus removed"]);
    expect(describeSchemaChange(before, app([model("iris", { context: true }), health]))).toEqual([
      "PredictIris signature changed",
    ]);
    expect(
      describeSchemaChange(before, app([model("iris"), { ...health, responseType: "HealthStatusResponse" }])),
    ).toEqual(["GetHealthStatus signature changed"]);
  });

  it("says nothing without an earlier spec, and names a renamed app", () => {
    expect(describeSchemaChange(undefined, app([model("iris")]))).toEqual([]);
    expect(describeSchemaChange(app([model("iris")]), app([model("iris")], { name: "flowers" }))).toEqual([
      'app "demo" renamed to "flowers"',
    ]);
  });
});
