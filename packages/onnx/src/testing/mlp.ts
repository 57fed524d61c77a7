import { encodeModel, type InitializerDecl, type NodeDecl } from "./build-model.js";
import { createPrng } from "./prng.js";

/** Options of {@link buildMlp}; the defaults give the benchmark's 15 MB model. */
export interface MlpOptions {
  /** Layer widths, input first. Default `[512, 2048, 1024, 512]` (3,670,016 float32 weights, 14.7 MB). */
  readonly sizes?: readonly number[];
  /** Seed of the weights. Default 42. */
  readonly seed?: number;
  /** Default `"input"`. */
  readonly inputName?: string;
  /** Default `"output"`. */
  readonly outputName?: string;
  /** The symbolic name of the leading (batch) dimension. Default `"N"`. */
  readonly batchDim?: string;
}

/** One dense layer: `y = x · weight + bias`, then ReLU on every layer but the last. */
export interface MlpLayer {
  readonly inputs: number;
  readonly outputs: number;
  /** `[inputs, outputs]`, row-major (ONNX MatMul's right operand). */
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly relu: boolean;
}

/** An MLP as an ONNX file, and the weights it holds (for a reference computation). */
export interface MlpFixture {
  /** The `.onnx` file's bytes. */
  readonly bytes: Uint8Array;
  readonly inputName: string;
  readonly outputName: string;
  readonly sizes: readonly number[];
  readonly layers: readonly MlpLayer[];
}

/**
 * Builds a multilayer perceptron as an ONNX model: for each layer MatMul + Add, and Relu
 * between layers; input `[N, sizes[0]]` float32 with a dynamic batch dim, output
 * `[N, sizes.at(-1)]`. Weights are Glorot-uniform from a seeded generator, biases small,
 * so the same options give the same file, byte for byte.
 *
 * @example
 * const mlp = buildMlp();                       // 512→2048→1024→512
 * const model = await loadOnnxModel(mlp.bytes);
 * const x = seededFloat32(7 * 512, 1);
 * const out = await model.run({ input: { dtype: "float32", shape: [7, 512], data: x } });
 * const want = runMlpReference(mlp, x, 7);      // compare out.output.data with want
 */
export function buildMlp(options: MlpOptions = {}): MlpFixture {
  const {
    sizes = [512, 2048, 1024, 512],
    seed = 42,
    inputName = "input",
    outputName = "output",
    batchDim = "N",
  } = options;
  if (sizes.length < 2) throw new Error("an MLP needs at least two sizes (input and output)");
  const next = createPrng(seed);
  const layers: MlpLayer[] = [];
  const nodes: NodeDecl[] = [];
  const initializers: InitializerDecl[] = [];
  let x = inputName;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inputs = sizes[l]!;
    const outputs = sizes[l + 1]!;
    const relu = l + 2 < sizes.length;
    const limit = Math.sqrt(6 / (inputs + outputs));
    const weight = new Float32Array(inputs * outputs);
    for (let i = 0; i < weight.length; i++) weight[i] = (next() * 2 - 1) * limit;
    const bias = new Float32Array(outputs);
    for (let i = 0; i < bias.length; i++) bias[i] = (next() * 2 - 1) * 0.1;
    layers.push({ inputs, outputs, weight, bias, relu });
    initializers.push({ name: `w${l}`, dtype: "float32", dims: [inputs, outputs], data: weight });
    initializers.push({ name: `b${l}`, dtype: "float32", dims: [outputs], data: bias });
    const last = l + 2 === sizes.length;
    nodes.push({ op: "MatMul", name: `matmul${l}`, inputs: [x, `w${l}`], outputs: [`mm${l}`] });
    nodes.push({
      op: "Add",
      name: `add${l}`,
      inputs: [`mm${l}`, `b${l}`],
      outputs: [relu ? `pre${l}` : last ? outputName : `h${l}`],
    });
    if (relu) nodes.push({ op: "Relu", name: `relu${l}`, inputs: [`pre${l}`], outputs: [`h${l}`] });
    x = `h${l}`;
  }
  const bytes = encodeModel({
    name: "mlp",
    docString: `MLP ${sizes.join("→")}, seed ${seed}`,
    inputs: [{ name: inputName, dtype: "float32", shape: [batchDim, sizes[0]!] }],
    outputs: [{ name: outputName, dtype: "float32", shape: [batchDim, sizes.at(-1)!] }],
    nodes,
    initializers,
  });
  return { bytes, inputName, outputName, sizes, layers };
}

/**
 * The MLP computed in plain TypeScript, in float64: the reference a session's output is
 * checked against. `input` holds `rows × sizes[0]` values, row-major.
 *
 * @example
 * const want = runMlpReference(mlp, x, 7); // Float64Array of 7 × 512
 */
export function runMlpReference(
  mlp: Pick<MlpFixture, "layers">,
  input: Float32Array | Float64Array,
  rows: number,
): Float64Array {
  let x: Float32Array | Float64Array = input;
  for (const { inputs, outputs, weight, bias, relu } of mlp.layers) {
    if (x.length !== rows * inputs) throw new Error(`expected ${rows} × ${inputs} values, got ${x.length}`);
    const y = new Float64Array(rows * outputs);
    for (let r = 0; r < rows; r++) {
      const row = r * outputs;
      for (let j = 0; j < outputs; j++) y[row + j] = bias[j]!;
      for (let k = 0; k < inputs; k++) {
        const xv = x[r * inputs + k]!;
        if (xv === 0) continue;
        const w = k * outputs;
        for (let j = 0; j < outputs; j++) y[row + j]! += xv * weight[w + j]!;
      }
      if (relu) for (let j = 0; j < outputs; j++) if (y[row + j]! < 0) y[row + j] = 0;
    }
    x = y;
  }
  return x as Float64Array;
}
