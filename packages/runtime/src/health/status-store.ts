import type { ServiceStatus } from "./serving-state.js";

/**
 * The serving statuses user code sets (`app.setServingStatus`): of a service, or of the
 * whole server (`""`). Kept by the app, so that code can set them before any server exists;
 * every server of the app reads them, and gRPC health and `/readyz` follow each change.
 */
export interface StatusStore {
  /** Sets a status; `service` is a full service name, or `""` for the whole server. */
  set(service: string, status: ServiceStatus): void;
  /** The status user code set, or undefined. */
  get(service: string): ServiceStatus | undefined;
  /** Every status set, by service. */
  entries(): [string, ServiceStatus][];
  /** Calls `listener` after every change; returns the function that unsubscribes. */
  subscribe(listener: () => void): () => void;
  /**
   * Names services a server of the app serves: from then on, setting the status of a name
   * no server serves throws (a typo would otherwise go unnoticed). Throws at once for a
   * status already set on such a name.
   */
  allow(services: Iterable<string>): void;
}

/**
 * Creates an empty store.
 *
 * @example
 * const store = createStatusStore();
 * store.set("director.v1.InferenceDirector", "NOT_SERVING");
 */
export function createStatusStore(): StatusStore {
  const statuses = new Map<string, ServiceStatus>();
  const listeners = new Set<() => void>();
  const allowed = new Set<string>([""]);
  let restricted = false;
  const check = (service: string) => {
    if (restricted && !allowed.has(service)) {
      throw new Error(
        `setServingStatus: no service ${JSON.stringify(service)} is served (served: ${[...allowed].filter((s) => s !== "").join(", ")}; "" is the whole server)`,
      );
    }
  };
  return {
    set(service, status) {
      if (typeof service !== "string")
        throw new Error(
          `setServingStatus: the service must be a full service name or "" for the server, got ${typeof service}`,
        );
      check(service);
      if (status !== "SERVING" && status !== "NOT_SERVING") {
        throw new Error(
          `setServingStatus: the status must be "SERVING" or "NOT_SERVING", got ${JSON.stringify(status)}`,
        );
      }
      if (statuses.get(service) === status) return;
      statuses.set(service, status);
      for (const l of [...listeners]) l();
    },
    get: (service) => statuses.get(service),
    entries: () => [...statuses],
    allow(services) {
      for (const s of services) allowed.add(s);
      restricted = true;
      for (const s of statuses.keys()) check(s);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
