import type { Dim, DType, TensorSpec } from "@blazerpc/tensor";
import type { InferenceSession } from "onnxruntime-node";
import { getDTypeOfOrtType, supportedDTypes } from "./dtype.js";
import { OnnxError } from "./errors.js";
import type { ModelProtoSignature } from "./model-proto-signature.js";
import type { ValueInfoProto } from "./gen/onnx/onnx_pb.js";

/**
 * One dimension as the ONNX file declares it: a size, a symbolic name (`dim_param`), or
 * `null` for a dimension that has neither.
 *
 * @example
 * const onnxShape: OnnxDim[] = ["N", 512];
 */
export type OnnxDim = number | string | null;

/**
 * An input or output of an ONNX model, as BlazeRPC sees it.
 *
 * `shape` is in BlazeRPC's terms (the `TensorSpec` code generation and validation use): a
 * fixed size stays a number; a symbolic or unknown leading dimension becomes `"batch"`;
 * other symbolic dimensions keep their ONNX name, and unknown ones are named `dim<i>`.
 * It is `undefined` when the model declares no shape at all (any rank).
 *
 * @example
 * // openWakeWord's embedding model
 * model.inputs[0] // { name: "input_1", dtype: "float32", shape: ["batch", 76, 32, 1], onnxShape: ["unk__314", 76, 32, 1] }
 */
export interface OnnxValueInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[] | undefined;
  /** The dimensions as the ONNX file declares them; `undefined` when it declares no shape. */
  readonly onnxShape: readonly OnnxDim[] | undefined;
}

/**
 * The spec of a value for `validateTensor` and code generation; `undefined` when the
 * model does not declare its shape (then only the dtype can be checked).
 *
 * @example
 * validateTensor(tensor, toTensorSpec(model.inputs[0]!), "input_1");
 */
export function toTensorSpec(info: OnnxValueInfo): TensorSpec | undefined {
  return info.shape === undefined ? undefined : { dtype: info.dtype, shape: info.shape };
}

/**
 * Turns onnxruntime's metadata of the session's inputs or outputs into OnnxValueInfos.
 * onnxruntime reports an empty shape both for a scalar and for a value with no declared
 * shape; `resolveEmptyShape` tells the two apart (from the ONNX file itself).
 */
export function toValueInfos(
  source: string,
  kind: "input" | "output",
  metadata: readonly InferenceSession.ValueMetadata[],
  resolveEmptyShape: (name: string) => "scalar" | "unknown",
): OnnxValueInfo[] {
  return metadata.map((m) => {
    if (!m.isTensor) {
      throw new OnnxError(
        source,
        `cannot load ONNX model ${source}: ${kind} "${m.name}" is not a tensor (sequences, maps and optionals are not supported)`,
      );
    }
    const dtype = getDTypeOfOrtType(m.type);
    if (dtype === undefined) {
      throw new OnnxError(
        source,
        `cannot load ONNX model ${source}: ${kind} "${m.name}" has element type ${m.type}, which BlazeRPC tensors cannot hold (supported: ${supportedDTypes.join(", ")})`,
      );
    }
    const onnxShape: OnnxDim[] | undefined =
      m.shape.length === 0 && resolveEmptyShape(m.name) === "unknown"
        ? undefined
        : m.shape.map((d) => (typeof d === "number" ? (d >= 0 ? d : null) : d === "" ? null : d));
    return { name: m.name, dtype, shape: onnxShape?.map(toDim), onnxShape };
  });
}

function toDim(d: OnnxDim, i: number): Dim {
  if (typeof d === "number") return d;
  if (i === 0) return "batch";
  return d ?? `dim${i}`;
}

/** Whether the file declares a value's shape as rank 0 or not at all. */
export function emptyShapeKind(signature: ModelProtoSignature, name: string): "scalar" | "unknown" {
  const find = (list: readonly ValueInfoProto[]) => list.find((v) => v.name === name);
  const value = find(signature.inputs) ?? find(signature.outputs);
  const type = value?.type?.value;
  return type?.case === "tensorType" && type.value.shape !== undefined ? "scalar" : "unknown";
}
