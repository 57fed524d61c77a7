import { Code, ConnectError } from "@connectrpc/connect";
import type { Tensor } from "@blazerpc/tensor";
import type { BatchOptions, ModelRecord } from "../app.js";
import { cheapError } from "../executor/cheap-error.js";
import type { ExecutorMetrics, RejectionReason } from "../executor/metrics.js";
import { queueFullRefusal, refusalError, type Refusal } from "../executor/refusal.js";
import { validateRequest } from "../executor/validate.js";
import { concatRows, isTensor, splitResult, stackKey } from "./tensor-batch.js";

/**
 * A place held in a model's queue by `admit` for a call admitted before it is read: counted
 * with the queue by every later admission until the call is submitted or the place released.
 */
export interface Reservation {
  held: boolean;
}

/** What the batcher needs of a call besides its arguments. */
export interface QueuedCall {
  /** Aborted when the client goes away or the deadline passes. */
  readonly signal: AbortSignal;
  /** Milliseconds left before the call's deadline, or undefined without one. */
  timeoutMs?(): number | undefined;
  /** The place `admit` held for it, if it was admitted before it was read: `submit` takes it over. */
  readonly reservation?: Reservation;
  /** Whether it has ended early, read instead of `signal.aborted` when given (a signal made only when asked for). */
  readonly aborted?: boolean;
}

/** Queues the calls of one model and runs them in batches. */
export interface Batcher {
  /**
   * Queues one call and resolves with its own result. Rejects at once, never queued, with
   * INVALID_ARGUMENT when its tensors hold more than `maxRowsPerRequest` rows or the
   * model's `validate` option refuses its arguments, and with RESOURCE_EXHAUSTED when the
   * queue is full; with DEADLINE_EXCEEDED or CANCELLED (and the call is removed from the
   * queue, never computed) when `signal` aborts first.
   */
  submit(args: readonly unknown[], call: QueuedCall): Promise<unknown>;
  /**
   * Whether a call with `timeoutMs` left would be refused at once, before anything of it is
   * read: the error it would get (RESOURCE_EXHAUSTED for a full queue, DEADLINE_EXCEEDED
   * when the work queued ahead of it and its own batch, by recent compute times, would take
   * more than half of its time left), else undefined. An idle model admits every call. A
   * refusal is counted (`metrics.rejected`). `submit` makes the same checks, except for a
   * call that holds a reservation.
   *
   * Given a `reservation`, an admitted call also holds a place (one row) until it is
   * submitted (with that reservation) or `release`d: a burst of calls that arrives in one
   * read is admitted before any of them is read and queued, and without reservations every
   * one of them would be judged against the same short queue.
   */
  admit(timeoutMs: number | undefined, reservation?: Reservation): Refusal | undefined;
  /** Gives back the place a call held and will not use (it ended before it was submitted). */
  release(reservation: Reservation): void;
  /** Requests waiting in the queue. */
  readonly depth: number;
  /** Resolves once the queue is empty and no batch is running. */
  drain(): Promise<void>;
}

interface Pending {
  readonly args: readonly unknown[];
  /** `tensor`: stacked along dim 0; `list`: passed as one array per parameter. */
  readonly mode: "tensor" | "list";
  /** Calls with equal keys may share a batch. */
  readonly key: string;
  readonly rows: number;
  readonly enqueuedAt: number;
  readonly signal: AbortSignal;
  /** The call, for its time left (`timeoutMs`). */
  readonly call: QueuedCall;
  readonly onAbort: () => void;
  /** False once the call left the queue (taken into a batch, or rejected). */
  queued: boolean;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

/**
 * Creates the batcher of a model registered with `batch` options.
 *
 * - Tensor batching, when every argument is a tensor: the queued calls' tensors are
 *   concatenated along dim 0 (a call may carry several rows), the model is called ONCE,
 *   and every output tensor is split back by each call's row count. Calls whose non-batch
 *   dims differ are never stacked together; they go in separate batches.
 * - List batching, otherwise: the model is called once with one array per parameter (the
 *   values of every call in the batch) and returns an array with one result per call; an
 *   `Error` at index i fails only call i.
 *
 * `call` runs the model (default: the registered function; a worker pool's `run` for
 * worker models).
 *
 * A batch is dispatched at once when `maxBatchSize` rows are queued or a preferred size is
 * reached, otherwise when the oldest call has waited `maxDelayMs` — unless waiting has not
 * paid lately (`adaptiveWait`): then a lone call that finds the model idle goes at once.
 * One batch runs at a time; the next one collects while it computes and is dispatched as
 * soon as it ends. A call is never split: one with more rows than `maxBatchSize` (as
 * `maxRowsPerRequest` may allow) is a batch of its own. Calls are refused before they are
 * queued when they hold more than `maxRowsPerRequest` rows or the model's `validate`
 * refuses them (INVALID_ARGUMENT), when the queue is full, or when the work
 * queued ahead of them would take more than half of their time left (`admit`).
 * When a batch is formed, calls whose deadline has passed — or will pass before the model
 * can answer, judging by its recent compute times — are answered DEADLINE_EXCEEDED and
 * never computed, so an overloaded model spends its time on calls that can still succeed.
 * The judgement can only be wrong one way for long: when every call at hand looks too late
 * but none has expired, the batch is computed anyway, so one slow batch (a GC pause, a busy
 * event loop) cannot make the batcher refuse every call from then on.
 */
export function createBatcher(
  record: ModelRecord,
  options: BatchOptions,
  metrics: ExecutorMetrics = {},
  call: (...args: unknown[]) => unknown = record.fn,
): Batcher {
  const { maxBatchSize, maxDelayMs, preferredBatchSizes = [], queueCapacity = Infinity, adaptiveWait = true } = options;
  const { staleQueueMs = DEFAULT_STALE_QUEUE_MS } = options;
  const { maxRowsPerRequest = maxBatchSize } = options;
  const preferred = [...preferredBatchSizes].sort((a, b) => b - a);
  const model = record.name;
  const queueFull = queueFullRefusal(model, queueCapacity);
  // The queue, oldest first, from `start`. Calls that leave it are only marked (O(1) for an
  // abort, however long the queue); the array is compacted as `start` moves on.
  let queue: Pending[] = [];
  let start = 0;
  let live = 0;
  /** Rows of the calls in the queue. */
  let queuedRows = 0;
  /** Places held by calls admitted but not submitted yet (see `admit`). */
  let reserved = 0;
  /** Queued rows per stacking key. */
  const rowsByKey = new Map<string, number>();
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = 0;
  /** Compute times of the last batches, in ms (a ring); the estimate is their minimum. */
  const recent = new Float64Array(RECENT_BATCHES);
  let recentCount = 0;
  /** What a batch takes, by its recent compute times; 0 before the first. */
  let computeEstimate = 0;
  const idleWaiters: (() => void)[] = [];
  /** Waits in a row (maxDelayMs ran out) that gathered no other call: see `adaptiveWait`. */
  let fruitless = 0;
  /** Calls computed at once because waiting did not pay; every PROBE_EVERY-th waits anyway. */
  let skipped = 0;

  const leave = (p: Pending) => {
    p.queued = false;
    live--;
    queuedRows -= p.rows;
    const left = (rowsByKey.get(p.key) ?? 0) - p.rows;
    if (left > 0) rowsByKey.set(p.key, left);
    else rowsByKey.delete(p.key);
  };
  const reject = (p: Pending, reason: RejectionReason, err: unknown) => {
    metrics.rejected?.(model, reason);
    p.reject(err);
  };
  const head = (): Pending | undefined => {
    while (start < queue.length && !queue[start]!.queued) start++;
    if (start > 1024 && start * 2 > queue.length) {
      queue = queue.slice(start);
      start = 0;
    }
    return queue[start];
  };

  function submit(args: readonly unknown[], callInfo: QueuedCall): Promise<unknown> {
    // Admitted already (see `admit`): its place becomes its queue entry, or is given back.
    const admitted = callInfo.reservation?.held === true;
    if (admitted) release(callInfo.reservation!);
    if (callInfo.aborted ?? callInfo.signal.aborted) {
      const { reason, err } = abortError(callInfo.signal, model);
      metrics.rejected?.(model, reason);
      return Promise.reject(err);
    }
    // What the request is comes first: an invalid one gets INVALID_ARGUMENT whatever the load.
    let shape: { mode: "tensor" | "list"; rows: number };
    try {
      shape = describe(args, model);
      if (shape.mode === "tensor" && shape.rows > maxRowsPerRequest)
        throw tooManyRowsError(model, shape.rows, maxRowsPerRequest);
      validateRequest(record, args);
    } catch (err) {
      return Promise.reject(err);
    }
    // The fast lane: an idle model, an empty queue, and a call that would be dispatched
    // alone at once anyway — computed now, with no queue entry, abort listener or split.
    if (!running && live === 0 && startsAlone(shape.rows)) {
      const left = callInfo.timeoutMs?.();
      if (left !== undefined && left <= 0) {
        metrics.rejected?.(model, "deadline");
        return Promise.reject(deadlineError(model));
      }
      return runAlone(args, shape);
    }
    const refused = admitted ? undefined : admit(callInfo.timeoutMs?.());
    if (refused !== undefined) return Promise.reject(refusalError(refused));
    const { signal } = callInfo;
    // The stacking key only matters in the queue (the fast lane's call is a batch of its own).
    const key = shape.mode === "tensor" ? stackKey(args as readonly Tensor[]) : "list";
    return new Promise((resolve, rejectCall) => {
      const pending: Pending = {
        args,
        ...shape,
        key,
        enqueuedAt: performance.now(),
        signal,
        call: callInfo,
        queued: true,
        onAbort: () => {
          if (!pending.queued) return; // already in a batch: its result is simply not delivered
          leave(pending);
          const { reason, err } = abortError(signal, model);
          reject(pending, reason, err);
          schedule();
        },
        resolve,
        reject: rejectCall,
      };
      signal.addEventListener("abort", pending.onAbort, { once: true });
      queue.push(pending);
      live++;
      queuedRows += shape.rows;
      rowsByKey.set(key, (rowsByKey.get(key) ?? 0) + shape.rows);
      metrics.queued?.(model, live);
      schedule();
    });
  }

  /**
   * Whether a lone call of `rows` rows, queued now to an idle model, would be dispatched at
   * once by `schedule` (a full batch, a preferred size, no wait, or waiting has not paid).
   */
  function startsAlone(rows: number): boolean {
    if (rows >= maxBatchSize || maxDelayMs <= 0 || preferred.some((size) => size <= rows)) return true;
    return adaptiveWait && fruitless >= FRUITLESS_WAITS && ++skipped % PROBE_EVERY !== 0;
  }

  /** Computes one call as a batch of its own, on the fast lane (see `submit`). */
  async function runAlone(
    args: readonly unknown[],
    shape: { mode: "tensor" | "list"; rows: number },
  ): Promise<unknown> {
    metrics.dequeued?.(model, 0, 0);
    running = true;
    const started = performance.now();
    let result: unknown;
    try {
      result = await (shape.mode === "tensor" ? call(...args) : call(...args.map((a) => [a])));
    } catch (err) {
      running = false;
      metrics.computed?.(model, shape.rows, performance.now() - started, false);
      schedule();
      throw err;
    }
    running = false;
    learn(performance.now() - started);
    metrics.computed?.(model, shape.rows, performance.now() - started, true);
    // Calls that came while it computed are in the queue: their batch goes now.
    schedule();
    let part: unknown;
    try {
      part = shape.mode === "tensor" ? ownRows(result, shape.rows, model) : checkList(result, 1)[0];
    } catch (err) {
      throw misfit(err);
    }
    if (shape.mode === "list" && part instanceof Error) throw part;
    return part;
  }

  /** Learns a batch's compute time. */
  function learn(took: number): void {
    recent[recentCount++ % RECENT_BATCHES] = took;
    computeEstimate = median(recent.subarray(0, Math.min(recentCount, RECENT_BATCHES)));
  }

  function admit(timeoutMs: number | undefined, reservation?: Reservation): Refusal | undefined {
    const refused = judge(timeoutMs);
    if (refused === undefined && reservation !== undefined && !reservation.held) {
      reservation.held = true;
      reserved++;
    }
    return refused;
  }

  function release(reservation: Reservation): void {
    if (!reservation.held) return;
    reservation.held = false;
    reserved--;
  }

  function judge(timeoutMs: number | undefined): Refusal | undefined {
    if (live + reserved >= queueCapacity) {
      metrics.rejected?.(model, "queue_full");
      return queueFull;
    }
    // An idle model takes every call: its estimate only learns from batches that run.
    if (timeoutMs === undefined || computeEstimate === 0 || (live === 0 && reserved === 0 && !running))
      return undefined;
    // The batch that runs, then the batches queued ahead (and the places held), then the
    // call's own: they may take half of the time left; the other half is slack for the
    // transport and for a busy event loop, so that what is admitted is answered in time.
    const ahead = queuedRows + reserved;
    const aheadMs = (running ? computeEstimate : 0) + (Math.floor(ahead / maxBatchSize) + 1) * computeEstimate;
    if (aheadMs <= timeoutMs / 2) return undefined;
    metrics.rejected?.(model, "deadline");
    return {
      code: Code.DeadlineExceeded,
      message: `model "${model}" cannot answer before the deadline: ${live} requests are queued ahead, about ${aheadMs.toFixed(1)} ms of work, and ${Math.max(0, timeoutMs).toFixed(1)} ms are left`,
    };
  }

  function schedule(): void {
    if (running) return; // the batch that runs calls schedule() when it ends
    const first = head();
    if (first === undefined) {
      clearTimer();
      for (const w of idleWaiters.splice(0)) w();
      return;
    }
    const rows = rowsByKey.get(first.key) ?? 0;
    if (rows >= maxBatchSize) return dispatch(maxBatchSize);
    const reached = preferred.find((size) => size <= rows);
    if (reached !== undefined) return dispatch(reached);
    const due = first.enqueuedAt + maxDelayMs;
    const wait = due - performance.now();
    if (wait <= 0) return dispatch(maxBatchSize, true);
    // A lone call, an idle model, and the last waits gathered nobody: do not wait for company.
    if (adaptiveWait && fruitless >= FRUITLESS_WAITS && live === 1 && ++skipped % PROBE_EVERY !== 0)
      return dispatch(maxBatchSize);
    if (timer === undefined || timerAt !== due) {
      clearTimer();
      timerAt = due;
      timer = setTimeout(() => {
        timer = undefined;
        schedule();
      }, Math.ceil(wait));
    }
  }

  function clearTimer(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  }

  /** Takes a call out of the queue, answered DEADLINE_EXCEEDED. */
  function refuse(p: Pending, err: ConnectError): void {
    leave(p);
    p.signal.removeEventListener("abort", p.onAbort);
    reject(p, "deadline", err);
  }

  /** Forms a batch of up to `limit` rows and runs it; `waited`: maxDelayMs ran out. */
  function dispatch(limit: number, waited = false): void {
    clearTimer();
    const batch: Pending[] = [];
    /** Calls with time left, but less than a batch takes: refused unless nothing else is at hand. */
    const doubtful: { p: Pending; left: number }[] = [];
    let rows = 0;
    let key: string | undefined;
    // Adaptive LIFO: a stale queue (its oldest call has waited well past what batching takes)
    // means more arrives than the model clears; the newest calls can still be answered in time.
    const oldest = queue[start]!;
    const lifo = performance.now() - oldest.enqueuedAt > maxDelayMs + 2 * computeEstimate + staleQueueMs;
    const step = lifo ? -1 : 1;
    for (let i = lifo ? queue.length - 1 : start; i >= start && i < queue.length && rows < limit; i += step) {
      const p = queue[i]!;
      if (!p.queued) continue;
      const left = p.call.timeoutMs?.();
      if (left !== undefined && left <= 0) {
        refuse(p, deadlineError(model));
        continue;
      }
      if (left !== undefined && left <= computeEstimate) {
        doubtful.push({ p, left });
        continue;
      }
      key ??= p.key;
      if (p.key !== key || (batch.length > 0 && rows + p.rows > limit)) continue;
      leave(p);
      batch.push(p);
      rows += p.rows;
    }
    if (lifo) {
      doubtful.reverse(); // oldest first, as below expects
      metrics.lifo?.(model);
    }
    if (batch.length === 0 && doubtful.length > 0) {
      // Every call at hand looks too late, yet none has expired: the estimate may be stale
      // (it only learns from batches that run), and the model would idle anyway, so
      // compute them, freshest first, rather than refuse every call from now on.
      key = doubtful[doubtful.length - 1]!.p.key;
      for (let i = doubtful.length - 1; i >= 0; i--) {
        const { p } = doubtful[i]!;
        if (p.key !== key || (batch.length > 0 && rows + p.rows > limit)) continue;
        leave(p);
        batch.push(p);
        rows += p.rows;
      }
      batch.reverse();
    }
    // The rest (those not taken just above: still queued) are refused.
    for (const { p, left } of doubtful) if (p.queued) refuse(p, tooLateError(model, left, computeEstimate));
    if (batch.length === 0) return schedule();
    if (waited) fruitless = batch.length === 1 ? fruitless + 1 : 0;
    else if (batch.length > 1) fruitless = 0;
    const now = performance.now();
    for (const p of batch) {
      p.signal.removeEventListener("abort", p.onAbort);
      metrics.dequeued?.(model, now - p.enqueuedAt, live);
    }
    running = true;
    // run() clears `running` as soon as the model is done, before its callers hear back
    // (they may submit again at once); the next batch is then formed here, if no caller's
    // submission did it first.
    void run(batch, rows).finally(schedule);
  }

  async function run(batch: Pending[], rows: number): Promise<void> {
    const started = performance.now();
    const mode = batch[0]!.mode;
    let result: unknown;
    try {
      const arity = batch[0]!.args.length;
      const columns = Array.from({ length: arity }, (_, j) => batch.map((p) => p.args[j]));
      const args = mode === "tensor" ? columns.map((c) => concatRows(c as Tensor[])) : columns;
      result = await call(...args);
    } catch (err) {
      running = false;
      metrics.computed?.(model, rows, performance.now() - started, false);
      for (const p of batch) p.reject(err);
      return;
    }
    running = false;
    const took = performance.now() - started;
    learn(took);
    metrics.computed?.(model, rows, took, true);
    let parts: unknown[];
    try {
      parts =
        mode === "tensor"
          ? splitResult(
              result,
              batch.map((p) => p.rows),
              model,
            )
          : checkList(result, batch.length);
    } catch (err) {
      const e = misfit(err);
      for (const p of batch) p.reject(e);
      return;
    }
    batch.forEach((p, i) => {
      const part = parts[i];
      if (mode === "list" && part instanceof Error) p.reject(part);
      else p.resolve(part);
    });
  }

  function misfit(err: unknown): ConnectError {
    return new ConnectError(
      `model "${model}" returned a result that does not fit its batch: ${(err as Error).message}`,
      Code.Internal,
    );
  }

  return {
    submit,
    admit,
    release,
    get depth() {
      return live;
    },
    drain() {
      if (!running && live === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}

/**
 * How many recent batches the compute-time estimate looks at. It takes their minimum: a
 * single slow batch (a GC pause, a model call that waited for a busy event loop) must not
 * make the batcher refuse calls that would have been answered in time.
 */
const RECENT_BATCHES = 8;

/** The middle of a few numbers (the upper one of the two middle ones for an even count). */
function median(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[sorted.length >> 1]!;
}

/** `staleQueueMs` by default: how much longer than batching accounts for the oldest call may wait before batches go newest first. */
const DEFAULT_STALE_QUEUE_MS = 100;
/** `adaptiveWait`: fruitless waits in a row before a lone call is computed at once. */
const FRUITLESS_WAITS = 3;
/** `adaptiveWait`: one lone call in this many still waits, to notice when traffic picks up. */
const PROBE_EVERY = 16;

/** How a call can be batched: its mode and its row count. */
function describe(args: readonly unknown[], model: string): { mode: "tensor" | "list"; rows: number } {
  if (args.length > 0 && args.every((a) => isTensor(a) && a.shape.length > 0)) {
    const tensors = args as readonly Tensor[];
    const rows = tensors[0]!.shape[0]!;
    const other = tensors.findIndex((t) => t.shape[0] !== rows);
    if (other >= 0) {
      throw cheapError(
        `model "${model}": inputs disagree on the batch dimension: argument 0 has ${rows} rows, argument ${other} has ${tensors[other]!.shape[0]}`,
        Code.InvalidArgument,
      );
    }
    return { mode: "tensor", rows };
  }
  return { mode: "list", rows: 1 };
}

/**
 * A batch of one call's result, checked as `splitResult` checks it, without splitting: a
 * tensor with the call's rows is its own result as it is.
 */
function ownRows(result: unknown, rows: number, model: string): unknown {
  if (isTensor(result) && result.shape.length > 0 && result.shape[0] === rows) return result;
  return splitResult(result, [rows], model)[0];
}

function checkList(result: unknown, n: number): unknown[] {
  if (!Array.isArray(result)) {
    throw new Error(
      `list batching needs an array with one result per request, got ${result === null ? "null" : typeof result}`,
    );
  }
  if (result.length !== n) {
    throw new Error(`${result.length} results for a batch of ${n} requests`);
  }
  return result;
}

function tooManyRowsError(model: string, rows: number, limit: number): ConnectError {
  return cheapError(
    `model "${model}": a request may hold at most ${limit} rows (maxRowsPerRequest), got ${rows}`,
    Code.InvalidArgument,
  );
}

function deadlineError(model: string): ConnectError {
  return cheapError(`the deadline passed while the request waited for model "${model}"`, Code.DeadlineExceeded);
}

function tooLateError(model: string, leftMs: number, computeMs: number): ConnectError {
  return cheapError(
    `the deadline would pass before model "${model}" could answer (${leftMs.toFixed(1)} ms left, a batch takes about ${computeMs.toFixed(1)} ms)`,
    Code.DeadlineExceeded,
  );
}

function abortError(signal: AbortSignal, model: string): { reason: RejectionReason; err: ConnectError } {
  const r: unknown = signal.reason;
  if (r instanceof ConnectError && r.code === Code.DeadlineExceeded) {
    return { reason: "deadline", err: deadlineError(model) };
  }
  if (r instanceof ConnectError && r.code === Code.Unavailable) {
    // The server's shutdown grace period ran out.
    return {
      reason: "shutdown",
      err: cheapError(`the server shut down while the request waited for model "${model}"`, Code.Unavailable),
    };
  }
  return {
    reason: "cancelled",
    err: cheapError(`the request was cancelled while it waited for model "${model}"`, Code.Canceled),
  };
}
