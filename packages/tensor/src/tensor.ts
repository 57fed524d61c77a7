import type { DataOf, DType } from "./dtype.js";

/** One dimension of a declared shape: a fixed size, or a name such as `"batch"` for any size. */
export type Dim = number | string;

/**
 * A dense tensor. At run time a plain object, so a model can return a literal:
 *
 * @example
 * const t: Tensor<"float32", ["batch", 3]> = {
 *   dtype: "float32",
 *   shape: [1, 3],
 *   data: new Float32Array([0.1, 0.7, 0.2]),
 * };
 *
 * `S` is the declared shape (used by code generation and checked at run time);
 * `shape` holds the actual sizes.
 */
export interface Tensor<D extends DType = DType, S extends readonly Dim[] = readonly Dim[]> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: DataOf<D>;
  /** Type-level only: the declared shape. Never present at run time. */
  readonly __shape?: S;
}

/** The declared dtype and shape of a tensor, as code generation records it. */
export interface TensorSpec {
  readonly dtype: DType;
  /** One entry per dimension: a size, or a name for a dimension of any size. */
  readonly shape: readonly Dim[];
}
