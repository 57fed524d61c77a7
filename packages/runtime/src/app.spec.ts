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

  it("getModelOrThrow names what is registered", () => {
    const app = createApp({ name: "demo" });
    app.model("a", async () => 1);
    expect(app.getModel("b")).toBeUndefined();
    expect(() => app.getModelOrThrow("b")).toThrow('app "demo" has no model "b" (registered: a)');
  });
});
