// The engine in-process, no network: run by bench/engine.cjs pinned to one core, prints one
// JSON line. Modes:
//
//   ideal                 model.run (the @blazerpc/onnx wrapper over session.run) in a loop
//                         on full batches of 1 and of 32 rows: the ceiling.
//   engine                createExecutor(app) of examples/mlp with batching (MLP_* env),
//                         CALLERS async callers each submitting 1-row requests in a loop.
//   overload <rate>       createExecutor(app), OPEN loop: 1-row requests submitted at <rate>
//                         per second whatever happens, each with a DEADLINE_MS deadline (an
//                         abort signal and timeoutMs(), as connect-node's handler context
//                         gives the executor). Counts answers in time, late answers,
//                         rejections, requests taken into a batch after their deadline
//                         (metrics.dequeued), and rows the model was called on whose
//                         deadline had passed by then (each row carries its request's id).
//
//                         DEADLINE_MS=0: no deadline at all (the server is told none), and a
//                         request counts as answered in time within PATIENCE_MS of being
//                         sent: clients that give up without saying so (a user, a browser).
//
// Environment: WARMUP_S, DURATION_S, CALLERS (64), DEADLINE_MS (100), PATIENCE_MS (1000),
// and MLP_* for the app.
"use strict";
const { setMaxListeners } = require("node:events");
const { loadModels, WIDTH, mlpRequire, sampleRow } = require("./mlp.cjs");

const WARMUP_S = Number(process.env.WARMUP_S ?? 1);
const DURATION_S = Number(process.env.DURATION_S ?? 4);
const CALLERS = Number(process.env.CALLERS ?? 64);
const DEADLINE_MS = Number(process.env.DEADLINE_MS ?? 100);
const PATIENCE_MS = Number(process.env.PATIENCE_MS ?? 1000);
/** How long after it was sent an answer still counts: the deadline, or the client's patience when there is none. */
const IN_TIME_MS = DEADLINE_MS > 0 ? DEADLINE_MS : PATIENCE_MS;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

function latencySummary(ms) {
  const s = Float64Array.from(ms).sort();
  return {
    p50Ms: percentile(s, 50),
    p90Ms: percentile(s, 90),
    p99Ms: percentile(s, 99),
    maxMs: s.length > 0 ? s[s.length - 1] : NaN,
  };
}

/** Runs `fn` back to back for `seconds` (after `warmup` seconds of the same); per-call figures. */
async function loop(fn, seconds, warmup) {
  const warmEnd = performance.now() + warmup * 1000;
  while (performance.now() < warmEnd) await fn();
  const times = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  let calls = 0;
  const cpu0 = process.cpuUsage();
  while (performance.now() < end) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
    calls++;
  }
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { calls, elapsedS: elapsed, cpuS: (cpu.user + cpu.system) / 1e6, ...latencySummary(times) };
}

async function ideal() {
  const model = await loadModels().getMlpModel();
  const row = sampleRow();
  const out = {};
  for (const rows of [1, 32]) {
    const data = new Float32Array(rows * WIDTH);
    for (let r = 0; r < rows; r++) data.set(row, r * WIDTH);
    const input = { dtype: "float32", shape: [rows, WIDTH], data };
    const r = await loop(() => model.run({ input }), DURATION_S, WARMUP_S);
    out[`batch${rows}`] = {
      rows,
      ...r,
      msPerRun: (r.elapsedS * 1000) / r.calls,
      itemsPerSec: (r.calls * rows) / r.elapsedS,
    };
  }
  return out;
}

/** Batch sizes the model saw (metrics.computed), as `{ size: count }`, and their mean. */
function createBatchCounter() {
  const sizes = new Map();
  let on = false;
  return {
    metrics: {
      computed(_model, size) {
        if (on) sizes.set(size, (sizes.get(size) ?? 0) + 1);
      },
    },
    start() {
      on = true;
    },
    stop() {
      on = false;
    },
    summary() {
      let calls = 0;
      let rows = 0;
      for (const [size, n] of sizes) {
        calls += n;
        rows += size * n;
      }
      const histogram = Object.fromEntries([...sizes].sort((a, b) => a[0] - b[0]));
      return { modelCalls: calls, rows, meanBatch: rows / calls, histogram };
    },
  };
}

async function engine() {
  const { app, getMlpModel } = loadModels();
  const { createExecutor } = mlpRequire("@blazerpc/runtime");
  await getMlpModel();
  const counter = createBatchCounter();
  const executor = createExecutor(app, { metrics: counter.metrics });
  const row = sampleRow();
  let measuring = false;
  let stop = false;
  let done = 0;
  const latencies = [];
  const caller = async () => {
    const ctx = { signal: new AbortController().signal };
    // Each caller's own tensor (the batcher copies it into the batch), so that what is
    // measured is the engine, not the callers' allocations.
    const input = { dtype: "float32", shape: [1, WIDTH], data: new Float32Array(row) };
    while (!stop) {
      const t = performance.now();
      await executor.invoke("mlp", [input], ctx);
      if (measuring) {
        done++;
        latencies.push(performance.now() - t);
      }
    }
  };
  const callers = Array.from({ length: CALLERS }, caller);
  await sleep(WARMUP_S * 1000);
  measuring = true;
  counter.start();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await sleep(DURATION_S * 1000);
  measuring = false;
  counter.stop();
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  stop = true;
  await Promise.all(callers);
  await executor.close();
  return {
    callers: CALLERS,
    batch: app.getModelOrThrow("mlp").options.batch ?? null,
    requests: done,
    elapsedS: elapsed,
    cpuS: (cpu.user + cpu.system) / 1e6,
    itemsPerSec: done / elapsed,
    ...latencySummary(latencies),
    batches: counter.summary(),
  };
}

async function overload(rate) {
  const { app, getMlpModel } = loadModels();
  const { createExecutor } = mlpRequire("@blazerpc/runtime");
  const { ConnectError, Code } = mlpRequire("@connectrpc/connect");
  const model = await getMlpModel();
  const counter = createBatchCounter();
  const rejectedBy = {};
  const executor = createExecutor(app, {
    metrics: {
      ...counter.metrics,
      // A request is dequeued into a batch after waiting waitMs since it was queued (the
      // moment it was submitted, when its deadline started): waitMs ≥ the deadline means it
      // was taken into a batch already expired.
      dequeued(_m, waitMs) {
        if (measuring && waitMs >= IN_TIME_MS) expiredAtDispatch++;
      },
      rejected(_m, reason) {
        if (measuring) rejectedBy[reason] = (rejectedBy[reason] ?? 0) + 1;
      },
    },
  });
  const row = sampleRow();

  // Each request's row carries its id in element 0, so the model (wrapped below) can tell
  // whose rows it is computing, and whether their deadline had passed.
  const capacity = Math.ceil(rate * (WARMUP_S + DURATION_S + 2)) + 16;
  const deadlines = new Float64Array(capacity);
  /** 1 for the requests submitted in the measured window: the only ones counted. */
  const measured = new Uint8Array(capacity);
  let computedExpired = 0;
  let expiredAtDispatch = 0;
  let computedRows = 0;
  let measuring = false;
  const run = model.run.bind(model);
  model.run = (feeds) => {
    const { data, shape } = feeds.input;
    const now = performance.now();
    for (let r = 0; r < shape[0]; r++) {
      const id = data[r * WIDTH];
      if (measured[id] === 1) {
        computedRows++;
        if (deadlines[id] <= now) computedExpired++;
      }
    }
    return run(feeds);
  };

  // connect-node aborts a handler's signal with a ConnectError(DEADLINE_EXCEEDED) when
  // the deadline passes; one shared instance here, since building an error (a stack
  // trace) per request is the transport's cost, not the engine's.
  const TIMED_OUT = new ConnectError("the operation timed out", Code.DeadlineExceeded);
  const counts = { sent: 0, okInTime: 0, okLate: 0, deadline: 0, cancelled: 0, other: 0 };
  const latencies = [];
  let inFlight = 0;
  let next = 0;
  // Requests sent within the same millisecond share one deadline, and so one abort signal and
  // one timer (a transport gives each call its own; here they would cost the generator, on
  // the engine's core, more than the engine spends refusing the request): the generator's
  // cost per request stays small next to the engine's.
  let group = { at: -1, ctx: undefined, timer: undefined };
  const NO_DEADLINE = { signal: new AbortController().signal };
  setMaxListeners(0, NO_DEADLINE.signal);
  const contextFor = (sent) => {
    if (DEADLINE_MS <= 0) return NO_DEADLINE;
    const at = Math.floor(sent);
    if (group.at !== at) {
      const deadline = at + DEADLINE_MS;
      const ac = new AbortController();
      setMaxListeners(0, ac.signal); // every queued request of the group listens to it
      group = {
        at,
        ctx: { signal: ac.signal, timeoutMs: () => deadline - performance.now() },
        timer: setTimeout(() => ac.abort(TIMED_OUT), DEADLINE_MS),
      };
    }
    return group.ctx;
  };
  // Request tensors are reused once their request is answered (as the closed-loop callers of
  // row b reuse theirs): the generator's garbage is not the engine's.
  const free = [];
  const submit = () => {
    const id = next++;
    const input = free.pop() ?? { dtype: "float32", shape: [1, WIDTH], data: new Float32Array(row) };
    input.data[0] = id;
    const sent = performance.now();
    const deadline = Math.floor(sent) + IN_TIME_MS;
    deadlines[id] = deadline;
    const ctx = contextFor(sent);
    const m = measuring;
    if (m) {
      counts.sent++;
      measured[id] = 1;
    }
    inFlight++;
    executor.invoke("mlp", [input], ctx).then(
      () => {
        free.push(input);
        inFlight--;
        const now = performance.now();
        if (!m) return;
        if (now <= deadline) {
          counts.okInTime++;
          latencies.push(now - sent);
        } else counts.okLate++;
      },
      (err) => {
        free.push(input);
        inFlight--;
        if (!m) return;
        if (err?.code === Code.DeadlineExceeded) counts.deadline++;
        else if (err?.code === Code.Canceled) counts.cancelled++;
        else counts.other++;
      },
    );
  };

  // The open loop: every turn of the event loop, submit what is due by now. The model
  // blocks the event loop while it computes; requests that came due meanwhile are
  // submitted as soon as it yields, each with a full deadline from then (as a server's
  // deadline starts when it reads the request).
  const t0 = performance.now();
  const warmEnd = t0 + WARMUP_S * 1000;
  const end = warmEnd + DURATION_S * 1000;
  let lateBy = 0;
  await new Promise((resolve) => {
    const tick = async () => {
      const now = performance.now();
      if (now >= end) return resolve();
      if (!measuring && now >= warmEnd) {
        measuring = true;
        counter.start();
      }
      const due = Math.floor(((now - t0) / 1000) * rate);
      if (measuring && due > next) lateBy = Math.max(lateBy, now - (t0 + (next / rate) * 1000));
      // One at a time, letting the microtasks queued by each (the batcher's dispatch, the
      // model call) run before the next, as a server reads requests one callback at a time.
      while (next < due) {
        submit();
        await null;
      }
      setImmediate(tick);
    };
    tick();
  });
  measuring = false;
  counter.stop();
  const elapsed = (performance.now() - warmEnd) / 1000;
  // Let what is queued finish (bounded: what has no deadline is given up on with the executor).
  const drainUntil = performance.now() + IN_TIME_MS * 5;
  while (inFlight > 0 && performance.now() < drainUntil) await sleep(10);
  await executor.close();
  return {
    rate,
    deadlineMs: DEADLINE_MS,
    inTimeMs: IN_TIME_MS,
    batch: app.getModelOrThrow("mlp").options.batch ?? null,
    elapsedS: elapsed,
    offeredPerSec: counts.sent / elapsed,
    goodputPerSec: counts.okInTime / elapsed,
    counts,
    rejectedBy,
    computedRows,
    computedForExpired: computedRows - counts.okInTime,
    expiredAtDispatch,
    computedExpiredAtModelCall: computedExpired,
    maxSubmitLagMs: lateBy,
    ...latencySummary(latencies),
    batches: counter.summary(),
  };
}

async function main() {
  const [mode, arg] = process.argv.slice(2);
  let result;
  if (mode === "ideal") result = await ideal();
  else if (mode === "engine") result = await engine();
  else if (mode === "overload") result = await overload(Number(arg));
  else throw new Error(`unknown mode ${mode}`);
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  },
);
