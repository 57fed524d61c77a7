import { formatShape, getDTypeOrThrow, type Tensor } from "@blazerpc/tensor";

/** True for a run-time tensor: `{ dtype, shape, data }` with a typed array. */
export function isTensor(value: unknown): value is Tensor {
  const v = value as Partial<Tensor> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.dtype === "string" &&
    Array.isArray(v.shape) &&
    ArrayBuffer.isView(v.data)
  );
}

/**
 * The key requests must share to be stacked: each argument's dtype and non-batch dims.
 * Requests with different keys are never put in one batch (they go in separate ones).
 */
export function stackKey(args: readonly Tensor[]): string {
  return args.map((t) => `${t.dtype}[${t.shape.slice(1).join(",")}]`).join(";");
}

/**
 * Concatenates tensors along dim 0: `[2, 4]` and `[3, 4]` become `[5, 4]`. One copy.
 * A single tensor is returned as it is (no copy).
 */
export function concatRows(parts: readonly Tensor[]): Tensor {
  const first = parts[0]!;
  if (parts.length === 1) return first;
  const info = getDTypeOrThrow(first.dtype);
  let rows = 0;
  let length = 0;
  for (const p of parts) {
    rows += p.shape[0]!;
    length += p.data.length;
  }
  const data = new info.array(length);
  let offset = 0;
  for (const p of parts) {
    (data as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(p.data as ArrayLike<unknown>, offset);
    offset += p.data.length;
  }
  return { dtype: first.dtype, shape: [rows, ...first.shape.slice(1)], data } as Tensor;
}

/**
 * Splits a tensor along dim 0 into pieces of the given row counts, as views (no copy).
 *
 * @throws Error when the tensor's leading dim is not the sum of the row counts.
 */
export function splitRows(tensor: Tensor, rowCounts: readonly number[], what: string): Tensor[] {
  const total = rowCounts.reduce((a, b) => a + b, 0);
  if (!isTensor(tensor) || tensor.shape.length === 0) {
    throw new Error(`${what} must be a tensor with a leading batch dimension`);
  }
  if (tensor.shape[0] !== total) {
    throw new Error(
      `${what} has ${tensor.shape[0]} rows (shape ${formatShape(tensor.shape)}) for a batch of ${total} rows`,
    );
  }
  const rowLength = total === 0 ? 0 : tensor.data.length / total;
  const out: Tensor[] = [];
  let row = 0;
  for (const n of rowCounts) {
    const data = tensor.data.subarray(row * rowLength, (row + n) * rowLength);
    out.push({ dtype: tensor.dtype, shape: [n, ...tensor.shape.slice(1)], data } as Tensor);
    row += n;
  }
  return out;
}

/**
 * Splits a model's batched result back per request. The result is a tensor, an array of
 * tensors, or an object whose values are tensors; every tensor is split along dim 0.
 */
export function splitResult(result: unknown, rowCounts: readonly number[], model: string): unknown[] {
  const what = `model "${model}"'s result`;
  if (isTensor(result)) return splitRows(result, rowCounts, what);
  if (Array.isArray(result) && result.every(isTensor)) {
    const columns = result.map((t, i) => splitRows(t, rowCounts, `${what}[${i}]`));
    return rowCounts.map((_, r) => columns.map((c) => c[r]!));
  }
  if (
    typeof result === "object" &&
    result !== null &&
    Object.values(result).every(isTensor) &&
    Object.keys(result).length > 0
  ) {
    const entries = Object.entries(result as Record<string, Tensor>).map(
      ([k, t]) => [k, splitRows(t, rowCounts, `${what}.${k}`)] as const,
    );
    return rowCounts.map((_, r) => Object.fromEntries(entries.map(([k, parts]) => [k, parts[r]!])));
  }
  throw new Error(`${what} must be a tensor (or an array or object of tensors) with a leading batch dimension`);
}
