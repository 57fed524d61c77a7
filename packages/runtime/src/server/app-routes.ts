import type { App } from "../app.js";
import type { ServiceTable } from "../binding/service-table.js";
import { createRouteHandler } from "../http/route-handler.js";
import { createRouteMatcher, type RouteMatcher } from "../http/route.js";
import type { AnyRequest, AnyResponse, Route } from "../http/routes.js";
import type { BearerAuthOptions } from "../middleware/auth/bearer-auth.js";
import type { CallObserver } from "../middleware/call-observer.js";

/** A route's Node handler, with the path's named segments. */
export type AppRouteHandler = (req: AnyRequest, res: AnyResponse, params: Record<string, string>) => void;

/** Options of {@link createAppRoutes}. */
export interface AppRoutesOptions {
  /** The server's own GET routes, which the app's may not take. */
  readonly builtin: ReadonlyMap<string, Route>;
  /** What is served over RPC, whose paths the app's routes may not take. */
  readonly table: ServiceTable;
  readonly readMaxBytes: number;
  readonly auth: BearerAuthOptions | undefined;
  readonly observers: readonly CallObserver[];
  readonly scheme: "http" | "https";
  /** Route requests in flight: the shutdown aborts what is left once its grace period is over. */
  readonly inFlight: Set<AbortController>;
}

/**
 * The app's HTTP routes (`app.route`), matched by method and path.
 *
 * @throws Error listing every route that takes a path the server answers itself (`/healthz`,
 *   `/metrics`, …) or an RPC's path.
 * @example
 * const routes = createAppRoutes(app, { builtin, table, readMaxBytes, auth, observers, scheme: "http" });
 * routes?.match("GET", "/health");
 */
export function createAppRoutes(app: App, options: AppRoutesOptions): RouteMatcher<AppRouteHandler> | undefined {
  const { builtin, table } = options;
  if (app.routes.length === 0) return undefined;
  const problems: string[] = [];
  // Every method of every served service, implemented or not: connect answers each path.
  const rpcPaths = table.services.flatMap((s) => s.service.methods.map((m) => `/${s.service.typeName}/${m.name}`));
  for (const r of app.routes) {
    if (builtin.has(r.path)) problems.push(`${r.method} ${r.path}: the server answers ${r.path} itself`);
    const one = createRouteMatcher([{ method: r.method, path: r.path, value: r }]);
    const hit = rpcPaths.find((p) => one.match(r.method, p) !== undefined);
    if (hit !== undefined)
      problems.push(
        `${r.method} ${r.path}: ${hit === r.path ? "that is the path of an RPC" : `it takes the path of the RPC ${hit}`}`,
      );
  }
  if (problems.length > 0)
    throw new Error(`app "${app.name}" has routes that cannot be served:\n  ${problems.join("\n  ")}`);
  return createRouteMatcher(
    app.routes.map((r) => ({ method: r.method, path: r.path, value: createRouteHandler(r, options) })),
  );
}
