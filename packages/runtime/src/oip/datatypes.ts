import { getDType, type DType } from "@blazerpc/tensor";

/**
 * The Open Inference Protocol's tensor data types that a BlazeRPC tensor can hold (its
 * `BYTES` and `BF16` have no dtype of ours, so no served model has them).
 */
export type OipDatatype =
  "BOOL" | "UINT8" | "UINT16" | "UINT32" | "UINT64" | "INT8" | "INT16" | "INT32" | "INT64" | "FP16" | "FP32" | "FP64";

const TO_OIP: { readonly [D in DType]: OipDatatype } = {
  bool: "BOOL",
  uint8: "UINT8",
  uint16: "UINT16",
  uint32: "UINT32",
  uint64: "UINT64",
  int8: "INT8",
  int16: "INT16",
  int32: "INT32",
  int64: "INT64",
  float16: "FP16",
  float32: "FP32",
  float64: "FP64",
};

const FROM_OIP: Readonly<Record<string, DType>> = Object.fromEntries(
  Object.entries(TO_OIP).map(([dtype, datatype]) => [datatype, dtype as DType]),
);

/** Every OIP datatype a served model may have, in the protocol's order. */
export const oipDatatypes: readonly OipDatatype[] = Object.values(TO_OIP);

/**
 * The OIP datatype of a dtype (`float32` → `FP32`). The Python BlazeRPC's wire aliases
 * (`float`, `double`) are accepted too.
 *
 * @throws Error for a name that is no dtype.
 * @example
 * toOipDatatype("float32") // "FP32"
 */
export function toOipDatatype(dtype: string): OipDatatype {
  const info = getDType(dtype);
  if (info === undefined) throw new Error(`unknown dtype "${dtype}"`);
  return TO_OIP[info.name];
}

/**
 * The dtype of an OIP datatype (`FP32` → `float32`), or undefined for one no tensor of
 * ours holds (`BYTES`, `BF16`, a misspelling). The protocol's names are upper case; so
 * must be the given one.
 *
 * @example
 * fromOipDatatype("INT64") // "int64"
 * fromOipDatatype("BYTES") // undefined
 */
export function fromOipDatatype(datatype: string): DType | undefined {
  return Object.prototype.hasOwnProperty.call(FROM_OIP, datatype) ? FROM_OIP[datatype] : undefined;
}

/**
 * Bytes per element of an OIP datatype, as the binary tensor extension and
 * `raw_input_contents` lay them out (BOOL: one byte).
 *
 * @example
 * oipElementSize("FP16") // 2
 */
export function oipElementSize(datatype: OipDatatype): number {
  return getDType(FROM_OIP[datatype]!)!.itemsize;
}
