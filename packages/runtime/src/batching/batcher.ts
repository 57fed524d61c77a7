import { Code, ConnectError } from "@connectrpc/connect";
import type { Tensor } from "@blazerpc/tensor";
import type { BatchOptions, ModelRecord } from "../app.js";
import type { ExecutorMetrics, RejectionReason } from "../executor/metrics.js";
import { concatRows, isTensor, splitResult, stackKey } from "./tensor-batch.js";

/** What the batcher needs of a call besides its arguments. */
export interface QueuedCall {
  /** Aborted when the client goes away or the deadline passes. */
  readonly signal: AbortSignal;
  /** Milliseconds left before the call's deadline, or undefined without one. */
  timeoutMs?(): number | undefined;
}

/** Queues the calls of one model and runs them in batches. */
export interface Batcher {
  /**
   * Queues one call and resolves with its own result. Rejects at once with
   * RESOURCE_EXHAUSTED when the queue is full; with DEADLINE_EXCEEDED or CANCELLED (and
   * the call is removed from the queue, never computed) when `signal` aborts first.
   */
  submit(args: readonly unknown[], call: QueuedCall): Promise<unknown>;
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
  readonly timeoutMs: (() => number | undefined) | undefined;
  readonly onAbort: () => void;
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
 * reached, otherwise when the oldest call has waited `maxDelayMs`. One batch runs at a
 * time; the next one collects while it computes and is dispatched as soon as it ends.
 */
export function createBatcher(
  record: ModelRecord,
  options: BatchOptions,
  metrics: ExecutorMetrics = {},
  call: (...args: unknown[]) => unknown = record.fn,
): Batcher {
  const { maxBatchSize, maxDelayMs, preferredBatchSizes = [], queueCapacity = Infinity } = options;
  const preferred = [...preferredBatchSizes].sort((a, b) => b - a);
  const model = record.name;
  const queue: Pending[] = [];
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = 0;
  const idleWaiters: (() => void)[] = [];

  const reject = (p: Pending, reason: RejectionReason, err: unknown) => {
    metrics.rejected?.(model, reason);
    p.reject(err);
  };

  function submit(args: readonly unknown[], call: QueuedCall): Promise<unknown> {
    const { signal } = call;
    if (signal.aborted) {
      const { reason, err } = abortError(signal, model);
      metrics.rejected?.(model, reason);
      return Promise.reject(err);
    }
    if (queue.length >= queueCapacity) {
      metrics.rejected?.(model, "queue_full");
      return Promise.reject(
        new ConnectError(`model "${model}" is at capacity: ${queue.length} requests queued (queueCapacity ${queueCapacity}) — retry later`, Code.ResourceExhausted),
      );
    }
    let shape: { mode: "tensor" | "list"; key: string; rows: number };
    try {
      shape = describe(args, model);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, rejectCall) => {
      const pending: Pending = {
        args,
        ...shape,
        enqueuedAt: performance.now(),
        signal,
        timeoutMs: call.timeoutMs?.bind(call),
        onAbort: () => {
          const i = queue.indexOf(pending);
          if (i < 0) return; // already in a batch: its result is simply not delivered
          queue.splice(i, 1);
          const { reason, err } = abortError(signal, model);
          reject(pending, reason, err);
          schedule();
        },
        resolve,
        reject: rejectCall,
      };
      signal.addEventListener("abort", pending.onAbort, { once: true });
      queue.push(pending);
      metrics.queued?.(model, queue.length);
      schedule();
    });
  }

  function schedule(): void {
    if (running) return; // the batch that runs calls schedule() when it ends
    if (queue.length === 0) {
      clearTimer();
      for (const w of idleWaiters.splice(0)) w();
      return;
    }
    const head = queue[0]!;
    let rows = 0;
    for (const p of queue) if (p.key === head.key) rows += p.rows;
    if (rows >= maxBatchSize) return dispatch(maxBatchSize);
    const reached = preferred.find((size) => size <= rows);
    if (reached !== undefined) return dispatch(reached);
    const due = head.enqueuedAt + maxDelayMs;
    const wait = due - performance.now();
    if (wait <= 0) return dispatch(maxBatchSize);
    if (timer === undefined || timerAt !== due) {
      clearTimer();
      timerAt = due;
      timer = setTimeout(() => {
        timer = undefined;
        schedule();
      }, Math.ceil(wait));
    }
  }

  /**
   * Takes out calls whose deadline has passed but whose timer has not fired yet (timers
   * run late on a busy event loop, which is when queues are long): they are answered
   * DEADLINE_EXCEEDED and never computed.
   */
  function dropExpired(): void {
    for (let i = queue.length - 1; i >= 0; i--) {
      const p = queue[i]!;
      const left = p.timeoutMs?.();
      if (left !== undefined && left <= 0) {
        queue.splice(i, 1);
        p.signal.removeEventListener("abort", p.onAbort);
        reject(p, "deadline", deadlineError(model));
      }
    }
  }

  function clearTimer(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  }

  function dispatch(limit: number): void {
    clearTimer();
    dropExpired();
    if (queue.length === 0) return schedule();
    const head = queue[0]!;
    const batch: Pending[] = [];
    let rows = 0;
    for (let i = 0; i < queue.length; ) {
      const p = queue[i]!;
      if (p.key === head.key && (batch.length === 0 || rows + p.rows <= limit)) {
        batch.push(p);
        rows += p.rows;
        queue.splice(i, 1);
        if (rows >= limit) break;
      } else {
        i++;
      }
    }
    const now = performance.now();
    for (const p of batch) {
      p.signal.removeEventListener("abort", p.onAbort);
      metrics.dequeued?.(model, now - p.enqueuedAt, queue.length);
    }
    running = true;
    void run(batch, rows).finally(() => {
      running = false;
      schedule();
    });
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
      metrics.computed?.(model, rows, performance.now() - started, false);
      for (const p of batch) p.reject(err);
      return;
    }
    metrics.computed?.(model, rows, performance.now() - started, true);
    let parts: unknown[];
    try {
      parts = mode === "tensor" ? splitResult(result, batch.map((p) => p.rows), model) : checkList(result, batch.length, model);
    } catch (err) {
      const e = new ConnectError(`model "${model}" returned a result that does not fit its batch: ${(err as Error).message}`, Code.Internal);
      for (const p of batch) p.reject(e);
      return;
    }
    batch.forEach((p, i) => {
      const part = parts[i];
      if (mode === "list" && part instanceof Error) p.reject(part);
      else p.resolve(part);
    });
  }

  return {
    submit,
    get depth() {
      return queue.length;
    },
    drain() {
      if (!running && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}

/** How a call can be batched: its mode, the key it shares a batch by, its row count. */
function describe(args: readonly unknown[], model: string): { mode: "tensor" | "list"; key: string; rows: number } {
  if (args.length > 0 && args.every((a) => isTensor(a) && a.shape.length > 0)) {
    const tensors = args as readonly Tensor[];
    const rows = tensors[0]!.shape[0]!;
    const other = tensors.findIndex((t) => t.shape[0] !== rows);
    if (other >= 0) {
      throw new ConnectError(
        `model "${model}": inputs disagree on the batch dimension: argument 0 has ${rows} rows, argument ${other} has ${tensors[other]!.shape[0]}`,
        Code.InvalidArgument,
      );
    }
    return { mode: "tensor", key: stackKey(tensors), rows };
  }
  return { mode: "list", key: "list", rows: 1 };
}

function checkList(result: unknown, n: number, model: string): unknown[] {
  if (!Array.isArray(result)) {
    throw new Error(`list batching needs an array with one result per request, got ${result === null ? "null" : typeof result}`);
  }
  if (result.length !== n) {
    throw new Error(`${result.length} results for a batch of ${n} requests`);
  }
  return result;
}

function deadlineError(model: string): ConnectError {
  return new ConnectError(`the deadline passed while the request waited for model "${model}"`, Code.DeadlineExceeded);
}

function abortError(signal: AbortSignal, model: string): { reason: RejectionReason; err: ConnectError } {
  const r: unknown = signal.reason;
  if (r instanceof ConnectError && r.code === Code.DeadlineExceeded) {
    return { reason: "deadline", err: deadlineError(model) };
  }
  if (r instanceof ConnectError && r.code === Code.Unavailable) {
    // The server's shutdown grace period ran out.
    return { reason: "shutdown", err: new ConnectError(`the server shut down while the request waited for model "${model}"`, Code.Unavailable) };
  }
  return { reason: "cancelled", err: new ConnectError(`the request was cancelled while it waited for model "${model}"`, Code.Canceled) };
}
