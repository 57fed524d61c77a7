/** @jest-environment ./packages/onnx/jest-environment.cjs */
// The Open Inference Protocol (KServe v2) on the MLP example's port, called by clients this
// project did not write: Node's fetch and curl (REST, JSON and the binary tensor data
// extension, HTTP/1.1 and HTTP/2), @grpc/grpc-js and Python grpcio from Debian (stubs from
// grpc_tools.protoc of KServe's own grpc_predict_v2.proto). Every answer is compared with
// the typed API's answer to the same input (PredictMlp over gRPC), byte for byte: OIP runs
// the very same method implementation. One in-process server for the file.
import * as fs from "node:fs";
import * as http2 from "node:http2";
import * as os from "node:os";
import * as path from "node:path";
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { createApp, createServer, type BlazeServer } from "@blazerpc/runtime";
import { toTensorProto } from "@blazerpc/tensor";
import { app, getMlpFixture, getMlpModel } from "../../examples/mlp/models.js";
import { InferenceServiceBinding } from "../../examples/mlp/gen/mlp/v1/mlp_blaze.js";
import { PredictMlpRequestSchema, PredictMlpResponseSchema } from "../../examples/mlp/gen/mlp/v1/mlp_pb.js";
import {
  ModelInferRequestSchema,
  ModelInferResponseSchema,
  ModelMetadataRequestSchema,
  ModelMetadataResponseSchema,
  ModelReadyRequestSchema,
  ModelReadyResponseSchema,
  ServerLiveRequestSchema,
  ServerLiveResponseSchema,
  ServerMetadataRequestSchema,
  ServerMetadataResponseSchema,
  ServerReadyRequestSchema,
  ServerReadyResponseSchema,
} from "../../packages/runtime/src/gen/inference/grpc_predict_v2_pb.js";
import { runMlpReference, seededFloat32 } from "../../packages/onnx/src/testing/index.js";
import { histogram, parsePrometheusText } from "./prometheus-text.js";
import { bufBin, compileKserveForPython, grpcMessage, grpcUnary, parseJsonStream, python, run } from "./support.js";

const MODEL = "mlp";
const OIP = "inference.GRPCInferenceService";

let server: BlazeServer;
let base: string;
let client: grpc.Client;

beforeAll(async () => {
  await getMlpModel();
  server = createServer({ app, services: [InferenceServiceBinding], host: "127.0.0.1", port: 0 });
  await server.listen();
  base = server.url();
  client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await server?.close();
  await (await getMlpModel()).release();
});

/** `rows` rows of 512 seeded features. */
const features = (rows: number, seed: number) => seededFloat32(rows * 512, seed);
const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** The typed API's answer (PredictMlp over gRPC): the result tensor's bytes. */
async function typed(x: Float32Array, rows: number): Promise<Buffer> {
  const res = await grpcUnary(
    client,
    "/mlp.v1.InferenceService/PredictMlp",
    PredictMlpRequestSchema,
    PredictMlpResponseSchema,
    {
      input: toTensorProto({ dtype: "float32", shape: [rows, 512], data: x }),
    },
  );
  expect(res.result?.shape).toEqual([BigInt(rows), 512n]);
  return Buffer.from(res.result!.data);
}

/** An OIP gRPC call. */
function oip<I extends DescMessage, O extends DescMessage>(
  method: string,
  input: I,
  output: O,
  req: MessageInitShape<I>,
): Promise<MessageShape<O>> {
  return grpcUnary(client, `/${OIP}/${method}`, input, output, req);
}

/** The gRPC status code and message a call fails with. */
async function failure(p: Promise<unknown>): Promise<[string, string | undefined]> {
  const err = await p.then(
    () => undefined,
    (e: grpc.ServiceError) => e,
  );
  expect(err).toBeDefined();
  return [grpc.status[err!.code], grpcMessage(err)];
}

async function rest(
  p: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; text: string; json: () => unknown }> {
  const res = await fetch(base + p, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}

const postJson = (p: string, body: unknown) =>
  rest(p, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

const inferJson = (rows: number, data: unknown, extra: Record<string, unknown> = {}) => ({
  inputs: [{ name: "input", datatype: "FP32", shape: [rows, 512], data }],
  ...extra,
});

/** A binary-extension body: the JSON, then `binary`; with its header length. */
function binaryBody(json: unknown, binary: Buffer): { body: Buffer; headerLength: number } {
  const head = Buffer.from(JSON.stringify(json));
  return { body: Buffer.concat([head, binary]), headerLength: head.byteLength };
}

/** Splits a binary-extension answer into its JSON and its binary part. */
function splitAnswer(body: Buffer, headerLength: string | null): { json: unknown; binary: Buffer } {
  const n = Number(headerLength);
  return { json: JSON.parse(body.subarray(0, n).toString()), binary: body.subarray(n) };
}

const METADATA = {
  name: MODEL,
  versions: ["1"],
  platform: "blazerpc",
  inputs: [{ name: "input", datatype: "FP32", shape: [-1, 512] }],
  outputs: [{ name: "result", datatype: "FP32", shape: [-1, 512] }],
};

describe("REST (KServe v2) with fetch", () => {
  it("serves server metadata, liveness and readiness (200, empty bodies)", async () => {
    const meta = await rest("/v2");
    expect(meta.status).toBe(200);
    expect(meta.json()).toEqual({ name: "blazerpc", version: "0.1.0", extensions: ["binary_tensor_data"] });
    for (const p of [
      "/v2/health/live",
      "/v2/health/ready",
      `/v2/models/${MODEL}/ready`,
      `/v2/models/${MODEL}/versions/1/ready`,
    ]) {
      const r = await rest(p);
      expect([p, r.status, r.text]).toEqual([p, 200, ""]);
    }
  });

  it("serves model metadata by name and by version; unknown models and versions are 404 {error}", async () => {
    for (const p of [`/v2/models/${MODEL}`, `/v2/models/${MODEL}/versions/1`]) {
      const r = await rest(p);
      expect([r.status, r.json()]).toEqual([200, METADATA]);
    }
    const version = await rest(`/v2/models/${MODEL}/versions/2`);
    expect([version.status, version.json()]).toEqual([
      404,
      { error: 'model "mlp" has no version "2"; it serves version "1"' },
    ]);
    for (const p of ["/v2/models/nope", "/v2/models/nope/ready", "/v2/models/nope/infer"]) {
      const r = await rest(p, p.endsWith("infer") ? { method: "POST", body: "{}" } : {});
      expect([p, r.status, r.json()]).toEqual([
        p,
        404,
        { error: 'unknown model "nope"; the models served are: "mlp"' },
      ]);
      expect(r.headers.get("content-type")).toBe("application/json");
    }
  });

  it("infers with JSON numbers (nested or flat), echoing the id: the typed API's answer, bit for bit", async () => {
    const x = features(2, 7);
    const want = await typed(x, 2);
    const nested = [Array.from(x.subarray(0, 512)), Array.from(x.subarray(512))];
    for (const data of [nested, Array.from(x)]) {
      const r = await postJson(`/v2/models/${MODEL}/infer`, inferJson(2, data, { id: "req-1" }));
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("application/json");
      const body = r.json() as {
        model_name: string;
        model_version: string;
        id: string;
        outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
      };
      expect({ ...body, outputs: body.outputs.map((o) => ({ ...o, data: o.data.length })) }).toEqual({
        model_name: MODEL,
        model_version: "1",
        id: "req-1",
        outputs: [{ name: "result", datatype: "FP32", shape: [2, 512], data: 1024 }],
      });
      expect(bytesOf(new Float32Array(body.outputs[0]!.data)).equals(want)).toBe(true);
    }
    // …and the typed API's answer is the MLP's.
    const ref = runMlpReference(getMlpFixture(), x, 2);
    const got = new Float32Array(want.buffer, want.byteOffset, 1024);
    expect(Math.max(...got.map((v, i) => Math.abs(v - ref[i]!)))).toBeLessThan(1e-5);
  });

  it("takes and gives binary tensor data (Inference-Header-Content-Length, binary_data_size, binary_data_output)", async () => {
    const x = features(3, 8);
    const want = await typed(x, 3);
    const { body, headerLength } = binaryBody(
      {
        id: "bin",
        inputs: [{ name: "input", datatype: "FP32", shape: [3, 512], parameters: { binary_data_size: 3 * 512 * 4 } }],
        parameters: { binary_data_output: true },
      },
      bytesOf(x),
    );
    const res = await fetch(`${base}/v2/models/${MODEL}/infer`, {
      method: "POST",
      headers: { "inference-header-content-length": String(headerLength), "content-type": "application/octet-stream" },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    const answer = splitAnswer(
      Buffer.from(await res.arrayBuffer()),
      res.headers.get("inference-header-content-length"),
    );
    expect(answer.json).toEqual({
      model_name: MODEL,
      model_version: "1",
      id: "bin",
      outputs: [{ name: "result", datatype: "FP32", shape: [3, 512], parameters: { binary_data_size: 3 * 512 * 4 } }],
    });
    expect(answer.binary.equals(want)).toBe(true);

    // One output asked for as binary (parameters.binary_data), JSON input.
    const one = await fetch(`${base}/v2/models/${MODEL}/infer`, {
      method: "POST",
      body: JSON.stringify(
        inferJson(3, Array.from(x), { outputs: [{ name: "result", parameters: { binary_data: true } }] }),
      ),
    });
    const split = splitAnswer(Buffer.from(await one.arrayBuffer()), one.headers.get("inference-header-content-length"));
    expect(split.binary.equals(want)).toBe(true);
    // …and as JSON when it says binary_data: false, whatever binary_data_output says.
    const json = await postJson(
      `/v2/models/${MODEL}/infer`,
      inferJson(3, Array.from(x), {
        parameters: { binary_data_output: true },
        outputs: [{ name: "result", parameters: { binary_data: false } }],
      }),
    );
    expect(json.headers.get("inference-header-content-length")).toBeNull();
    expect(
      bytesOf(new Float32Array((json.json() as { outputs: { data: number[] }[] }).outputs[0]!.data)).equals(want),
    ).toBe(true);
  });

  it("answers every error as {error} with the status that fits", async () => {
    const x = Array.from(features(2, 9));
    const url = `/v2/models/${MODEL}/infer`;
    const cases: [unknown, number, string][] = [
      [inferJson(2, x.slice(1)), 400, 'input "input": expected 1024 values for shape [2,512], got 1023'],
      [
        { inputs: [{ name: "inptu", datatype: "FP32", shape: [1, 512], data: x.slice(0, 512) }] },
        400,
        'unknown input "inptu"; model "mlp" takes "input"',
      ],
      [{ inputs: [] }, 400, 'missing input "input"; model "mlp" takes "input"'],
      [
        { inputs: [{ name: "input", datatype: "FP64", shape: [1, 512], data: x.slice(0, 512) }] },
        400,
        'input "input": datatype is "FP64", expected FP32 (the model\'s float32)',
      ],
      [
        { inputs: [{ name: "input", datatype: "FP32", shape: [1, 5], data: [1, 2, 3, 4, 5] }] },
        400,
        'input "input": shape [1,5] does not match the model\'s [-1,512] (dim 1 is 5, expected 512)',
      ],
      [
        { inputs: [{ name: "input", datatype: "FP32", shape: [1, 512], data: ["a", ...x.slice(1, 512)] }] },
        400,
        'input "input": element 0 is "a", expected a number (FP32)',
      ],
      [inferJson(2, x, { outputs: [{ name: "logits" }] }), 400, 'unknown output "logits"; model "mlp" gives "result"'],
      [{ inputs: "x" }, 400, '"inputs" must be a list of the input tensors'],
      // More rows than the batcher takes from one request (maxRowsPerRequest): the typed API's own refusal.
      [
        inferJson(40, new Array(40 * 512).fill(0)),
        400,
        'model "mlp": a request may hold at most 32 rows (maxRowsPerRequest), got 40',
      ],
    ];
    for (const [body, status, error] of cases) {
      const r = await postJson(url, body);
      expect([r.status, r.json()]).toEqual([status, { error }]);
    }
    const notJson = await rest(url, { method: "POST", body: "{nope" });
    expect(notJson.status).toBe(400);
    expect((notJson.json() as { error: string }).error).toMatch(/^the request's JSON is not valid: /);
    // The binary part and the sizes disagree.
    const { body, headerLength } = binaryBody(
      { inputs: [{ name: "input", datatype: "FP32", shape: [1, 512], parameters: { binary_data_size: 2048 } }] },
      Buffer.alloc(2047),
    );
    const short = await rest(url, {
      method: "POST",
      headers: { "inference-header-content-length": String(headerLength) },
      body,
    });
    expect([short.status, short.json()]).toEqual([
      400,
      { error: "the request holds 2047 bytes of binary tensor data, but its inputs' binary_data_size add up to 2048" },
    ]);
    const badHeader = await rest(url, {
      method: "POST",
      headers: { "inference-header-content-length": "99999" },
      body,
    });
    expect(badHeader.status).toBe(400);
    expect((badHeader.json() as { error: string }).error).toContain(
      'the Inference-Header-Content-Length header is "99999"',
    );
  });

  it("answers over HTTP/2 too (h2c)", async () => {
    const x = features(1, 10);
    const want = await typed(x, 1);
    const session = http2.connect(base);
    try {
      const answer = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
        const req = session.request({
          ":method": "POST",
          ":path": `/v2/models/${MODEL}/infer`,
          "content-type": "application/json",
        });
        let status = 0;
        const parts: Buffer[] = [];
        req.on("response", (h) => (status = Number(h[":status"])));
        req.on("data", (d: Buffer) => parts.push(d));
        req.on("end", () => resolve({ status, body: Buffer.concat(parts) }));
        req.on("error", reject);
        req.end(JSON.stringify(inferJson(1, Array.from(x))));
      });
      expect(answer.status).toBe(200);
      const out = (JSON.parse(answer.body.toString()) as { outputs: { data: number[] }[] }).outputs[0]!;
      expect(bytesOf(new Float32Array(out.data)).equals(want)).toBe(true);
    } finally {
      session.close();
    }
  });

  it("is counted in /metrics by route, and listed in /openapi.json", async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(
      /blazerpc_http_requests_total\{method="POST",route="\/v2\/models\/:model\/infer",status="200"\} [1-9]/,
    );
    expect(text).toMatch(
      /blazerpc_http_requests_total\{method="POST",route="\/v2\/models\/:model\/infer",status="400"\} [1-9]/,
    );
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith("/v2"))).toEqual([
      "/v2",
      "/v2/health/live",
      "/v2/health/ready",
      "/v2/models/{model}",
      "/v2/models/{model}/ready",
      "/v2/models/{model}/infer",
      "/v2/models/{model}/versions/{version}",
      "/v2/models/{model}/versions/{version}/ready",
      "/v2/models/{model}/versions/{version}/infer",
    ]);
    expect(Object.keys(doc.paths["/v2/models/{model}/infer"]!)).toEqual(["post"]);
  });
});

describe("REST with curl", () => {
  const curl = (args: string[]) => run("curl", ["-sS", "--max-time", "20", ...args]);

  it("GET metadata and readiness, over HTTP/1.1 and HTTP/2", async () => {
    const meta = await curl(["-w", "\n%{http_code}", `${base}/v2/models/${MODEL}`]);
    const [json, code] = [meta.stdout.slice(0, meta.stdout.lastIndexOf("\n")), meta.stdout.split("\n").at(-1)];
    expect([code, JSON.parse(json)]).toEqual(["200", METADATA]);
    const ready = await curl([
      "--http2-prior-knowledge",
      "-o",
      "/dev/null",
      "-w",
      "%{http_version} %{http_code}",
      `${base}/v2/health/ready`,
    ]);
    expect(ready.stdout).toBe("2 200");
  });

  it("POSTs JSON and binary tensor data, and reads the errors", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-oip-curl-"));
    try {
      const x = features(2, 11);
      const want = await typed(x, 2);
      fs.writeFileSync(path.join(dir, "req.json"), JSON.stringify(inferJson(2, Array.from(x))));
      const json = await curl([
        "-H",
        "content-type: application/json",
        "--data-binary",
        `@${path.join(dir, "req.json")}`,
        `${base}/v2/models/${MODEL}/infer`,
      ]);
      const out = (JSON.parse(json.stdout) as { outputs: { data: number[] }[] }).outputs[0]!;
      expect(bytesOf(new Float32Array(out.data)).equals(want)).toBe(true);

      const { body, headerLength } = binaryBody(
        {
          inputs: [{ name: "input", datatype: "FP32", shape: [2, 512], parameters: { binary_data_size: 4096 } }],
          parameters: { binary_data_output: true },
        },
        bytesOf(x),
      );
      fs.writeFileSync(path.join(dir, "req.bin"), body);
      const bin = await curl([
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
        `${base}/v2/models/${MODEL}/infer`,
      ]);
      expect(bin.stderr).toBe("");
      const headers = fs.readFileSync(path.join(dir, "headers.txt"), "utf8");
      expect(headers).toMatch(/^content-type: application\/octet-stream\r$/m);
      const length = /^inference-header-content-length: (\d+)\r$/m.exec(headers)![1]!;
      const answer = splitAnswer(fs.readFileSync(path.join(dir, "out.bin")), length);
      expect(answer.binary.equals(want)).toBe(true);

      const bad = await curl([
        "-w",
        "\n%{http_code}",
        "--data-binary",
        '{"inputs":[{"name":"input","datatype":"FP32","shape":[1,512],"data":[1,2]}]}',
        `${base}/v2/models/${MODEL}/infer`,
      ]);
      expect(bad.stdout).toBe(
        JSON.stringify({ error: 'input "input": expected 512 values for shape [1,512], got 2' }) + "\n\n400",
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("gRPC inference.GRPCInferenceService with @grpc/grpc-js", () => {
  it("ServerLive, ServerReady, ServerMetadata, ModelReady", async () => {
    expect((await oip("ServerLive", ServerLiveRequestSchema, ServerLiveResponseSchema, {})).live).toBe(true);
    expect((await oip("ServerReady", ServerReadyRequestSchema, ServerReadyResponseSchema, {})).ready).toBe(true);
    const meta = await oip("ServerMetadata", ServerMetadataRequestSchema, ServerMetadataResponseSchema, {});
    expect([meta.name, meta.version, meta.extensions]).toEqual(["blazerpc", "0.1.0", ["binary_tensor_data"]]);
    expect((await oip("ModelReady", ModelReadyRequestSchema, ModelReadyResponseSchema, { name: MODEL })).ready).toBe(
      true,
    );
    expect(
      await failure(oip("ModelReady", ModelReadyRequestSchema, ModelReadyResponseSchema, { name: "nope" })),
    ).toEqual(["NOT_FOUND", 'unknown model "nope"; the models served are: "mlp"']);
  });

  it("ModelMetadata", async () => {
    const m = await oip("ModelMetadata", ModelMetadataRequestSchema, ModelMetadataResponseSchema, {
      name: MODEL,
      version: "1",
    });
    expect({
      name: m.name,
      versions: m.versions,
      platform: m.platform,
      inputs: m.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) })),
      outputs: m.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) })),
    }).toEqual(METADATA);
    expect(
      await failure(
        oip("ModelMetadata", ModelMetadataRequestSchema, ModelMetadataResponseSchema, { name: MODEL, version: "7" }),
      ),
    ).toEqual(["NOT_FOUND", 'model "mlp" has no version "7"; it serves version "1"']);
  });

  it("ModelInfer with raw_input_contents and with fp32_contents: raw_output_contents equal to the typed API's bytes", async () => {
    const x = features(2, 12);
    const want = await typed(x, 2);
    const raw = await oip("ModelInfer", ModelInferRequestSchema, ModelInferResponseSchema, {
      modelName: MODEL,
      id: "g-1",
      inputs: [{ name: "input", datatype: "FP32", shape: [2n, 512n] }],
      rawInputContents: [bytesOf(x)],
    });
    expect({
      ...raw,
      rawOutputContents: undefined,
      $typeName: undefined,
      outputs: raw.outputs.map((o) => [o.name, o.datatype, o.shape]),
    }).toEqual({
      modelName: MODEL,
      modelVersion: "1",
      id: "g-1",
      parameters: {},
      outputs: [["result", "FP32", [2n, 512n]]],
      rawOutputContents: undefined,
      $typeName: undefined,
    });
    expect(raw.rawOutputContents.map((b) => Buffer.from(b).equals(want))).toEqual([true]);
    const typedContents = await oip("ModelInfer", ModelInferRequestSchema, ModelInferResponseSchema, {
      modelName: MODEL,
      inputs: [{ name: "input", datatype: "FP32", shape: [2n, 512n], contents: { fp32Contents: Array.from(x) } }],
      outputs: [{ name: "result" }],
    });
    expect(Buffer.from(typedContents.rawOutputContents[0]!).equals(want)).toBe(true);
  });

  it("ModelInfer errors carry their codes", async () => {
    const x = bytesOf(features(1, 13));
    const infer = (req: MessageInitShape<typeof ModelInferRequestSchema>) =>
      failure(oip("ModelInfer", ModelInferRequestSchema, ModelInferResponseSchema, req));
    const input = { name: "input", datatype: "FP32", shape: [1n, 512n] };
    expect(await infer({ modelName: "nope", inputs: [input], rawInputContents: [x] })).toEqual([
      "NOT_FOUND",
      'unknown model "nope"; the models served are: "mlp"',
    ]);
    expect(await infer({ modelName: MODEL, inputs: [input], rawInputContents: [x.subarray(4)] })).toEqual([
      "INVALID_ARGUMENT",
      'input "input": expected 2048 bytes for shape [1,512] of FP32, got 2044',
    ]);
    expect(await infer({ modelName: MODEL, inputs: [input, input], rawInputContents: [x] })).toEqual([
      "INVALID_ARGUMENT",
      "raw_input_contents holds 1 entries for 2 inputs: one per input, in the order of the inputs",
    ]);
    expect(await infer({ modelName: MODEL, inputs: [{ ...input, contents: { intContents: [1] } }] })).toEqual([
      "INVALID_ARGUMENT",
      'input "input": FP32 values go in fp32_contents, but the request sets int_contents',
    ]);
    expect(
      await infer({ modelName: MODEL, inputs: [input], rawInputContents: [x], outputs: [{ name: "probs" }] }),
    ).toEqual(["INVALID_ARGUMENT", 'unknown output "probs"; model "mlp" gives "result"']);
    expect(await infer({ modelName: MODEL, inputs: [{ ...input, datatype: "FP16" }], rawInputContents: [x] })).toEqual([
      "INVALID_ARGUMENT",
      'input "input": datatype is "FP16", expected FP32 (the model\'s float32)',
    ]);
  });

  it("concurrent ModelInfer calls are batched together (blazerpc_batch_size at /metrics)", async () => {
    const batches = async () => {
      const families = parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
      return histogram(families.get("blazerpc_batch_size")!, { model: MODEL }) ?? { count: 0, sum: 0 };
    };
    const before = await batches();
    const n = 24;
    const xs = Array.from({ length: n }, (_, i) => features(1, 100 + i));
    const answers = await Promise.all(
      xs.map((x) =>
        oip("ModelInfer", ModelInferRequestSchema, ModelInferResponseSchema, {
          modelName: MODEL,
          inputs: [{ name: "input", datatype: "FP32", shape: [1n, 512n] }],
          rawInputContents: [bytesOf(x)],
        }),
      ),
    );
    const after = await batches();
    // Every row computed once; fewer model calls than requests.
    expect(after.sum - before.sum).toBe(n);
    expect(after.count - before.count).toBeLessThan(n);
    answers.forEach((a, i) => {
      const got = new Float32Array(new Uint8Array(a.rawOutputContents[0]!).buffer);
      const ref = runMlpReference(getMlpFixture(), xs[i]!, 1);
      expect(Math.max(...got.map((v, j) => Math.abs(v - ref[j]!)))).toBeLessThan(1e-5);
    });
  });

  it("is listed by reflection and called through it (buf curl)", async () => {
    const list = await run(bufBin, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-services", base]);
    expect(list.stdout.split("\n")).toContain(OIP);
    const meta = await run(bufBin, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "-d",
      JSON.stringify({ name: MODEL }),
      `${base}/${OIP}/ModelMetadata`,
    ]);
    expect(meta.stderr).toBe("");
    expect(parseJsonStream(meta.stdout)).toEqual([
      {
        name: MODEL,
        versions: ["1"],
        platform: "blazerpc",
        inputs: [{ name: "input", datatype: "FP32", shape: ["-1", "512"] }],
        outputs: [{ name: "result", datatype: "FP32", shape: ["-1", "512"] }],
      },
    ]);
  });
});

it("is called by Python grpcio with stubs from grpc_tools.protoc of KServe's proto (Debian)", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-oip-py-"));
  try {
    expect(compileKserveForPython(dir)).toEqual({ code: 0, err: "" });
    const x = features(2, 14);
    const want = await typed(x, 2);
    fs.writeFileSync(path.join(dir, "input.bin"), bytesOf(x));
    fs.writeFileSync(
      path.join(dir, "call.py"),
      [
        "import base64, json, struct, sys, grpc",
        "from inference import grpc_predict_v2_pb2 as pb, grpc_predict_v2_pb2_grpc as pb_grpc",
        "raw = open(sys.argv[2], 'rb').read()",
        "with grpc.insecure_channel(sys.argv[1]) as channel:",
        "    stub = pb_grpc.GRPCInferenceServiceStub(channel)",
        "    meta = stub.ModelMetadata(pb.ModelMetadataRequest(name='mlp'), timeout=10)",
        "    req = pb.ModelInferRequest(model_name='mlp', id='py')",
        "    t = req.inputs.add(name='input', datatype='FP32', shape=[2, 512])",
        "    req.raw_input_contents.append(raw)",
        "    r = stub.ModelInfer(req, timeout=30)",
        "    typed = pb.ModelInferRequest(model_name='mlp')",
        "    typed.inputs.add(name='input', datatype='FP32', shape=[2, 512]).contents.fp32_contents.extend(struct.unpack('<1024f', raw))",
        "    r2 = stub.ModelInfer(typed, timeout=30)",
        "    try:",
        "        stub.ModelInfer(pb.ModelInferRequest(model_name='nope'), timeout=10)",
        "        unknown = 'OK'",
        "    except grpc.RpcError as e:",
        "        unknown = e.code().name",
        "    print(json.dumps({",
        "        'inputs': [[i.name, i.datatype, list(i.shape)] for i in meta.inputs],",
        "        'outputs': [[o.name, o.datatype, list(o.shape)] for o in r.outputs],",
        "        'id': r.id,",
        "        'raw': base64.b64encode(r.raw_output_contents[0]).decode(),",
        "        'typed': base64.b64encode(r2.raw_output_contents[0]).decode(),",
        "        'unknown': unknown,",
        "    }))",
      ].join("\n") + "\n",
    );
    const r = await run(
      python,
      [path.join(dir, "call.py"), `127.0.0.1:${server.address().port}`, path.join(dir, "input.bin")],
      30_000,
    );
    expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
    const got = JSON.parse(r.stdout) as {
      inputs: unknown;
      outputs: unknown;
      id: string;
      raw: string;
      typed: string;
      unknown: string;
    };
    expect([got.inputs, got.outputs, got.id, got.unknown]).toEqual([
      [["input", "FP32", [-1, 512]]],
      [["result", "FP32", [2, 512]]],
      "py",
      "NOT_FOUND",
    ]);
    expect(Buffer.from(got.raw, "base64").equals(want)).toBe(true);
    expect(Buffer.from(got.typed, "base64").equals(want)).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it("refuses an app route that takes the OIP's requests, and serves none with oip: false", async () => {
  const other = createApp({ name: "routes" });
  other.route("GET", "/v2/models/:name", () => "mine");
  other.route("POST", "/v2/health/live", () => "a POST is not the OIP's");
  expect(() => createServer({ app: other, port: 0 })).toThrow(
    'app "routes" has routes that cannot be served:\n  GET /v2/models/:name: it takes requests of GET /v2/models/:model, served by the Open Inference Protocol (the server\'s `oip: false` turns it off)',
  );
  const off = createServer({ app: other, port: 0, oip: false });
  expect(off.files.names).not.toContain("inference/grpc_predict_v2.proto");
  expect(server.files.names).toContain("inference/grpc_predict_v2.proto");
  await off.close();
});
