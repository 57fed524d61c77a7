/** @jest-environment ./packages/onnx/jest-environment.cjs */
// The signature loadOnnxModel reads (names, dtypes, shapes in BlazeRPC's terms) and the
// tensors run() hands back, for every dtype, on small models built by our own code.
import { dtypeNames, TensorError, type DType, type Tensor } from "@blazerpc/tensor";
import { loadOnnxModel } from "./load-onnx-model.js";
import { encodeModel, type ModelDecl } from "./testing/build-model.js";

const sample: { [D in DType]: (n: number) => Tensor<D>["data"] } = {
  float32: (n) => Float32Array.from({ length: n }, (_, i) => i + 0.5),
  float64: (n) => Float64Array.from({ length: n }, (_, i) => i / 3),
  float16: (n) => Uint16Array.from({ length: n }, (_, i) => 0x3c00 + i), // 1.0, then the next halves
  int8: (n) => Int8Array.from({ length: n }, (_, i) => -i),
  int16: (n) => Int16Array.from({ length: n }, (_, i) => -300 * i),
  int32: (n) => Int32Array.from({ length: n }, (_, i) => -70_000 * i),
  int64: (n) => BigInt64Array.from({ length: n }, (_, i) => -(2n ** 40n) * BigInt(i)),
  uint8: (n) => Uint8Array.from({ length: n }, (_, i) => 250 - i),
  uint16: (n) => Uint16Array.from({ length: n }, (_, i) => 65_000 - i),
  uint32: (n) => Uint32Array.from({ length: n }, (_, i) => 4_000_000_000 - i),
  uint64: (n) => BigUint64Array.from({ length: n }, (_, i) => 2n ** 63n + BigInt(i)),
  bool: (n) => Uint8Array.from({ length: n }, (_, i) => i % 2),
};

describe("the signature, in BlazeRPC's terms", () => {
  it("every dtype; a symbolic leading dim → batch, other symbolic dims keep their names, unknown ones get one", async () => {
    const shape = ["n", "seq", 3, null];
    const decl: ModelDecl = {
      inputs: dtypeNames.map((d) => ({ name: `in_${d}`, dtype: d, shape })),
      outputs: dtypeNames.map((d) => ({ name: `out_${d}`, dtype: d, shape })),
      nodes: dtypeNames.map((d) => ({ op: "Identity", inputs: [`in_${d}`], outputs: [`out_${d}`] })),
    };
    const model = await loadOnnxModel(encodeModel(decl));
    try {
      const want = (prefix: string) =>
        dtypeNames.map((dtype) => ({
          name: `${prefix}_${dtype}`,
          dtype,
          shape: ["batch", "seq", 3, "dim3"],
          onnxShape: ["n", "seq", 3, null],
        }));
      expect(model.inputs).toEqual(want("in"));
      expect(model.outputs).toEqual(want("out"));

      // Each dtype goes through onnxruntime and comes back with its own typed array.
      const feeds: Record<string, Tensor> = {};
      for (const d of dtypeNames) feeds[`in_${d}`] = { dtype: d, shape: [2, 5, 3, 1], data: sample[d](30) } as Tensor;
      const out = await model.run(feeds);
      for (const d of dtypeNames) {
        const t = out[`out_${d}`]!;
        expect({ d, dtype: t.dtype, shape: t.shape, array: t.data.constructor.name }).toEqual({
          d,
          dtype: d,
          shape: [2, 5, 3, 1],
          array: sample[d](0).constructor.name,
        });
        expect(t.data).toEqual(feeds[`in_${d}`]!.data);
      }
    } finally {
      await model.release();
    }
  });

  it("fixed dims stay numbers, a leading one included; an unknown leading dim is batch", async () => {
    const model = await loadOnnxModel(
      encodeModel({
        inputs: [
          { name: "fixed", dtype: "float32", shape: [1, 4] },
          { name: "unknown", dtype: "int64", shape: [null, 2] },
        ],
        outputs: [
          { name: "f", dtype: "float32", shape: [1, 4] },
          { name: "u", dtype: "int64", shape: [null, 2] },
        ],
        nodes: [
          { op: "Identity", inputs: ["fixed"], outputs: ["f"] },
          { op: "Identity", inputs: ["unknown"], outputs: ["u"] },
        ],
      }),
    );
    try {
      expect(model.inputs.map((i) => i.shape)).toEqual([
        [1, 4],
        ["batch", 2],
      ]);
      const err = await model
        .run({
          fixed: { dtype: "float32", shape: [2, 4], data: new Float32Array(8) },
          unknown: { dtype: "int64", shape: [1, 2], data: new BigInt64Array(2) },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(TensorError);
      expect((err as Error).message).toBe("fixed: dim 0 is 2, expected 1 (shape [2, 4], expected [1, 4])");
    } finally {
      await model.release();
    }
  });

  it("tells a scalar from a value without a shape (onnxruntime reports [] for both)", async () => {
    const model = await loadOnnxModel(
      encodeModel({
        inputs: [
          { name: "any", dtype: "float32" },
          { name: "scalar", dtype: "float32", shape: [] },
        ],
        outputs: [{ name: "sum", dtype: "float32" }],
        nodes: [{ op: "Add", inputs: ["any", "scalar"], outputs: ["sum"] }],
      }),
    );
    try {
      expect(model.inputs).toEqual([
        { name: "any", dtype: "float32", shape: undefined, onnxShape: undefined },
        { name: "scalar", dtype: "float32", shape: [], onnxShape: [] },
      ]);
      expect(model.outputs).toEqual([{ name: "sum", dtype: "float32", shape: undefined, onnxShape: undefined }]);
      const ten: Tensor = { dtype: "float32", shape: [], data: new Float32Array([10]) };
      // A value without a shape takes any rank...
      for (const shape of [[3], [1, 3]]) {
        const out = await model.run({
          any: { dtype: "float32", shape, data: new Float32Array([1, 2, 3]) },
          scalar: ten,
        });
        expect(out.sum).toEqual({ dtype: "float32", shape, data: new Float32Array([11, 12, 13]) });
      }
      // ...but not any dtype; and a scalar is rank 0.
      const run = (feeds: Record<string, Tensor>) =>
        model.run(feeds).then(
          () => undefined,
          (e: Error) => e.message,
        );
      expect(await run({ any: { dtype: "float64", shape: [1], data: new Float64Array(1) }, scalar: ten })).toBe(
        "any: dtype is float64, expected float32",
      );
      expect(await run({ any: ten, scalar: { dtype: "float32", shape: [1], data: new Float32Array(1) } })).toBe(
        "scalar: rank is 1 (shape [1]), expected 0 (shape [])",
      );
    } finally {
      await model.release();
    }
  });

  it("inputs that share a symbolic dim must agree on its size", async () => {
    const model = await loadOnnxModel(
      encodeModel({
        inputs: [
          { name: "a", dtype: "float32", shape: ["N", 2] },
          { name: "b", dtype: "float32", shape: ["N", 2] },
        ],
        outputs: [{ name: "c", dtype: "float32", shape: ["N", 2] }],
        nodes: [{ op: "Add", inputs: ["a", "b"], outputs: ["c"] }],
      }),
    );
    try {
      const rows = (n: number): Tensor => ({ dtype: "float32", shape: [n, 2], data: new Float32Array(n * 2).fill(n) });
      expect((await model.run({ a: rows(2), b: rows(2) })).c!.data).toEqual(new Float32Array([4, 4, 4, 4]));
      const err = await model.run({ a: rows(2), b: rows(3) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TensorError);
      expect((err as Error).message).toBe("b: dim 0 (N) is 3, but input a has N = 2");
    } finally {
      await model.release();
    }
  });
});
