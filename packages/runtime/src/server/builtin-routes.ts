import type * as http from "node:http";
import type { Registry } from "prom-client";
import type { ServingState } from "../health/serving-state.js";
import { createHttpRoutes, type AnyRequest, type AnyResponse, type Route } from "../http/routes.js";
import { bearerHttpGate, DOCS_TARGET, type BearerAuthOptions } from "../middleware/auth/bearer-auth.js";
import { docsPage } from "../openapi/docs-page.js";
import { createOpenApiDocument, type OpenApiOptions } from "../openapi/openapi.js";

/** Options of {@link createBuiltinRoutes}. */
export interface BuiltinRoutesOptions {
  /** What `/healthz` and `/readyz` report. */
  readonly state: ServingState;
  /** What `/metrics` renders; undefined: no `/metrics`. */
  readonly registry: Registry | undefined;
  /** How `/metrics` renders it (default: `registry.metrics()`). */
  readonly renderMetrics?: ((registry: Registry) => Promise<string>) | undefined;
  /** What `/openapi.json` and `/docs` describe; undefined: neither is served. */
  readonly docs: OpenApiOptions | undefined;
  /** With auth on, the docs need the token too (`exempt: ["docs"]` opens them). */
  readonly auth: BearerAuthOptions | undefined;
  /** Whether the health routes list each service's status. */
  readonly withServices?: () => boolean;
}

/**
 * The server's own GET routes, by path: `/healthz`, `/readyz`, `/metrics`, `/openapi.json`
 * and `/docs`.
 *
 * @example
 * const routes = createBuiltinRoutes({ state, registry, docs: { title: "iris", services, files }, auth: undefined });
 * routes.get("/readyz");
 */
export function createBuiltinRoutes(options: BuiltinRoutesOptions): Map<string, Route> {
  const { state, registry, docs, auth } = options;
  const routes = createHttpRoutes(state, options.withServices);
  if (registry !== undefined) routes.set("/metrics", metricsRoute(registry, options.renderMetrics));
  if (docs !== undefined) {
    // Built once, on first request: the document only depends on the schema.
    let built: { json: string; html: string } | undefined;
    const page = () => {
      if (built === undefined) {
        const doc = createOpenApiDocument(docs);
        built = { json: JSON.stringify(doc, null, 2) + "\n", html: docsPage(doc) };
      }
      return built;
    };
    // With auth on, the docs need the token too: they describe the schema that reflection
    // keeps behind it. `exempt: ["docs"]` opens them.
    const allowed = auth !== undefined ? bearerHttpGate(auth, DOCS_TARGET) : undefined;
    const docsRoute = (contentType: string, body: () => string): Route =>
      allowed === undefined
        ? (_req, res) => send(res, contentType, body())
        : (req, res) => {
            allowed(req, res).then(
              (ok) => {
                if (ok && !res.destroyed) send(res, contentType, body());
              },
              // The token check itself failed (a `tokens` function threw) and so did its answer.
              () => res.destroy(),
            );
          };
    routes.set(
      "/openapi.json",
      docsRoute("application/json", () => page().json),
    );
    routes.set(
      "/docs",
      docsRoute("text/html; charset=utf-8", () => page().html),
    );
  }
  return routes;
}

/** `GET /metrics`: the registry in Prometheus' text format. */
function metricsRoute(registry: Registry, render = (r: Registry) => r.metrics()): Route {
  return (_req: AnyRequest, res: AnyResponse) => {
    render(registry).then(
      (text) => {
        (res as http.ServerResponse).writeHead(200, {
          "content-type": registry.contentType,
          "cache-control": "no-store",
        });
        (res as http.ServerResponse).end(text);
      },
      (err: unknown) => {
        (res as http.ServerResponse).writeHead(500, { "content-type": "text/plain" });
        (res as http.ServerResponse).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
      },
    );
  };
}

function send(res: AnyResponse, contentType: string, body: string): void {
  (res as http.ServerResponse).writeHead(200, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-cache",
  });
  (res as http.ServerResponse).end(body);
}
