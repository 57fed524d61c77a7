import { createApp } from "./app.js";

describe("createApp / app.model", () => {
  it("registers models in order and returns the function unchanged", () => {
    const app = createApp({ name: "demo" });
    const echo = async (text: string) => text;
    expect(app.model("echo", echo)).toBe(echo);
    app.model("gen", { version: "2" }, async function* () {
      yield 1;
    });
    expect(app.models.map((m) => [m.name, m.streaming, m.options.version])).toEqual([
      ["echo", false, undefined],
      ["gen", true, "2"],
    ]);
  });

  it("rejects names that cannot become a proto package", () => {
    expect(() => createApp({ name: "9lives" })).toThrow('createApp: name "9lives" is not usable as a proto package');
    expect(() => createApp({ name: "a.b" })).toThrow("is not usable as a proto package");
  });

  it("rejects a second model of the same name", () => {
    const app = createApp({ name: "demo" });
    app.model("m", async () => 1);
    expect(() => app.model("m", async () => 2)).toThrow('app.model("m"): a model of that name is already registered on app "demo"');
  });

  it("rejects streaming: true on a function that is not an async generator", () => {
    const app = createApp({ name: "demo" });
    expect(() => app.model("m", { streaming: true }, async () => 1)).toThrow("streaming: true needs an async generator function");
  });

  it("keeps validate, typed by the function's parameters", () => {
    const app = createApp({ name: "demo" });
    const seen: string[] = [];
    app.model("gen", {
      streaming: true,
      // No annotations: prompt is a string and maxTokens a number, from the function below.
      validate: (prompt, maxTokens) => void seen.push(`${prompt.toUpperCase()} ${maxTokens.toFixed(1)}`),
    }, async function* (prompt: string, maxTokens: number) {
      yield `${prompt}${maxTokens}`;
    });
    app.getModelOrThrow("gen").options.validate?.("hi", 2);
    expect(seen).toEqual(["HI 2.0"]);
    app.model("typed", {
      // @ts-expect-error -- validate's parameters must be the function's
      validate: (_n: number) => undefined,
    }, async (_s: string) => 1);
  });

  it("rejects a validate that is not a plain synchronous function", () => {
    const app = createApp({ name: "demo" });
    expect(() => app.model("a", { validate: 3 as never }, async () => 1)).toThrow('app.model("a"): validate must be a function of the model\'s arguments that throws to refuse a request, got number');
    expect(() => app.model("b", { validate: async () => undefined }, async () => 1)).toThrow('app.model("b"): validate must be a plain synchronous function');
    expect(app.models).toEqual([]);
  });

  it("getModelOrThrow names what is registered", () => {
    const app = createApp({ name: "demo" });
    app.model("a", async () => 1);
    expect(app.getModel("b")).toBeUndefined();
    expect(() => app.getModelOrThrow("b")).toThrow('app "demo" has no model "b" (registered: a)');
  });
});
