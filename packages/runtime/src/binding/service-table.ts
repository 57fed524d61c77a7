import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import type { Admission, ModelRpc } from "./connect-routes.js";

/** Where a served service comes from: the generated model bindings, the user's own code, or the server itself (health, reflection). */
export type ServiceOrigin = "model" | "own" | "builtin";

/** One service to serve: its descriptor and implementation, as registered once in the {@link ServiceTable}. */
export interface ServiceEntry {
  readonly service: DescService;
  /** The implementation by method local name (connect's `ServiceImpl` shape). */
  readonly impl: Readonly<Record<string, unknown>>;
  readonly origin: ServiceOrigin;
  /** The model each method serves, by method local name (model services only). */
  readonly models?: Readonly<Record<string, string>>;
  /** Admission of a unary call before its body is read (a batched model's queue), by method local name. */
  readonly admission?: Readonly<Record<string, Admission>>;
  /** The native gRPC path may take this service's unary and server-streaming methods. */
  readonly native: boolean;
}

/** One bound method. */
export interface BoundMethod {
  /** URL path, `/iris.v1.InferenceService/PredictIris`. */
  readonly path: string;
  readonly service: DescService;
  readonly method: DescMethod;
  readonly origin: ServiceOrigin;
  /** The model it serves; `""` for a method that is not a model's. */
  readonly model: string;
  /** The implementation the native gRPC path calls; undefined when the native path leaves the method to connect-node. */
  readonly native: ModelRpc | undefined;
}

/**
 * Every service and method the server answers, built once: the connect router, the native
 * gRPC path, health, reflection, observers and the docs all read it, so they agree on what
 * is served.
 */
export interface ServiceTable {
  /** Every service, in order: model services, the user's own, then the server's. */
  readonly services: readonly ServiceEntry[];
  /** Every method of every service, in order. */
  readonly methods: readonly BoundMethod[];
  /** The method at a URL path, or undefined. */
  getMethod(path: string): BoundMethod | undefined;
  /** The methods the native gRPC path serves, by URL path. */
  readonly native: ReadonlyMap<string, ModelRpc>;
  /** The model of each method by `service/method` (`iris.v1.InferenceService/PredictIris`); methods of no model are left out. */
  readonly models: ReadonlyMap<string, string>;
  /** Registers every service on a Connect router. */
  register(router: ConnectRouter): void;
}

/**
 * Builds the table of `entries`.
 *
 * @throws Error when two entries serve the same service name.
 * @example
 * const table = createServiceTable([...modelServiceEntries(bindings, executor), healthEntry(state)]);
 * table.getMethod("/iris.v1.InferenceService/PredictIris")?.model; // "iris"
 */
export function createServiceTable(entries: readonly ServiceEntry[]): ServiceTable {
  const names = new Set<string>();
  const methods: BoundMethod[] = [];
  const byPath = new Map<string, BoundMethod>();
  const native = new Map<string, ModelRpc>();
  const models = new Map<string, string>();
  for (const entry of entries) {
    const { service, impl, origin } = entry;
    if (names.has(service.typeName)) throw new Error(`service ${service.typeName} is served twice`);
    names.add(service.typeName);
    for (const method of service.methods) {
      const fn = impl[method.localName];
      if (typeof fn !== "function") continue;
      const path = `/${service.typeName}/${method.name}`;
      const model = entry.models?.[method.localName] ?? "";
      let rpc: ModelRpc | undefined;
      if (entry.native && method.methodKind === "unary") {
        const admission = entry.admission?.[method.localName];
        rpc = { kind: "unary", method, model, impl: fn as never, ...(admission !== undefined ? { admission } : {}) };
      } else if (entry.native && method.methodKind === "server_streaming") {
        rpc = { kind: "server_streaming", method, model, impl: fn as never };
      }
      const bound: BoundMethod = { path, service, method, origin, model, native: rpc };
      methods.push(bound);
      byPath.set(path, bound);
      if (rpc !== undefined) native.set(path, rpc);
      if (model !== "") models.set(`${service.typeName}/${method.name}`, model);
    }
  }
  return {
    services: entries,
    methods,
    getMethod: (path) => byPath.get(path),
    native,
    models,
    register(router) {
      for (const { service, impl } of entries) router.service(service, impl as never);
    },
  };
}
