// Which methods become OIP models, named and described how: a schema built here with every
// case (tensors of several dtypes, a declared version, a name holding "-" and ".", a
// non-tensor field, a tensor without its option, a stream, a code-first RPC, a second method
// of the same model), and readiness read from the serving state.
import { create, createFileRegistry, setExtension, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldDescriptorProtoSchema,
  FieldOptionsSchema,
  FileDescriptorProtoSchema,
  MethodOptionsSchema,
  type DescriptorProto,
  type MethodDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  callOption,
  CallSpecSchema,
  file_blazerpc_v1_call,
  file_blazerpc_v1_options,
  file_blazerpc_v1_tensor,
  ModelSpecSchema,
  modelOption,
  tensorOption,
  TensorSpecSchema,
} from "@blazerpc/tensor";
import { createApp } from "../app.js";
import type { ServiceEntry } from "../binding/service-table.js";
import { createServingState } from "../health/serving-state.js";
import { createOipCatalog } from "./catalog.js";

const TENSOR = ".blazerpc.v1.TensorProto";

function tensorField(name: string, number: number, spec?: { dtype: string; shape: string[] }) {
  const options = create(FieldOptionsSchema);
  if (spec !== undefined) setExtension(options, tensorOption, create(TensorSpecSchema, spec));
  return {
    name,
    number,
    jsonName: name,
    label: FieldDescriptorProto_Label.OPTIONAL,
    type: FieldDescriptorProto_Type.MESSAGE,
    typeName: TENSOR,
    options,
  };
}

function message(name: string, fields: MessageInitShape<typeof FieldDescriptorProtoSchema>[]): DescriptorProto {
  return create(FileDescriptorProtoSchema, { messageType: [{ name, field: fields }] }).messageType[0]!;
}

function method(
  name: string,
  input: string,
  output: string,
  opts: { model?: { name: string; version?: string }; rpc?: boolean; stream?: boolean } = {},
): MethodDescriptorProto {
  const options = create(MethodOptionsSchema);
  if (opts.model !== undefined) setExtension(options, modelOption, create(ModelSpecSchema, opts.model));
  if (opts.rpc === true) setExtension(options, callOption, create(CallSpecSchema, { rpc: true }));
  return create(FileDescriptorProtoSchema, {
    service: [
      {
        method: [
          {
            name,
            inputType: `.oiptest.v1.${input}`,
            outputType: `.oiptest.v1.${output}`,
            serverStreaming: opts.stream === true,
            options,
          },
        ],
      },
    ],
  }).service[0]!.method[0]!;
}

const file = create(FileDescriptorProtoSchema, {
  name: "oiptest/v1/models.proto",
  package: "oiptest.v1",
  syntax: "proto3",
  dependency: ["blazerpc/v1/tensor.proto", "blazerpc/v1/options.proto", "blazerpc/v1/call.proto"],
  messageType: [
    message("ManyRequest", [
      tensorField("x_values", 1, { dtype: "float64", shape: ["batch", "2"] }),
      tensorField("mask", 2, { dtype: "bool", shape: ["batch"] }),
    ]),
    message("ManyResponse", [
      tensorField("counts", 1, { dtype: "int64", shape: ["batch"] }),
      tensorField("half", 2, { dtype: "float16", shape: ["2"] }),
    ]),
    message("MixedRequest", [
      tensorField("x", 1, { dtype: "float32", shape: ["4"] }),
      {
        name: "note",
        number: 2,
        jsonName: "note",
        label: FieldDescriptorProto_Label.OPTIONAL,
        type: FieldDescriptorProto_Type.STRING,
      },
    ]),
    message("BareRequest", [tensorField("x", 1)]),
    message("EmptyRequest", []),
  ],
  service: [
    {
      name: "InferenceService",
      method: [
        method("PredictMany", "ManyRequest", "ManyResponse", { model: { name: "m-1.x", version: "2.0" } }),
        method("PredictMixed", "MixedRequest", "ManyResponse", { model: { name: "mixed" } }),
        method("PredictBare", "BareRequest", "ManyResponse", { model: { name: "bare" } }),
        method("PredictStream", "ManyRequest", "ManyResponse", { model: { name: "stream" }, stream: true }),
        method("PredictRpc", "ManyRequest", "ManyResponse", { model: { name: "Svc.Rpc" }, rpc: true }),
        method("PredictNothing", "ManyRequest", "EmptyRequest", { model: { name: "nothing" } }),
        method("PredictPlain", "EmptyRequest", "ManyResponse"),
        method("PredictAgain", "ManyRequest", "ManyResponse", { model: { name: "m-1.x", version: "3" } }),
      ],
    },
  ],
});

const registry = createFileRegistry(file, (name) =>
  [file_blazerpc_v1_tensor, file_blazerpc_v1_options, file_blazerpc_v1_call].find((f) => f.name + ".proto" === name),
);
const service = registry.getService("oiptest.v1.InferenceService") as DescService;

const impl = async () => ({});
const entry: ServiceEntry = {
  service,
  impl: Object.fromEntries(service.methods.map((m) => [m.localName, impl])),
  origin: "model",
  models: {
    predictMany: "m-1.x",
    predictMixed: "mixed",
    predictBare: "bare",
    predictStream: "stream",
    predictRpc: "Svc.Rpc",
    predictNothing: "nothing",
    predictPlain: "plain",
    predictAgain: "m-1.x",
  },
  native: true,
};

function catalogFor(loading: Promise<void> = Promise.resolve()) {
  const app = createApp({ name: "oiptest" });
  for (const name of ["m-1.x", "mixed", "bare", "stream", "nothing", "plain"]) app.model(name, async () => 0);
  app.loader("plain", () => loading);
  const state = createServingState(app, new Map([["oiptest.v1.InferenceService", ["m-1.x", "plain"]]]));
  return { catalog: createOipCatalog({ entries: [entry, { ...entry, origin: "own" }], state }), state };
}

describe("createOipCatalog", () => {
  it("serves unary methods whose fields are all declared tensors, named as registered, once each", () => {
    const { catalog } = catalogFor();
    expect(catalog.models.map((m) => [m.name, m.version, m.platform, m.method.name])).toEqual([
      ["m-1.x", "2.0", "blazerpc", "PredictMany"],
      ["plain", "1", "blazerpc", "PredictPlain"],
    ]);
  });

  it("describes inputs and outputs by field name, datatype and shape (symbolic dims -1)", () => {
    const m = createOipCatalog({ entries: [entry], state: catalogFor().state }).getModelOrThrow("m-1.x");
    const meta = (t: (typeof m.inputs)[number]) => [t.name, t.datatype, t.shape, t.dtype, t.dims, t.field.localName];
    expect(m.inputs.map(meta)).toEqual([
      ["x_values", "FP64", [-1, 2], "float64", ["batch", "2"], "xValues"],
      ["mask", "BOOL", [-1], "bool", ["batch"], "mask"],
    ]);
    expect(m.outputs.map(meta)).toEqual([
      ["counts", "INT64", [-1], "int64", ["batch"], "counts"],
      ["half", "FP16", [2], "float16", ["2"], "half"],
    ]);
    expect(m.impl).toBe(impl);
    expect(m.service).toBe(service);
  });

  it('finds a model by name and version ("" is any); unknown ones are NOT_FOUND listing what is served', () => {
    const { catalog } = catalogFor();
    expect(catalog.getModel("m-1.x")?.version).toBe("2.0");
    expect(catalog.getModel("m-1.x", "2.0")?.name).toBe("m-1.x");
    expect(catalog.getModel("m-1.x", "3")).toBeUndefined();
    expect(catalog.getModel("mixed")).toBeUndefined();
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return [(e as ConnectError).code, (e as ConnectError).rawMessage];
      }
      return undefined;
    };
    expect(err(() => catalog.getModelOrThrow("mixed"))).toEqual([
      Code.NotFound,
      'unknown model "mixed"; the models served are: "m-1.x", "plain"',
    ]);
    expect(err(() => catalog.getModelOrThrow("m-1.x", "3"))).toEqual([
      Code.NotFound,
      'model "m-1.x" has no version "3"; it serves version "2.0"',
    ]);
    const empty = createOipCatalog({ entries: [], state: catalogFor().state });
    expect(err(() => empty.getModelOrThrow("x"))).toEqual([
      Code.NotFound,
      'unknown model "x"; the models served are: none',
    ]);
    expect(err(() => catalog.getModelOrThrow("y".repeat(300)))?.[1]).toMatch(
      /^unknown model "y{256}…" \(300 characters\);/,
    );
  });

  it("a model is ready once its loader finished, until the server drains; the server when every model is", async () => {
    let loaded!: () => void;
    const { catalog, state } = catalogFor(new Promise<void>((resolve) => (loaded = resolve)));
    const many = catalog.getModelOrThrow("m-1.x");
    const plain = catalog.getModelOrThrow("plain");
    const loading = state.load();
    expect([catalog.isModelReady(many), catalog.isModelReady(plain), catalog.isServerReady()]).toEqual([
      true,
      false,
      false,
    ]);
    loaded();
    await loading;
    expect([catalog.isModelReady(many), catalog.isModelReady(plain), catalog.isServerReady()]).toEqual([
      true,
      true,
      true,
    ]);
    state.drain();
    expect([catalog.isModelReady(many), catalog.isModelReady(plain), catalog.isServerReady()]).toEqual([
      false,
      false,
      false,
    ]);
  });
});
