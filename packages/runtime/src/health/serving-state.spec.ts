import { createApp } from "../app.js";
import { createServingState } from "./serving-state.js";

const OWN = "director.v1.InferenceDirector";
const MODELS = "demo.v1.InferenceService";

/** An app with a model ("m", no loader) served by MODELS, and a service of its own (OWN, no models). */
function setup() {
  const app = createApp({ name: "demo" });
  app.model("m", async () => 1);
  const state = createServingState(
    app,
    new Map([
      [MODELS, ["m"]],
      [OWN, []],
    ]),
    app.servingStatus,
  );
  app.servingStatus.allow(state.services());
  return { app, state };
}

describe("createServingState with the statuses user code sets", () => {
  it("is SERVING everywhere while nothing was set", () => {
    const { state } = setup();
    expect(state.services()).toEqual(["", MODELS, OWN]);
    expect(state.status()).toBe("SERVING");
    expect(state.servicesStatus()).toEqual({ [MODELS]: "SERVING", [OWN]: "SERVING" });
    expect(state.serviceStatus("nope.v1.Nope")).toBeUndefined();
  });

  it('a service set NOT_SERVING: that service and "" NOT_SERVING, the others still SERVING, until set back', () => {
    const { app, state } = setup();
    app.setServingStatus("NOT_SERVING", OWN);
    expect(state.serviceStatus(OWN)).toBe("NOT_SERVING");
    expect(state.serviceStatus("")).toBe("NOT_SERVING");
    expect(state.status()).toBe("NOT_SERVING");
    expect(state.serviceStatus(MODELS)).toBe("SERVING");
    expect(state.servicesStatus()).toEqual({ [MODELS]: "SERVING", [OWN]: "NOT_SERVING" });
    app.setServingStatus("SERVING", OWN);
    expect(state.status()).toBe("SERVING");
    expect(state.serviceStatus(OWN)).toBe("SERVING");
  });

  it('the whole server set NOT_SERVING: "" NOT_SERVING, each service keeps its own status', () => {
    const { app, state } = setup();
    app.setServingStatus("NOT_SERVING");
    expect(state.status()).toBe("NOT_SERVING");
    expect(state.servicesStatus()).toEqual({ [MODELS]: "SERVING", [OWN]: "SERVING" });
    app.setServingStatus("SERVING", "");
    expect(state.status()).toBe("SERVING");
  });

  it("SERVING set by user code does not override a model that is not ready, nor draining", async () => {
    const app = createApp({ name: "demo" });
    app.model("m", async () => 1);
    let release!: () => void;
    app.loader("m", () => new Promise<void>((r) => (release = r)));
    const state = createServingState(
      app,
      new Map([
        [MODELS, ["m"]],
        [OWN, []],
      ]),
      app.servingStatus,
    );
    app.setServingStatus("SERVING", MODELS);
    app.setServingStatus("SERVING");
    expect(state.serviceStatus(MODELS)).toBe("NOT_SERVING");
    expect(state.serviceStatus(OWN)).toBe("SERVING");
    expect(state.status()).toBe("NOT_SERVING");
    const loaded = state.load();
    release();
    await loaded;
    expect(state.status()).toBe("SERVING");
    state.drain();
    expect(state.servicesStatus()).toEqual({ [MODELS]: "NOT_SERVING", [OWN]: "NOT_SERVING" });
  });

  it("after allow(), an unknown name throws with the served list, and nothing changes", () => {
    const { app, state } = setup();
    expect(() => app.setServingStatus("NOT_SERVING", "director.v1.Typo")).toThrow(
      `setServingStatus: no service "director.v1.Typo" is served (served: ${MODELS}, ${OWN}; "" is the whole server)`,
    );
    expect(state.status()).toBe("SERVING");
  });

  it("tells its listeners when user code changes a status, and stops following the store once disposed", () => {
    const { app, state } = setup();
    const seen: string[] = [];
    state.subscribe(() => seen.push(`${state.serviceStatus(OWN)} ${state.status()}`));
    app.setServingStatus("NOT_SERVING", OWN);
    app.setServingStatus("NOT_SERVING", OWN); // no change: no call
    app.setServingStatus("SERVING", OWN);
    expect(seen).toEqual(["NOT_SERVING NOT_SERVING", "SERVING SERVING"]);
    state.dispose();
    app.setServingStatus("NOT_SERVING", OWN);
    expect(seen).toHaveLength(2);
  });

  it("reads statuses set before it was created", () => {
    const app = createApp({ name: "demo" });
    app.setServingStatus("NOT_SERVING", OWN);
    const state = createServingState(app, new Map([[OWN, []]]), app.servingStatus);
    expect(state.serviceStatus(OWN)).toBe("NOT_SERVING");
    expect(state.status()).toBe("NOT_SERVING");
  });
});

describe("createServingState with peers (the other workers of one port)", () => {
  it("is NOT_SERVING while the peers are not all ready, its own status aside; listeners hear the change", () => {
    const app = createApp({ name: "demo" });
    app.model("m", async () => 1);
    let ready = false;
    const listeners = new Set<() => void>();
    const peers = { ready: () => ready, subscribe: (l: () => void) => (listeners.add(l), () => listeners.delete(l)) };
    const state = createServingState(app, new Map([[MODELS, ["m"]]]), app.servingStatus, peers);
    let heard = 0;
    state.subscribe(() => heard++);
    expect(state.localStatus()).toBe("SERVING");
    expect(state.status()).toBe("NOT_SERVING");
    expect(state.serviceStatus(MODELS)).toBe("NOT_SERVING");
    ready = true;
    for (const l of listeners) l();
    expect(heard).toBe(1);
    expect(state.status()).toBe("SERVING");
    expect(state.serviceStatus(MODELS)).toBe("SERVING");
    // Its own drain still wins, and shows in its local status (what it reports to the peers).
    state.drain();
    expect(state.localStatus()).toBe("NOT_SERVING");
    expect(state.status()).toBe("NOT_SERVING");
    state.dispose();
    expect(listeners.size).toBe(0);
  });
});
