import type { AnyRequest, AnyResponse } from "../http/routes.js";

type Handler = (req: AnyRequest, res: AnyResponse) => void;

/** Options of {@link createDispatch}. */
export interface DispatchOptions {
  /** Called first for every request (connection bookkeeping: timeouts, in-flight counts). */
  onRequest?: Handler;
  /** Then: returns true when it answered the request itself (refused: the server is at its limit). */
  refuse?: (req: AnyRequest, res: AnyResponse) => boolean;
  /** Then: runs the rest now, or later (a pipelined HTTP/1.1 request waits for its turn). */
  schedule?: (req: AnyRequest, res: AnyResponse, run: () => void) => void;
  /** CORS: adds headers; returns true when it answered the request itself (a preflight). */
  cors?: (req: AnyRequest, res: AnyResponse) => boolean;
}

/**
 * The server's single protocol dispatch point: every request on every connection
 * (HTTP/1.1 or HTTP/2, plaintext or TLS) passes here, and this decides who answers it.
 *
 * - past the server's limit on requests in flight → refused (`refuse`); a pipelined
 *   HTTP/1.1 request past its connection's limit → waits (`schedule`).
 * - a CORS preflight (when CORS is on) → answered here.
 * - GET/HEAD on a plain HTTP route (`/healthz`, `/readyz`, `/metrics`, `/openapi.json`,
 *   `/docs`) → that route.
 * - everything else (gRPC, gRPC-Web, Connect binary and JSON, Connect GET, unknown
 *   paths) → the connect-node handler, the reference implementation of every protocol.
 *
 * A native fast path for `application/grpc` will be decided here, ahead of connect-node.
 */
export function createDispatch(routes: ReadonlyMap<string, Handler>, rpc: Handler, options: DispatchOptions = {}): Handler {
  const { onRequest, refuse, schedule, cors } = options;
  const answer: Handler = (req, res) => {
    if (cors?.(req, res) === true) return;
    if (req.method === "GET" || req.method === "HEAD") {
      const path = (req.url ?? "/").split("?", 1)[0]!;
      const route = routes.get(path);
      if (route !== undefined) {
        route(req, res);
        return;
      }
    }
    rpc(req, res);
  };
  return (req, res) => {
    onRequest?.(req, res);
    if (refuse?.(req, res) === true) return;
    if (schedule === undefined) answer(req, res);
    else schedule(req, res, () => answer(req, res));
  };
}
