/**
 * The dtype table: numpy's element type names, their sizes and the typed array that
 * holds them at run time.
 */

import { quoteValue } from "./errors.js";

/** Element types as numpy names them. `float16` is held as raw IEEE 754 half bits. */
export type DType =
  | "float32"
  | "float64"
  | "float16"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "bool";

/** The typed array that holds the elements of each dtype. */
export interface DataTypeMap {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
}

/** The typed array type for dtype `D`, e.g. `DataOf<"float32">` is `Float32Array`. */
export type DataOf<D extends DType> = DataTypeMap[D];

/** Any typed array a tensor can hold. */
export type TensorData = DataTypeMap[DType];

interface TypedArrayConstructor<T extends TensorData> {
  new (length: number): T;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** What the runtime knows of one dtype. */
export interface DTypeInfo<D extends DType = DType> {
  readonly name: D;
  /** Bytes per element. */
  readonly itemsize: number;
  /** The typed array that holds it. */
  readonly array: TypedArrayConstructor<DataOf<D>>;
}

const table: { readonly [D in DType]: DTypeInfo<D> } = {
  float32: { name: "float32", itemsize: 4, array: Float32Array },
  float64: { name: "float64", itemsize: 8, array: Float64Array },
  float16: { name: "float16", itemsize: 2, array: Uint16Array },
  int8: { name: "int8", itemsize: 1, array: Int8Array },
  int16: { name: "int16", itemsize: 2, array: Int16Array },
  int32: { name: "int32", itemsize: 4, array: Int32Array },
  int64: { name: "int64", itemsize: 8, array: BigInt64Array },
  uint8: { name: "uint8", itemsize: 1, array: Uint8Array },
  uint16: { name: "uint16", itemsize: 2, array: Uint16Array },
  uint32: { name: "uint32", itemsize: 4, array: Uint32Array },
  uint64: { name: "uint64", itemsize: 8, array: BigUint64Array },
  bool: { name: "bool", itemsize: 1, array: Uint8Array },
};

/** Every dtype name, in the order of the table. */
export const dtypeNames: readonly DType[] = Object.keys(table) as DType[];

/**
 * Names accepted on input besides the numpy names: the Python BlazeRPC writes
 * `float` and `double` on the wire.
 */
const aliases: Readonly<Record<string, DType>> = { float: "float32", double: "float64" };

/** True if `name` is one of the numpy dtype names (aliases excluded). */
export function isDType(name: string): name is DType {
  return Object.prototype.hasOwnProperty.call(table, name);
}

/**
 * The dtype a wire name stands for, aliases included, or undefined.
 *
 * @example
 * getDType("float")?.name // "float32"
 */
export function getDType(name: string): DTypeInfo | undefined {
  if (isDType(name)) return table[name] as DTypeInfo;
  const alias = aliases[name];
  return alias === undefined ? undefined : (table[alias] as DTypeInfo);
}

/** Like {@link getDType}, but throws for an unknown name. */
export function getDTypeOrThrow(name: string): DTypeInfo {
  const info = getDType(name);
  if (info === undefined) {
    throw new Error(`unknown dtype ${quoteValue(name)} (expected one of ${dtypeNames.join(", ")})`);
  }
  return info;
}
