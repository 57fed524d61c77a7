import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import type { DType, TensorData } from "@blazerpc/tensor";
import {
  AttributeProto_AttributeType,
  ModelProtoSchema,
  TensorProto_DataType,
  type AttributeProtoSchema,
  type ModelProto,
  type TensorProtoSchema,
  type ValueInfoProtoSchema,
} from "../gen/onnx/onnx_pb.js";

/**
 * One dimension of a declared ONNX shape: a fixed size, a symbolic name (`dim_param`),
 * or `null` for a dimension that has neither (unknown).
 */
export type OnnxDimDecl = number | string | null;

/** A graph input or output: name, element type and shape (`undefined`: no shape at all, rank unknown). */
export interface ValueDecl {
  readonly name: string;
  readonly dtype: DType;
  readonly shape?: readonly OnnxDimDecl[];
}

/**
 * A node attribute: an integer (INT), a non-integer number (FLOAT), a string (STRING),
 * or a list (`{ ints }` / `{ floats }`).
 */
export type AttributeValue =
  number | string | { readonly ints: readonly number[] } | { readonly floats: readonly number[] };

/** One operator call of the graph. */
export interface NodeDecl {
  /** The operator of the default ONNX domain, e.g. `"MatMul"`. */
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

/** A constant of the graph (a weight), written as little-endian `raw_data`. */
export interface InitializerDecl {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** A whole model: one graph over the default ONNX operator set. */
export interface ModelDecl {
  /** The graph's name. Default `"model"`. */
  readonly name?: string;
  readonly inputs: readonly ValueDecl[];
  readonly outputs: readonly ValueDecl[];
  readonly nodes: readonly NodeDecl[];
  readonly initializers?: readonly InitializerDecl[];
  /** The default domain's opset. Default 17. */
  readonly opsetVersion?: number;
  /** Default 8 (ONNX 1.10+), which onnxruntime reads. */
  readonly irVersion?: number;
  readonly docString?: string;
}

/**
 * ONNX's element type numbers (`TensorProto.DataType`) for each BlazeRPC dtype.
 *
 * @example
 * onnxDataTypes.float32 // 1 (TensorProto.FLOAT)
 */
export const onnxDataTypes: { readonly [D in DType]: TensorProto_DataType } = {
  float32: TensorProto_DataType.FLOAT,
  float64: TensorProto_DataType.DOUBLE,
  float16: TensorProto_DataType.FLOAT16,
  int8: TensorProto_DataType.INT8,
  int16: TensorProto_DataType.INT16,
  int32: TensorProto_DataType.INT32,
  int64: TensorProto_DataType.INT64,
  uint8: TensorProto_DataType.UINT8,
  uint16: TensorProto_DataType.UINT16,
  uint32: TensorProto_DataType.UINT32,
  uint64: TensorProto_DataType.UINT64,
  bool: TensorProto_DataType.BOOL,
};

/**
 * Builds an ONNX `ModelProto` message from a plain declaration.
 *
 * @example
 * const model = buildModelProto({
 *   inputs: [{ name: "x", dtype: "float32", shape: ["n", 3] }],
 *   outputs: [{ name: "y", dtype: "float32", shape: ["n", 3] }],
 *   nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }],
 * });
 */
export function buildModelProto(decl: ModelDecl): ModelProto {
  const { name = "model", opsetVersion = 17, irVersion = 8, initializers = [], docString = "" } = decl;
  return create(ModelProtoSchema, {
    irVersion: BigInt(irVersion),
    opsetImport: [{ domain: "", version: BigInt(opsetVersion) }],
    producerName: "@blazerpc/onnx/testing",
    docString,
    graph: {
      name,
      node: decl.nodes.map((n, i) => ({
        name: n.name ?? `${n.op.toLowerCase()}_${i}`,
        opType: n.op,
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      initializer: initializers.map(initializer),
      input: decl.inputs.map(valueInfo),
      output: decl.outputs.map(valueInfo),
    },
  });
}

/**
 * The bytes of an `.onnx` file: what `loadOnnxModel` or `ort.InferenceSession.create` reads.
 *
 * @example
 * fs.writeFileSync("relu.onnx", encodeModel({ inputs, outputs, nodes }));
 */
export function encodeModel(model: ModelDecl | ModelProto): Uint8Array {
  return toBinary(ModelProtoSchema, "$typeName" in model ? model : buildModelProto(model));
}

function valueInfo(v: ValueDecl): MessageInitShape<typeof ValueInfoProtoSchema> {
  const shape =
    v.shape === undefined
      ? undefined
      : {
          dim: v.shape.map((d) => ({
            value:
              d === null
                ? { case: undefined }
                : typeof d === "number"
                  ? { case: "dimValue" as const, value: BigInt(d) }
                  : { case: "dimParam" as const, value: d },
          })),
        };
  return { name: v.name, type: { value: { case: "tensorType", value: { elemType: onnxDataTypes[v.dtype], shape } } } };
}

function initializer(init: InitializerDecl): MessageInitShape<typeof TensorProtoSchema> {
  const { data } = init;
  const count = init.dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new Error(
      `initializer ${init.name}: ${data.length} elements, but dims [${init.dims.join(", ")}] hold ${count}`,
    );
  }
  return {
    name: init.name,
    dims: init.dims.map((d) => BigInt(d)),
    dataType: onnxDataTypes[init.dtype],
    // raw_data is little-endian, as typed arrays are on every platform Node.js runs on.
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

function attribute(name: string, v: AttributeValue): MessageInitShape<typeof AttributeProtoSchema> {
  const T = AttributeProto_AttributeType;
  if (typeof v === "string") return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === "number")
    return Number.isInteger(v) ? { name, type: T.INT, i: BigInt(v) } : { name, type: T.FLOAT, f: v };
  if ("ints" in v) return { name, type: T.INTS, ints: v.ints.map((x) => BigInt(x)) };
  return { name, type: T.FLOATS, floats: [...v.floats] };
}
