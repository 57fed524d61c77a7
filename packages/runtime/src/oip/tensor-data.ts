import { Code, ConnectError } from "@connectrpc/connect";
import { MAX_SHOWN_DIMS, MAX_TENSOR_RANK, quoteValue, type DType } from "@blazerpc/tensor";
import type { InferTensorContents } from "../gen/inference/grpc_predict_v2_pb.js";
import { oipElementSize, toOipDatatype, type OipDatatype } from "./datatypes.js";

/** One element of a tensor as JSON holds it: a number, a boolean (BOOL), or a bigint (INT64, UINT64 past 2^53). */
export type OipValue = number | boolean | bigint;

/**
 * A shape as OIP messages show it, JSON style: `[4,512]`; past 8 dims, the first ones and
 * the count.
 *
 * @example
 * formatOipShape([4, 512]) // "[4,512]"
 */
export function formatOipShape(shape: readonly (number | bigint)[]): string {
  if (shape.length <= MAX_SHOWN_DIMS) return `[${shape.join(",")}]`;
  return `[${shape.slice(0, MAX_SHOWN_DIMS).join(",")},… (${shape.length} dims)]`;
}

/** An INVALID_ARGUMENT about one input, its message starting `input "x": `. */
export function inputError(name: string, reason: string): ConnectError {
  return new ConnectError(`input ${quoteValue(name)}: ${reason}`, Code.InvalidArgument);
}

/**
 * The elements of an OIP JSON `data` value, row-major: a flat array, or arrays nested as
 * the shape is (`[[1,2],[3,4]]` for shape [2,2]); a lone value stands for one element.
 * The nesting is not checked against the shape: the count is (by the caller).
 *
 * @throws ConnectError INVALID_ARGUMENT when the arrays nest deeper than a tensor may have dims.
 * @example
 * flattenData([[1, 2], [3, 4]], "x") // [1, 2, 3, 4]
 */
export function flattenData(data: unknown, name: string): unknown[] {
  if (!Array.isArray(data)) return [data];
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const walk = (value: unknown[], depth: number) => {
    if (depth > MAX_TENSOR_RANK)
      throw inputError(name, `data nests deeper than the ${MAX_TENSOR_RANK} dims a tensor may have`);
    for (const v of value) {
      if (Array.isArray(v)) walk(v, depth + 1);
      else out.push(v);
    }
  };
  walk(data, 1);
  return out;
}

const INT_RANGE: Partial<Record<DType, readonly [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
};
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Writes `values` as `dtype` elements: little-endian, row-major bytes, as a TensorProto
 * holds them. Numbers must fit the dtype (integers in range for the integer types; BOOL
 * takes `true`/`false` or 0/1; FP16 is rounded to the nearest half).
 *
 * @throws ConnectError INVALID_ARGUMENT naming the input, the element and its value.
 * @example
 * encodeValues("float32", [1, 2.5], "x") // 8 bytes
 */
export function encodeValues(dtype: DType, values: ArrayLike<unknown>, name: string): Uint8Array {
  const n = values.length;
  const bytes = new Uint8Array(n * oipElementSize(toOipDatatype(dtype)));
  const view = new DataView(bytes.buffer);
  const bad = (i: number, expected: string) =>
    inputError(name, `element ${i} is ${describe(values[i])}, expected ${expected}`);
  switch (dtype) {
    case "float32":
    case "float64":
    case "float16":
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== "number") throw bad(i, `a number (${toOipDatatype(dtype)})`);
        if (dtype === "float32") view.setFloat32(i * 4, v, true);
        else if (dtype === "float64") view.setFloat64(i * 8, v, true);
        else view.setUint16(i * 2, toHalf(v), true);
      }
      return bytes;
    case "bool":
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === true || v === 1) bytes[i] = 1;
        else if (v !== false && v !== 0) throw bad(i, "true or false (BOOL)");
      }
      return bytes;
    case "int64":
    case "uint64":
      for (let i = 0; i < n; i++) {
        const v = values[i];
        const big = typeof v === "bigint" ? v : typeof v === "number" && Number.isInteger(v) ? BigInt(v) : undefined;
        const [min, max] = dtype === "int64" ? [INT64_MIN, INT64_MAX] : [0n, UINT64_MAX];
        if (big === undefined || big < min || big > max)
          throw bad(i, `an integer from ${min} to ${max} (${toOipDatatype(dtype)})`);
        if (dtype === "int64") view.setBigInt64(i * 8, big, true);
        else view.setBigUint64(i * 8, big, true);
      }
      return bytes;
    default: {
      const [min, max] = INT_RANGE[dtype]!;
      const size = oipElementSize(toOipDatatype(dtype));
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
          throw bad(i, `an integer from ${min} to ${max} (${toOipDatatype(dtype)})`);
        if (size === 1) bytes[i] = v & 0xff;
        else if (size === 2) view.setUint16(i * 2, v & 0xffff, true);
        else view.setUint32(i * 4, v >>> 0, true);
      }
      return bytes;
    }
  }
}

/**
 * The elements of `dtype` held in little-endian `bytes`, as JSON answers them: numbers
 * (FP16 widened), booleans for BOOL, and for INT64/UINT64 numbers where they are exact,
 * bigints past 2^53.
 *
 * @example
 * decodeValues("int32", new Uint8Array([1, 0, 0, 0])) // [1]
 */
export function decodeValues(dtype: DType, bytes: Uint8Array): OipValue[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = oipElementSize(toOipDatatype(dtype));
  const n = Math.floor(bytes.byteLength / size);
  const out = new Array<OipValue>(n);
  const read: (i: number) => OipValue = {
    float32: (i: number) => view.getFloat32(i * 4, true),
    float64: (i: number) => view.getFloat64(i * 8, true),
    float16: (i: number) => fromHalf(view.getUint16(i * 2, true)),
    int8: (i: number) => view.getInt8(i),
    int16: (i: number) => view.getInt16(i * 2, true),
    int32: (i: number) => view.getInt32(i * 4, true),
    int64: (i: number) => exact(view.getBigInt64(i * 8, true)),
    uint8: (i: number) => view.getUint8(i),
    uint16: (i: number) => view.getUint16(i * 2, true),
    uint32: (i: number) => view.getUint32(i * 4, true),
    uint64: (i: number) => exact(view.getBigUint64(i * 8, true)),
    bool: (i: number) => view.getUint8(i) !== 0,
  }[dtype];
  for (let i = 0; i < n; i++) out[i] = read(i);
  return out;
}

/** The field of `InferTensorContents` that holds each datatype (FP16 has none: raw only). */
const CONTENTS_FIELD: { readonly [D in OipDatatype]: keyof ContentsArrays | undefined } = {
  BOOL: "boolContents",
  INT8: "intContents",
  INT16: "intContents",
  INT32: "intContents",
  INT64: "int64Contents",
  UINT8: "uintContents",
  UINT16: "uintContents",
  UINT32: "uintContents",
  UINT64: "uint64Contents",
  FP16: undefined,
  FP32: "fp32Contents",
  FP64: "fp64Contents",
};

type ContentsArrays = Pick<
  InferTensorContents,
  | "boolContents"
  | "intContents"
  | "int64Contents"
  | "uintContents"
  | "uint64Contents"
  | "fp32Contents"
  | "fp64Contents"
  | "bytesContents"
>;

const PROTO_NAME: Readonly<Record<keyof ContentsArrays, string>> = {
  boolContents: "bool_contents",
  intContents: "int_contents",
  int64Contents: "int64_contents",
  uintContents: "uint_contents",
  uint64Contents: "uint64_contents",
  fp32Contents: "fp32_contents",
  fp64Contents: "fp64_contents",
  bytesContents: "bytes_contents",
};

/**
 * The elements of a gRPC input's typed `contents`: the one field its datatype takes
 * (`fp32_contents` for FP32, `int_contents` for INT8/16/32, …), checked to be the only one
 * set. FP16 has no typed field: it travels in `raw_input_contents`.
 *
 * @throws ConnectError INVALID_ARGUMENT naming the input and the fields.
 * @example
 * contentsValues("FP32", contents, "x") // contents.fp32Contents
 */
export function contentsValues(
  datatype: OipDatatype,
  contents: InferTensorContents | undefined,
  name: string,
): ArrayLike<unknown> {
  const field = CONTENTS_FIELD[datatype];
  const set =
    contents === undefined
      ? []
      : (Object.keys(PROTO_NAME) as (keyof ContentsArrays)[]).filter((k) => contents[k].length > 0);
  if (field === undefined)
    throw inputError(name, `${datatype} has no typed contents field: send its bytes in raw_input_contents`);
  const others = set.filter((k) => k !== field);
  if (others.length > 0)
    throw inputError(
      name,
      `${datatype} values go in ${PROTO_NAME[field]}, but the request sets ${others.map((k) => PROTO_NAME[k]).join(", ")}`,
    );
  return contents?.[field] ?? [];
}

/**
 * The IEEE 754 half-precision bits nearest to `value` (round to nearest, ties to even;
 * overflow to infinity; NaN stays NaN).
 *
 * @example
 * toHalf(1) // 0x3c00
 */
export function toHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  // Unbiased exponent, rebiased for half (15).
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // A subnormal half (or zero): shift the mantissa, with its implicit 1, into place.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // Rounding may carry into the exponent, up to infinity: both are the right answer.
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  return half;
}

/**
 * The number that IEEE 754 half-precision bits stand for.
 *
 * @example
 * fromHalf(0x3c00) // 1
 */
export function fromHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function exact(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** A client's value for an error message: its JSON, cut to 64 characters. */
function describe(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "bigint" ? String(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length <= 64 ? text : `${text.slice(0, 64)}… (${text.length} characters)`;
}
