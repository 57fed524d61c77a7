import { readFile, stat } from "node:fs/promises";
import { TensorError, validateTensor, type Tensor, type TensorData } from "@blazerpc/tensor";
import * as ort from "onnxruntime-node";
import { getDTypeOfOrtType } from "./dtype.js";
import { loadError, OnnxError, runError } from "./errors.js";
import { readModelProtoSignature } from "./model-proto-signature.js";
import { emptyShapeKind, toTensorSpec, toValueInfos, type OnnxValueInfo } from "./value-info.js";

/**
 * How to create the onnxruntime session. Each option is passed to
 * `ort.InferenceSession.create` as is; left out, onnxruntime's default applies.
 *
 * @example
 * const options: OnnxModelOptions = { executionProviders: ["cpu"], intraOpNumThreads: 1, graphOptimizationLevel: "all" };
 * const model = await loadOnnxModel("model.onnx", options);
 */
export interface OnnxModelOptions {
  /**
   * Execution providers in order of preference, e.g. `["cpu"]` (onnxruntime's default) or
   * `["cuda", "cpu"]`. Only the CPU provider ships with the npm package's Linux binaries
   * as installed here (the CUDA download is skipped).
   */
  executionProviders?: ort.InferenceSession.SessionOptions["executionProviders"];
  /** Threads used inside one operator (onnxruntime's default: one per physical core). */
  intraOpNumThreads?: number;
  /** Threads used to run independent operators in parallel (with `executionMode: "parallel"`). */
  interOpNumThreads?: number;
  /** Graph optimizations applied at load: `"disabled"`, `"basic"`, `"extended"`, `"layout"` or `"all"` (the default). */
  graphOptimizationLevel?: ort.InferenceSession.SessionOptions["graphOptimizationLevel"];
  /** Any other session option (`logSeverityLevel`, `executionMode`, `freeDimensionOverrides`, ...). The options above win. */
  sessionOptions?: ort.InferenceSession.SessionOptions;
}

/**
 * A loaded ONNX model: its signature, and `run` over BlazeRPC tensors.
 *
 * @example
 * const model = await loadOnnxModel("model.onnx");
 * const { output } = await model.run({ input: { dtype: "float32", shape: [1, 512], data } });
 * await model.release();
 */
export interface OnnxModel {
  /** The path the model was loaded from, or a description of the bytes it was loaded from. */
  readonly source: string;
  /** The graph's inputs, in the model's order. */
  readonly inputs: readonly OnnxValueInfo[];
  /** The graph's outputs, in the model's order. */
  readonly outputs: readonly OnnxValueInfo[];
  /** The onnxruntime session, for what this wrapper does not cover (profiling, run options). */
  readonly session: ort.InferenceSession;
  /**
   * Runs the model. Every input must be fed, with the model's dtype, rank and fixed
   * dimensions; inputs that share a symbolic dimension must agree on its size. The
   * tensors' typed arrays are handed to onnxruntime as they are (no copy), and the
   * outputs' typed arrays are onnxruntime's own (no copy).
   *
   * Note that onnxruntime-node computes on the calling thread: the event loop waits
   * while the model runs.
   *
   * @throws TensorError naming the input when a feed is unknown, missing or does not match.
   * @throws OnnxError when onnxruntime fails, or the model was released.
   */
  run(feeds: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>>;
  /** Frees the session. Later calls of `run` fail; calling `release` again does nothing. */
  release(): Promise<void>;
}

/**
 * Loads an ONNX model from a file (or from the file's bytes) into an onnxruntime-node
 * session and reads its signature.
 *
 * @throws OnnxError naming the path when the file does not exist, is not an ONNX model,
 *   cannot be loaded by onnxruntime, or has an input or output BlazeRPC tensors cannot
 *   hold (strings, sequences, maps).
 *
 * @example
 * const model = await loadOnnxModel("models/embedding_model.onnx", { intraOpNumThreads: 1 });
 * model.inputs;  // [{ name: "input_1", dtype: "float32", shape: ["batch", 76, 32, 1], ... }]
 * const { conv2d_19 } = await model.run({ input_1: audio });
 */
export async function loadOnnxModel(path: string | Uint8Array, options: OnnxModelOptions = {}): Promise<OnnxModel> {
  const source = typeof path === "string" ? path : `<${path.byteLength} bytes of ONNX model>`;
  if (typeof path === "string") {
    await checkFile(path);
  } else if (path.byteLength === 0) {
    throw new OnnxError(source, `cannot load ONNX model ${source}: no bytes`);
  }
  const session = await createSession(source, path, options);
  try {
    // onnxruntime reports the shape [] both for a scalar and for a value the file gives no
    // shape: for models that have such a value, the file itself says which.
    const metadata = [...session.inputMetadata, ...session.outputMetadata];
    const ambiguous = metadata.some((m) => m.isTensor && m.shape.length === 0);
    const signature = ambiguous
      ? readModelProtoSignature(typeof path === "string" ? await readFile(path) : path)
      : undefined;
    const emptyShape = (name: string) => (signature === undefined ? "unknown" : emptyShapeKind(signature, name));
    const inputs = toValueInfos(source, "input", session.inputMetadata, emptyShape);
    const outputs = toValueInfos(source, "output", session.outputMetadata, emptyShape);
    return createOnnxModel(source, session, inputs, outputs);
  } catch (err) {
    await session.release();
    throw err;
  }
}

async function checkFile(path: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "the file does not exist" : `the file cannot be read (${(err as Error).message})`;
    throw new OnnxError(path, `cannot load ONNX model ${path}: ${reason}`, { cause: err });
  }
  if (st.isDirectory())
    throw new OnnxError(path, `cannot load ONNX model ${path}: it is a directory, not an .onnx file`);
  if (st.size === 0) throw new OnnxError(path, `cannot load ONNX model ${path}: the file is empty`);
}

async function createSession(
  source: string,
  path: string | Uint8Array,
  options: OnnxModelOptions,
): Promise<ort.InferenceSession> {
  const {
    executionProviders,
    intraOpNumThreads,
    interOpNumThreads,
    graphOptimizationLevel,
    sessionOptions = {},
  } = options;
  const merged: ort.InferenceSession.SessionOptions = { ...sessionOptions };
  if (executionProviders !== undefined) merged.executionProviders = executionProviders;
  if (intraOpNumThreads !== undefined) merged.intraOpNumThreads = intraOpNumThreads;
  if (interOpNumThreads !== undefined) merged.interOpNumThreads = interOpNumThreads;
  if (graphOptimizationLevel !== undefined) merged.graphOptimizationLevel = graphOptimizationLevel;
  try {
    return typeof path === "string"
      ? await ort.InferenceSession.create(path, merged)
      : await ort.InferenceSession.create(path, merged);
  } catch (err) {
    throw loadError(source, err);
  }
}

function createOnnxModel(
  source: string,
  session: ort.InferenceSession,
  inputs: readonly OnnxValueInfo[],
  outputs: readonly OnnxValueInfo[],
): OnnxModel {
  let released = false;
  const inputNames = inputs.map((i) => i.name).join(", ");
  return {
    source,
    inputs,
    outputs,
    session,
    async run(feeds) {
      if (released) throw new OnnxError(source, `ONNX model ${source} was released`);
      const ortFeeds = toOrtFeeds(feeds, inputs, inputNames);
      let results: ort.InferenceSession.ReturnType;
      try {
        results = await session.run(ortFeeds);
      } catch (err) {
        throw runError(source, err);
      }
      const out: Record<string, Tensor> = {};
      for (const [name, value] of Object.entries(results)) out[name] = fromOrtTensor(source, name, value);
      return out;
    },
    async release() {
      if (released) return;
      released = true;
      await session.release();
    },
  };
}

function toOrtFeeds(
  feeds: Readonly<Record<string, Tensor>>,
  inputs: readonly OnnxValueInfo[],
  inputNames: string,
): Record<string, ort.Tensor> {
  if (feeds === null || typeof feeds !== "object") {
    throw new TypeError(`feeds must be an object of tensors by input name (inputs: ${inputNames})`);
  }
  for (const name of Object.keys(feeds)) {
    if (!inputs.some((i) => i.name === name)) {
      throw new TensorError(name, `not an input of the model (inputs: ${inputNames})`);
    }
  }
  // Sizes of symbolic dimensions seen so far, by ONNX name, and the input that set each.
  const symbols = new Map<string, { size: number; input: string }>();
  const out: Record<string, ort.Tensor> = {};
  for (const input of inputs) {
    const tensor = feeds[input.name];
    if (tensor === undefined) {
      throw new TensorError(input.name, `missing: no tensor was fed (inputs: ${inputNames})`);
    }
    const spec = toTensorSpec(input);
    validateTensor(tensor, spec, input.name);
    if (spec === undefined && tensor.dtype !== input.dtype) {
      throw new TensorError(input.name, `dtype is ${tensor.dtype}, expected ${input.dtype}`);
    }
    input.onnxShape?.forEach((d, i) => {
      if (typeof d !== "string") return;
      const size = tensor.shape[i]!;
      const seen = symbols.get(d);
      if (seen === undefined) symbols.set(d, { size, input: input.name });
      else if (seen.size !== size) {
        throw new TensorError(
          input.name,
          `dim ${i} (${d}) is ${size}, but input ${seen.input} has ${d} = ${seen.size}`,
        );
      }
    });
    // The typed array itself: onnxruntime reads it in place.
    out[input.name] = new ort.Tensor(tensor.dtype, tensor.data as ort.Tensor.DataType, tensor.shape);
  }
  return out;
}

function fromOrtTensor(source: string, name: string, value: ort.OnnxValue): Tensor {
  const dtype = value instanceof ort.Tensor ? getDTypeOfOrtType(value.type) : undefined;
  if (dtype === undefined) {
    throw new OnnxError(source, `ONNX model ${source}: output ${name} is not a tensor BlazeRPC can hold`);
  }
  const tensor = value as ort.Tensor;
  let data = tensor.data as TensorData;
  // float16 is raw bits in a Uint16Array here; where the platform has Float16Array,
  // onnxruntime may hand one out: view the same bytes.
  if (dtype === "float16" && !(data instanceof Uint16Array)) {
    data = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  }
  return { dtype, shape: [...tensor.dims], data } as Tensor;
}
