import type { App } from "../app.js";
import type { StatusStore } from "./status-store.js";

/**
 * A model's state as health reports it:
 * - `LOADING`: its loader (`app.loader`) has not finished;
 * - `SERVING`: it answers calls;
 * - `FAILED`: its loader failed (see {@link ServingState.errors});
 * - `NOT_SERVING`: the server is shutting down.
 */
export type ModelStatus = "LOADING" | "SERVING" | "FAILED" | "NOT_SERVING";

/** The gRPC health protocol's view of a service, or of the whole server (`""`). */
export type ServiceStatus = "SERVING" | "NOT_SERVING";

/**
 * The serving state every health surface reads: gRPC `grpc.health.v1.Health` (Check,
 * List, Watch) and HTTP `GET /healthz` and `/readyz`. One object, so they never disagree.
 *
 * A service is SERVING when the server is not draining, every model its methods call is
 * SERVING, and user code has not set it NOT_SERVING (`app.setServingStatus`); the whole
 * server (`""`) when every served service is, every model is, and user code has not set
 * the server NOT_SERVING.
 */
export interface ServingState {
  /** The whole server: SERVING when every model is SERVING, the server is not draining, and its peers (if any) are ready. */
  status(): ServiceStatus;
  /** {@link status} of this process alone, its peers left out: what it reports to them. */
  localStatus(): ServiceStatus;
  /** A service's status (`""` is the server), or undefined for a service this server does not serve. */
  serviceStatus(service: string): ServiceStatus | undefined;
  /** Every name health knows: `""` first, then each served service. */
  services(): readonly string[];
  /** Each model's status, in registration order. */
  models(): Record<string, ModelStatus>;
  /** The status of one model (NOT_SERVING once draining); undefined for a model the app does not register. */
  modelStatus(model: string): ModelStatus | undefined;
  /**
   * Whether the model itself can answer: LOADING, SERVING or FAILED, whatever the server's
   * drain (a draining server still answers calls until its drain delay is over).
   */
  loadStatus(model: string): ModelStatus | undefined;
  /** Why models failed to load, keyed by model (only failed ones). */
  errors(): Record<string, string>;
  /** True once `drain()` was called. */
  readonly draining: boolean;
  /** Runs every model's loader (once; later calls return the same promise). Resolves when all have settled. */
  load(): Promise<void>;
  /** Marks the server as shutting down: everything turns NOT_SERVING at once. */
  drain(): void;
  /** Calls `listener` after every change; returns the function that unsubscribes. */
  subscribe(listener: () => void): () => void;
  /** Each served service's status, by name (the server's `""` left out). */
  servicesStatus(): Record<string, ServiceStatus>;
  /** Stops following the app's status store (the server closed). */
  dispose(): void;
}

/**
 * The other processes a server serves beside, as one (the workers of `blaze serve --workers
 * N`): while they are not all ready, this server's health says NOT_SERVING too, so that a
 * probe of the shared port sees the whole set.
 */
export interface Peers {
  /** True while every peer is ready. */
  ready(): boolean;
  /** Calls `listener` when {@link ready} may have changed; returns the function that unsubscribes. */
  subscribe(listener: () => void): () => void;
}

/**
 * Creates the serving state of an app whose models are served by `services`
 * (service type name → the models its methods call; none for a service of the user's own),
 * following the statuses user code sets in `store`.
 *
 * @example
 * const state = createServingState(app, new Map([["iris.v1.InferenceService", ["iris"]]]));
 * await state.load();
 * state.status(); // "SERVING"
 */
export function createServingState(
  app: App,
  services: ReadonlyMap<string, readonly string[]>,
  store?: StatusStore,
  peers?: Peers,
): ServingState {
  // Code-first RPCs (`app.rpc`) are not models: they have no loader and no status of their own.
  const models = app.models.filter((m) => m.rpc !== true);
  const statuses = new Map<string, ModelStatus>(
    models.map((m) => [m.name, m.load === undefined ? "SERVING" : "LOADING"]),
  );
  const errors = new Map<string, string>();
  const listeners = new Set<() => void>();
  let draining = false;
  let loading: Promise<void> | undefined;
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  const allServing = (models: Iterable<string>) => {
    if (draining) return false;
    for (const m of models) if (statuses.has(m) && statuses.get(m) !== "SERVING") return false;
    return true;
  };
  const userSays = (service: string) => store?.get(service) !== "NOT_SERVING";
  const peersReady = () => peers === undefined || peers.ready();
  const unsubscribe = store?.subscribe(notify);
  const unsubscribePeers = peers?.subscribe(notify);
  const state: ServingState = {
    status() {
      return peersReady() ? state.localStatus() : "NOT_SERVING";
    },
    localStatus() {
      if (!allServing(statuses.keys()) || !userSays("")) return "NOT_SERVING";
      for (const service of services.keys()) if (!userSays(service)) return "NOT_SERVING";
      return "SERVING";
    },
    serviceStatus(service) {
      if (service === "") return state.status();
      const models = services.get(service);
      if (models === undefined) return undefined;
      return allServing(models) && userSays(service) && peersReady() ? "SERVING" : "NOT_SERVING";
    },
    servicesStatus: () => Object.fromEntries([...services.keys()].map((s) => [s, state.serviceStatus(s)!])),
    dispose: () => {
      unsubscribe?.();
      unsubscribePeers?.();
    },
    services: () => ["", ...services.keys()],
    models: () => Object.fromEntries([...statuses].map(([m, s]) => [m, draining ? "NOT_SERVING" : s])),
    modelStatus(model) {
      const s = statuses.get(model);
      return s === undefined ? undefined : draining ? "NOT_SERVING" : s;
    },
    loadStatus: (model) => statuses.get(model),
    errors: () => Object.fromEntries(errors),
    get draining() {
      return draining;
    },
    load() {
      loading ??= Promise.all(
        models.map(async (m) => {
          if (m.load === undefined) return;
          try {
            await m.load();
            statuses.set(m.name, "SERVING");
          } catch (err) {
            statuses.set(m.name, "FAILED");
            errors.set(m.name, err instanceof Error ? err.message : String(err));
          }
          notify();
        }),
      ).then(() => undefined);
      return loading;
    },
    drain() {
      if (draining) return;
      draining = true;
      notify();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return state;
}
