/** @jest-environment ./packages/onnx/jest-environment.cjs */
// loadOnnxModel on the MLP fixture (512→2048→1024→512, 15 MB of float32 weights, built by
// our own code): outputs checked against a plain TypeScript computation of the same MLP,
// zero-copy both ways, input validation before onnxruntime is called, options passed
// through, release; then files that are missing or not ONNX.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TensorError, type Tensor } from "@blazerpc/tensor";
import * as ort from "onnxruntime-node";
import { OnnxError } from "./errors.js";
import { loadOnnxModel, type OnnxModel } from "./load-onnx-model.js";
import { buildMlp, runMlpReference, type MlpFixture } from "./testing/mlp.js";
import { encodeModel, buildModelProto } from "./testing/build-model.js";
import { seededFloat32 } from "./testing/prng.js";

let dir: string;
let mlp: MlpFixture;
let mlpPath: string;
let model: OnnxModel;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-onnx-"));
  mlp = buildMlp();
  mlpPath = path.join(dir, "mlp.onnx");
  fs.writeFileSync(mlpPath, mlp.bytes);
  model = await loadOnnxModel(mlpPath, { intraOpNumThreads: 1 });
});
afterAll(async () => {
  await model?.release();
  fs.rmSync(dir, { recursive: true, force: true });
});

const input = (rows: number, seed = rows): Tensor<"float32"> => ({
  dtype: "float32",
  shape: [rows, 512],
  data: seededFloat32(rows * 512, seed),
});

/** The largest absolute difference between two arrays of the same length. */
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe("the MLP fixture", () => {
  it("is about 15 MB of weights, the same bytes for the same seed", () => {
    const weights = mlp.layers.reduce((n, l) => n + l.weight.length + l.bias.length, 0);
    expect(weights).toBe(512 * 2048 + 2048 + 2048 * 1024 + 1024 + 1024 * 512 + 512);
    expect(mlp.bytes.byteLength).toBeGreaterThan(weights * 4);
    expect(mlp.bytes.byteLength).toBeLessThan(weights * 4 + 4096);
    const small = buildMlp({ sizes: [4, 8, 2], seed: 7 });
    expect(buildMlp({ sizes: [4, 8, 2], seed: 7 }).bytes).toEqual(small.bytes);
    expect(buildMlp({ sizes: [4, 8, 2], seed: 8 }).bytes).not.toEqual(small.bytes);
  });
});

describe("loadOnnxModel + run", () => {
  it("reads the signature from the session: names, dtypes, the symbolic batch dim", () => {
    expect(model.source).toBe(mlpPath);
    expect(model.inputs).toEqual([{ name: "input", dtype: "float32", shape: ["batch", 512], onnxShape: ["N", 512] }]);
    expect(model.outputs).toEqual([{ name: "output", dtype: "float32", shape: ["batch", 512], onnxShape: ["N", 512] }]);
  });

  it.each([1, 7])("batch %i: the output matches a plain TypeScript computation of the MLP", async (rows) => {
    const x = input(rows);
    const out = await model.run({ input: x });
    expect(Object.keys(out)).toEqual(["output"]);
    const y = out.output!;
    expect(y.dtype).toBe("float32");
    expect(y.shape).toEqual([rows, 512]);
    expect(y.data).toBeInstanceOf(Float32Array);
    const want = runMlpReference(mlp, x.data as Float32Array, rows);
    // float32 accumulation in onnxruntime vs float64 here: measured ~4e-7 at |y| ≤ 1.
    expect(maxAbsDiff(y.data as Float32Array, want)).toBeLessThan(1e-5);
    // ...and the reference is not degenerate (all zeros would match a broken model too).
    expect(want.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBeGreaterThan(0.5);
  });

  it("hands the typed arrays to onnxruntime and back without copying", async () => {
    const run = jest.spyOn(model.session, "run");
    try {
      // A view into a larger buffer at an offset, as a decoded request's tensor is.
      const backing = new ArrayBuffer(8 + 2 * 512 * 4);
      const data = new Float32Array(backing, 8, 2 * 512);
      data.set(seededFloat32(2 * 512, 3));
      const out = await model.run({ input: { dtype: "float32", shape: [2, 512], data } });
      expect(run).toHaveBeenCalledTimes(1);
      const feeds = run.mock.calls[0]![0] as Record<string, ort.Tensor>;
      expect(feeds.input).toBeInstanceOf(ort.Tensor);
      expect(feeds.input!.data).toBe(data);
      expect(feeds.input!.dims).toEqual([2, 512]);
      const results = (await run.mock.results[0]!.value) as Record<string, ort.Tensor>;
      expect(out.output!.data).toBe(results.output!.data);
      expect(maxAbsDiff(out.output!.data as Float32Array, runMlpReference(mlp, data, 2))).toBeLessThan(1e-5);
    } finally {
      run.mockRestore();
    }
  });

  describe("checks the feeds before onnxruntime sees them", () => {
    let run: jest.SpyInstance;
    beforeEach(() => (run = jest.spyOn(model.session, "run")));
    afterEach(() => {
      expect(run).not.toHaveBeenCalled();
      run.mockRestore();
    });
    const cases: [string, Record<string, Tensor>, string][] = [
      [
        "a wrong dtype",
        { input: { dtype: "float64", shape: [1, 512], data: new Float64Array(512) } },
        "input: dtype is float64, expected float32",
      ],
      [
        "a wrong fixed dim",
        { input: { dtype: "float32", shape: [1, 511], data: new Float32Array(511) } },
        "input: dim 1 is 511, expected 512 (shape [1, 511], expected [batch, 512])",
      ],
      [
        "a wrong rank",
        { input: { dtype: "float32", shape: [512], data: new Float32Array(512) } },
        "input: rank is 1 (shape [512]), expected 2 (shape [batch, 512])",
      ],
      [
        "data of the wrong length",
        { input: { dtype: "float32", shape: [2, 512], data: new Float32Array(512) } },
        "input: data has 512 elements, expected 1024 (shape [2, 512])",
      ],
      [
        "an unknown input name",
        { input: input(1), inputs: input(1) },
        "inputs: not an input of the model (inputs: input)",
      ],
      ["a missing input", {}, "input: missing: no tensor was fed (inputs: input)"],
    ];
    it.each(cases)("%s → TensorError naming the input and both values", async (_, feeds, message) => {
      const err = await model.run(feeds).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TensorError);
      expect((err as TensorError).message).toBe(message);
    });
  });

  it("passes the session options through to onnxruntime", async () => {
    const create = jest.spyOn(ort.InferenceSession, "create");
    try {
      const m = await loadOnnxModel(mlpPath, {
        executionProviders: ["cpu"],
        intraOpNumThreads: 1,
        interOpNumThreads: 2,
        graphOptimizationLevel: "basic",
        sessionOptions: { logSeverityLevel: 3, intraOpNumThreads: 4 },
      });
      await m.release();
      expect(create).toHaveBeenCalledWith(mlpPath, {
        executionProviders: ["cpu"],
        intraOpNumThreads: 1,
        interOpNumThreads: 2,
        graphOptimizationLevel: "basic",
        logSeverityLevel: 3,
      });
    } finally {
      create.mockRestore();
    }
  });

  it("loads from bytes as well, and refuses to run once released", async () => {
    const m = await loadOnnxModel(mlp.bytes, { intraOpNumThreads: 1 });
    expect(m.source).toBe(`<${mlp.bytes.byteLength} bytes of ONNX model>`);
    const a = await m.run({ input: input(1) });
    const b = await model.run({ input: input(1) });
    expect(a.output!.data).toEqual(b.output!.data);
    await m.release();
    await m.release(); // a second release does nothing
    const err = await m.run({ input: input(1) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OnnxError);
    expect((err as OnnxError).message).toBe(`ONNX model ${m.source} was released`);
  });
});

describe("files that cannot be loaded → OnnxError naming the path", () => {
  const loadError = (p: string | Uint8Array) =>
    loadOnnxModel(p).then(
      () => undefined,
      (e: unknown) => e as OnnxError,
    );
  const write = (name: string, content: string | Uint8Array) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };

  it("a file that does not exist", async () => {
    const p = path.join(dir, "nope.onnx");
    const err = await loadError(p);
    expect(err).toBeInstanceOf(OnnxError);
    expect(err?.message).toBe(`cannot load ONNX model ${p}: the file does not exist`);
    expect(err?.source).toBe(p);
  });

  it("a directory, an empty file", async () => {
    expect((await loadError(dir))?.message).toBe(`cannot load ONNX model ${dir}: it is a directory, not an .onnx file`);
    const empty = write("empty.onnx", "");
    expect((await loadError(empty))?.message).toBe(`cannot load ONNX model ${empty}: the file is empty`);
  });

  it("a file that is not ONNX (text, JSON, truncated), from a path or from bytes", async () => {
    for (const [name, content] of [
      ["text.onnx", "this is not an ONNX model\n"],
      ["model.json", JSON.stringify({ graph: { node: [] } })],
      ["truncated.onnx", mlp.bytes.subarray(0, 100_000)],
    ] as const) {
      const p = write(name, content);
      const err = await loadError(p);
      expect(err).toBeInstanceOf(OnnxError);
      expect(err?.message).toMatch(
        new RegExp(`^cannot load ONNX model ${p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: not an ONNX model \\(`),
      );
    }
    const err = await loadError(new Uint8Array([1, 2, 3]));
    expect(err?.message).toBe(
      "cannot load ONNX model <3 bytes of ONNX model>: not an ONNX model (onnxruntime: protobuf parsing failed)",
    );
  });

  it("a valid ONNX file onnxruntime cannot load: onnxruntime's reason", async () => {
    const p = write(
      "unknown-op.onnx",
      encodeModel({
        inputs: [{ name: "x", dtype: "float32", shape: [1] }],
        outputs: [{ name: "y", dtype: "float32", shape: [1] }],
        nodes: [{ op: "NoSuchOp", inputs: ["x"], outputs: ["y"] }],
      }),
    );
    const err = await loadError(p);
    expect(err?.message).toMatch(`cannot load ONNX model ${p}: onnxruntime could not load it: `);
    expect(err?.message).toMatch("No Op registered for NoSuchOp");
  });

  it("a model with a string input, which BlazeRPC tensors cannot hold", async () => {
    const proto = buildModelProto({
      inputs: [{ name: "text", dtype: "float32", shape: [1] }],
      outputs: [{ name: "same", dtype: "float32", shape: [1] }],
      nodes: [{ op: "Identity", inputs: ["text"], outputs: ["same"] }],
    });
    for (const v of [...proto.graph!.input, ...proto.graph!.output]) {
      if (v.type?.value.case === "tensorType") v.type.value.value.elemType = 8; // TensorProto.STRING
    }
    const p = write("strings.onnx", encodeModel(proto));
    const err = await loadError(p);
    expect(err?.message).toBe(
      `cannot load ONNX model ${p}: input "text" has element type string, which BlazeRPC tensors cannot hold (supported: float32, float64, float16, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool)`,
    );
  });
});
