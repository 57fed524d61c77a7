// One inference through the typed API's own implementation (the iris example's binding, in
// process): an input's header checked against the model, its data counted, the request
// message built, the method's implementation called with the call's context, its response's
// tensors read back; and the errors a client sees.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import type { Tensor } from "@blazerpc/tensor";
import { InferenceServiceBinding } from "../../../../examples/iris/gen/iris/v1/iris_blaze.js";
import { PredictIrisRequestSchema } from "../../../../examples/iris/gen/iris/v1/iris_pb.js";
import { createApp } from "../app.js";
import { modelServiceEntries } from "../binding/connect-routes.js";
import { createExecutor } from "../executor/executor.js";
import { GRPCInferenceService } from "../gen/inference/grpc_predict_v2_pb.js";
import { createServingState } from "../health/serving-state.js";
import { createOipCatalog, type OipModel } from "./catalog.js";
import {
  checkRequestedOutputs,
  inputFromBytes,
  inputFromValues,
  resolveInput,
  runModel,
  type OipInputHeader,
} from "./infer.js";

/** The iris model as OIP serves it; `iris` is its function (doubles the first 3 features, by default). */
function irisModel(iris: (f: Tensor) => Promise<Tensor> = double): OipModel {
  const app = createApp({ name: "iris" });
  app.model("iris", iris);
  app.model("generate", async function* () {
    yield "x";
  });
  const entries = modelServiceEntries([InferenceServiceBinding], createExecutor(app));
  return createOipCatalog({ entries, state: createServingState(app, new Map()) }).getModelOrThrow("iris");
}

async function double(f: Tensor): Promise<Tensor> {
  const rows = f.shape[0]!;
  const data = new Float32Array(rows * 3).map((_, i) => (f.data as Float32Array)[Math.floor(i / 3) * 4 + (i % 3)]! * 2);
  return { dtype: "float32", shape: [rows, 3], data };
}

const ctx = (signal?: AbortSignal): HandlerContext =>
  createHandlerContext({
    service: GRPCInferenceService,
    method: GRPCInferenceService.method.modelInfer,
    protocolName: "grpc",
    requestMethod: "POST",
    url: "http://127.0.0.1/inference.GRPCInferenceService/ModelInfer",
    ...(signal !== undefined ? { requestSignal: signal } : {}),
  });

function errorOf(f: () => unknown): [Code, string] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectError);
    return [(e as ConnectError).code, (e as ConnectError).rawMessage];
  }
  throw new Error("it did not throw");
}

async function rejectionOf(p: Promise<unknown>): Promise<[Code, string]> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConnectError);
  return [(e as ConnectError).code, (e as ConnectError).rawMessage];
}

const model = irisModel();
const header = (h: Partial<OipInputHeader> = {}): OipInputHeader => ({
  name: "features",
  datatype: "FP32",
  shape: [2, 4],
  ...h,
});

describe("resolveInput", () => {
  it("finds the input and counts its elements (bigint dims too)", () => {
    const r = resolveInput(model, header({ shape: [2n, 4n] }));
    expect([r.spec.name, r.shape, r.count]).toEqual(["features", [2, 4], 8]);
    expect(resolveInput(model, header({ shape: [0, 4] })).count).toBe(0);
  });

  it.each([
    [{ name: "feature" }, 'unknown input "feature"; model "iris" takes "features"'],
    [{ datatype: "FP64" }, 'input "features": datatype is "FP64", expected FP32 (the model\'s float32)'],
    [{ datatype: "fp32" }, 'input "features": datatype is "fp32", expected FP32 (the model\'s float32)'],
    [{ shape: [2, -1] }, 'input "features": the shape holds -1; dims are integers ≥ 0'],
    [{ shape: [2, 1.5] }, 'input "features": the shape holds 1.5; dims are integers ≥ 0'],
    [{ shape: ["2", 4] }, 'input "features": the shape holds "2"; dims are integers ≥ 0'],
    [{ shape: [2, 4, 1] }, 'input "features": shape [2,4,1] does not match the model\'s [-1,4] (3 dims, expected 2)'],
    [{ shape: [2, 5] }, 'input "features": shape [2,5] does not match the model\'s [-1,4] (dim 1 is 5, expected 4)'],
    [{ shape: new Array(65).fill(1) }, 'input "features": the shape must be a list of at most 64 dims'],
    [{ shape: [2 ** 40, 2 ** 40] }, 'input "features": shape [1099511627776,1099511627776] is too large'],
  ])("refuses %j: %s", (h, message) => {
    expect(errorOf(() => resolveInput(model, header(h as Partial<OipInputHeader>)))).toEqual([
      Code.InvalidArgument,
      message,
    ]);
  });
});

describe("inputFromValues / inputFromBytes", () => {
  const input = resolveInput(model, header());

  it("takes exactly the shape's elements, or bytes", () => {
    expect(Buffer.from(inputFromValues(input, [1, 2, 3, 4, 5, 6, 7, 8]).data)).toEqual(
      Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer),
    );
    const bytes = new Uint8Array(32);
    expect(inputFromBytes(input, bytes).data).toBe(bytes);
  });

  it("names the input, the counts and the shape when they differ", () => {
    expect(errorOf(() => inputFromValues(input, [1, 2, 3, 4, 5, 6, 7]))).toEqual([
      Code.InvalidArgument,
      'input "features": expected 8 values for shape [2,4], got 7',
    ]);
    expect(errorOf(() => inputFromBytes(input, new Uint8Array(31)))).toEqual([
      Code.InvalidArgument,
      'input "features": expected 32 bytes for shape [2,4] of FP32, got 31',
    ]);
  });
});

it("checkRequestedOutputs: known names, each once", () => {
  expect(() => checkRequestedOutputs(model, ["result"])).not.toThrow();
  expect(() => checkRequestedOutputs(model, [])).not.toThrow();
  expect(errorOf(() => checkRequestedOutputs(model, ["probs"]))).toEqual([
    Code.InvalidArgument,
    'unknown output "probs"; model "iris" gives "result"',
  ]);
  expect(errorOf(() => checkRequestedOutputs(model, ["result", "result"]))).toEqual([
    Code.InvalidArgument,
    'output "result" is requested twice',
  ]);
});

describe("runModel", () => {
  const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const inputs = () => [inputFromValues(resolveInput(model, header()), Array.from(x))];

  it("answers what the typed method's implementation answers, with the model's service and method in its context", async () => {
    const typed = await model.impl(
      create(PredictIrisRequestSchema, {
        features: { dtype: "float32", shape: [2n, 4n], data: new Uint8Array(x.buffer) },
      }),
      ctx(),
    );
    let seen: HandlerContext | undefined;
    const spy: OipModel = { ...model, impl: (req, c) => ((seen = c), model.impl(req, c)) };
    const call = ctx();
    const outputs = await runModel(spy, inputs(), [], call);
    expect(outputs).toEqual([
      {
        name: "result",
        datatype: "FP32",
        shape: [2, 3],
        data: (typed as { result: { data: Uint8Array } }).result.data,
      },
    ]);
    expect(Array.from(new Float32Array(new Uint8Array(outputs[0]!.data).buffer))).toEqual([2, 4, 6, 10, 12, 14]);
    expect([seen?.service.typeName, seen?.method.name, seen?.signal, seen?.protocolName]).toEqual([
      "iris.v1.InferenceService",
      "PredictIris",
      call.signal,
      "grpc",
    ]);
  });

  it("refuses a missing input, and an input given twice", async () => {
    expect(await rejectionOf(runModel(model, [], [], ctx()))).toEqual([
      Code.InvalidArgument,
      'missing input "features"; model "iris" takes "features"',
    ]);
    expect(await rejectionOf(runModel(model, [...inputs(), ...inputs()], [], ctx()))).toEqual([
      Code.InvalidArgument,
      'input "features": it is given twice',
    ]);
  });

  it("keeps the code and message of the model's errors, and the typed API's own", async () => {
    const busy = irisModel(async () => {
      throw new ConnectError("GPU busy", Code.ResourceExhausted);
    });
    expect(await rejectionOf(runModel(busy, inputs(), [], ctx()))).toEqual([Code.ResourceExhausted, "GPU busy"]);
    const broken = irisModel(async () => {
      throw new Error("weights not loaded");
    });
    expect(await rejectionOf(runModel(broken, inputs(), [], ctx()))).toEqual([
      Code.Internal,
      'model "iris" failed: weights not loaded',
    ]);
    const wrong = irisModel(async () => ({ dtype: "float32", shape: [2, 2], data: new Float32Array(4) }));
    expect((await rejectionOf(runModel(wrong, inputs(), [], ctx())))[1]).toMatch(
      /^model "iris" returned an invalid result: result: /,
    );
  });

  it("ends with the call: a client gone aborts the model's wait", async () => {
    const never = irisModel(() => new Promise<Tensor>(() => undefined));
    const gone = new AbortController();
    const call = runModel(never, inputs(), [], ctx(gone.signal));
    gone.abort(new ConnectError("the client went away", Code.Canceled));
    expect(await rejectionOf(call)).toEqual([Code.Canceled, "the client went away"]);
  });
});
