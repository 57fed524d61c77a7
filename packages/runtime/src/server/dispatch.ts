import type { AnyRequest, AnyResponse } from "../http/routes.js";

type Handler = (req: AnyRequest, res: AnyResponse) => void;

/**
 * The server's single protocol dispatch point: every request on every connection
 * (HTTP/1.1 or HTTP/2, plaintext or TLS) passes here, and this decides who answers it.
 *
 * - GET/HEAD on a plain HTTP route (`/healthz`, `/readyz`) → that route.
 * - everything else (gRPC, gRPC-Web, Connect binary and JSON, unknown paths) → the
 *   connect-node handler, the reference implementation of every protocol.
 *
 * A native fast path for `application/grpc` will be decided here, ahead of connect-node.
 */
export function createDispatch(routes: ReadonlyMap<string, Handler>, rpc: Handler): Handler {
  return (req, res) => {
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
}
