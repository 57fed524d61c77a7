/**
 * `work`, or the signal's reason once it aborts, whichever comes first: a call (a model's, a
 * route's) ends when its signal does — deadline, client gone, the shutdown's grace period
 * over — even while its work still runs; that work's answer is then dropped.
 *
 * @example
 * const result = await untilAborted(executor.invoke(model, args, ctx), ctx.signal);
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => undefined);
      // A moment later, so that work which ends because of this very signal (a queued
      // request taken out by its deadline) answers with its own, more precise error.
      setImmediate(() => reject(signal.reason));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
