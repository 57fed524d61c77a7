import { Code, ConnectError } from "@connectrpc/connect";
import type { Tensor } from "@blazerpc/tensor";
import { createApp, type BatchOptions, type ModelFunction } from "../app.js";
import type { ExecutorMetrics, RejectionReason } from "../executor/metrics.js";
import { createBatcher } from "./batcher.js";

const rows = (values: number[][]): Tensor<"float32"> => ({
  dtype: "float32",
  shape: [values.length, values[0]?.length ?? 0],
  data: new Float32Array(values.flat()),
});
const valuesOf = (t: unknown) => Array.from((t as Tensor<"float32">).data);

/** A model record whose calls are recorded, and a batcher over it. */
function setup(fn: ModelFunction, options: BatchOptions) {
  const app = createApp({ name: "t" });
  const calls: unknown[][] = [];
  app.model("m", { batch: options }, async (...args: unknown[]) => {
    calls.push(args);
    return fn(...args);
  });
  const rejected: RejectionReason[] = [];
  const sizes: number[] = [];
  const metrics: ExecutorMetrics = { rejected: (_m, r) => rejected.push(r), computed: (_m, n) => sizes.push(n) };
  return { batcher: createBatcher(app.getModelOrThrow("m"), options, metrics), calls, rejected, sizes };
}

/** {@link setup} with a model that answers its input once `release()` is called. */
function gated(options: BatchOptions) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  return {
    ...setup(async (x: Tensor) => {
      await gate;
      return x;
    }, options),
    release,
  };
}

const never = () => ({ signal: new AbortController().signal });
const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e as ConnectError,
  );

describe("tensor batching", () => {
  const double = async (x: Tensor<"float32">) => ({ ...x, data: (x.data as Float32Array).map((v) => v * 2) });

  it("stacks queued requests along dim 0, calls the model once, and splits the result by each request's rows", async () => {
    const { batcher, calls, sizes } = setup(double, { maxBatchSize: 8, maxDelayMs: 20 });
    const results = await Promise.all([
      batcher.submit([rows([[1, 2]])], never()),
      batcher.submit(
        [
          rows([
            [3, 4],
            [5, 6],
          ]),
        ],
        never(),
      ),
      batcher.submit([rows([[7, 8]])], never()),
    ]);
    expect(calls).toHaveLength(1);
    expect((calls[0]![0] as Tensor).shape).toEqual([4, 2]);
    expect(sizes).toEqual([4]);
    expect(results.map((r) => [(r as Tensor).shape, valuesOf(r)])).toEqual([
      [
        [1, 2],
        [2, 4],
      ],
      [
        [2, 2],
        [6, 8, 10, 12],
      ],
      [
        [1, 2],
        [14, 16],
      ],
    ]);
  });

  it("dispatches at once when maxBatchSize rows are queued, without waiting out maxDelayMs", async () => {
    const { batcher, sizes } = setup(double, { maxBatchSize: 3, maxDelayMs: 10_000 });
    const started = Date.now();
    await Promise.all([1, 2, 3].map((v) => batcher.submit([rows([[v]])], never())));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(sizes).toEqual([3]);
  });

  it("dispatches at a preferred size as soon as it is reached", async () => {
    const { batcher, sizes } = setup(double, { maxBatchSize: 64, maxDelayMs: 10_000, preferredBatchSizes: [2] });
    await Promise.all([batcher.submit([rows([[1]])], never()), batcher.submit([rows([[2]])], never())]);
    expect(sizes).toEqual([2]);
  });

  it("waits at most maxDelayMs for a batch to fill", async () => {
    const { batcher, sizes } = setup(double, { maxBatchSize: 64, maxDelayMs: 30 });
    const started = performance.now();
    await batcher.submit([rows([[1]])], never());
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(29);
    expect(sizes).toEqual([1]);
  });

  it("collects the next batch while one computes, and never exceeds maxBatchSize", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let first = true;
    const { batcher, sizes } = setup(
      async (x: Tensor<"float32">) => {
        if (first) {
          first = false;
          await gate;
        }
        return x;
      },
      { maxBatchSize: 4, maxDelayMs: 0 },
    );
    const all = [batcher.submit([rows([[0]])], never())];
    await new Promise((r) => setTimeout(r, 10)); // the first batch (1 row) is now computing
    for (let i = 1; i <= 6; i++) all.push(batcher.submit([rows([[i]])], never()));
    expect(batcher.depth).toBe(6);
    release();
    const results = await Promise.all(all);
    expect(sizes).toEqual([1, 4, 2]);
    expect(results.map(valuesOf)).toEqual([[0], [1], [2], [3], [4], [5], [6]]);
  });

  it("never stacks requests whose non-batch dims differ: they go in separate batches", async () => {
    const { batcher, calls } = setup(async (x: Tensor<"float32">) => x, { maxBatchSize: 8, maxDelayMs: 5 });
    const [a, b, c] = await Promise.all([
      batcher.submit([rows([[1, 2]])], never()),
      batcher.submit([rows([[1, 2, 3]])], never()),
      batcher.submit([rows([[4, 5]])], never()),
    ]);
    expect(calls.map((c) => (c[0] as Tensor).shape)).toEqual([
      [2, 2],
      [1, 3],
    ]);
    expect([valuesOf(a), valuesOf(b), valuesOf(c)]).toEqual([
      [1, 2],
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it("fails the whole batch when the model throws", async () => {
    const { batcher } = setup(
      async () => {
        throw new Error("boom");
      },
      { maxBatchSize: 2, maxDelayMs: 5 },
    );
    const errs = await Promise.all([
      errorOf(batcher.submit([rows([[1]])], never())),
      errorOf(batcher.submit([rows([[2]])], never())),
    ]);
    expect(errs.map((e) => (e as unknown as Error).message)).toEqual(["boom", "boom"]);
  });

  it("fails the batch with a message saying so when the result has the wrong row count", async () => {
    const { batcher } = setup(async () => rows([[1]]), { maxBatchSize: 2, maxDelayMs: 5 });
    const errs = await Promise.all([
      errorOf(batcher.submit([rows([[1]])], never())),
      errorOf(batcher.submit([rows([[2]])], never())),
    ]);
    for (const e of errs) {
      expect(e.code).toBe(Code.Internal);
      expect(e.rawMessage).toBe(
        'model "m" returned a result that does not fit its batch: model "m"\'s result has 1 rows (shape [1, 1]) for a batch of 2 rows',
      );
    }
  });

  it("splits every tensor of an object result", async () => {
    const { batcher } = setup(async (x: Tensor<"float32">) => ({ a: x, b: x }), { maxBatchSize: 2, maxDelayMs: 5 });
    const [r1, r2] = (await Promise.all([
      batcher.submit([rows([[1]])], never()),
      batcher.submit([rows([[2]])], never()),
    ])) as { a: Tensor; b: Tensor }[];
    expect([valuesOf(r1!.a), valuesOf(r2!.b)]).toEqual([[1], [2]]);
  });

  it("refuses inputs of one request that disagree on the batch dimension", async () => {
    const { batcher, calls } = setup(async (x: Tensor) => x, { maxBatchSize: 8, maxDelayMs: 1 });
    const err = await errorOf(batcher.submit([rows([[1]]), rows([[1], [2]])], never()));
    expect([err.code, err.rawMessage]).toEqual([
      Code.InvalidArgument,
      'model "m": inputs disagree on the batch dimension: argument 0 has 1 rows, argument 1 has 2',
    ]);
    expect(calls).toHaveLength(0);
  });
});

describe("the fast lane", () => {
  it("computes a call that finds the model idle and the queue empty at once: no queue entry, its result as the model returned it", async () => {
    const app = createApp({ name: "t" });
    const returned: unknown[] = [];
    app.model("m", { batch: { maxBatchSize: 8, maxDelayMs: 0 } }, async (x: Tensor) => {
      const out = { ...x };
      returned.push(out);
      return out;
    });
    const hooks: string[] = [];
    const batcher = createBatcher(
      app.getModelOrThrow("m"),
      { maxBatchSize: 8, maxDelayMs: 0 },
      {
        queued: (_m, depth) => hooks.push(`queued ${depth}`),
        dequeued: (_m, waitMs, depth) => hooks.push(`dequeued ${waitMs} ${depth}`),
        computed: (_m, size) => hooks.push(`computed ${size}`),
      },
    );
    const result = await batcher.submit([rows([[1, 2]])], never());
    expect(result).toBe(returned[0]); // not split, not copied
    expect(hooks).toEqual(["dequeued 0 0", "computed 1"]);
  });

  it("queues the calls that come while it computes, and batches them as soon as it ends", async () => {
    const { batcher, calls, sizes, release } = gated({ maxBatchSize: 8, maxDelayMs: 0 });
    const first = batcher.submit([rows([[1]])], never());
    const later = [batcher.submit([rows([[2]])], never()), batcher.submit([rows([[3]])], never())];
    expect(batcher.depth).toBe(2);
    release();
    expect((await Promise.all([first, ...later])).map(valuesOf)).toEqual([[1], [2], [3]]);
    expect(sizes).toEqual([1, 2]);
    expect(calls.map((c) => (c[0] as Tensor).shape[0])).toEqual([1, 2]);
  });

  it("checks its result as a batch's: a wrong row count is INTERNAL, an expired deadline is never computed", async () => {
    const { batcher, calls, rejected } = setup(async () => rows([[1], [2]]), { maxBatchSize: 8, maxDelayMs: 0 });
    const misfit = await errorOf(batcher.submit([rows([[1]])], never()));
    expect(misfit.code).toBe(Code.Internal);
    expect(misfit.rawMessage).toMatch(/^model "m" returned a result that does not fit its batch: /);
    const late = await errorOf(
      batcher.submit([rows([[1]])], { signal: new AbortController().signal, timeoutMs: () => 0 }),
    );
    expect(late.code).toBe(Code.DeadlineExceeded);
    expect(calls).toHaveLength(1);
    expect(rejected).toEqual(["deadline"]);
  });
});

describe("reservations (calls admitted before they are read)", () => {
  it("hold a place each until submitted or released, so that later admissions count them", async () => {
    const { batcher, calls, rejected, release } = gated({ maxBatchSize: 1, maxDelayMs: 0, queueCapacity: 2 });
    const running = batcher.submit([rows([[1]])], never());
    const a = { held: false };
    const b = { held: false };
    expect(batcher.admit(undefined, a)).toBeUndefined();
    expect(batcher.admit(undefined, b)).toBeUndefined();
    expect([a.held, b.held]).toEqual([true, true]);
    // Nothing is queued yet, but both places are taken.
    expect(batcher.depth).toBe(0);
    expect(batcher.admit(undefined, { held: false })?.code).toBe(Code.ResourceExhausted);
    batcher.release(a);
    expect(a.held).toBe(false);
    batcher.release(a); // twice is once
    // b is submitted with its place: queued without asking admission again.
    const queued = batcher.submit([rows([[2]])], { signal: new AbortController().signal, reservation: b });
    expect(b.held).toBe(false);
    expect(batcher.depth).toBe(1);
    expect(batcher.admit(undefined)).toBeUndefined(); // one place left
    release();
    await Promise.all([running, queued]);
    expect(calls.map((c) => valuesOf(c[0]))).toEqual([[1], [2]]);
    expect(rejected).toEqual(["queue_full"]);
  });
});

describe("adaptive wait", () => {
  const identity = async (x: Tensor) => x;
  const timed = async (p: Promise<unknown>) => {
    const t = performance.now();
    await p;
    return performance.now() - t;
  };

  it("stops waiting out maxDelayMs for a lone client after 3 waits that gathered nobody, and waits again once company comes", async () => {
    const { batcher, sizes } = setup(identity, { maxBatchSize: 8, maxDelayMs: 150 });
    for (let i = 0; i < 3; i++) expect(await timed(batcher.submit([rows([[i]])], never()))).toBeGreaterThanOrEqual(140);
    // Waiting has not paid three times: the next lone requests go at once.
    for (let i = 0; i < 3; i++) expect(await timed(batcher.submit([rows([[i]])], never()))).toBeLessThan(100);
    // Company: a burst. Its first request goes at once (the model was idle), the others
    // queue behind it and wait for each other, as before.
    await Promise.all([1, 2, 3, 4].map((v) => batcher.submit([rows([[v]])], never())));
    expect(sizes.slice(-2)).toEqual([1, 3]);
    // That wait paid: a lone request waits again.
    expect(await timed(batcher.submit([rows([[9]])], never()))).toBeGreaterThanOrEqual(140);
  });

  it("always waits with adaptiveWait: false", async () => {
    const { batcher } = setup(identity, { maxBatchSize: 8, maxDelayMs: 60, adaptiveWait: false });
    for (let i = 0; i < 5; i++) expect(await timed(batcher.submit([rows([[i]])], never()))).toBeGreaterThanOrEqual(55);
  });
});

describe("adaptive LIFO (a stale queue)", () => {
  /** A model that answers at once, except while `hold` is set: then once `release()` is called. */
  function holdable(options: BatchOptions) {
    let hold: Promise<void> | undefined;
    let release = () => {};
    const lifo: string[] = [];
    const app = createApp({ name: "t" });
    const calls: number[][] = [];
    app.model("m", { batch: options }, async (x: Tensor) => {
      calls.push(valuesOf(x));
      if (hold !== undefined) await hold;
      return x;
    });
    const batcher = createBatcher(app.getModelOrThrow("m"), options, { lifo: (m) => lifo.push(m) });
    return {
      batcher,
      calls,
      lifo,
      holdNext: () => (hold = new Promise<void>((r) => (release = r))),
      release: () => {
        hold = undefined;
        release();
      },
    };
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("forms batches newest first once the oldest call has waited staleQueueMs past what batching accounts for", async () => {
    const { batcher, calls, lifo, holdNext, release } = holdable({ maxBatchSize: 2, maxDelayMs: 0, staleQueueMs: 20 });
    // Quick batches: the model's recent compute times are ~0 ms.
    for (let i = 0; i < 8; i++) await batcher.submit([rows([[0]])], never());
    holdNext();
    const busy = batcher.submit([rows([[1]])], never()); // the model is busy with it
    const old = [batcher.submit([rows([[2]])], never()), batcher.submit([rows([[3]])], never())];
    await sleep(60); // the oldest has waited 60 ms: stale past 0 + 2 × ~0 + 20
    const fresh = [batcher.submit([rows([[4]])], never()), batcher.submit([rows([[5]])], never())];
    release();
    await Promise.all([busy, ...old, ...fresh]);
    expect(calls.slice(8)).toEqual([[1], [5, 4], [3, 2]]);
    expect(lifo).toEqual(["m", "m"]);
  });

  it("keeps oldest first while the queue is fresh, and with staleQueueMs: Infinity", async () => {
    for (const staleQueueMs of [10_000, Infinity]) {
      const { batcher, calls, lifo, holdNext, release } = holdable({ maxBatchSize: 2, maxDelayMs: 0, staleQueueMs });
      for (let i = 0; i < 8; i++) await batcher.submit([rows([[0]])], never());
      holdNext();
      const busy = batcher.submit([rows([[1]])], never());
      const queued = [2, 3, 4, 5].map((v) => batcher.submit([rows([[v]])], never()));
      await sleep(60);
      release();
      await Promise.all([busy, ...queued]);
      expect(calls.slice(8)).toEqual([[1], [2, 3], [4, 5]]);
      expect(lifo).toEqual([]);
    }
  });
});

describe("list batching (non-tensor inputs)", () => {
  it("passes one array per parameter and delivers result i to request i; an Error at i fails only request i", async () => {
    const { batcher, calls } = setup(
      async (texts: string[], counts: number[]) =>
        texts.map((t, i) => (t === "bad" ? new Error(`cannot read "${t}"`) : t.repeat(counts[i]!))),
      { maxBatchSize: 8, maxDelayMs: 5 },
    );
    const settled = await Promise.allSettled([
      batcher.submit(["a", 2], never()),
      batcher.submit(["bad", 1], never()),
      batcher.submit(["c", 3], never()),
    ]);
    expect(calls).toEqual([
      [
        ["a", "bad", "c"],
        [2, 1, 3],
      ],
    ]);
    expect(settled.map((s) => (s.status === "fulfilled" ? s.value : (s.reason as Error).message))).toEqual([
      "aa",
      'cannot read "bad"',
      "ccc",
    ]);
  });

  it("fails the batch when the model returns the wrong number of results", async () => {
    const { batcher } = setup(async () => ["only one"], { maxBatchSize: 8, maxDelayMs: 5 });
    const errs = await Promise.all([errorOf(batcher.submit(["a"], never())), errorOf(batcher.submit(["b"], never()))]);
    expect(errs[0]!.rawMessage).toBe(
      'model "m" returned a result that does not fit its batch: 1 results for a batch of 2 requests',
    );
  });
});

describe("deadlines, cancellation, backpressure", () => {
  it("removes a request whose deadline passes in the queue: DEADLINE_EXCEEDED, never computed", async () => {
    const { batcher, calls, rejected, release } = gated({ maxBatchSize: 1, maxDelayMs: 0 });
    const busy = batcher.submit([rows([[1]])], never()); // occupies the model
    const deadline = new AbortController();
    const late = errorOf(batcher.submit([rows([[2]])], { signal: deadline.signal }));
    deadline.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)); // as connect-node does
    const err = await late;
    expect([err.code, err.rawMessage]).toEqual([
      Code.DeadlineExceeded,
      'the deadline passed while the request waited for model "m"',
    ]);
    release();
    await busy;
    await batcher.drain();
    expect(calls.map((c) => valuesOf(c[0]))).toEqual([[1]]);
    expect(rejected).toEqual(["deadline"]);
  });

  it("drops a request whose deadline has passed at dispatch even if no timer fired (a busy event loop)", async () => {
    const { batcher, calls, rejected, release } = gated({ maxBatchSize: 1, maxDelayMs: 0 });
    const busy = batcher.submit([rows([[1]])], never());
    let left = 1000;
    const expiring = errorOf(
      batcher.submit([rows([[2]])], { signal: new AbortController().signal, timeoutMs: () => left }),
    );
    left = -1; // the deadline passes; its abort has not fired yet
    release();
    expect((await expiring).code).toBe(Code.DeadlineExceeded);
    await busy;
    expect(calls.map((c) => valuesOf(c[0]))).toEqual([[1]]);
    expect(rejected).toEqual(["deadline"]);
  });

  it("drops a request that cannot be answered before its deadline, judging by the model's recent compute time", async () => {
    const { batcher, calls, rejected } = setup(
      async (x: Tensor) => {
        await new Promise((r) => setTimeout(r, 60));
        return x;
      },
      { maxBatchSize: 1, maxDelayMs: 0 },
    );
    await batcher.submit([rows([[1]])], never()); // teaches the batcher a batch takes ~60 ms
    const busy = batcher.submit([rows([[2]])], never());
    // Roomy when it is queued (so it is admitted), 20 ms left by the time a batch is formed.
    let left = 10_000;
    const tight = errorOf(
      batcher.submit([rows([[3]])], { signal: new AbortController().signal, timeoutMs: () => left }),
    );
    left = 20;
    const roomy = batcher.submit([rows([[4]])], { signal: new AbortController().signal, timeoutMs: () => 10_000 });
    const err = await tight;
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(err.rawMessage).toMatch(
      /^the deadline would pass before model "m" could answer \(\d+\.\d ms left, a batch takes about \d+\.\d ms\)$/,
    );
    await Promise.all([busy, roomy]);
    expect(calls.map((c) => valuesOf(c[0]))).toEqual([[1], [2], [4]]);
    expect(rejected).toEqual(["deadline"]);
  });

  it("recovers from one slow batch: calls with less time left than that batch took are still computed once nothing else is at hand", async () => {
    let slow = true;
    const { batcher, calls, rejected } = setup(
      async (x: Tensor) => {
        if (slow) await new Promise((r) => setTimeout(r, 150)); // a GC pause, a busy event loop
        slow = false;
        return x;
      },
      { maxBatchSize: 4, maxDelayMs: 0 },
    );
    await batcher.submit([rows([[1]])], never()); // the batcher now believes a batch takes ~150 ms
    const deadline = (ms: number) => {
      const at = Date.now() + ms;
      return { signal: new AbortController().signal, timeoutMs: () => at - Date.now() };
    };
    // Every call from now on has 100 ms: each looks too late, yet none has expired. Before,
    // every one of them was refused, and since no batch ran the estimate never came down.
    for (let i = 2; i <= 6; i++) await batcher.submit([rows([[i]])], deadline(100));
    expect(calls.map((c) => valuesOf(c[0]))).toEqual([[1], [2], [3], [4], [5], [6]]);
    expect(rejected).toEqual([]);
    // Several such calls at once share one batch, freshest first, in queue order.
    const together = await Promise.all([7, 8, 9].map((v) => batcher.submit([rows([[v]])], deadline(100))));
    expect(together.map(valuesOf)).toEqual([[7], [8], [9]]);
  });

  it("refuses at once a request whose deadline the work queued ahead would outlast, and admits any request to an idle model", async () => {
    const { batcher, calls, rejected } = setup(
      async (x: Tensor) => {
        await new Promise((r) => setTimeout(r, 40));
        return x;
      },
      { maxBatchSize: 1, maxDelayMs: 0 },
    );
    const within = (ms: number) => ({ signal: new AbortController().signal, timeoutMs: () => ms });
    // Idle, and nothing learnt yet: admitted even with a deadline shorter than a batch.
    await batcher.submit([rows([[1]])], within(10));
    expect(batcher.admit(10)).toBeUndefined(); // idle again: still admitted
    const busy = batcher.submit([rows([[2]])], never()); // one batch running (~40 ms)
    const queued = batcher.submit([rows([[3]])], never()); // one batch queued
    // Ahead of a new call: the running batch, the queued one, its own: ~120 ms.
    expect(batcher.admit(1_000)).toBeUndefined();
    const err = await errorOf(batcher.submit([rows([[4]])], within(200)));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(err.rawMessage).toMatch(
      /^model "m" cannot answer before the deadline: 1 requests are queued ahead, about \d+\.\d ms of work, and 200\.0 ms are left$/,
    );
    const direct = batcher.admit(100);
    expect(direct?.code).toBe(Code.DeadlineExceeded);
    await Promise.all([busy, queued]);
    expect(calls.map((c) => valuesOf(c[0]))).toEqual([[1], [2], [3]]);
    expect(rejected).toEqual(["deadline", "deadline"]);
  });

  it("judges by the median of recent batches: one quick batch among slow ones does not make it admit too much", async () => {
    let ms = 60;
    let gate: Promise<void> | undefined = undefined; // set once the model has learnt
    let open!: () => void;
    const { batcher } = setup(
      async (x: Tensor) => {
        if (gate !== undefined) await gate;
        else await new Promise((r) => setTimeout(r, ms));
        return x;
      },
      { maxBatchSize: 1, maxDelayMs: 0 },
    );
    for (let i = 0; i < 3; i++) await batcher.submit([rows([[i]])], never()); // ~60 ms each
    ms = 0;
    await batcher.submit([rows([[3]])], never()); // one quick batch
    gate = new Promise<void>((r) => (open = r));
    const busy = batcher.submit([rows([[4]])], never());
    const queued = batcher.submit([rows([[5]])], never());
    // Ahead of a new call: the running batch, the queued one and its own, ~180 ms by the
    // median; by the quickest batch it would be a few ms, and a 300 ms deadline admitted.
    expect(batcher.admit(300)?.code).toBe(Code.DeadlineExceeded);
    expect(batcher.admit(1_000)).toBeUndefined();
    open();
    await Promise.all([busy, queued]);
  });

  it("tells a transport at once that the queue is full (admit)", async () => {
    const { batcher, rejected, release } = gated({ maxBatchSize: 1, maxDelayMs: 0, queueCapacity: 1 });
    const running = batcher.submit([rows([[1]])], never());
    const queued = batcher.submit([rows([[2]])], never());
    expect(batcher.admit(undefined)?.code).toBe(Code.ResourceExhausted);
    expect(rejected).toEqual(["queue_full"]);
    release();
    await Promise.all([running, queued]);
    expect(batcher.admit(undefined)).toBeUndefined();
  });

  it("keeps its accounting when requests leave from the middle of a long queue", async () => {
    const { batcher, calls, release } = gated({ maxBatchSize: 4, maxDelayMs: 0 });
    const busy = batcher.submit([rows([[0]])], never());
    const controllers = Array.from({ length: 2000 }, () => new AbortController());
    const all = controllers.map((c, i) =>
      batcher.submit([rows([[i + 1]])], { signal: c.signal }).catch((e: ConnectError) => e.code),
    );
    expect(batcher.depth).toBe(2000);
    controllers.forEach((c, i) => {
      if (i !== 10 && i !== 1500) c.abort();
    });
    expect(batcher.depth).toBe(2);
    release();
    await busy;
    const results = await Promise.all(all);
    expect(results.filter((r) => r === Code.Canceled)).toHaveLength(1998);
    expect(calls.map((c) => (c[0] as Tensor).shape[0])).toEqual([1, 2]);
    expect(valuesOf(calls[1]![0])).toEqual([11, 1501]);
    expect(batcher.depth).toBe(0);
  });

  it("removes a request whose client went away: CANCELLED, never computed", async () => {
    const { batcher, calls, rejected } = setup(async (x: Tensor) => x, { maxBatchSize: 8, maxDelayMs: 50 });
    const gone = new AbortController();
    const p = errorOf(batcher.submit([rows([[1]])], { signal: gone.signal }));
    const kept = batcher.submit([rows([[2]])], never());
    gone.abort();
    expect((await p).code).toBe(Code.Canceled);
    expect(valuesOf(await kept)).toEqual([2]);
    expect(calls.map((c) => valuesOf(c[0]))).toEqual([[2]]);
    expect(rejected).toEqual(["cancelled"]);
  });

  it("refuses a request whose signal has already aborted", async () => {
    const { batcher, calls } = setup(async (x: Tensor) => x, { maxBatchSize: 8, maxDelayMs: 1 });
    const err = await errorOf(batcher.submit([rows([[1]])], { signal: AbortSignal.abort() }));
    expect(err.code).toBe(Code.Canceled);
    expect(calls).toHaveLength(0);
  });

  it("answers RESOURCE_EXHAUSTED at once when the queue is full", async () => {
    const { batcher, rejected } = setup(async (x: Tensor) => x, { maxBatchSize: 8, maxDelayMs: 50, queueCapacity: 2 });
    const a = batcher.submit([rows([[1]])], never());
    const b = batcher.submit([rows([[2]])], never());
    const err = await errorOf(batcher.submit([rows([[3]])], never()));
    expect([err.code, err.rawMessage]).toEqual([
      Code.ResourceExhausted,
      'model "m" is at capacity: 2 requests queued (queueCapacity 2) — retry later',
    ]);
    expect(rejected).toEqual(["queue_full"]);
    await Promise.all([a, b]);
  });
});

describe("what one request may hold is checked before it is queued", () => {
  /** A batcher over a model registered with a named parameter, as codegen sees it. */
  function named(batch: BatchOptions, validate?: (features: Tensor) => void) {
    const app = createApp({ name: "t" });
    const seen: number[] = [];
    app.model("m", { batch, validate }, async (features: Tensor) => {
      seen.push(features.shape[0]!);
      return features;
    });
    const queued: number[] = [];
    const rejected: RejectionReason[] = [];
    const metrics: ExecutorMetrics = {
      queued: (_m, depth) => queued.push(depth),
      rejected: (_m, r) => rejected.push(r),
    };
    return { batcher: createBatcher(app.getModelOrThrow("m"), batch, metrics), seen, queued, rejected };
  }
  const n = (count: number) => rows(Array.from({ length: count }, (_, i) => [i]));

  it("refuses more rows than maxBatchSize by default: INVALID_ARGUMENT naming the model, the rows and the limit", async () => {
    const { batcher, seen, queued, rejected } = named({ maxBatchSize: 4, maxDelayMs: 0 });
    const err = await errorOf(batcher.submit([n(5)], never()));
    expect([err.code, err.rawMessage]).toEqual([
      Code.InvalidArgument,
      'model "m": a request may hold at most 4 rows (maxRowsPerRequest), got 5',
    ]);
    // Never queued, never computed, not counted as a rejection of load (it is the request's fault).
    expect([seen, queued, rejected, batcher.depth]).toEqual([[], [], [], 0]);
    expect(valuesOf(await batcher.submit([n(4)], never()))).toEqual([0, 1, 2, 3]);
  });

  it("says INVALID_ARGUMENT even when the queue is full: the request is wrong whatever the load", async () => {
    const { batcher } = named({ maxBatchSize: 4, maxDelayMs: 50, queueCapacity: 1 });
    const first = batcher.submit([n(1)], never());
    expect((await errorOf(batcher.submit([n(1)], never()))).code).toBe(Code.ResourceExhausted);
    expect((await errorOf(batcher.submit([n(5)], never()))).code).toBe(Code.InvalidArgument);
    await first;
  });

  it("maxRowsPerRequest above maxBatchSize: a larger request runs as a batch of its own, never split", async () => {
    const { batcher, seen } = named({ maxBatchSize: 2, maxDelayMs: 20, maxRowsPerRequest: 6 });
    const results = await Promise.all([
      batcher.submit([n(1)], never()),
      batcher.submit([n(6)], never()),
      batcher.submit([n(1)], never()),
    ]);
    expect(results.map((r) => (r as Tensor).shape[0])).toEqual([1, 6, 1]);
    expect(seen).toEqual([1, 6, 1]);
    expect((await errorOf(batcher.submit([n(7)], never()))).rawMessage).toBe(
      'model "m": a request may hold at most 6 rows (maxRowsPerRequest), got 7',
    );
  });

  it("maxRowsPerRequest below maxBatchSize: small requests, large batches", async () => {
    const { batcher, seen } = named({ maxBatchSize: 8, maxDelayMs: 20, maxRowsPerRequest: 2 });
    await Promise.all([1, 2, 3].map(() => batcher.submit([n(2)], never())));
    expect(seen).toEqual([6]);
    expect((await errorOf(batcher.submit([n(3)], never()))).code).toBe(Code.InvalidArgument);
  });

  it("maxRowsPerRequest: Infinity takes any number of rows", async () => {
    const { batcher, seen } = named({ maxBatchSize: 2, maxDelayMs: 0, maxRowsPerRequest: Infinity });
    await batcher.submit([n(100)], never());
    expect(seen).toEqual([100]);
  });

  it("list batching takes one item per request, whatever maxRowsPerRequest says", async () => {
    const { batcher } = setup(async (texts: string[]) => texts.map((t) => t.length), {
      maxBatchSize: 2,
      maxDelayMs: 0,
      maxRowsPerRequest: 1,
    });
    expect(await batcher.submit(["a long text"], never())).toBe(11);
  });

  it("runs validate on each request before it is queued: its throw is INVALID_ARGUMENT for that request only", async () => {
    const { batcher, seen, queued } = named({ maxBatchSize: 8, maxDelayMs: 20 }, (features) => {
      if (features.data.some((v) => !Number.isFinite(v))) throw new Error("features must be finite numbers");
    });
    const bad = rows([[Infinity]]);
    const [ok1, err, ok2] = await Promise.all([
      batcher.submit([n(1)], never()),
      errorOf(batcher.submit([bad], never())),
      batcher.submit([n(2)], never()),
    ]);
    expect([err.code, err.rawMessage]).toEqual([Code.InvalidArgument, 'model "m": features must be finite numbers']);
    expect([valuesOf(ok1), valuesOf(ok2)]).toEqual([[0], [0, 1]]);
    expect(seen).toEqual([3]);
    expect(queued).toEqual([1, 2]);
  });

  it("checks the rows before validate, so validate never sees an oversized request", async () => {
    const validate = jest.fn();
    const { batcher } = named({ maxBatchSize: 2, maxDelayMs: 0 }, validate);
    expect((await errorOf(batcher.submit([n(3)], never()))).code).toBe(Code.InvalidArgument);
    expect(validate).not.toHaveBeenCalled();
  });
});

describe("batch options are checked at registration", () => {
  it.each([
    [{ maxBatchSize: 0, maxDelayMs: 1 }, 'app.model("m"): batch.maxBatchSize must be an integer ≥ 1, got 0'],
    [{ maxBatchSize: 4, maxDelayMs: -1 }, 'app.model("m"): batch.maxDelayMs must be a number ≥ 0, got -1'],
    [
      { maxBatchSize: 4, maxDelayMs: 1, preferredBatchSizes: [8] },
      'app.model("m"): batch.preferredBatchSizes must hold integers from 1 to maxBatchSize (4), got 8',
    ],
    [
      { maxBatchSize: 4, maxDelayMs: 1, queueCapacity: 0 },
      'app.model("m"): batch.queueCapacity must be an integer ≥ 1, got 0',
    ],
    [
      { maxBatchSize: 4, maxDelayMs: 1, maxRowsPerRequest: 0 },
      'app.model("m"): batch.maxRowsPerRequest must be an integer ≥ 1 (or Infinity), got 0',
    ],
    [
      { maxBatchSize: 4, maxDelayMs: 1, maxRowsPerRequest: 2.5 },
      'app.model("m"): batch.maxRowsPerRequest must be an integer ≥ 1 (or Infinity), got 2.5',
    ],
    [
      { maxBatchSize: 4, maxDelayMs: 1, staleQueueMs: -1 },
      'app.model("m"): batch.staleQueueMs must be a number ≥ 0 (or Infinity), got -1',
    ],
    [
      { maxBatchSize: 4, maxDelayMs: 1, maxRowsPerRequest: NaN },
      'app.model("m"): batch.maxRowsPerRequest must be an integer ≥ 1 (or Infinity), got NaN',
    ],
  ])("%j", (batch, message) => {
    expect(() => createApp({ name: "t" }).model("m", { batch }, async (x: Tensor) => x)).toThrow(message);
  });

  it("refuses batch on a streaming model", () => {
    expect(() =>
      createApp({ name: "t" }).model("m", { batch: { maxBatchSize: 2, maxDelayMs: 1 } }, async function* () {
        yield 1;
      }),
    ).toThrow('app.model("m"): batch is for unary models');
  });
});
