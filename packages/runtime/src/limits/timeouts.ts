import { parseTimeout } from "@connectrpc/connect/protocol-grpc";

/**
 * The longest deadline kept: 2^31 − 1 ms (about 24.8 days), the most a Node.js timer takes.
 * A longer one (`grpc-timeout: 600H`) would be set to 1 ms by `setTimeout` (with a
 * TimeoutOverflowWarning): the call would time out at once. Longer deadlines are cut to this.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** A deadline in ms as the server keeps it: at most {@link MAX_TIMEOUT_MS}. */
export function clampTimeoutMs(timeoutMs: number): number {
  return timeoutMs > MAX_TIMEOUT_MS ? MAX_TIMEOUT_MS : timeoutMs;
}

/**
 * Cuts a request's `grpc-timeout` (gRPC, gRPC-Web) or `connect-timeout-ms` (Connect) to
 * {@link MAX_TIMEOUT_MS} in place, before connect-node reads it; other values, invalid ones
 * included, are left for connect-node to judge.
 */
export function clampTimeoutHeaders(header: Headers): void {
  const grpc = header.get("grpc-timeout");
  if (grpc !== null) {
    const t = parseTimeout(grpc, Number.MAX_SAFE_INTEGER);
    if (t.error === undefined && t.timeoutMs !== undefined && t.timeoutMs > MAX_TIMEOUT_MS)
      header.set("grpc-timeout", `${Math.floor(MAX_TIMEOUT_MS / 1000)}S`);
  }
  const connect = header.get("connect-timeout-ms");
  if (connect !== null && /^\d{1,10}$/.test(connect) && Number(connect) > MAX_TIMEOUT_MS)
    header.set("connect-timeout-ms", String(MAX_TIMEOUT_MS));
}
