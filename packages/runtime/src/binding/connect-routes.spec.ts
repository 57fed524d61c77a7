// In-process tests of the binding layer (no sockets): connect's router transport runs the
// same handler code the server does.
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { toTensorProto, type Tensor } from "@blazerpc/tensor";
import { InferenceServiceBinding } from "../../../../examples/iris/gen/iris/v1/iris_blaze.js";
import { InferenceService } from "../../../../examples/iris/gen/iris/v1/iris_pb.js";
import { createApp } from "../app.js";
import { createExecutor } from "../executor/executor.js";
import { checkBindings, registerBindings } from "./connect-routes.js";

const features = toTensorProto({ dtype: "float32", shape: [1, 4], data: new Float32Array(4) });

function clientFor(app: ReturnType<typeof createApp>) {
  checkBindings(app, [InferenceServiceBinding]);
  const transport = createRouterTransport((router) =>
    registerBindings(router, [InferenceServiceBinding], createExecutor(app)),
  );
  return createClient(InferenceService, transport);
}

async function errorOf(p: Promise<unknown>): Promise<ConnectError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

describe("a model that fails", () => {
  it("a thrown Error becomes INTERNAL naming the model", async () => {
    const app = createApp({ name: "iris" });
    app.model("iris", async (_f: Tensor): Promise<Tensor> => {
      throw new Error("weights not loaded");
    });
    app.model("generate", async function* () {
      yield "x";
    });
    const err = await errorOf(clientFor(app).predictIris({ features }));
    expect([err.code, err.rawMessage]).toEqual([Code.Internal, 'model "iris" failed: weights not loaded']);
  });

  it("a thrown ConnectError reaches the client as it is", async () => {
    const app = createApp({ name: "iris" });
    app.model("iris", async (): Promise<Tensor> => {
      throw new ConnectError("GPU busy", Code.Unavailable);
    });
    app.model("generate", async function* () {
      yield "x";
    });
    const err = await errorOf(clientFor(app).predictIris({ features }));
    expect([err.code, err.rawMessage]).toEqual([Code.Unavailable, "GPU busy"]);
  });

  it("a result that does not match the declared tensor is INTERNAL, naming the field", async () => {
    const app = createApp({ name: "iris" });
    app.model("iris", async (): Promise<Tensor> => ({ dtype: "float32", shape: [1, 2], data: new Float32Array(2) }));
    app.model("generate", async function* () {
      yield "x";
    });
    const err = await errorOf(clientFor(app).predictIris({ features }));
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toBe(
      'model "iris" returned an invalid result: result: dim 1 is 2, expected 3 (shape [1, 2], expected [batch, 3])',
    );
  });

  it("an error in the middle of a stream ends it with that error, after the messages before it", async () => {
    const app = createApp({ name: "iris" });
    app.model("iris", async (f: Tensor) => f);
    app.model("generate", async function* () {
      yield "one";
      throw new Error("ran out of tokens");
    });
    const got: string[] = [];
    const err = await errorOf(
      (async () => {
        for await (const m of clientFor(app).predictGenerate({ prompt: "p", maxTokens: 3 })) got.push(m.result);
      })(),
    );
    expect(got).toEqual(["one"]);
    expect([err.code, err.rawMessage]).toEqual([Code.Internal, 'model "generate" failed: ran out of tokens']);
  });
});

describe("streams", () => {
  it("a client that stops reading ends the model's generator: its finally runs and nothing more is computed", async () => {
    const app = createApp({ name: "iris" });
    app.model("iris", async (f: Tensor) => f);
    let produced = 0;
    let finalized = false;
    app.model("generate", async function* (_prompt: string, maxTokens: number) {
      try {
        for (let i = 0; i < maxTokens; i++) {
          produced++;
          yield `w${i}`;
        }
      } finally {
        finalized = true;
      }
    });
    const abort = new AbortController();
    const got: string[] = [];
    const err = await errorOf(
      (async () => {
        for await (const m of clientFor(app).predictGenerate(
          { prompt: "p", maxTokens: 1_000_000 },
          { signal: abort.signal },
        )) {
          got.push(m.result);
          if (got.length === 3) abort.abort();
        }
      })(),
    );
    expect(err.code).toBe(Code.Canceled);
    // Let the server side observe the abort.
    for (let i = 0; i < 20 && !finalized; i++) await new Promise((r) => setTimeout(r, 5));
    expect(finalized).toBe(true);
    expect(produced).toBeLessThan(100);
  });
});

describe("checkBindings", () => {
  it("lists every mismatch between the generated code and the app", () => {
    const app = createApp({ name: "iris" });
    app.model("generate", async (p: string) => p); // unary where the schema says stream
    app.model("extra", async () => 1); // served by no method
    expect(() => checkBindings(app, [InferenceServiceBinding])).toThrow(
      [
        'the generated code does not match app "iris" — run `blaze generate` again:',
        '  iris.v1.InferenceService.PredictIris serves model "iris", which app "iris" does not register',
        '  iris.v1.InferenceService.PredictGenerate is server_streaming but model "generate" is unary',
        '  model "extra" is registered but no generated service method serves it',
      ].join("\n"),
    );
  });
});
