/**
 * Why a request was refused or dropped before the model computed it: its model's queue
 * was full, its deadline passed, its client went away, or the server's shutdown grace
 * period ran out while it waited.
 */
export type RejectionReason = "queue_full" | "deadline" | "cancelled" | "shutdown";

/**
 * Hooks the executor calls as requests move through it, per model. Every hook is
 * optional; the operating surface exports them (Prometheus), tests record them.
 *
 * @example
 * const seen: number[] = [];
 * createServer({ app, services, metrics: { computed: (_m, size) => seen.push(size) } });
 */
export interface ExecutorMetrics {
  /** A request entered the model's queue; `depth` is the queue length after it. */
  queued?(model: string, depth: number): void;
  /** A request left the queue for a batch after waiting `waitMs`; `depth` is the length after. */
  dequeued?(model: string, waitMs: number, depth: number): void;
  /**
   * The model ran once: on `size` rows (tensor batching), items (list batching) or one
   * request (no batching), for `computeMs`; `ok` is false when the call threw.
   */
  computed?(model: string, size: number, computeMs: number, ok: boolean): void;
  /** A request was refused or dropped before compute. */
  rejected?(model: string, reason: RejectionReason): void;
  /** A batch was formed newest first: the model's queue was stale (adaptive LIFO, `staleQueueMs`). */
  lifo?(model: string): void;
}
