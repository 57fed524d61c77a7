/** @jest-environment ./packages/onnx/jest-environment.cjs */
// Open Inference Protocol (KServe v2) conformance of zero-code ONNX models, with clients
// this project did not write: Python grpcio from Debian, its stubs compiled by
// grpc_tools.protoc from KServe's own grpc_predict_v2.proto, and the real curl for REST.
// One `blaze serve <folder>` process for the file, over a model repository holding
// openWakeWord's real embedding model as a versioned tree (embedding/1/model.onnx) and the
// MLP fixture as a lone file with a config (mlp.onnx, mlp.json: batched, at most 16 rows).
// Every metadata answer is compared with what onnxruntime reads from the same file, and
// every inference answer with a direct onnxruntime run of the same file on the same input.
// (test/e2e/oip.spec.ts covers the protocol on a TypeScript model, in process.)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import type { Tensor } from "@blazerpc/tensor";
import { loadOnnxModel, type OnnxModel, type OnnxValueInfo } from "../../packages/onnx/src/index.js";
import { buildMlp, seededFloat32 } from "../../packages/onnx/src/testing/index.js";
import { histogram, parsePrometheusText } from "./prometheus-text.js";
import { EMBEDDING_MODEL, compileKserveForPython, python, run, startBlaze, type BlazeProcess } from "./support.js";

const curlBin = "/usr/bin/curl";
const SERVED = '"embedding", "mlp"';
/** The embedding model's input, [rows, 76, 32, 1]: one row's element count. */
const EMBEDDING_ROW = 76 * 32;

let tmp: string;
let models: string;
/** The Python stubs and scripts. */
let pyDir: string;
let server: BlazeProcess | undefined;
const direct: Record<"embedding" | "mlp", OnnxModel | undefined> = { embedding: undefined, mlp: undefined };

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-oip-conformance-"));
  models = path.join(tmp, "models");
  fs.mkdirSync(path.join(models, "embedding", "1"), { recursive: true });
  fs.copyFileSync(EMBEDDING_MODEL, path.join(models, "embedding", "1", "model.onnx"));
  fs.writeFileSync(path.join(models, "mlp.onnx"), buildMlp().bytes);
  fs.writeFileSync(path.join(models, "mlp.json"), JSON.stringify({ batch: { maxBatchSize: 16, maxDelayMs: 30 } }));

  // KServe's proto, compiled for Python grpcio by Debian's grpc_tools.
  pyDir = path.join(tmp, "py");
  fs.mkdirSync(pyDir);
  expect(compileKserveForPython(pyDir)).toEqual({ code: 0, err: "" });

  server = await startBlaze([models, "--port", "0"]);
  expect(server.output()).toMatch(/^blaze: loaded "embedding" v1 \(batched\), "mlp" v1 \(batched\) from /m);

  // The same files, run with onnxruntime directly (its default options, as the server's).
  direct.embedding = await loadOnnxModel(path.join(models, "embedding", "1", "model.onnx"));
  direct.mlp = await loadOnnxModel(path.join(models, "mlp.onnx"));
}, 180_000);

afterAll(async () => {
  let exit: Awaited<BlazeProcess["exited"]> | undefined;
  if (server !== undefined) {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGTERM");
    exit = await server.exited;
  }
  for (const m of Object.values(direct)) await m?.release();
  if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
  // It stops on SIGTERM, cleanly.
  if (server !== undefined) expect(exit).toBe(0);
}, 30_000);

const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
/** Little-endian float32 bytes as a Float32Array (copied: the bytes need not be aligned). */
const floatsOf = (b: Uint8Array) => new Float32Array(new Uint8Array(b).buffer);

const f32 = (shape: number[], seed: number, scale = 1): Tensor<"float32"> => ({
  dtype: "float32",
  shape,
  data: seededFloat32(
    shape.reduce((a, b) => a * b, 1),
    seed,
    scale,
  ),
});

/** The largest absolute difference between two arrays of floats of the same length. */
function maxAbsDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let max = 0;
  for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i]! - want[i]!));
  return max;
}

/** onnxruntime's output of a direct run of the model's file: its one output's data. */
async function directRun(model: "embedding" | "mlp", input: Tensor<"float32">): Promise<Tensor> {
  const m = direct[model]!;
  const out = await m.run({ [m.inputs[0]!.name]: input });
  return out[m.outputs[0]!.name]!;
}

/** A datatype of the protocol for a dtype onnxruntime reports (those of these models). */
const OIP_DATATYPE: Record<string, string> = { float32: "FP32", float64: "FP64", int64: "INT64", int32: "INT32" };

/** What OIP metadata must say of a value onnxruntime reads from the file: its name, datatype and dims, -1 for a dynamic one. */
const expectedTensor = (v: OnnxValueInfo) => ({
  name: v.name,
  datatype: OIP_DATATYPE[v.dtype],
  shape: v.onnxShape!.map((d) => (typeof d === "number" ? d : -1)),
});

const expectedMetadata = (name: "embedding" | "mlp") => ({
  name,
  versions: ["1"],
  platform: "blazerpc",
  inputs: direct[name]!.inputs.map(expectedTensor),
  outputs: direct[name]!.outputs.map(expectedTensor),
});

// --- Python grpcio -----------------------------------------------------------------------

/** What every script starts with: the stubs, a channel to the server, and helpers. */
const PY_PRELUDE = `
import base64, json, struct, sys, grpc
from inference import grpc_predict_v2_pb2 as pb, grpc_predict_v2_pb2_grpc as pb_grpc
DIR = sys.argv[2]
channel = grpc.insecure_channel(sys.argv[1])
stub = pb_grpc.GRPCInferenceServiceStub(channel)
out = {}
def b64(b):
    return base64.b64encode(b).decode()
def read(name):
    with open(DIR + '/' + name, 'rb') as f:
        return f.read()
def failure(call):
    """The status code's name and the message a call fails with (["OK", ""] when it does not)."""
    try:
        call()
        return ['OK', '']
    except grpc.RpcError as e:
        return [e.code().name, e.details()]
def tensors(ts):
    return [{'name': t.name, 'datatype': t.datatype, 'shape': list(t.shape)} for t in ts]
def infer_request(model, name, datatype, shape, raw=None, version='', outputs=(), id=''):
    req = pb.ModelInferRequest(model_name=model, model_version=version, id=id)
    req.inputs.add(name=name, datatype=datatype, shape=list(shape))
    if raw is not None:
        req.raw_input_contents.append(raw)
    for o in outputs:
        req.outputs.add(name=o)
    return req
def answer(res):
    return {
        'model_name': res.model_name,
        'model_version': res.model_version,
        'id': res.id,
        'outputs': tensors(res.outputs),
        'raw': [b64(b) for b in res.raw_output_contents],
    }
`;

let scripts = 0;

/**
 * Runs a Python grpcio script (the prelude, then `body`, which fills `out`) against the
 * server, with `files` written beside it for `read(name)`; resolves with `out`. Every RPC
 * carries its own deadline; the process, 60 s at most.
 */
async function py<T>(body: string, files: Record<string, Uint8Array> = {}): Promise<T> {
  const dir = fs.mkdtempSync(path.join(tmp, "data-"));
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes);
  const script = path.join(pyDir, `script_${++scripts}.py`);
  fs.writeFileSync(script, `${PY_PRELUDE}\n${body.trim()}\n\nprint(json.dumps(out))\n`);
  const r = await run(python, [script, `127.0.0.1:${server!.port}`, dir], 60_000);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return JSON.parse(r.stdout) as T;
}

interface PyAnswer {
  model_name: string;
  model_version: string;
  id: string;
  outputs: { name: string; datatype: string; shape: number[] }[];
  raw: string[];
}

describe("gRPC inference.GRPCInferenceService with Python grpcio (Debian), stubs from KServe's proto", () => {
  it("ServerLive, ServerReady, ServerMetadata, and ModelReady of both models (with and without a version)", async () => {
    const got = await py<Record<string, unknown>>(`
out['live'] = stub.ServerLive(pb.ServerLiveRequest(), timeout=10).live
out['ready'] = stub.ServerReady(pb.ServerReadyRequest(), timeout=10).ready
meta = stub.ServerMetadata(pb.ServerMetadataRequest(), timeout=10)
out['meta'] = [meta.name, meta.version, list(meta.extensions)]
out['models'] = [stub.ModelReady(pb.ModelReadyRequest(name=n, version=v), timeout=10).ready
                 for n in ('embedding', 'mlp') for v in ('', '1')]
`);
    expect(got).toEqual({
      live: true,
      ready: true,
      meta: ["blazerpc", "0.1.0", ["binary_tensor_data"]],
      models: [true, true, true, true],
    });
  });

  it("ModelMetadata of each model is the file's signature as onnxruntime reads it (a dynamic dim is -1)", async () => {
    const got = await py<Record<string, unknown>>(`
for name in ('embedding', 'mlp'):
    for version in ('', '1'):
        m = stub.ModelMetadata(pb.ModelMetadataRequest(name=name, version=version), timeout=10)
        out[name + '@' + version] = {'name': m.name, 'versions': list(m.versions), 'platform': m.platform,
                                     'inputs': tensors(m.inputs), 'outputs': tensors(m.outputs)}
`);
    // What onnxruntime reads: embedding input_1 [?, 76, 32, 1] → conv2d_19 [?, 1, 1, 96]; mlp input [N, 512] → output [N, 512].
    expect(expectedMetadata("embedding")).toEqual({
      name: "embedding",
      versions: ["1"],
      platform: "blazerpc",
      inputs: [{ name: "input_1", datatype: "FP32", shape: [-1, 76, 32, 1] }],
      outputs: [{ name: "conv2d_19", datatype: "FP32", shape: [-1, 1, 1, 96] }],
    });
    expect(expectedMetadata("mlp").inputs).toEqual([{ name: "input", datatype: "FP32", shape: [-1, 512] }]);
    expect(got).toEqual({
      "embedding@": expectedMetadata("embedding"),
      "embedding@1": expectedMetadata("embedding"),
      "mlp@": expectedMetadata("mlp"),
      "mlp@1": expectedMetadata("mlp"),
    });
  });

  /**
   * Infers with `input` three times, from Python: its bytes in raw_input_contents (version
   * "1" and the output named), its values in typed fp32_contents (neither), and its bytes
   * again over a channel that gzips its messages (grpc-encoding: gzip); checks each
   * answer's header and returns the outputs' values.
   */
  async function inferThreeWays(model: "embedding" | "mlp", input: Tensor<"float32">): Promise<Float32Array[]> {
    const m = direct[model]!;
    const [inputName, outputName] = [m.inputs[0]!.name, m.outputs[0]!.name];
    const x = input.data as Float32Array;
    const got = await py<{ raw: PyAnswer; typed: PyAnswer; gzip: PyAnswer }>(
      `
x = read('input.bin')
req = infer_request(${JSON.stringify(model)}, ${JSON.stringify(inputName)}, 'FP32', ${JSON.stringify(input.shape)},
                    raw=x, version='1', outputs=[${JSON.stringify(outputName)}], id='raw-${model}')
out['raw'] = answer(stub.ModelInfer(req, timeout=30))
typed = infer_request(${JSON.stringify(model)}, ${JSON.stringify(inputName)}, 'FP32', ${JSON.stringify(input.shape)})
typed.inputs[0].contents.fp32_contents.extend(struct.unpack('<${x.length}f', x))
out['typed'] = answer(stub.ModelInfer(typed, timeout=30))
gzip = pb_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(sys.argv[1], compression=grpc.Compression.Gzip))
req.id = 'gzip'
out['gzip'] = answer(gzip.ModelInfer(req, timeout=30))
`,
      { "input.bin": bytesOf(x) },
    );
    const want = await directRun(model, input);
    for (const [answer, id] of [
      [got.raw, `raw-${model}`],
      [got.typed, ""],
      [got.gzip, "gzip"],
    ] as const) {
      expect({ ...answer, raw: answer.raw.length }).toEqual({
        model_name: model,
        model_version: "1",
        id,
        outputs: [{ name: outputName, datatype: "FP32", shape: want.shape }],
        raw: 1,
      });
    }
    return [got.raw, got.typed, got.gzip].map((a) => floatsOf(Buffer.from(a.raw[0]!, "base64")));
  }

  it("ModelInfer on the embedding model [2, 76, 32, 1], raw_input_contents, fp32_contents and gzipped: onnxruntime's answer within 1e-6", async () => {
    const input = f32([2, 76, 32, 1], 31, 2);
    const want = (await directRun("embedding", input)).data as Float32Array;
    expect(want.length).toBe(2 * 96);
    for (const got of await inferThreeWays("embedding", input)) {
      expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-6);
      // Two rows, two embeddings: not one row copied.
      expect(maxAbsDiff(got.subarray(0, 96), got.subarray(96))).toBeGreaterThan(1e-3);
    }
  });

  it("ModelInfer on the MLP [2, 512], raw_input_contents, fp32_contents and gzipped: onnxruntime's answer within 1e-6", async () => {
    const input = f32([2, 512], 32);
    const want = (await directRun("mlp", input)).data as Float32Array;
    for (const got of await inferThreeWays("mlp", input)) {
      expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDiff(got.subarray(0, 512), got.subarray(512))).toBeGreaterThan(1e-3);
    }
  });

  it("16 concurrent MLP ModelInfer calls (grpcio futures) are batched: fewer model calls than rows (blazerpc_batch_size at /metrics)", async () => {
    const batches = async () => {
      const res = await fetch(`${server!.url}/metrics`);
      expect(res.status).toBe(200);
      const family = parsePrometheusText(await res.text()).get("blazerpc_batch_size");
      const h = family === undefined ? undefined : histogram(family, { model: "mlp" });
      return h ?? { count: 0, sum: 0, buckets: new Map<number, number>() };
    };
    const n = 16;
    const inputs = Array.from({ length: n }, (_, i) => f32([1, 512], 200 + i));
    const before = await batches();
    const got = await py<{ answers: PyAnswer[] }>(
      `
x = read('inputs.bin')
calls = [stub.ModelInfer.future(infer_request('mlp', 'input', 'FP32', [1, 512], raw=x[i * 2048:(i + 1) * 2048], id=str(i)),
                                timeout=60)
         for i in range(${n})]
out['answers'] = [answer(c.result()) for c in calls]
`,
      { "inputs.bin": Buffer.concat(inputs.map((t) => bytesOf(t.data))) },
    );
    const after = await batches();
    const calls = after.count - before.count;
    expect(after.sum - before.sum).toBe(n);
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThan(n);
    // Some model call took more than one row; none more than the config's 16.
    expect((after.buckets.get(1) ?? 0) - (before.buckets.get(1) ?? 0)).toBeLessThan(calls);
    expect((after.buckets.get(16) ?? 0) - (before.buckets.get(16) ?? 0)).toBe(calls);
    // Each caller got its own row.
    expect(got.answers.map((a) => [a.id, a.outputs])).toEqual(
      inputs.map((_, i) => [String(i), [{ name: "output", datatype: "FP32", shape: [1, 512] }]]),
    );
    for (const [i, a] of got.answers.entries()) {
      const want = (await directRun("mlp", inputs[i]!)).data as Float32Array;
      expect(maxAbsDiff(floatsOf(Buffer.from(a.raw[0]!, "base64")), want)).toBeLessThanOrEqual(1e-5);
    }
  });

  it("answers every error with gRPC's status code and a message naming what is wrong", async () => {
    const got = await py<Record<string, [string, string]>>(
      `
x = read('input.bin')
emb = lambda **kw: infer_request('embedding', kw.pop('name', 'input_1'), kw.pop('datatype', 'FP32'),
                                 kw.pop('shape', [1, 76, 32, 1]), **kw)
infer = lambda req: failure(lambda: stub.ModelInfer(req, timeout=10))
out['ModelInfer unknown model'] = infer(infer_request('nope', 'input_1', 'FP32', [1, 76, 32, 1], raw=x))
out['ModelMetadata unknown model'] = failure(lambda: stub.ModelMetadata(pb.ModelMetadataRequest(name='nope'), timeout=10))
out['ModelReady unknown model'] = failure(lambda: stub.ModelReady(pb.ModelReadyRequest(name='nope'), timeout=10))
out['ModelInfer unknown version'] = infer(emb(raw=x, version='2'))
out['ModelMetadata unknown version'] = failure(
    lambda: stub.ModelMetadata(pb.ModelMetadataRequest(name='mlp', version='7'), timeout=10))
out['ModelReady unknown version'] = failure(
    lambda: stub.ModelReady(pb.ModelReadyRequest(name='embedding', version='0'), timeout=10))
out['wrong datatype'] = infer(emb(datatype='FP64', raw=x + x))
out['wrong datatype (INT32)'] = infer(emb(datatype='INT32', raw=x))
out['wrong fixed dim'] = infer(emb(shape=[1, 76, 32, 2], raw=x + x))
out['wrong rank'] = infer(emb(shape=[1, 76, 32], raw=x))
out['negative dim'] = infer(emb(shape=[-1, 76, 32, 1], raw=x))
out['raw content too short'] = infer(emb(raw=x[:-1]))
out['raw content too long'] = infer(emb(raw=x + b'\\0\\0\\0\\0'))
typed = emb()
typed.inputs[0].contents.fp32_contents.extend([0.5] * 2431)
out['typed contents of the wrong count'] = infer(typed)
ints = emb()
ints.inputs[0].contents.int_contents.extend([1] * 2432)
out['typed contents in the wrong field'] = infer(ints)
both = emb(raw=x)
both.inputs[0].contents.fp32_contents.extend([0.5] * 2432)
out['typed and raw contents'] = infer(both)
two = emb(raw=x)
two.inputs.add(name='input_1', datatype='FP32', shape=[1, 76, 32, 1])
out['fewer raw contents than inputs'] = infer(two)
out['unknown input name'] = infer(emb(name='input', raw=x))
out['missing input'] = infer(pb.ModelInferRequest(model_name='embedding'))
out['unknown requested output'] = infer(emb(raw=x, outputs=['output']))
out['an output requested twice'] = infer(emb(raw=x, outputs=['conv2d_19', 'conv2d_19']))
out['more rows than the MLP takes'] = infer(infer_request('mlp', 'input', 'FP32', [17, 512], raw=bytes(17 * 2048)))
deflate = pb_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(sys.argv[1], compression=grpc.Compression.Deflate))
out['a deflate-compressed message'] = failure(lambda: deflate.ModelInfer(emb(raw=x), timeout=10))
out['not implemented'] = failure(
    lambda: stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name='mlp'), timeout=10))
`,
      { "input.bin": bytesOf(seededFloat32(EMBEDDING_ROW, 33)) },
    );
    const embShape = "[-1,76,32,1]";
    expect(got).toEqual({
      "ModelInfer unknown model": ["NOT_FOUND", `unknown model "nope"; the models served are: ${SERVED}`],
      "ModelMetadata unknown model": ["NOT_FOUND", `unknown model "nope"; the models served are: ${SERVED}`],
      "ModelReady unknown model": ["NOT_FOUND", `unknown model "nope"; the models served are: ${SERVED}`],
      "ModelInfer unknown version": ["NOT_FOUND", 'model "embedding" has no version "2"; it serves version "1"'],
      "ModelMetadata unknown version": ["NOT_FOUND", 'model "mlp" has no version "7"; it serves version "1"'],
      "ModelReady unknown version": ["NOT_FOUND", 'model "embedding" has no version "0"; it serves version "1"'],
      "wrong datatype": [
        "INVALID_ARGUMENT",
        'input "input_1": datatype is "FP64", expected FP32 (the model\'s float32)',
      ],
      "wrong datatype (INT32)": [
        "INVALID_ARGUMENT",
        'input "input_1": datatype is "INT32", expected FP32 (the model\'s float32)',
      ],
      "wrong fixed dim": [
        "INVALID_ARGUMENT",
        `input "input_1": shape [1,76,32,2] does not match the model's ${embShape} (dim 3 is 2, expected 1)`,
      ],
      "wrong rank": [
        "INVALID_ARGUMENT",
        `input "input_1": shape [1,76,32] does not match the model's ${embShape} (3 dims, expected 4)`,
      ],
      "negative dim": ["INVALID_ARGUMENT", 'input "input_1": the shape holds -1; dims are integers ≥ 0'],
      "raw content too short": [
        "INVALID_ARGUMENT",
        'input "input_1": expected 9728 bytes for shape [1,76,32,1] of FP32, got 9727',
      ],
      "raw content too long": [
        "INVALID_ARGUMENT",
        'input "input_1": expected 9728 bytes for shape [1,76,32,1] of FP32, got 9732',
      ],
      "typed contents of the wrong count": [
        "INVALID_ARGUMENT",
        'input "input_1": expected 2432 values for shape [1,76,32,1], got 2431',
      ],
      "typed contents in the wrong field": [
        "INVALID_ARGUMENT",
        'input "input_1": FP32 values go in fp32_contents, but the request sets int_contents',
      ],
      "typed and raw contents": [
        "INVALID_ARGUMENT",
        'input "input_1": it sets contents, but the request sends raw_input_contents: use one or the other',
      ],
      "fewer raw contents than inputs": [
        "INVALID_ARGUMENT",
        "raw_input_contents holds 1 entries for 2 inputs: one per input, in the order of the inputs",
      ],
      "unknown input name": ["INVALID_ARGUMENT", 'unknown input "input"; model "embedding" takes "input_1"'],
      "missing input": ["INVALID_ARGUMENT", 'missing input "input_1"; model "embedding" takes "input_1"'],
      "unknown requested output": ["INVALID_ARGUMENT", 'unknown output "output"; model "embedding" gives "conv2d_19"'],
      "an output requested twice": ["INVALID_ARGUMENT", 'output "conv2d_19" is requested twice'],
      "more rows than the MLP takes": [
        "INVALID_ARGUMENT",
        'model "mlp": a request may hold at most 16 rows (maxRowsPerRequest), got 17',
      ],
      // gRPC's compression spec: an encoding the server does not take is UNIMPLEMENTED, naming those it does.
      "a deflate-compressed message": [
        "UNIMPLEMENTED",
        'unknown compression "deflate": supported encodings are gzip,br',
      ],
      "not implemented": ["UNIMPLEMENTED", "inference.GRPCInferenceService.RepositoryModelLoad is not implemented"],
    });
  });
});

// --- curl --------------------------------------------------------------------------------

interface CurlAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** Runs curl (HTTP/1.1) with `args`; resolves with the status, content type and body. */
async function curl(args: string[]): Promise<CurlAnswer> {
  const r = await run(curlBin, ["-sS", "--max-time", "20", "-w", "\n%{content_type}\n%{http_code}", ...args], 30_000);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  const lines = r.stdout.split("\n");
  const status = Number(lines.pop());
  const contentType = lines.pop()!;
  return { status, contentType, body: lines.join("\n") };
}

const url = (p: string) => `${server!.url}${p}`;

/** POSTs `body` (written to a file first: curl reads it as it is) to `p`, with `headers`. */
function post(p: string, body: string | Uint8Array, headers: string[] = []): Promise<CurlAnswer> {
  const file = path.join(fs.mkdtempSync(path.join(tmp, "curl-")), "body");
  fs.writeFileSync(file, body);
  return curl([...headers.flatMap((h) => ["-H", h]), "--data-binary", `@${file}`, url(p)]);
}

/** A binary-extension body: the JSON, then `binary`; with its header length. */
function binaryBody(json: unknown, binary: Uint8Array): { body: Buffer; headerLength: number } {
  const head = Buffer.from(JSON.stringify(json));
  return { body: Buffer.concat([head, binary]), headerLength: head.byteLength };
}

describe("REST (KServe v2) with curl", () => {
  it("GET server metadata, liveness, readiness, and each model's metadata (by name and by version) and readiness", async () => {
    const meta = await curl([url("/v2")]);
    expect([meta.status, meta.contentType, JSON.parse(meta.body)]).toEqual([
      200,
      "application/json",
      { name: "blazerpc", version: "0.1.0", extensions: ["binary_tensor_data"] },
    ]);
    for (const p of [
      "/v2/health/live",
      "/v2/health/ready",
      "/v2/models/embedding/ready",
      "/v2/models/embedding/versions/1/ready",
      "/v2/models/mlp/ready",
      "/v2/models/mlp/versions/1/ready",
    ]) {
      const r = await curl([url(p)]);
      expect([p, r.status, r.body]).toEqual([p, 200, ""]);
    }
    for (const model of ["embedding", "mlp"] as const) {
      for (const p of [`/v2/models/${model}`, `/v2/models/${model}/versions/1`]) {
        const r = await curl([url(p)]);
        expect([p, r.status, r.contentType, JSON.parse(r.body)]).toEqual([
          p,
          200,
          "application/json",
          expectedMetadata(model),
        ]);
      }
    }
  });

  it("POST JSON numbers to the embedding model: onnxruntime's answer within 1e-6 (float32 through JSON)", async () => {
    const input = f32([2, 76, 32, 1], 41, 2);
    const want = await directRun("embedding", input);
    const x = Array.from(input.data);
    // Flat, and nested as the shape is: both row-major.
    const nested = [0, 1].map((r) =>
      Array.from({ length: 76 }, (_, i) => Array.from({ length: 32 }, (_, j) => [x[r * EMBEDDING_ROW + i * 32 + j]!])),
    );
    for (const [data, p] of [
      [x, "/v2/models/embedding/infer"],
      [nested, "/v2/models/embedding/versions/1/infer"],
    ] as const) {
      const r = await post(
        p,
        JSON.stringify({
          id: "curl-json",
          inputs: [{ name: "input_1", datatype: "FP32", shape: [2, 76, 32, 1], data }],
        }),
        ["content-type: application/json"],
      );
      expect([r.status, r.contentType]).toEqual([200, "application/json"]);
      const body = JSON.parse(r.body) as {
        outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
      };
      expect({ ...body, outputs: body.outputs.map((o) => ({ ...o, data: o.data.length })) }).toEqual({
        model_name: "embedding",
        model_version: "1",
        id: "curl-json",
        outputs: [{ name: "conv2d_19", datatype: "FP32", shape: want.shape, data: 2 * 96 }],
      });
      const values = body.outputs[0]!.data;
      // Each number is a float32 written exactly: Math.fround leaves it as it is.
      expect(values.every((v) => Math.fround(v) === v)).toBe(true);
      expect(maxAbsDiff(values.map(Math.fround), want.data as Float32Array)).toBeLessThanOrEqual(1e-6);
    }
  });

  it("POST binary tensor data (Inference-Header-Content-Length, binary_data_size, binary_data_output) and decode the binary answer", async () => {
    for (const [model, input] of [
      ["embedding", f32([3, 76, 32, 1], 42, 2)],
      ["mlp", f32([4, 512], 43)],
    ] as const) {
      const m = direct[model]!;
      const want = await directRun(model, input);
      const x = bytesOf(input.data);
      const { body, headerLength } = binaryBody(
        {
          id: `bin-${model}`,
          inputs: [
            {
              name: m.inputs[0]!.name,
              datatype: "FP32",
              shape: input.shape,
              parameters: { binary_data_size: x.byteLength },
            },
          ],
          parameters: { binary_data_output: true },
        },
        x,
      );
      const dir = fs.mkdtempSync(path.join(tmp, "bin-"));
      fs.writeFileSync(path.join(dir, "req.bin"), body);
      const r = await curl([
        "-H",
        `Inference-Header-Content-Length: ${headerLength}`,
        "-H",
        "content-type: application/octet-stream",
        "--data-binary",
        `@${path.join(dir, "req.bin")}`,
        "-D",
        path.join(dir, "headers.txt"),
        "-o",
        path.join(dir, "out.bin"),
        url(`/v2/models/${model}/infer`),
      ]);
      expect([r.status, r.contentType]).toEqual([200, "application/octet-stream"]);
      const headers = fs.readFileSync(path.join(dir, "headers.txt"), "utf8");
      const n = Number(/^inference-header-content-length: (\d+)\r$/im.exec(headers)?.[1]);
      const answer = fs.readFileSync(path.join(dir, "out.bin"));
      const wantBytes = want.data.byteLength;
      expect(JSON.parse(answer.subarray(0, n).toString())).toEqual({
        model_name: model,
        model_version: "1",
        id: `bin-${model}`,
        outputs: [
          {
            name: m.outputs[0]!.name,
            datatype: "FP32",
            shape: want.shape,
            parameters: { binary_data_size: wantBytes },
          },
        ],
      });
      expect(answer.byteLength).toBe(n + wantBytes);
      expect(maxAbsDiff(floatsOf(answer.subarray(n)), want.data as Float32Array)).toBeLessThanOrEqual(1e-6);
    }
  });

  it('answers every error as {"error": "…"} (JSON) with the status that fits', async () => {
    const x = Array.from(seededFloat32(EMBEDDING_ROW, 44));
    const input = (over: Record<string, unknown> = {}) => ({
      name: "input_1",
      datatype: "FP32",
      shape: [1, 76, 32, 1],
      data: x,
      ...over,
    });
    const infer = "/v2/models/embedding/infer";
    const raw = bytesOf(seededFloat32(EMBEDDING_ROW, 45));
    const binary = (size: number, bytes: Uint8Array) =>
      binaryBody({ inputs: [input({ data: undefined, parameters: { binary_data_size: size } })] }, bytes);
    const short = binary(raw.byteLength - 4, raw.subarray(4));
    const disagree = binary(raw.byteLength, raw.subarray(1));
    const cases: [string, string, string | Uint8Array, string[], number, string | RegExp][] = [
      [
        "unknown model",
        "/v2/models/nope/infer",
        JSON.stringify({ inputs: [input()] }),
        [],
        404,
        `unknown model "nope"; the models served are: ${SERVED}`,
      ],
      [
        "unknown version",
        "/v2/models/embedding/versions/2/infer",
        JSON.stringify({ inputs: [input()] }),
        [],
        404,
        'model "embedding" has no version "2"; it serves version "1"',
      ],
      [
        "wrong fixed dim",
        infer,
        JSON.stringify({ inputs: [input({ shape: [1, 76, 16, 2] })] }),
        [],
        400,
        'input "input_1": shape [1,76,16,2] does not match the model\'s [-1,76,32,1] (dim 2 is 16, expected 32)',
      ],
      [
        "wrong rank",
        infer,
        JSON.stringify({ inputs: [input({ shape: [76, 32, 1] })] }),
        [],
        400,
        'input "input_1": shape [76,32,1] does not match the model\'s [-1,76,32,1] (3 dims, expected 4)',
      ],
      [
        "wrong datatype",
        infer,
        JSON.stringify({ inputs: [input({ datatype: "FP16" })] }),
        [],
        400,
        'input "input_1": datatype is "FP16", expected FP32 (the model\'s float32)',
      ],
      [
        "data of the wrong length",
        infer,
        JSON.stringify({ inputs: [input({ data: x.slice(1) })] }),
        [],
        400,
        'input "input_1": expected 2432 values for shape [1,76,32,1], got 2431',
      ],
      [
        "an element that is not a number",
        infer,
        JSON.stringify({ inputs: [input({ data: [...x.slice(0, 5), "0.5", ...x.slice(6)] })] }),
        [],
        400,
        'input "input_1": element 5 is "0.5", expected a number (FP32)',
      ],
      [
        "unknown input name",
        infer,
        JSON.stringify({ inputs: [input({ name: "input" })] }),
        [],
        400,
        'unknown input "input"; model "embedding" takes "input_1"',
      ],
      [
        "missing input",
        infer,
        JSON.stringify({ inputs: [] }),
        [],
        400,
        'missing input "input_1"; model "embedding" takes "input_1"',
      ],
      [
        "unknown requested output",
        infer,
        JSON.stringify({ inputs: [input()], outputs: [{ name: "embedding" }] }),
        [],
        400,
        'unknown output "embedding"; model "embedding" gives "conv2d_19"',
      ],
      ["bad JSON", infer, '{"inputs": [', [], 400, /^the request's JSON is not valid: /],
      [
        "JSON that is not an infer request",
        infer,
        "[1, 2]",
        [],
        400,
        'the request body must be a JSON object with an "inputs" list',
      ],
      [
        "binary data of the wrong length for the shape",
        infer,
        short.body,
        [`Inference-Header-Content-Length: ${short.headerLength}`],
        400,
        'input "input_1": expected 9728 bytes for shape [1,76,32,1] of FP32, got 9724',
      ],
      [
        "binary data that binary_data_size does not add up to",
        infer,
        disagree.body,
        [`Inference-Header-Content-Length: ${disagree.headerLength}`],
        400,
        "the request holds 9727 bytes of binary tensor data, but its inputs' binary_data_size add up to 9728",
      ],
      [
        "a gzip-compressed body (read as it is, it would not be JSON)",
        infer,
        gzipSync(JSON.stringify({ inputs: [input()] })),
        ["content-type: application/json", "Content-Encoding: gzip"],
        415,
        'the request\'s Content-Encoding is "gzip": send the body uncompressed (identity)',
      ],
      [
        "more rows than the MLP's config takes",
        "/v2/models/mlp/infer",
        JSON.stringify({
          inputs: [{ name: "input", datatype: "FP32", shape: [17, 512], data: new Array(17 * 512).fill(0) }],
        }),
        [],
        400,
        'model "mlp": a request may hold at most 16 rows (maxRowsPerRequest), got 17',
      ],
    ];
    for (const [what, p, body, headers, status, error] of cases) {
      const r = await post(p, body, headers);
      const json = JSON.parse(r.body) as { error: string };
      expect([what, r.status, r.contentType, Object.keys(json)]).toEqual([what, status, "application/json", ["error"]]);
      if (typeof error === "string") expect([what, json.error]).toEqual([what, error]);
      else expect(json.error).toMatch(error);
    }
    for (const p of ["/v2/models/nope", "/v2/models/nope/ready", "/v2/models/embedding/versions/2/ready"]) {
      const r = await curl([url(p)]);
      expect([p, r.status, r.contentType, JSON.parse(r.body)]).toEqual([
        p,
        404,
        "application/json",
        {
          error: p.includes("nope")
            ? `unknown model "nope"; the models served are: ${SERVED}`
            : 'model "embedding" has no version "2"; it serves version "1"',
        },
      ]);
    }
    // A wrong method is the HTTP layer's 405 for any route, naming the method allowed.
    const get = await curl(["-D", "-", url(infer)]);
    expect(get.status).toBe(405);
    expect(get.body).toMatch(/^allow: POST\r$/im);
  });
});
