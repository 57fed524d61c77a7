import { Code, ConnectError } from "@connectrpc/connect";
import { createApp } from "../app.js";
import { createExecutor } from "./executor.js";
import { validateRequest } from "./validate.js";

const ctx = () => ({ signal: new AbortController().signal });
const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e as ConnectError,
  );
const thrown = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err as ConnectError;
  }
  throw new Error("expected a throw");
};

const upTo = (limit: number) => (_prompt: string, maxTokens: number) => {
  if (!Number.isInteger(maxTokens) || maxTokens < 0 || maxTokens > limit)
    throw new Error(`maxTokens must be an integer from 0 to ${limit}, got ${maxTokens}`);
};

describe("validateRequest", () => {
  it("passes a request it does not refuse, and any request of a model without validate", () => {
    const app = createApp({ name: "t" });
    app.model("bounded", { validate: upTo(3) }, async (_p: string, n: number) => n);
    app.model("free", async (_p: string, n: number) => n);
    expect(() => validateRequest(app.getModelOrThrow("bounded"), ["p", 3])).not.toThrow();
    expect(() => validateRequest(app.getModelOrThrow("free"), ["p", Infinity])).not.toThrow();
  });

  it("turns what validate throws into INVALID_ARGUMENT with the model's name, without a stack trace", () => {
    const app = createApp({ name: "t" });
    app.model("gen", { validate: upTo(3) }, async (_p: string, n: number) => n);
    const err = thrown(() => validateRequest(app.getModelOrThrow("gen"), ["p", Infinity]));
    expect(err).toBeInstanceOf(ConnectError);
    expect([err.code, err.rawMessage]).toEqual([
      Code.InvalidArgument,
      'model "gen": maxTokens must be an integer from 0 to 3, got Infinity',
    ]);
    expect(err.stack?.split("\n")).toHaveLength(1);
  });

  it("takes a thrown non-Error as the message", () => {
    const app = createApp({ name: "t" });
    app.model(
      "m",
      {
        validate: () => {
          throw "no";
        },
      },
      async () => 1,
    );
    expect(thrown(() => validateRequest(app.getModelOrThrow("m"), [])).rawMessage).toBe('model "m": no');
  });

  it("passes a thrown ConnectError through, so a model may choose another code", () => {
    const app = createApp({ name: "t" });
    app.model(
      "m",
      {
        validate: () => {
          throw new ConnectError("too much for your plan", Code.PermissionDenied);
        },
      },
      async () => 1,
    );
    const err = thrown(() => validateRequest(app.getModelOrThrow("m"), []));
    expect([err.code, err.rawMessage]).toEqual([Code.PermissionDenied, "too much for your plan"]);
  });

  it("answers INTERNAL when validate returns a promise (registered through a plain function that hides it)", () => {
    const app = createApp({ name: "t" });
    app.model("m", { validate: () => Promise.reject(new Error("ignored")) as unknown as void }, async () => 1);
    const err = thrown(() => validateRequest(app.getModelOrThrow("m"), []));
    expect([err.code, err.rawMessage]).toEqual([
      Code.Internal,
      'model "m": its validate option returned a promise; it must be synchronous (throw to refuse a request)',
    ]);
  });
});

describe("the executor runs validate before the model", () => {
  it("unary, not batched: a refused request never reaches the function", async () => {
    const app = createApp({ name: "t" });
    const calls: number[] = [];
    app.model("gen", { validate: upTo(3) }, async (_p: string, n: number) => calls.push(n));
    const executor = createExecutor(app);
    const err = await errorOf(executor.invoke("gen", ["p", 1e9], ctx()));
    expect([err.code, err.rawMessage]).toEqual([
      Code.InvalidArgument,
      'model "gen": maxTokens must be an integer from 0 to 3, got 1000000000',
    ]);
    expect(await executor.invoke("gen", ["p", 2], ctx())).toBe(1);
    expect(calls).toEqual([2]);
  });

  it("streaming: the first next() throws the refusal and the generator never starts", async () => {
    const app = createApp({ name: "t" });
    let started = 0;
    app.model("gen", { streaming: true, validate: upTo(3) }, async function* (_p: string, n: number) {
      started++;
      for (let i = 0; i < n; i++) yield i;
    });
    const executor = createExecutor(app);
    const it = executor.stream("gen", ["p", Infinity], ctx())[Symbol.asyncIterator]();
    const err = await errorOf(it.next());
    expect([err.code, err.rawMessage]).toEqual([
      Code.InvalidArgument,
      'model "gen": maxTokens must be an integer from 0 to 3, got Infinity',
    ]);
    expect(started).toBe(0);
    const got: unknown[] = [];
    for await (const v of executor.stream("gen", ["p", 3], ctx())) got.push(v);
    expect([got, started]).toEqual([[0, 1, 2], 1]);
  });

  it("batched: each request is validated before it is queued", async () => {
    const app = createApp({ name: "t" });
    const batches: string[][] = [];
    app.model(
      "m",
      {
        batch: { maxBatchSize: 8, maxDelayMs: 20 },
        validate: (texts: string[]) => {
          if (texts.length > 5) throw new Error(`text may hold at most 5 characters, got ${texts.length}`);
        },
      },
      async (texts: string[]) => {
        batches.push(texts);
        return texts.map((t) => t.toUpperCase());
      },
    );
    const executor = createExecutor(app);
    const [a, err, b] = await Promise.all([
      executor.invoke("m", ["abc"], ctx()),
      errorOf(executor.invoke("m", ["too long"], ctx())),
      executor.invoke("m", ["de"], ctx()),
    ]);
    expect([a, b]).toEqual(["ABC", "DE"]);
    expect([err.code, err.rawMessage]).toEqual([
      Code.InvalidArgument,
      'model "m": text may hold at most 5 characters, got 8',
    ]);
    expect(batches).toEqual([["abc", "de"]]);
  });
});
