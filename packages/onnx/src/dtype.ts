import type { DType } from "@blazerpc/tensor";

/**
 * onnxruntime's element type names (`ort.Tensor.Type`) that BlazeRPC tensors can hold,
 * with their dtype. They are numpy's names too; the typed arrays agree (`float16` as raw
 * bits in a `Uint16Array`, `bool` as a `Uint8Array`). onnxruntime's `string`, `int4`,
 * `uint4` (and any type it may add) have no BlazeRPC dtype.
 */
const fromOrt: Readonly<Record<string, DType>> = {
  float32: "float32",
  float64: "float64",
  float16: "float16",
  int8: "int8",
  int16: "int16",
  int32: "int32",
  int64: "int64",
  uint8: "uint8",
  uint16: "uint16",
  uint32: "uint32",
  uint64: "uint64",
  bool: "bool",
};

/**
 * The dtypes an ONNX model's inputs and outputs may have.
 *
 * @example
 * supportedDTypes.includes("bool") // true
 */
export const supportedDTypes: readonly DType[] = Object.values(fromOrt);

/**
 * The BlazeRPC dtype of an onnxruntime element type name, or undefined when there is none.
 *
 * @example
 * getDTypeOfOrtType("float32") // "float32"
 * getDTypeOfOrtType("string")  // undefined
 */
export function getDTypeOfOrtType(type: string): DType | undefined {
  return Object.prototype.hasOwnProperty.call(fromOrt, type) ? fromOrt[type] : undefined;
}
