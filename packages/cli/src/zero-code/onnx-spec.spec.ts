/** @jest-environment ./packages/onnx/jest-environment.cjs */
// How an ONNX model's signature becomes a schema: the field each input and output name
// becomes, when a model can batch, the values that cannot be served, and the app spec
// `blaze proto` prints, read from a real ONNX file (built here) through onnxruntime and
// printed with the proto printer.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { schemaFiles } from "@blazerpc/codegen";
import { loadOnnxModel, type OnnxValueInfo } from "@blazerpc/onnx";
import { encodeModel } from "@blazerpc/onnx/testing";
import type { RepositoryModel } from "./model-repository.js";
import { fieldName, modelFields, onnxAppSpec, zeroCodeAppName, type SignedModel } from "./onnx-spec.js";

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-onnx-spec-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const rel = (p: string) => path.relative(process.cwd(), p);

function repoModel(name: string, overrides: Partial<RepositoryModel> = {}): RepositoryModel {
  return {
    name,
    version: "1",
    file: path.join(dir, `${name}.onnx`),
    location: `${name}.onnx`,
    config: {},
    ...overrides,
  };
}

function value(name: string, shape: OnnxValueInfo["shape"], dtype: OnnxValueInfo["dtype"] = "float32"): OnnxValueInfo {
  return { name, dtype, shape, onnxShape: shape?.map((d) => (d === "batch" ? "N" : d)) };
}

function signed(name: string, inputs: OnnxValueInfo[], outputs: OnnxValueInfo[]): SignedModel {
  return { model: repoModel(name), inputs, outputs };
}

/** Writes a model, loads it with onnxruntime, and returns its signature as zero-code reads it. */
async function signedFromFile(model: RepositoryModel, bytes: Uint8Array): Promise<SignedModel> {
  fs.writeFileSync(model.file, bytes);
  const loaded = await loadOnnxModel(model.file, { intraOpNumThreads: 1 });
  try {
    return { model, inputs: loaded.inputs, outputs: loaded.outputs };
  } finally {
    await loaded.release();
  }
}

describe("fieldName", () => {
  it.each([
    ["input_1", "input_1"],
    ["float_input", "float_input"],
    ["x", "x"],
    ["input:0", "input_0"],
    ["dense/BiasAdd:0", "dense_bias_add_0"],
    ["Prod/Out", "prod_out"],
    ["0", "t_0"],
    ["1x", "t_1x"],
    ["Input", "input"],
    ["inputIds", "input_ids"],
    ["HTTPCode", "http_code"],
    ["a__b", "a_b"],
    ["trailing_", "trailing"],
    ["_private", "private"],
    [":", "t"],
  ])("%j → %j", (onnxName, field) => {
    expect(fieldName(onnxName)).toBe(field);
  });
});

describe("modelFields", () => {
  it("a model whose every input and output has a dynamic first dimension can batch", () => {
    const f = modelFields(
      signed("m", [value("input:0", ["batch", 3]), value("y", ["batch"])], [value("out", ["batch", 2])]),
    );
    expect(f.batchable).toBe(true);
    expect(f.inputs.map((i) => [i.field, i.info.name])).toEqual([
      ["input_0", "input:0"],
      ["y", "y"],
    ]);
    expect(f.outputs.map((o) => [o.field, o.info.name])).toEqual([["out", "out"]]);
  });

  it.each<[string, OnnxValueInfo[], OnnxValueInfo[]]>([
    ["a fixed first input dimension", [value("x", [1, 3])], [value("y", ["batch", 3])]],
    ["a fixed first output dimension", [value("x", ["batch", 3])], [value("y", [1, 3])]],
    ["a scalar input", [value("x", [])], [value("y", ["batch"])]],
    ["a scalar output", [value("x", ["batch"])], [value("y", [])]],
    ["a dynamic dimension that is not the first", [value("x", [2, "seq"])], [value("y", ["batch"])]],
    ["no input", [], [value("y", ["batch"])]],
  ])("it cannot with %s", (_what, inputs, outputs) => {
    expect(modelFields(signed("m", inputs, outputs)).batchable).toBe(false);
  });

  it("a value that declares no shape: an error naming the model, its file and the value", () => {
    const model = repoModel("ranker");
    const where = `model "ranker" (${rel(model.file)})`;
    expect(() => modelFields({ model, inputs: [value("query", undefined)], outputs: [] })).toThrow(
      `${where}: input "query" declares no shape — give it one in the ONNX file (onnx.tools.update_model_dims) to serve it without code`,
    );
    expect(() =>
      modelFields({ model, inputs: [value("x", ["batch"])], outputs: [value("dense/Score:0", undefined)] }),
    ).toThrow(`${where}: output "dense/Score:0" declares no shape`);
  });

  it("two names that become one field: an error naming both", () => {
    const model = repoModel("m");
    const where = `model "m" (${rel(model.file)})`;
    expect(() =>
      modelFields({ model, inputs: [value("input:0", ["batch"]), value("input_0", ["batch"])], outputs: [] }),
    ).toThrow(`${where}: inputs "input:0" and "input_0" both become field "input_0" in the schema`);
    expect(() =>
      modelFields({
        model,
        inputs: [value("x", ["batch"])],
        outputs: [value("Score", ["batch"]), value("y", ["batch"]), value("score", ["batch"])],
      }),
    ).toThrow(`${where}: outputs "Score" and "score" both become field "score" in the schema`);
    // An input and an output may share a field name: they are in different messages.
    expect(
      modelFields({ model, inputs: [value("x:0", ["batch"])], outputs: [value("x_0", ["batch"])] }).batchable,
    ).toBe(true);
  });
});

describe("onnxAppSpec", () => {
  let multi: SignedModel;
  let scoreReviews: SignedModel;

  beforeAll(async () => {
    // Two inputs and two outputs, with names that are not proto field names.
    multi = await signedFromFile(
      repoModel("multi", { version: "2", config: { description: "Sums and products." } }),
      encodeModel({
        inputs: [
          { name: "x:0", dtype: "float32", shape: ["N", 3] },
          { name: "y", dtype: "float32", shape: ["N", 3] },
        ],
        outputs: [
          { name: "sum", dtype: "float32", shape: ["N", 3] },
          { name: "Prod/Out", dtype: "float32", shape: ["N", 3] },
        ],
        nodes: [
          { op: "Add", inputs: ["x:0", "y"], outputs: ["sum"] },
          { op: "Mul", inputs: ["x:0", "y"], outputs: ["Prod/Out"] },
        ],
      }),
    );
    // A fixed first dimension (cannot batch) and an int64 output; its name is not one field.
    scoreReviews = await signedFromFile(
      repoModel("score-reviews"),
      encodeModel({
        inputs: [{ name: "tokens", dtype: "int64", shape: [1, 8] }],
        outputs: [{ name: "ids", dtype: "int64", shape: [1, 8] }],
        nodes: [{ op: "Identity", inputs: ["tokens"], outputs: ["ids"] }],
      }),
    );
  });

  it("reads the signatures through onnxruntime: a symbolic first dimension becomes batch", () => {
    expect(multi.inputs.map((i) => [i.name, i.shape, i.onnxShape])).toEqual([
      ["x:0", ["batch", 3], ["N", 3]],
      ["y", ["batch", 3], ["N", 3]],
    ]);
    expect(modelFields(multi).batchable).toBe(true);
    expect(modelFields(scoreReviews).batchable).toBe(false);
  });

  it("one model per RPC: its name, version, description, tensor fields with the ONNX shapes, an object result", () => {
    const spec = onnxAppSpec("models", "models", [multi, scoreReviews]);
    expect(spec).toEqual({
      name: "models",
      entry: "models",
      models: [
        {
          name: "multi",
          doc: "Sums and products.",
          version: "2",
          streaming: false,
          params: [
            {
              name: "x_0",
              type: { kind: "tensor", dtype: "float32", shape: ["batch", 3] },
              doc: 'ONNX input "x:0": float32 [N, 3].',
            },
            {
              name: "y",
              type: { kind: "tensor", dtype: "float32", shape: ["batch", 3] },
              doc: 'ONNX input "y": float32 [N, 3].',
            },
          ],
          results: [
            {
              name: "sum",
              type: { kind: "tensor", dtype: "float32", shape: ["batch", 3] },
              doc: 'ONNX output "sum": float32 [N, 3].',
            },
            {
              name: "prod_out",
              type: { kind: "tensor", dtype: "float32", shape: ["batch", 3] },
              doc: 'ONNX output "Prod/Out": float32 [N, 3].',
            },
          ],
          objectResult: true,
          position: { file: rel(multi.model.file), line: 1, column: 1 },
        },
        {
          name: "score-reviews",
          doc: "The ONNX model score-reviews.onnx (version 1).",
          version: "1",
          streaming: false,
          params: [
            {
              name: "tokens",
              type: { kind: "tensor", dtype: "int64", shape: [1, 8] },
              doc: 'ONNX input "tokens": int64 [1, 8].',
            },
          ],
          results: [
            {
              name: "ids",
              type: { kind: "tensor", dtype: "int64", shape: [1, 8] },
              doc: 'ONNX output "ids": int64 [1, 8].',
            },
          ],
          objectResult: true,
          position: { file: rel(scoreReviews.model.file), line: 1, column: 1 },
        },
      ],
    });
  });

  it("prints as a schema: rpc Predict<Name> per model, the model option, tensor options on the fields", () => {
    const files = schemaFiles(onnxAppSpec("models", "models", [multi, scoreReviews]));
    expect(files.map((f) => f.path)).toEqual([
      "models/v1/models.proto",
      "models/v1/models.lock.json",
      "blazerpc/v1/options.proto",
      "blazerpc/v1/tensor.proto",
    ]);
    const proto = files[0]!.content;
    expect(proto).toMatch(/^package models\.v1;$/m);
    expect(proto).toMatch(
      /^ {2}rpc PredictScoreReviews\(PredictScoreReviewsRequest\) returns \(PredictScoreReviewsResponse\)/m,
    );
    expect(proto).toMatch(/^ {2}rpc PredictMulti\(PredictMultiRequest\) returns \(PredictMultiResponse\)/m);
    expect(proto).toContain('name: "score-reviews"\n      version: "1"\n      object_result: true');
    expect(proto).toContain('name: "multi"\n      version: "2"\n      object_result: true');
    expect(proto).toMatch(/blazerpc\.v1\.TensorProto x_0 = 1 \[[^\]]*dtype: "float32"\s+shape: \["batch", "3"\]/);
    expect(proto).toMatch(/blazerpc\.v1\.TensorProto prod_out = 2 \[/);
    expect(proto).toMatch(/blazerpc\.v1\.TensorProto tokens = 1 \[[^\]]*dtype: "int64"\s+shape: \["1", "8"\]/);
    expect(proto).toContain('// ONNX output "Prod/Out": float32 [N, 3].');
  });
});

describe("zeroCodeAppName", () => {
  it.each<[string, boolean, string]>([
    ["models", false, "models"],
    ["path/to/my-models/", false, "my-models"],
    ["iris.onnx", true, "iris"],
    ["dir/resnet50.v2.onnx", true, "resnet50_v2"],
    ["3d models", false, "d_models"],
    ["123", false, "models"],
  ])("%j → %j", (entry, isFile, name) => {
    expect(zeroCodeAppName(entry, isFile)).toBe(name);
  });
});
