import { create } from "@bufbuild/protobuf";
import { getDType, type DTypeInfo, type DType, type TensorData } from "./dtype.js";
import { describeValue, formatDims, quoteValue, TensorError } from "./errors.js";
import { TensorProtoSchema, type TensorProto } from "./gen/blazerpc/v1/tensor_pb.js";
import type { Dim, Tensor, TensorSpec } from "./tensor.js";

/** The fields of a TensorProto, as a message or as a plain object. */
export interface TensorProtoLike {
  readonly shape: readonly bigint[];
  readonly dtype: string;
  readonly data: Uint8Array;
}

/**
 * Most dimensions a tensor may have: 64, numpy's own limit (NPY_MAXDIMS). A decoded
 * TensorProto with more is refused before its shape is looked at.
 */
export const MAX_TENSOR_RANK = 64;

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes a TensorProto into a tensor. The typed array is a view on the message's bytes
 * (zero-copy) when they are aligned to the element size; otherwise they are copied once.
 * With `spec`, the dtype, rank and fixed dimensions are checked against it. A missing
 * (undefined) message field is an error too.
 *
 * @throws TensorError naming `field` and both values when anything does not match.
 *
 * @example
 * const t = fromTensorProto(req.features, { dtype: "float32", shape: ["batch", 4] }, "features");
 */
export function fromTensorProto(proto: TensorProtoLike | undefined, spec?: TensorSpec, field = "tensor"): Tensor {
  if (proto === undefined) {
    throw new TensorError(field, "missing: no tensor was sent");
  }
  const info = getDType(proto.dtype);
  if (info === undefined) {
    throw new TensorError(field, `unknown dtype ${quoteValue(proto.dtype)}`);
  }
  if (proto.shape.length > MAX_TENSOR_RANK) {
    throw new TensorError(field, `shape has ${proto.shape.length} dims, more than the ${MAX_TENSOR_RANK} allowed`);
  }
  const shape = proto.shape.map((d, i) => {
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new TensorError(field, `dim ${i} is ${d}, which is not a valid size`);
    }
    return Number(d);
  });
  if (spec !== undefined) {
    checkAgainstSpec(field, info.name, shape, spec);
  }
  const count = product(shape);
  const want = count * info.itemsize;
  if (proto.data.byteLength !== want) {
    throw new TensorError(
      field,
      `data is ${proto.data.byteLength} bytes, expected ${want} (shape ${formatShape(shape)} × ${info.itemsize} bytes of ${info.name})`,
    );
  }
  return { dtype: info.name, shape, data: viewAs(info, proto.data, count) } as Tensor;
}

/**
 * Encodes a tensor as a TensorProto message. The bytes are a view on the typed array
 * (no copy). With `spec`, the tensor is checked against it first.
 *
 * @throws TensorError naming `field` when the tensor is inconsistent or does not match.
 */
export function toTensorProto(tensor: Tensor, spec?: TensorSpec, field = "tensor"): TensorProto {
  validateTensor(tensor, spec, field);
  const { data } = tensor;
  let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (!littleEndianHost && getDType(tensor.dtype)!.itemsize > 1) {
    bytes = swapBytes(bytes, getDType(tensor.dtype)!.itemsize);
  }
  return create(TensorProtoSchema, {
    shape: tensor.shape.map((d) => BigInt(d)),
    dtype: tensor.dtype,
    data: bytes,
  });
}

/**
 * Checks that a tensor is consistent (known dtype, matching typed array, element count
 * equal to the product of its shape) and, with `spec`, that it matches the declared
 * dtype, rank and fixed dimensions.
 *
 * @throws TensorError naming `field` and both values.
 */
export function validateTensor(tensor: Tensor, spec?: TensorSpec, field = "tensor"): void {
  if (tensor === null || typeof tensor !== "object") {
    throw new TensorError(
      field,
      `expected a tensor { dtype, shape, data }, got ${tensor === null ? "null" : typeof tensor}`,
    );
  }
  const info = getDType(String(tensor.dtype));
  if (info === undefined || info.name !== tensor.dtype) {
    throw new TensorError(field, `unknown dtype ${quoteValue(String(tensor.dtype))}`);
  }
  if (!Array.isArray(tensor.shape) || !tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new TensorError(field, `shape must be an array of non-negative integers, got ${describeValue(tensor.shape)}`);
  }
  // By the typed array's own tag, not instanceof: arrays from another realm (a vm context,
  // a test runner's sandbox) are not instances of this realm's constructors. A Buffer
  // reads as Uint8Array.
  if (typedArrayName(tensor.data) !== info.array.name) {
    const got =
      typedArrayName(tensor.data) ?? (tensor.data as object | undefined)?.constructor?.name ?? typeof tensor.data;
    throw new TensorError(field, `data is a ${got}, expected a ${info.array.name} for dtype ${info.name}`);
  }
  const count = product(tensor.shape);
  if (tensor.data.length !== count) {
    throw new TensorError(
      field,
      `data has ${tensor.data.length} elements, expected ${count} (shape ${formatShape(tensor.shape)})`,
    );
  }
  if (spec !== undefined) {
    checkAgainstSpec(field, info.name, tensor.shape, spec);
  }
}

const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
)!.get!;

/** `Float32Array`, `Uint8Array`, … for a typed array (of any realm); undefined otherwise. */
function typedArrayName(value: unknown): string | undefined {
  return ArrayBuffer.isView(value) ? (typedArrayTag.call(value) as string | undefined) : undefined;
}

function checkAgainstSpec(field: string, dtype: DType, shape: readonly number[], spec: TensorSpec): void {
  if (dtype !== spec.dtype) {
    throw new TensorError(field, `dtype is ${dtype}, expected ${spec.dtype}`);
  }
  if (shape.length !== spec.shape.length) {
    throw new TensorError(
      field,
      `rank is ${shape.length} (shape ${formatShape(shape)}), expected ${spec.shape.length} (shape ${formatShape(spec.shape)})`,
    );
  }
  spec.shape.forEach((want, i) => {
    if (typeof want === "number" && shape[i] !== want) {
      throw new TensorError(
        field,
        `dim ${i} is ${shape[i]}, expected ${want} (shape ${formatShape(shape)}, expected ${formatShape(spec.shape)})`,
      );
    }
  });
}

function viewAs(info: DTypeInfo, bytes: Uint8Array, count: number): TensorData {
  if (!littleEndianHost && info.itemsize > 1) {
    const swapped = swapBytes(bytes, info.itemsize);
    return new info.array(swapped.buffer, 0, count);
  }
  if (bytes.byteOffset % info.itemsize === 0) {
    return new info.array(bytes.buffer, bytes.byteOffset, count);
  }
  // Unaligned: copy once into a fresh, aligned buffer. (Not bytes.slice(): on a Node
  // Buffer, slice() is a view on the same memory, not a copy.)
  const copy = new Uint8Array(bytes);
  return new info.array(copy.buffer, 0, count);
}

function swapBytes(bytes: Uint8Array, itemsize: number): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  for (let i = 0; i < bytes.byteLength; i += itemsize) {
    for (let j = 0; j < itemsize; j++) out[i + j] = bytes[i + itemsize - 1 - j]!;
  }
  return out;
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Formats a shape the way error messages show it: `[batch, 4]`; a long one as its first dims and `… (N dims)`. */
export function formatShape(shape: readonly Dim[]): string {
  return formatDims(shape);
}
