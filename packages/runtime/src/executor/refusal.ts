import { Code, type ConnectError } from "@connectrpc/connect";
import { cheapError } from "./cheap-error.js";

/**
 * A call refused as it arrives, before anything of it is read: its model's queue is full
 * (RESOURCE_EXHAUSTED), or the work queued ahead of it would outlast its deadline
 * (DEADLINE_EXCEEDED). Plain data, not an error: under overload the server refuses far more
 * calls than it serves, and a refusal answered at the door (see the native gRPC path) needs
 * only its code and message — an error object (with its metadata headers) for each would
 * cost more than the refusal itself.
 *
 * @example
 * const refused = batcher.admit(timeoutMs);
 * if (refused !== undefined) throw refusalError(refused);
 */
export interface Refusal {
  readonly code: Code.ResourceExhausted | Code.DeadlineExceeded;
  readonly message: string;
}

/** A refusal as the error a call rejects with. */
export function refusalError(refusal: Refusal): ConnectError {
  return cheapError(refusal.message, refusal.code);
}

/** A full queue's refusal, the same for every call (`queueCapacity` calls are queued). */
export function queueFullRefusal(model: string, queueCapacity: number): Refusal {
  return {
    code: Code.ResourceExhausted,
    message: `model "${model}" is at capacity: ${queueCapacity} requests queued (queueCapacity ${queueCapacity}) — retry later`,
  };
}
