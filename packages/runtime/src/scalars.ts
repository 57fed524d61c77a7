/**
 * Exact number types for model signatures. Plain `number` becomes a proto `double` and
 * plain `bigint` an `int64`; these labels pick another proto scalar:
 *
 * | type | proto | JavaScript value |
 * |---|---|---|
 * | `Int32` | `int32` | number |
 * | `Uint32` | `uint32` | number |
 * | `Float32` | `float` | number |
 * | `Float64` | `double` | number |
 * | `Int64` | `int64` | bigint |
 * | `Uint64` | `uint64` | bigint |
 *
 * They are compile-time labels only: any `number` (or `bigint`) is assignable to them, and
 * at run time the values are plain numbers and bigints. Code generation (`blaze proto`)
 * reads the label through type aliases, arrays, optionals and object properties.
 *
 * @example
 * import { createApp, type Int32, type Float32 } from "@blazerpc/runtime";
 *
 * app.model("topk", async (scores: Float32[], k: Int32): Promise<Int32[]> => pickTopK(scores, k));
 * // → message PredictTopkRequest { repeated float scores = 1; int32 k = 2; }
 */

/**
 * The key of the label. Declared only (it exists in no emitted JavaScript); code generation
 * recognises it by its name, `scalarType`, in @blazerpc/runtime.
 */
declare const scalarType: unique symbol;

/** The proto scalar each label stands for. */
export type ExactScalar = "int32" | "uint32" | "float" | "double" | "int64" | "uint64";

/** A compile-time label on `number` or `bigint` choosing the proto scalar `P`. */
export type Scalar<Base extends number | bigint, P extends ExactScalar> = Base & { readonly [scalarType]?: P };

/** A 32-bit signed integer: proto `int32`. Any `number` is assignable; send integers in range. */
export type Int32 = Scalar<number, "int32">;
/** A 32-bit unsigned integer: proto `uint32`. */
export type Uint32 = Scalar<number, "uint32">;
/** A 32-bit float: proto `float` (values are rounded to single precision on the wire). */
export type Float32 = Scalar<number, "float">;
/** A 64-bit float: proto `double`, the same as plain `number`; for symmetry with Float32. */
export type Float64 = Scalar<number, "double">;
/** A 64-bit signed integer as a bigint: proto `int64`, the same as plain `bigint`. */
export type Int64 = Scalar<bigint, "int64">;
/** A 64-bit unsigned integer as a bigint: proto `uint64`. */
export type Uint64 = Scalar<bigint, "uint64">;
