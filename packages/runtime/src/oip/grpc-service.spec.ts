// inference.GRPCInferenceService in process (connect's router transport, no sockets) over
// the iris example's binding: every method, typed contents and raw contents, requested
// outputs, the errors and their codes, a deadline reaching the model's queue.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import type { Tensor } from "@blazerpc/tensor";
import { InferenceServiceBinding } from "../../../../examples/iris/gen/iris/v1/iris_blaze.js";
import { createApp } from "../app.js";
import { modelServiceEntries } from "../binding/connect-routes.js";
import { createExecutor } from "../executor/executor.js";
import { GRPCInferenceService, ModelInferRequestSchema } from "../gen/inference/grpc_predict_v2_pb.js";
import { createServingState } from "../health/serving-state.js";
import { createOipCatalog } from "./catalog.js";
import { oipGrpcService, oipServiceEntry } from "./grpc-service.js";

function clientFor(iris: (f: Tensor) => Promise<Tensor>, options: { batch?: boolean } = {}) {
  const app = createApp({ name: "iris" });
  app.model("iris", options.batch === true ? { batch: { maxBatchSize: 8, maxDelayMs: 0 } } : {}, iris);
  app.model("generate", async function* () {
    yield "x";
  });
  const entries = modelServiceEntries([InferenceServiceBinding], createExecutor(app));
  const catalog = createOipCatalog({ entries, state: createServingState(app, new Map()) });
  const transport = createRouterTransport((router) => router.service(GRPCInferenceService, oipGrpcService(catalog)));
  return createClient(GRPCInferenceService, transport);
}

/** Sums each row's 4 features into each of 3 outputs, plus the output's index. */
async function sums(f: Tensor): Promise<Tensor> {
  const rows = f.shape[0]!;
  const x = f.data as Float32Array;
  const data = new Float32Array(rows * 3).map((_, i) => {
    const r = Math.floor(i / 3);
    return x[r * 4]! + x[r * 4 + 1]! + x[r * 4 + 2]! + x[r * 4 + 3]! + (i % 3);
  });
  return { dtype: "float32", shape: [rows, 3], data };
}

async function rejectionOf(p: Promise<unknown>): Promise<[Code, string]> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConnectError);
  return [(e as ConnectError).code, (e as ConnectError).rawMessage];
}

const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
const input = { name: "features", datatype: "FP32", shape: [1n, 4n] };

describe("inference.GRPCInferenceService", () => {
  const client = clientFor(sums);

  it("ServerLive, ServerReady, ServerMetadata, ModelReady, ModelMetadata", async () => {
    expect((await client.serverLive({})).live).toBe(true);
    expect((await client.serverReady({})).ready).toBe(true);
    const meta = await client.serverMetadata({});
    expect([meta.name, meta.extensions]).toEqual(["blazerpc", ["binary_tensor_data"]]);
    expect(meta.version).toMatch(/^\d+\.\d+\.\d+/);
    expect((await client.modelReady({ name: "iris", version: "1" })).ready).toBe(true);
    const m = await client.modelMetadata({ name: "iris" });
    expect([m.name, m.versions, m.platform]).toEqual(["iris", ["1"], "blazerpc"]);
    expect(m.inputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([["features", "FP32", [-1n, 4n]]]);
    expect(m.outputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([["result", "FP32", [-1n, 3n]]]);
    expect(await rejectionOf(client.modelMetadata({ name: "generate" }))).toEqual([
      Code.NotFound,
      'unknown model "generate"; the models served are: "iris"',
    ]);
  });

  it("ModelInfer: typed contents or raw contents in, raw_output_contents out, the id echoed", async () => {
    const want = f32(10, 11, 12);
    const typed = await client.modelInfer({
      modelName: "iris",
      id: "t",
      inputs: [{ ...input, contents: { fp32Contents: [1, 2, 3, 4] } }],
    });
    expect([typed.modelName, typed.modelVersion, typed.id]).toEqual(["iris", "1", "t"]);
    expect(typed.outputs.map((o) => [o.name, o.datatype, o.shape, o.contents])).toEqual([
      ["result", "FP32", [1n, 3n], undefined],
    ]);
    expect(typed.rawOutputContents).toEqual([want]);
    const raw = await client.modelInfer({
      modelName: "iris",
      modelVersion: "1",
      inputs: [input],
      rawInputContents: [f32(1, 2, 3, 4)],
      outputs: [{ name: "result" }],
    });
    expect(raw.rawOutputContents).toEqual([want]);
  });

  it("ModelInfer errors: unknown model or version, contents and raw both or neither in step, bad inputs", async () => {
    const infer = (req: MessageInitShape<typeof ModelInferRequestSchema>) => rejectionOf(client.modelInfer(req));
    expect(await infer({ modelName: "nope" })).toEqual([
      Code.NotFound,
      'unknown model "nope"; the models served are: "iris"',
    ]);
    expect(await infer({ modelName: "iris", modelVersion: "2" })).toEqual([
      Code.NotFound,
      'model "iris" has no version "2"; it serves version "1"',
    ]);
    expect(
      await infer({
        modelName: "iris",
        inputs: [{ ...input, contents: { fp32Contents: [1, 2, 3, 4] } }],
        rawInputContents: [f32(1, 2, 3, 4)],
      }),
    ).toEqual([
      Code.InvalidArgument,
      'input "features": it sets contents, but the request sends raw_input_contents: use one or the other',
    ]);
    expect(await infer({ modelName: "iris", inputs: [input], rawInputContents: [f32(1), f32(2)] })).toEqual([
      Code.InvalidArgument,
      "raw_input_contents holds 2 entries for 1 inputs: one per input, in the order of the inputs",
    ]);
    expect(await infer({ modelName: "iris", inputs: [{ ...input, contents: { fp32Contents: [1, 2, 3] } }] })).toEqual([
      Code.InvalidArgument,
      'input "features": expected 4 values for shape [1,4], got 3',
    ]);
    expect(await infer({ modelName: "iris", inputs: [input] })).toEqual([
      Code.InvalidArgument,
      'input "features": expected 4 values for shape [1,4], got 0',
    ]);
    expect(await infer({ modelName: "iris", inputs: [] })).toEqual([
      Code.InvalidArgument,
      'missing input "features"; model "iris" takes "features"',
    ]);
  });

  it("leaves the repository methods UNIMPLEMENTED", async () => {
    expect((await rejectionOf(client.repositoryModelLoad({ modelName: "iris" })))[0]).toBe(Code.Unimplemented);
  });

  it("a deadline reaches the model's queue: DEADLINE_EXCEEDED, as the typed API answers it", async () => {
    const slow = clientFor(
      async (f) => {
        await new Promise((r) => setTimeout(r, 300));
        return sums(f);
      },
      { batch: true },
    );
    const req = { modelName: "iris", inputs: [input], rawInputContents: [f32(1, 2, 3, 4)] };
    const first = slow.modelInfer(req);
    const [code] = await rejectionOf(slow.modelInfer(req, { timeoutMs: 50 }));
    expect(code).toBe(Code.DeadlineExceeded);
    expect((await first).rawOutputContents).toEqual([f32(10, 11, 12)]);
  });
});

it("oipServiceEntry: the server's own service, for the native path too", () => {
  const app = createApp({ name: "none" });
  const entry = oipServiceEntry(createOipCatalog({ entries: [], state: createServingState(app, new Map()) }));
  expect([entry.service.typeName, entry.origin, entry.native]).toEqual([
    "inference.GRPCInferenceService",
    "builtin",
    true,
  ]);
  expect(Object.keys(entry.impl).sort()).toEqual([
    "modelInfer",
    "modelMetadata",
    "modelReady",
    "serverLive",
    "serverMetadata",
    "serverReady",
  ]);
});
