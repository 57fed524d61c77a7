/** @jest-environment ./packages/onnx/jest-environment.cjs */
// Zero-code serving: `blaze serve <folder>` on a model repository of ONNX files, with no
// TypeScript at all. One server for the file, over a repository holding a versioned tree
// with a config (the 15 MB MLP, batched), a lone file renamed by its config (openWakeWord's
// real embedding model) and a built model whose ONNX names are not proto field names. The
// clients know only what `blaze proto <folder>` writes (built with buf) and speak gRPC with
// @grpc/grpc-js; every answer is checked against the same file run with onnxruntime directly.
// Then what `blaze serve` refuses, each through the CLI, and `blaze generate` on a folder.
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  createFileRegistry,
  fromBinary,
  getOption,
  type DescMessage,
  type DescMethod,
  type FileRegistry,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { fromTensorProto, toTensorProto, type Tensor, type TensorProto } from "@blazerpc/tensor";
import { model as modelOption } from "@blazerpc/tensor/blazerpc/v1/options_pb.js";
import { loadOnnxModel, type OnnxModel } from "../../packages/onnx/src/index.js";
import { buildMlp, buildModelProto, encodeModel, seededFloat32 } from "../../packages/onnx/src/testing/index.js";
import { histogram, parsePrometheusText } from "./prometheus-text.js";
import { EMBEDDING_MODEL, bufBin, grpcMessage, grpcUnary, repoRoot, startBlaze, type BlazeProcess } from "./support.js";

const BLAZE = path.join(repoRoot, "packages", "cli", "bin", "blaze.js");
const SERVICE = "models.v1.InferenceService";

/** Runs `node blaze.js ...args` in `cwd`; `timedOut` when it had to be killed. */
function blaze(
  args: string[],
  cwd: string,
  timeoutMs = 60_000,
): Promise<{ code: number | null; timedOut: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BLAZE, ...args],
      { cwd, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: unknown; killed?: boolean }) | null;
        resolve({
          code: e === null ? 0 : typeof e.code === "number" ? e.code : null,
          timedOut: e?.killed === true,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** The largest absolute difference between two tensors' values (same dtype and shape). */
function maxAbsDiff(got: Tensor, want: Tensor): number {
  expect({ dtype: got.dtype, shape: got.shape }).toEqual({ dtype: want.dtype, shape: want.shape });
  const a = got.data as Float32Array;
  const b = want.data as Float32Array;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Every file under `dir` with its content and modification time. */
function snapshot(dir: string): Record<string, { content: string; mtimeMs: number }> {
  const out: Record<string, { content: string; mtimeMs: number }> = {};
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    out[path.relative(dir, p)] = { content: fs.readFileSync(p, "utf8"), mtimeMs: fs.statSync(p).mtimeMs };
  }
  return out;
}

const f32 = (shape: number[], seed: number, scale = 1): Tensor<"float32"> => ({
  dtype: "float32",
  shape,
  data: seededFloat32(
    shape.reduce((a, b) => a * b, 1),
    seed,
    scale,
  ),
});

let tmp: string;
let models: string;
let server: BlazeProcess | undefined;
let client: grpc.Client;
let registry: FileRegistry;
const direct: Record<"mlp" | "embedding" | "multi", OnnxModel | undefined> = {
  mlp: undefined,
  embedding: undefined,
  multi: undefined,
};
const mlpV1 = buildMlp({ seed: 1 });
const mlpV2 = buildMlp({ seed: 2 });

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-zero-code-"));
  models = path.join(tmp, "models");
  // blaze proto and generate keep a manifest in the nearest node_modules/.cache: this one, removed with tmp.
  fs.mkdirSync(path.join(tmp, "node_modules"));
  for (const [version, mlp] of [
    ["1", mlpV1],
    ["2", mlpV2],
  ] as const) {
    fs.mkdirSync(path.join(models, "mlp", version), { recursive: true });
    fs.writeFileSync(path.join(models, "mlp", version, "model.onnx"), mlp.bytes);
  }
  fs.writeFileSync(
    path.join(models, "mlp", "config.json"),
    JSON.stringify({ batch: { maxBatchSize: 16, maxDelayMs: 25 } }),
  );
  fs.copyFileSync(EMBEDDING_MODEL, path.join(models, "embedding.onnx"));
  fs.writeFileSync(path.join(models, "embedding.json"), JSON.stringify({ name: "wake-embedding" }));
  fs.writeFileSync(
    path.join(models, "multi.onnx"),
    encodeModel({
      inputs: [
        { name: "x:0", dtype: "float32", shape: ["N", 3] },
        { name: "y", dtype: "float32", shape: ["N", 3] },
      ],
      outputs: [
        { name: "sum", dtype: "float32", shape: ["N", 3] },
        { name: "Prod/Out", dtype: "float32", shape: ["N", 3] },
      ],
      nodes: [
        { op: "Add", inputs: ["x:0", "y"], outputs: ["sum"] },
        { op: "Mul", inputs: ["x:0", "y"], outputs: ["Prod/Out"] },
      ],
    }),
  );

  // The schema a client gets: `blaze proto` beside the folder, built with buf.
  const proto = await blaze(["proto", models], tmp);
  expect({ code: proto.code, stderr: proto.stderr }).toEqual({ code: 0, stderr: "" });
  const set = execFileSync(bufBin, ["build", path.join(tmp, "proto"), "--as-file-descriptor-set", "-o", "-"], {
    maxBuffer: 64 * 1024 * 1024,
  });
  registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, new Uint8Array(set)));

  server = await startBlaze([models, "--port", "0"]);
  client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());

  // The same files, run with onnxruntime directly (its default options, as the server's).
  direct.mlp = await loadOnnxModel(path.join(models, "mlp", "2", "model.onnx"));
  direct.embedding = await loadOnnxModel(path.join(models, "embedding.onnx"));
  direct.multi = await loadOnnxModel(path.join(models, "multi.onnx"));
}, 180_000);

afterAll(async () => {
  client?.close();
  if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill("SIGTERM");
    await server.exited;
  }
  for (const m of Object.values(direct)) await m?.release();
  if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
}, 30_000);

function method(rpc: string): DescMethod {
  const service = registry.getService(SERVICE);
  if (service === undefined) throw new Error(`the built schema has no ${SERVICE}`);
  const m = service.methods.find((d) => d.name === rpc);
  if (m === undefined) throw new Error(`${SERVICE} has no rpc ${rpc}`);
  return m;
}

/** Calls `rpc` over gRPC with a tensor per request field (by proto name); the response's tensors by proto name. */
async function predict(rpc: string, fields: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const m = method(rpc);
  const init: Record<string, TensorProto> = {};
  for (const [name, t] of Object.entries(fields)) {
    const f = m.input.fields.find((d) => d.name === name);
    if (f === undefined) throw new Error(`${m.input.typeName} has no field ${name}`);
    init[f.localName] = toTensorProto(t);
  }
  const res = (await grpcUnary(
    client,
    `/${SERVICE}/${rpc}`,
    m.input,
    m.output,
    init as MessageInitShape<DescMessage>,
  )) as unknown as Record<string, TensorProto | undefined>;
  const out: Record<string, Tensor> = {};
  for (const f of m.output.fields) out[f.name] = fromTensorProto(res[f.localName], undefined, f.name);
  return out;
}

async function scrapeBatchSize(): Promise<{ count: number; sum: number; buckets: Map<number, number> }> {
  const res = await fetch(`${server!.url}/metrics`);
  expect(res.status).toBe(200);
  const family = parsePrometheusText(await res.text()).get("blazerpc_batch_size");
  const h = family === undefined ? undefined : histogram(family, { model: "mlp" });
  return h ?? { count: 0, sum: 0, buckets: new Map() };
}

describe("blaze serve <model repository>", () => {
  it("loads every model (the tree's highest version, batched) and lists one RPC per model", () => {
    const out = server!.output();
    expect(out).toMatch(
      /^blaze: loaded "wake-embedding" v1 \(batched\), "mlp" v2 \(batched\), "multi" v1 \(batched\) from \S*models \(\d+ ms\)$/m,
    );
    expect(out).toMatch(/^ {2}unary {3}POST \/models\.v1\.InferenceService\/PredictMlp +model "mlp"$/m);
    expect(out).toMatch(
      /^ {2}unary {3}POST \/models\.v1\.InferenceService\/PredictWakeEmbedding +model "wake-embedding"$/m,
    );
    expect(out).toMatch(/^ {2}unary {3}POST \/models\.v1\.InferenceService\/PredictMulti +model "multi"$/m);
    expect(out).not.toMatch(/PredictEmbedding\b/);
  });

  it("the schema from blaze proto names each model with its version in the method's (blazerpc.v1.model) option", () => {
    expect(getOption(method("PredictMlp"), modelOption)).toMatchObject({
      name: "mlp",
      version: "2",
      objectResult: true,
    });
    expect(getOption(method("PredictWakeEmbedding"), modelOption)).toMatchObject({
      name: "wake-embedding",
      version: "1",
    });
    expect(method("PredictMulti").input.fields.map((f) => f.name)).toEqual(["x_0", "y"]);
    expect(method("PredictMulti").output.fields.map((f) => f.name)).toEqual(["sum", "prod_out"]);
    expect(method("PredictWakeEmbedding").input.fields.map((f) => f.name)).toEqual(["input_1"]);
  });

  it("embeds real-shaped audio features [2, 76, 32, 1] as onnxruntime does directly", async () => {
    const input = f32([2, 76, 32, 1], 7, 2);
    const got = await predict("PredictWakeEmbedding", { input_1: input });
    const want = await direct.embedding!.run({ input_1: input });
    expect(Object.keys(got)).toEqual(["conv2d_19"]);
    expect(got.conv2d_19!.shape).toEqual([2, 1, 1, 96]);
    expect(maxAbsDiff(got.conv2d_19!, want.conv2d_19!)).toBeLessThanOrEqual(1e-6);
    // Two rows, two embeddings: not one row copied.
    const d = got.conv2d_19!.data as Float32Array;
    expect(
      maxAbsDiff({ ...got.conv2d_19!, data: d.subarray(0, 96) }, { ...got.conv2d_19!, data: d.subarray(96) }),
    ).toBeGreaterThan(1e-3);
  });

  it("answers both outputs of a model whose ONNX names are not field names (x:0, Prod/Out)", async () => {
    const x = f32([4, 3], 11);
    const y = f32([4, 3], 12);
    const got = await predict("PredictMulti", { x_0: x, y });
    const want = await direct.multi!.run({ "x:0": x, y });
    expect(maxAbsDiff(got.sum!, want.sum!)).toBeLessThanOrEqual(1e-6);
    expect(maxAbsDiff(got.prod_out!, want["Prod/Out"]!)).toBeLessThanOrEqual(1e-6);
    // Not the same output twice.
    expect(maxAbsDiff(got.sum!, got.prod_out!)).toBeGreaterThan(0.1);
  });

  it("serves version 2 of the MLP, not version 1", async () => {
    const x = f32([1, 512], 21);
    const got = await predict("PredictMlp", { input: x });
    const want = await direct.mlp!.run({ input: x });
    expect(maxAbsDiff(got.output!, want.output!)).toBeLessThanOrEqual(1e-5);
    const v1 = await loadOnnxModel(path.join(models, "mlp", "1", "model.onnx"));
    try {
      const other = await v1.run({ input: x });
      expect(maxAbsDiff(got.output!, other.output!)).toBeGreaterThan(0.05);
    } finally {
      await v1.release();
    }
  });

  it("batches concurrent MLP calls (config: maxBatchSize 16, maxDelayMs 25), each caller getting its own row", async () => {
    const before = await scrapeBatchSize();
    const inputs = Array.from({ length: 12 }, (_, i) => f32([1, 512], 100 + i));
    const results = await Promise.all(inputs.map((input) => predict("PredictMlp", { input })));
    const after = await scrapeBatchSize();
    const calls = after.count - before.count;
    const rows = after.sum - before.sum;
    expect(rows).toBe(12);
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThan(12);
    // Some model call took more than one row; none more than 16.
    const oneRow = (after.buckets.get(1) ?? 0) - (before.buckets.get(1) ?? 0);
    expect(oneRow).toBeLessThan(calls);
    expect((after.buckets.get(16) ?? 0) - (before.buckets.get(16) ?? 0)).toBe(calls);
    for (const [i, res] of results.entries()) {
      const want = await direct.mlp!.run({ input: inputs[i]! });
      expect(res.output!.shape).toEqual([1, 512]);
      expect(maxAbsDiff(res.output!, want.output!)).toBeLessThanOrEqual(1e-5);
    }
  });

  it("refuses a tensor of the wrong shape with INVALID_ARGUMENT naming the field", async () => {
    const err = await predict("PredictMulti", { x_0: f32([2, 4], 1), y: f32([2, 3], 2) }).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(grpcMessage(err)).toMatch(/^x_0: /);
    const err2 = await predict("PredictWakeEmbedding", { input_1: f32([1, 76, 32], 3) }).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err2?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(grpcMessage(err2)).toMatch(/^input_1: /);
  });

  it("is ready, and describes the models in /openapi.json", async () => {
    expect((await fetch(`${server!.url}/readyz`)).status).toBe(200);
    const res = await fetch(`${server!.url}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/models.v1.InferenceService/PredictWakeEmbedding",
        "/models.v1.InferenceService/PredictMlp",
        "/models.v1.InferenceService/PredictMulti",
      ]),
    );
  });

  it("blaze proto again leaves every schema file as it was, the lock file included", async () => {
    const protoDir = path.join(tmp, "proto");
    const before = snapshot(protoDir);
    expect(Object.keys(before).sort()).toEqual(
      [
        path.join("blazerpc", "v1", "options.proto"),
        path.join("blazerpc", "v1", "tensor.proto"),
        path.join("models", "v1", "models.lock.json"),
        path.join("models", "v1", "models.proto"),
      ].sort(),
    );
    const again = await blaze(["proto", models], tmp);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
    expect(again.stdout).toMatch(/^blaze: proto +unchanged/m);
    expect(snapshot(protoDir)).toEqual(before);
  });

  it("stops on SIGTERM with exit code 0", async () => {
    server!.child.kill("SIGTERM");
    expect(await server!.exited).toBe(0);
  });
});

describe("blaze serve refuses, naming the problem (exit code 1)", () => {
  let errors: string;
  beforeAll(() => {
    errors = path.join(tmp, "errors");
    const identity = encodeModel({
      inputs: [{ name: "x", dtype: "float32", shape: ["N", 2] }],
      outputs: [{ name: "y", dtype: "float32", shape: ["N", 2] }],
      nodes: [{ op: "Identity", inputs: ["x"], outputs: ["y"] }],
    });
    const write = (rel: string, content: string | Uint8Array) => {
      const p = path.join(errors, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content);
    };
    write("bad-config/m.onnx", identity);
    write("bad-config/m.json", JSON.stringify({ batch: { maxBatchSize: 4 }, threads: 2 }));
    const strings = buildModelProto({
      inputs: [{ name: "text", dtype: "float32", shape: [1] }],
      outputs: [{ name: "same", dtype: "float32", shape: [1] }],
      nodes: [{ op: "Identity", inputs: ["text"], outputs: ["same"] }],
    });
    for (const v of [...strings.graph!.input, ...strings.graph!.output]) {
      if (v.type?.value.case === "tensorType") v.type.value.value.elemType = 8; // TensorProto.STRING
    }
    write("strings/ok.onnx", identity);
    write("strings/text.onnx", encodeModel(strings));
    write("clash/score-reviews.onnx", identity);
    write("clash/score_reviews.onnx", identity);
    write("empty/README.md", "no models here\n");
  });

  const serveError = async (dir: string) => {
    const r = await blaze(["serve", dir, "--port", "0"], errors, 30_000);
    expect({ timedOut: r.timedOut, code: r.code, stdout: r.stdout }).toEqual({ timedOut: false, code: 1, stdout: "" });
    return r.stderr;
  };

  it("a config with an unknown key", async () => {
    expect(await serveError("bad-config")).toBe(
      'blaze: bad-config/m.json: unknown key "threads" (known: name, version, description, batch, intraOpNumThreads, interOpNumThreads, executionProviders)\n',
    );
  });

  it("a model with a string input, naming the input", async () => {
    const stderr = await serveError("strings");
    expect(stderr).toContain(`cannot load ONNX model ${path.join(errors, "strings", "text.onnx")}: input "text"`);
    expect(stderr).toContain("has element type string, which BlazeRPC tensors cannot hold");
  });

  it("two models that become one RPC, in one message naming both", async () => {
    expect(await serveError("clash")).toBe(
      'blaze: models "score-reviews" (clash/score-reviews.onnx) and "score_reviews" (clash/score_reviews.onnx) both become rpc PredictScoreReviews in the schema — rename one\n',
    );
  });

  it("a folder with no model", async () => {
    expect(await serveError("empty")).toBe(
      "blaze: empty holds no model: put <name>.onnx files in it, or <name>/<version>/model.onnx folders (Triton's layout)\n",
    );
  });
});

describe("blaze generate <model repository>", () => {
  it("writes the typed client and the protobuf-es messages", async () => {
    const r = await blaze(["generate", models], tmp);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^blaze: extract +models: app "models", 3 model\(s\) read from 3 ONNX file\(s\)/m);
    const gen = path.join(tmp, "gen", "models", "v1");
    const clientTs = fs.readFileSync(path.join(gen, "models_client.ts"), "utf8");
    expect(clientTs).toContain("export function createInferenceServiceClient(transport: Transport)");
    expect(clientTs).toMatch(/predictWakeEmbedding\(/);
    expect(clientTs).toContain('Tensor<"float32", ["batch", 76, 32, 1]>');
    expect(clientTs).toContain('Tensor<"float32", ["batch", 512]>');
    const pb = fs.readFileSync(path.join(gen, "models_pb.ts"), "utf8");
    expect(pb).toContain("export const PredictMultiRequestSchema");
    expect(pb).toContain("export const InferenceService");
  });
});
