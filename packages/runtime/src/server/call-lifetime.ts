import { deadlineError } from "./abort-reasons.js";

/**
 * How a call of the native paths (gRPC on the stream, Connect on the request) lives and ends:
 * its deadline, its abort signal — made only when something asks for it, since most calls end
 * without anyone listening — and `abort`, which ends it early and, while its implementation
 * runs, answers it (`fail`) a moment later.
 *
 * @example
 * class MyCall extends CallLifetime {
 *   protected fail(reason: unknown) { answerWithError(reason); }
 * }
 */
export abstract class CallLifetime {
  /** This transport answers the call itself the moment it aborts (see connect-routes' `unary`). */
  readonly answersOnAbort = true;
  private controller: AbortController | undefined;
  /** The call has ended early (`abort`). */
  protected ended = false;
  /** Why it ended early. */
  protected endReason: unknown;
  /** The implementation is running: an abort answers the call. */
  protected awaiting = false;
  private deadline: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** The call's abort signal, made on first use (aborted already if the call has ended). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.ended) this.controller.abort(this.endReason);
    }
    return this.controller.signal;
  }
  /** Whether the call has ended early — what `signal.aborted` says, without making the signal. */
  get aborted(): boolean {
    return this.ended;
  }
  timeoutMs(): number | undefined {
    return this.deadline === undefined ? undefined : this.deadline - Date.now();
  }

  /**
   * Ends the call early: its signal aborts with `reason` (connect's handler contexts have the
   * same method), and a call whose implementation still runs is answered with it — a moment
   * later, so that a queued request its batcher takes out answers with its own, more precise
   * error; the implementation's result, when it comes, is dropped.
   */
  abort(reason?: unknown): void {
    if (this.ended) return;
    this.clearDeadline();
    this.ended = true;
    this.endReason = reason;
    this.controller?.abort(reason);
    if (this.awaiting) setImmediate(() => this.fail(reason));
  }

  /** Starts the call's deadline: `timeoutMs` from now it aborts with DEADLINE_EXCEEDED. */
  protected startDeadline(timeoutMs: number): void {
    this.deadline = Date.now() + timeoutMs;
    this.timer = setTimeout(() => this.abort(deadlineError()), timeoutMs);
  }

  /** The call is answered or gone: its deadline no longer matters. */
  protected clearDeadline(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Answers the call with an error (`abort` calls it while the implementation runs). */
  protected abstract fail(reason: unknown): void;
}
