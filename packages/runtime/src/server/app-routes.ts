import type { App } from "../app.js";
import type { ServiceTable } from "../binding/service-table.js";
import { createRouteHandler, type ErrorAnswer } from "../http/route-handler.js";
import { createRouteMatcher, type RouteMatcher, type RouteRecord } from "../http/route.js";
import type { AnyRequest, AnyResponse, Route } from "../http/routes.js";
import type { BearerAuthOptions } from "../middleware/auth/bearer-auth.js";
import type { CallObserver } from "../middleware/call-observer.js";

/** A route's Node handler, with the path's named segments. */
export type AppRouteHandler = (req: AnyRequest, res: AnyResponse, params: Record<string, string>) => void;

/**
 * A route the server serves itself beside the app's, through the same machinery (body
 * limit, auth, metrics, logs): the Open Inference Protocol's REST API.
 */
export interface ServerRoute {
  readonly route: RouteRecord;
  /** Who serves it, for the error that refuses an app route taking its requests: `the Open Inference Protocol (oip: false turns it off)`. */
  readonly by: string;
  /** Needs no bearer token, whatever the auth options. Default false. */
  readonly public?: boolean;
  /** What the auth options' `exempt` is checked against. Default: the route's path. */
  readonly authTarget?: string;
  /** How its errors are answered. Default: Connect's error body. */
  readonly errorAnswer?: ErrorAnswer;
}

/** Options of {@link createAppRoutes}. */
export interface AppRoutesOptions {
  /** The server's own GET routes, which the app's may not take. */
  readonly builtin: ReadonlyMap<string, Route>;
  /** What is served over RPC, whose paths the app's routes may not take. */
  readonly table: ServiceTable;
  /** The server's routes served with the app's, whose requests the app's may not take. */
  readonly serverRoutes?: readonly ServerRoute[];
  readonly readMaxBytes: number;
  readonly auth: BearerAuthOptions | undefined;
  readonly observers: readonly CallObserver[];
  readonly scheme: "http" | "https";
  /** Route requests in flight: the shutdown aborts what is left once its grace period is over. */
  readonly inFlight: Set<AbortController>;
}

/**
 * The app's HTTP routes (`app.route`) and the server's own that are served the same way
 * (`serverRoutes`), matched by method and path; undefined when there are none.
 *
 * @throws Error listing every app route that takes a path the server answers itself
 *   (`/healthz`, `/metrics`, …), an RPC's path, or requests of a server route.
 * @example
 * const routes = createAppRoutes(app, { builtin, table, readMaxBytes, auth, observers, scheme: "http", inFlight });
 * routes?.match("GET", "/health");
 */
export function createAppRoutes(app: App, options: AppRoutesOptions): RouteMatcher<AppRouteHandler> | undefined {
  const { builtin, table, serverRoutes = [] } = options;
  if (app.routes.length === 0 && serverRoutes.length === 0) return undefined;
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
    const taken = serverRoutes.find((s) => s.route.method === r.method && overlap(s.route.path, r.path));
    if (taken !== undefined)
      problems.push(
        `${r.method} ${r.path}: it takes requests of ${taken.route.method} ${taken.route.path}, served by ${taken.by}`,
      );
  }
  if (problems.length > 0)
    throw new Error(`app "${app.name}" has routes that cannot be served:\n  ${problems.join("\n  ")}`);
  return createRouteMatcher([
    ...serverRoutes.map((s) => ({
      method: s.route.method,
      path: s.route.path,
      value: createRouteHandler(s.route, {
        ...options,
        ...(s.public === true ? { auth: undefined } : {}),
        ...(s.authTarget !== undefined ? { authTarget: s.authTarget } : {}),
        ...(s.errorAnswer !== undefined ? { errorAnswer: s.errorAnswer } : {}),
      }),
    })),
    ...app.routes.map((r) => ({ method: r.method, path: r.path, value: createRouteHandler(r, options) })),
  ]);
}

/** True when some request path matches both route paths (`:name` segments match any one segment). */
function overlap(a: string, b: string): boolean {
  const x = a.split("/");
  const y = b.split("/");
  return x.length === y.length && x.every((s, i) => s === y[i] || s.startsWith(":") || y[i]!.startsWith(":"));
}
