import { createLifecycle } from "./lifecycle.js";

describe("createLifecycle", () => {
  let stderr: jest.SpyInstance;
  beforeEach(() => {
    stderr = jest.spyOn(console, "error").mockImplementation(() => undefined);
  });
  afterEach(() => stderr.mockRestore());

  it("runs the start hooks in order, each awaited before the next, and only once", async () => {
    const ran: string[] = [];
    const lifecycle = createLifecycle({
      start: [
        async () => {
          await new Promise((r) => setTimeout(r, 5));
          ran.push("a");
        },
        () => void ran.push("b"),
      ],
      stop: [],
    });
    const first = lifecycle.start();
    expect(lifecycle.start()).toBe(first);
    await first;
    await lifecycle.start();
    expect(ran).toEqual(["a", "b"]);
  });

  it("a failing start hook rejects with its number, name and message; later hooks do not run", async () => {
    const ran: string[] = [];
    const cause = new Error("ECONNREFUSED 127.0.0.1:5432");
    const lifecycle = createLifecycle({
      start: [
        () => void ran.push("a"),
        async function openDatabase() {
          throw cause;
        },
        () => void ran.push("c"),
      ],
      stop: [() => void ran.push("stop")],
    });
    const err = await lifecycle.start().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe("start hook 2 of 3 (openDatabase) failed: ECONNREFUSED 127.0.0.1:5432");
    expect(err?.cause).toBe(cause);
    expect(ran).toEqual(["a"]);
    // The same failure again, not a second run.
    await expect(lifecycle.start()).rejects.toThrow("start hook 2 of 3 (openDatabase) failed");
    expect(ran).toEqual(["a"]);
    // The start did not complete: no stop hook runs.
    await lifecycle.stop();
    expect(ran).toEqual(["a"]);
  });

  it("names no hook that has no name, and takes a thrown non-Error as the message", async () => {
    const lifecycle = createLifecycle({
      start: [
        // An anonymous function: `name` is "".
        [() => Promise.reject("the cache is cold")][0]!,
      ],
      stop: [],
    });
    await expect(lifecycle.start()).rejects.toThrow(/^start hook 1 of 1 failed: the cache is cold$/);
  });

  it("runs the stop hooks in reverse order once start completed, each once", async () => {
    const ran: string[] = [];
    const lifecycle = createLifecycle({
      start: [],
      stop: [
        () => void ran.push("first added"),
        async () => {
          await new Promise((r) => setTimeout(r, 5));
          ran.push("second added");
        },
        () => void ran.push("last added"),
      ],
    });
    await lifecycle.start();
    const stopping = lifecycle.stop();
    expect(lifecycle.stop()).toBe(stopping);
    await stopping;
    await lifecycle.stop();
    expect(ran).toEqual(["last added", "second added", "first added"]);
  });

  it("does not run the stop hooks when start never ran", async () => {
    const ran: string[] = [];
    const lifecycle = createLifecycle({ start: [], stop: [() => void ran.push("stop")] });
    await lifecycle.stop();
    expect(ran).toEqual([]);
  });

  it("a failing stop hook is logged with its name and the others still run", async () => {
    const ran: string[] = [];
    const boom = new Error("flush failed");
    const lifecycle = createLifecycle({
      start: [],
      stop: [
        () => void ran.push("a"),
        async function flushQueue() {
          throw boom;
        },
        () => {
          ran.push("c");
          throw "not an Error";
        },
      ],
    });
    await lifecycle.start();
    await expect(lifecycle.stop()).resolves.toBeUndefined();
    expect(ran).toEqual(["c", "a"]);
    expect(stderr.mock.calls).toEqual([
      ["blazerpc: a stop hook failed:", "not an Error"],
      ["blazerpc: a stop hook (flushQueue) failed:", boom],
    ]);
  });
});
