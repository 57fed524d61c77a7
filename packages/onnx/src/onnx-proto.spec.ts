// The ONNX schema subset (proto/onnx/onnx.proto) and its generated code: src/gen is what
// `buf generate` gives now, and the field numbers are ONNX's (checked on the wire, against
// bytes laid out by hand from onnx.proto's numbers).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema, TensorProto_DataType } from "./gen/onnx/onnx_pb.js";
import { readModelProtoSignature } from "./model-proto-signature.js";
import { encodeModel } from "./testing/build-model.js";

const pkg = path.resolve(__dirname, "..");
const buf = path.join(path.dirname(require.resolve("@bufbuild/buf/package.json")), "bin", "buf");

function files(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)).map((f) => path.join(e.name, f)) : [e.name]));
}

it("src/gen matches buf generate (run `buf generate` in packages/onnx after editing the proto)", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-onnx-gen-"));
  try {
    const template = JSON.stringify({
      version: "v2",
      plugins: [
        {
          local: ["node", path.join(pkg, "node_modules/@bufbuild/protoc-gen-es/bin/protoc-gen-es")],
          out,
          opt: ["target=ts", "import_extension=js"],
        },
      ],
    });
    const r = spawnSync(buf, ["generate", "proto", "--template", template], { cwd: pkg, encoding: "utf8" });
    expect(r.stderr).toBe("");
    const committed = path.join(pkg, "src/gen");
    expect(files(out).sort()).toEqual(files(committed).sort());
    for (const f of files(out)) {
      expect({ f, text: fs.readFileSync(path.join(committed, f), "utf8") }).toEqual({
        f,
        text: fs.readFileSync(path.join(out, f), "utf8"),
      });
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

describe("ONNX's field numbers", () => {
  // A tiny MatMul model laid out by hand from onnx.proto's field numbers, independent of
  // the generated code: (field << 3) | wire type, then the length of a nested message.
  const str = (s: string) => [...Buffer.from(s)];
  const ld = (field: number, ...content: number[]) => [(field << 3) | 2, content.length, ...content];
  const varint = (field: number, v: number) => [field << 3, v];
  // prettier-ignore
  const bytes = new Uint8Array([
    ...varint(1, 8), // ModelProto.ir_version
    ...ld(7, // graph
      ...ld(1, ...ld(1, ...str("x")), ...ld(1, ...str("w")), ...ld(2, ...str("y")), ...ld(4, ...str("MatMul"))), // node { input, input, output, op_type }
      ...ld(5, ...ld(1, 2), ...varint(2, 1), ...ld(8, ...str("w")), ...ld(9, 0, 0, 0x80, 0x3f)), // initializer { dims, data_type, name, raw_data }
      ...ld(11, ...ld(1, ...str("x")), // input { name,
        ...ld(2, ...ld(1, ...varint(1, 1), // type { tensor_type { elem_type,
          ...ld(2, ...ld(1, ...ld(2, ...str("N"))), ...ld(1, ...varint(1, 2)))))), // shape { dim { dim_param }, dim { dim_value } } } }
      ...ld(12, ...ld(1, ...str("y"))), // output { name }
    ),
    ...ld(8, ...varint(2, 17)), // opset_import { version }
  ]);

  it("the generated schema reads a model written by hand", () => {
    const model = fromBinary(ModelProtoSchema, bytes);
    expect(model.irVersion).toBe(8n);
    expect(model.opsetImport.map((o) => o.version)).toEqual([17n]);
    const g = model.graph!;
    expect(g.node.map((n) => [n.opType, n.input, n.output])).toEqual([["MatMul", ["x", "w"], ["y"]]]);
    expect(g.initializer.map((t) => [t.name, t.dims, t.dataType, Array.from(t.rawData)])).toEqual([
      ["w", [2n], TensorProto_DataType.FLOAT, [0, 0, 0x80, 0x3f]],
    ]);
    const type = g.input[0]!.type!.value;
    expect(type.case).toBe("tensorType");
    const tensor = type.value as NonNullable<typeof type.value>;
    expect(tensor.elemType).toBe(TensorProto_DataType.FLOAT);
    expect(tensor.shape!.dim.map((d) => d.value)).toEqual([
      { case: "dimParam", value: "N" },
      { case: "dimValue", value: 2n },
    ]);
    expect(g.output.map((o) => o.name)).toEqual(["y"]);
    // Every byte was understood: nothing was kept as an unknown field.
    expect(toBinary(ModelProtoSchema, model, { writeUnknownFields: false })).toEqual(bytes);
  });

  it("readModelProtoSignature finds the graph's inputs and outputs and skips the rest", () => {
    const sig = readModelProtoSignature(bytes);
    expect(sig.inputs.map((i) => i.name)).toEqual(["x"]);
    expect(sig.outputs.map((o) => o.name)).toEqual(["y"]);
    const built = readModelProtoSignature(
      encodeModel({
        inputs: [{ name: "a", dtype: "int64", shape: [] }],
        outputs: [{ name: "b", dtype: "int64" }],
        nodes: [],
      }),
    );
    expect(built.inputs.map((i) => [i.name, i.type?.value.case, i.type?.value.value?.shape?.dim.length])).toEqual([
      ["a", "tensorType", 0],
    ]);
    expect(built.outputs.map((i) => [i.name, i.type?.value.value?.shape])).toEqual([["b", undefined]]);
  });
});
