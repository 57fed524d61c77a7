/**
 * Moving tensors between threads without copying: each tensor's typed array is made to own
 * its whole ArrayBuffer (a view into a larger buffer, such as a request's bytes, is copied
 * once into its own), and that buffer goes in the postMessage transfer list.
 * SharedArrayBuffer-backed arrays are shared as they are.
 */

interface TensorLike {
  dtype: string;
  shape: readonly number[];
  data: ArrayBufferView;
}

function isTensorLike(v: unknown): v is TensorLike {
  const t = v as Partial<TensorLike> | null;
  return (
    typeof t === "object" &&
    t !== null &&
    typeof t.dtype === "string" &&
    Array.isArray(t.shape) &&
    ArrayBuffer.isView(t.data)
  );
}

function owned(data: ArrayBufferView, transfer: ArrayBuffer[]): ArrayBufferView {
  if (typeof SharedArrayBuffer !== "undefined" && data.buffer instanceof SharedArrayBuffer) return data;
  let view = data;
  if (
    data.byteOffset !== 0 ||
    data.byteLength !== data.buffer.byteLength ||
    transfer.includes(data.buffer as ArrayBuffer)
  ) {
    const Ctor = data.constructor as new (b: ArrayBufferLike) => ArrayBufferView;
    const copy = new Uint8Array(data.byteLength);
    copy.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    view = new Ctor(copy.buffer);
  }
  transfer.push(view.buffer as ArrayBuffer);
  return view;
}

/**
 * Prepares a value (an argument list, or a result) for transfer: tensors at the top level,
 * in arrays, or as values of a plain object get owned buffers, listed in `transfer`.
 */
export function prepareTransfer<T>(value: T, transfer: ArrayBuffer[]): T {
  if (isTensorLike(value)) return { ...value, data: owned(value.data, transfer) } as T;
  if (Array.isArray(value)) return value.map((v: unknown) => prepareTransfer(v, transfer)) as T;
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, prepareTransfer(v, transfer)])) as T;
  }
  return value;
}
