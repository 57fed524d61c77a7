import { fromBinary, toBinary, create } from "@bufbuild/protobuf";
import { dtypeNames, getDTypeOrThrow } from "./dtype.js";
import { fromTensorProto, toTensorProto } from "./convert.js";
import { TensorError } from "./errors.js";
import { TensorProtoSchema } from "./gen/blazerpc/v1/tensor_pb.js";
import type { Tensor } from "./tensor.js";

function sample(dtype: string, n: number): Tensor {
  const info = getDTypeOrThrow(dtype);
  const data = new info.array(n);
  for (let i = 0; i < n; i++) {
    (data as unknown as (number | bigint)[])[i] =
      data instanceof BigInt64Array || data instanceof BigUint64Array
        ? BigInt(i * 3)
        : (i * 3) % 2 === 0 || dtype === "bool"
          ? i % 2
          : i * 3;
  }
  return { dtype: info.name, shape: [n / 2, 2], data } as Tensor;
}

describe("TensorProto <-> Tensor", () => {
  it.each(dtypeNames)("round-trips %s through the wire bytes", (dtype) => {
    const t = sample(dtype, 6);
    const wire = toBinary(TensorProtoSchema, toTensorProto(t));
    const back = fromTensorProto(fromBinary(TensorProtoSchema, wire), { dtype: t.dtype, shape: ["batch", 2] }, "x");
    expect(back.dtype).toBe(dtype);
    expect(back.shape).toEqual([3, 2]);
    expect(back.data).toBeInstanceOf(getDTypeOrThrow(dtype).array);
    expect(Array.from(back.data as ArrayLike<unknown>)).toEqual(Array.from(t.data as ArrayLike<unknown>));
  });

  it("writes little-endian row-major bytes, as numpy's tobytes() does", () => {
    const proto = toTensorProto({ dtype: "float32", shape: [1, 2], data: new Float32Array([1, -2]) });
    expect(Array.from(proto.data)).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
    expect(proto.shape).toEqual([1n, 2n]);
    expect(proto.dtype).toBe("float32");
  });

  it("accepts the Python BlazeRPC's dtype aliases float and double", () => {
    const f = fromTensorProto({ dtype: "float", shape: [2n], data: new Uint8Array(new Float32Array([1.5, 2]).buffer) });
    expect(f.dtype).toBe("float32");
    expect(Array.from(f.data as Float32Array)).toEqual([1.5, 2]);
    const d = fromTensorProto({ dtype: "double", shape: [1n], data: new Uint8Array(new Float64Array([0.25]).buffer) });
    expect(d.dtype).toBe("float64");
  });

  it("is zero-copy when the bytes are aligned and copies once when they are not", () => {
    const backing = new Uint8Array(4 + 16);
    new Float32Array(backing.buffer, 4, 4).set([1, 2, 3, 4]);
    const aligned = fromTensorProto({ dtype: "float32", shape: [4n], data: backing.subarray(4) });
    expect(aligned.data.buffer).toBe(backing.buffer);

    const odd = new Uint8Array(1 + 16);
    odd.set(new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer), 1);
    const copied = fromTensorProto({ dtype: "float32", shape: [4n], data: odd.subarray(1) });
    expect(copied.data.buffer).not.toBe(odd.buffer);
    expect(Array.from(copied.data as Float32Array)).toEqual([1, 2, 3, 4]);
  });

  it("copies unaligned bytes even when they are a Node Buffer (whose slice() is a view)", () => {
    // A Buffer subarray at an odd offset of a larger (pooled) allocation, as protobuf-es
    // returns for a bytes field decoded from a Buffer.
    const backing = Buffer.alloc(64, 0xee);
    Buffer.from(new Float32Array([1, 2, 3, 4]).buffer).copy(backing, 3);
    const t = fromTensorProto({ dtype: "float32", shape: [4n], data: backing.subarray(3, 19) });
    expect(Array.from(t.data as Float32Array)).toEqual([1, 2, 3, 4]);
  });

  it("decodes a scalar (empty shape) and an empty tensor", () => {
    expect(fromTensorProto({ dtype: "int32", shape: [], data: new Uint8Array(4) }).data).toHaveLength(1);
    expect(fromTensorProto({ dtype: "int32", shape: [0n, 4n], data: new Uint8Array(0) }).data).toHaveLength(0);
  });
});

describe("validation errors name the field and both values", () => {
  const spec = { dtype: "float32", shape: ["batch", 4] } as const;
  const bytes = (n: number) => new Uint8Array(n);

  it.each([
    [
      "wrong dtype",
      { dtype: "float64", shape: [1n, 4n], data: bytes(32) },
      "features: dtype is float64, expected float32",
    ],
    ["unknown dtype", { dtype: "complex64", shape: [1n, 4n], data: bytes(32) }, 'features: unknown dtype "complex64"'],
    [
      "wrong rank",
      { dtype: "float32", shape: [4n], data: bytes(16) },
      "features: rank is 1 (shape [4]), expected 2 (shape [batch, 4])",
    ],
    [
      "wrong fixed dim",
      { dtype: "float32", shape: [2n, 5n], data: bytes(40) },
      "features: dim 1 is 5, expected 4 (shape [2, 5], expected [batch, 4])",
    ],
    [
      "wrong data length",
      { dtype: "float32", shape: [2n, 4n], data: bytes(12) },
      "features: data is 12 bytes, expected 32 (shape [2, 4] × 4 bytes of float32)",
    ],
    [
      "negative dim",
      { dtype: "float32", shape: [-1n, 4n], data: bytes(0) },
      "features: dim 0 is -1, which is not a valid size",
    ],
  ])("%s", (_name, proto, message) => {
    const call = () => fromTensorProto(proto, spec, "features");
    expect(call).toThrow(TensorError);
    expect(call).toThrow(message);
  });

  it("checks a tensor a model returns", () => {
    const bad = { dtype: "float32", shape: [1, 3], data: new Float64Array(3) } as unknown as Tensor;
    expect(() => toTensorProto(bad, undefined, "result")).toThrow(
      "result: data is a Float64Array, expected a Float32Array for dtype float32",
    );
    const short = { dtype: "float32", shape: [2, 3], data: new Float32Array(3) } as Tensor;
    expect(() => toTensorProto(short, undefined, "result")).toThrow(
      "result: data has 3 elements, expected 6 (shape [2, 3])",
    );
    const wrongDim = { dtype: "float32", shape: [1, 2], data: new Float32Array(2) } as Tensor;
    expect(() => toTensorProto(wrongDim, { dtype: "float32", shape: ["batch", 3] }, "result")).toThrow(
      "result: dim 1 is 2, expected 3",
    );
  });

  it("accepts typed arrays from another realm and Node Buffers for uint8", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const vm = require("node:vm") as typeof import("node:vm");
    const foreign = vm.runInNewContext("new Float32Array([1, 2, 3])") as Float32Array;
    expect(foreign instanceof Float32Array).toBe(false);
    expect(toTensorProto({ dtype: "float32", shape: [3], data: foreign }).data.byteLength).toBe(12);
    expect(toTensorProto({ dtype: "uint8", shape: [2], data: Buffer.from([1, 2]) }).data.byteLength).toBe(2);
    const wrong = {
      dtype: "float32",
      shape: [3],
      data: vm.runInNewContext("new Float64Array(3)"),
    } as unknown as Tensor;
    expect(() => toTensorProto(wrong, undefined, "result")).toThrow(
      "result: data is a Float64Array, expected a Float32Array for dtype float32",
    );
  });

  it("messages are TensorProto messages a protobuf-es client can send", () => {
    const m = create(TensorProtoSchema, { dtype: "uint8", shape: [3n], data: new Uint8Array([1, 2, 3]) });
    expect(Array.from(fromTensorProto(m).data as Uint8Array)).toEqual([1, 2, 3]);
  });
});
