// Notices timers set for longer than Node can: setTimeout(fn, ms) with ms over 2^31 − 1
// fires after 1 ms instead (Node prints a TimeoutOverflowWarning, which a test cannot listen
// to: jest gives it a `process` of its own). The code under test looks setTimeout up on the
// global object of the test file, so wrapping it there sees every timer it sets.

/** The longest delay setTimeout honours, in milliseconds. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Wraps globalThis.setTimeout, calling `onOverflow` for each delay over MAX_TIMER_MS; returns the undo. */
export function watchTimerOverflow(onOverflow: (ms: number) => void): () => void {
  const original = globalThis.setTimeout;
  const wrapped = function (this: unknown, fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) {
    if (typeof ms === "number" && ms > MAX_TIMER_MS) onOverflow(ms);
    return original(fn, ms, ...args);
  };
  globalThis.setTimeout = Object.assign(wrapped, original) as typeof setTimeout;
  return () => {
    globalThis.setTimeout = original;
  };
}
