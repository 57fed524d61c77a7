import * as path from "node:path";
import type { AppSpec, FieldSpec, ModelSpec } from "@blazerpc/codegen";
import type { OnnxValueInfo } from "@blazerpc/onnx";
import type { RepositoryModel } from "./model-repository.js";

/** A model of the repository with the signature its file declares. */
export interface SignedModel {
  readonly model: RepositoryModel;
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
}

/** An ONNX input or output and the schema field that carries it. */
export interface TensorField {
  /** The proto field's name: the ONNX name when it is one (`input_1`), else its snake_case (`input:0` → `input_0`). */
  readonly field: string;
  readonly info: OnnxValueInfo;
}

/** How a model's inputs and outputs are named in the schema. */
export interface ModelFields {
  readonly inputs: readonly TensorField[];
  readonly outputs: readonly TensorField[];
  /** Every input and output has a dynamic first dimension: requests can be stacked into one run. */
  readonly batchable: boolean;
}

/**
 * The schema fields of a model's inputs and outputs.
 *
 * @throws Error when a value declares no shape, or two names become one field.
 * @example
 * modelFields(signed).inputs[0]; // { field: "input_1", info: { name: "input_1", dtype: "float32", shape: ["batch", 76, 32, 1], … } }
 */
export function modelFields(signed: SignedModel): ModelFields {
  const where = `model "${signed.model.name}" (${rel(signed.model.file)})`;
  const fields = (kind: "input" | "output", infos: readonly OnnxValueInfo[]): TensorField[] => {
    const byField = new Map<string, string>();
    return infos.map((info) => {
      if (info.shape === undefined) {
        throw new Error(
          `${where}: ${kind} "${info.name}" declares no shape — give it one in the ONNX file (onnx.tools.update_model_dims) to serve it without code`,
        );
      }
      const field = fieldName(info.name);
      const clash = byField.get(field);
      if (clash !== undefined) {
        throw new Error(`${where}: ${kind}s "${clash}" and "${info.name}" both become field "${field}" in the schema`);
      }
      byField.set(field, info.name);
      return { field, info };
    });
  };
  const inputs = fields("input", signed.inputs);
  const outputs = fields("output", signed.outputs);
  const batchable =
    inputs.length > 0 &&
    [...inputs, ...outputs].every((f) => f.info.shape !== undefined && f.info.shape[0] === "batch");
  return { inputs, outputs, batchable };
}

/**
 * The field an ONNX input or output becomes: its name when that is a proto field name
 * already (`input_1`, `float_input`), else its snake_case (`dense/BiasAdd:0` →
 * `dense_bias_add_0`, `0` → `t_0`).
 */
export function fieldName(onnxName: string): string {
  if (/^[a-z][a-z0-9_]*$/.test(onnxName) && !onnxName.includes("__") && !onnxName.endsWith("_")) return onnxName;
  const snake = onnxName
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toLowerCase();
  if (snake === "") return "t";
  return /^[a-z]/.test(snake) ? snake : `t_${snake}`;
}

/**
 * The app spec of a model repository, as `blaze proto` prints it: one RPC per model
 * (`Predict<Name>`), a tensor field per input in the request and per output in the
 * response, dtype and shape in the fields' options.
 *
 * @example
 * const spec = onnxAppSpec("models", "models", [signed]);
 * spec.models[0].params; // [{ name: "input_1", type: { kind: "tensor", dtype: "float32", shape: ["batch", 76, 32, 1] } }]
 */
export function onnxAppSpec(appName: string, entry: string, models: readonly SignedModel[]): AppSpec {
  return {
    name: appName,
    entry,
    models: models.map((signed): ModelSpec => {
      const { inputs, outputs } = modelFields(signed);
      const { model } = signed;
      const field = (kind: string, f: TensorField): FieldSpec => ({
        name: f.field,
        type: { kind: "tensor", dtype: f.info.dtype, shape: f.info.shape! },
        doc: `ONNX ${kind} "${f.info.name}": ${f.info.dtype} [${(f.info.onnxShape ?? []).map((d) => d ?? "?").join(", ")}].`,
      });
      return {
        name: model.name,
        doc: model.config.description ?? `The ONNX model ${model.location} (version ${model.version}).`,
        version: model.version,
        streaming: false,
        params: inputs.map((f) => field("input", f)),
        results: outputs.map((f) => field("output", f)),
        objectResult: true,
        position: { file: rel(model.file), line: 1, column: 1 },
      };
    }),
  };
}

/**
 * The app name of a zero-code entry: the folder's name (`models/` → `models`) or the
 * file's (`iris.onnx` → `iris`), made a valid package name.
 */
export function zeroCodeAppName(entry: string, isFile: boolean): string {
  const base = isFile ? path.basename(entry, ".onnx") : path.basename(path.resolve(entry));
  const cleaned = base.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^[^A-Za-z]+/, "");
  return cleaned === "" ? "models" : cleaned;
}

function rel(p: string): string {
  return (path.relative(process.cwd(), p) || p).replace(/\\/g, "/");
}
