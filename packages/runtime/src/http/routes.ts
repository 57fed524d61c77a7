import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { App } from "../app.js";

export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** Serving state the HTTP routes report. */
export interface ServingState {
  /** "SERVING" once every model is ready, "NOT_SERVING" while starting or draining. */
  status(): "SERVING" | "NOT_SERVING";
}

type Route = (req: AnyRequest, res: AnyResponse) => void;

/**
 * The plain HTTP GET routes served beside the RPCs on the same port.
 * - `GET /healthz`: liveness; 200 while the process serves requests at all.
 * - `GET /readyz`: readiness; 200 when SERVING, 503 otherwise.
 * Both answer JSON: `{ "status": "SERVING", "models": { "iris": "SERVING" } }`.
 */
export function createHttpRoutes(app: App, state: ServingState): ReadonlyMap<string, Route> {
  const body = () => {
    const status = state.status();
    return { status, models: Object.fromEntries(app.models.map((m) => [m.name, status])) };
  };
  return new Map<string, Route>([
    ["/healthz", (_req, res) => json(res, 200, body())],
    ["/readyz", (_req, res) => {
      const b = body();
      json(res, b.status === "SERVING" ? 200 : 503, b);
    }],
  ]);
}

function json(res: AnyResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value) + "\n";
  (res as ServerResponse).writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  (res as ServerResponse).end(text);
}
