import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { ServingState } from "../health/serving-state.js";

export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;

export type Route = (req: AnyRequest, res: AnyResponse) => void;

/** The JSON body of `GET /healthz` and `GET /readyz`. */
export interface HealthBody {
  /** The whole server, as gRPC health's `""` service reports it. */
  status: "SERVING" | "NOT_SERVING";
  /** Each model: LOADING, SERVING, FAILED or NOT_SERVING (shutting down). */
  models: Record<string, string>;
  /** Why models failed to load (present only when one did). */
  errors?: Record<string, string>;
  /** Each served service: SERVING or NOT_SERVING (present when the app serves services of its own or sets statuses). */
  services?: Record<string, "SERVING" | "NOT_SERVING">;
}

/** The body both health routes answer, from the state gRPC health reads too. */
export function healthBody(state: ServingState, withServices = false): HealthBody {
  const errors = state.errors();
  return {
    status: state.status(),
    models: state.models(),
    ...(Object.keys(errors).length > 0 ? { errors } : {}),
    ...(withServices ? { services: state.servicesStatus() } : {}),
  };
}

/**
 * The plain HTTP GET routes served beside the RPCs on the same port.
 * - `GET /healthz`: liveness; 200 while the process answers at all (a Kubernetes
 *   liveness probe restarts the pod only when this fails).
 * - `GET /readyz`: readiness; 200 when SERVING, 503 while models load, after one failed
 *   to load, and while the server shuts down.
 * Both answer JSON: `{ "status": "SERVING", "models": { "iris": "SERVING" } }`.
 */
export function createHttpRoutes(state: ServingState, withServices: () => boolean = () => false): Map<string, Route> {
  const body = () => healthBody(state, withServices());
  return new Map<string, Route>([
    ["/healthz", (_req, res) => json(res, 200, body())],
    [
      "/readyz",
      (_req, res) => {
        const b = body();
        json(res, b.status === "SERVING" ? 200 : 503, b);
      },
    ],
  ]);
}

export function json(res: AnyResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value) + "\n";
  (res as ServerResponse).writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  (res as ServerResponse).end(text);
}
