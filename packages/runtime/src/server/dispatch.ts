import type * as http2 from "node:http2";
import type { AnyRequest, AnyResponse } from "../http/routes.js";
import type { RouteMatcher } from "../http/route.js";
import type { AppRouteHandler } from "./app-routes.js";
import type { NativeConnect } from "./protocol-connect/index.js";
import type { NativeGrpc } from "./protocol-grpc/index.js";

type Handler = (req: AnyRequest, res: AnyResponse) => void;

/** Options of {@link createDispatch}. */
export interface DispatchOptions {
  /** The server's own plain HTTP GET (and HEAD) routes, by path. */
  readonly routes: ReadonlyMap<string, Handler>;
  /** The app's HTTP routes (`app.route`), any method. */
  readonly appRoutes?: RouteMatcher<AppRouteHandler> | undefined;
  /** connect-node: every protocol, and every request nothing else takes. */
  readonly rpc: Handler;
  /** The native gRPC path: takes the HTTP/2 streams it serves; undefined with `fastPath: false`. */
  readonly native?: NativeGrpc;
  /** The native Connect path: takes the Connect unary requests it serves, before connect-node; undefined with `fastPath: false`. */
  readonly connect?: NativeConnect;
  /** Called first for every request (connection bookkeeping: timeouts, in-flight counts). */
  readonly onRequest?: Handler;
  /** Called for every HTTP/2 stream the native path takes (connection bookkeeping). */
  readonly onNativeStream?: (stream: http2.ServerHttp2Stream, path: string) => void;
  /** Then: returns true when it answered the request itself (refused: the server is at its limit). */
  readonly refuse?: (req: AnyRequest, res: AnyResponse) => boolean;
  /** HTTP/2, before anything else: returns true when it refused the stream (the server is at its limit). */
  readonly refuseStream?: (stream: http2.ServerHttp2Stream) => boolean;
  /** Then: runs the rest now, or later (a pipelined HTTP/1.1 request waits for its turn). */
  readonly schedule?: (req: AnyRequest, res: AnyResponse, run: () => void) => void;
  /** CORS: adds headers; returns true when it answered the request itself (a preflight). */
  readonly cors?: (req: AnyRequest, res: AnyResponse) => boolean;
}

/** The dispatch point's two doors: HTTP/2 streams as they open, and requests (HTTP/1.1, and HTTP/2 through Node's compatibility layer). */
export interface Dispatch {
  /**
   * Every HTTP/2 stream, first: true when it was answered here (refused at the server's
   * limit, before anything is built for it, or taken by the native gRPC path); false sends
   * it on to Node's compatibility layer, which comes back through {@link Dispatch.request}.
   */
  stream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean;
  /** Every request of either HTTP version that no stream-level decision took. */
  request(req: AnyRequest, res: AnyResponse): void;
}

/**
 * The server's one dispatch point: every request on every connection (HTTP/1.1 or HTTP/2,
 * plaintext or TLS) passes here, and this decides who answers it, in order:
 *
 * 1. HTTP/2, as the stream opens: past the server's limit on requests in flight → refused
 *    with REFUSED_STREAM; `application/grpc` POST to a unary or server-streaming method the
 *    native path serves → the native gRPC path, straight on the stream.
 * 2. Every other request: past the limit → 503 (`refuse`); a pipelined HTTP/1.1 request past
 *    its connection's limit → waits (`schedule`).
 * 3. A CORS preflight (when CORS is on) → answered here.
 * 4. GET/HEAD on one of the server's routes (`/healthz`, `/readyz`, `/metrics`,
 *    `/openapi.json`, `/docs`) → that route.
 * 5. The method and path of one of the app's routes (`app.route`) → that route; its path
 *    with another method → 405 with `allow`.
 * 6. A Connect unary `POST` (`application/json` or `application/proto`) to a unary method
 *    the native path serves → the native Connect path.
 * 7. Everything else (gRPC, gRPC-Web, Connect streaming and GET, unknown paths) →
 *    connect-node, the reference implementation of every protocol.
 *
 * @example
 * const dispatch = createDispatch({ routes, rpc, native });
 * http.createServer(dispatch.request);
 */
export function createDispatch(options: DispatchOptions): Dispatch {
  const { routes, appRoutes, rpc, native, connect, onRequest, onNativeStream, refuse, refuseStream, schedule, cors } =
    options;
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
    if (appRoutes !== undefined) {
      const path = (req.url ?? "/").split("?", 1)[0]!;
      const hit = appRoutes.match(req.method ?? "", path);
      if (hit !== undefined) {
        hit.route(req, res, hit.params);
        return;
      }
      if (appRoutes.hasPath(path) && !isRpcRequest(req)) {
        notAllowed(req, res, appRoutes.methodsOf(path));
        return;
      }
    }
    if (connect?.(req, res) === true) return;
    rpc(req, res);
  };
  return {
    stream(stream, headers) {
      if (refuseStream?.(stream) === true) return true;
      const taken = native?.(stream, headers) ?? false;
      if (taken === false) return false;
      // A call refused at the door is answered already (one trailers-only header block, its
      // body read and dropped): nothing of it to track.
      if (taken === "call") onNativeStream?.(stream, headers[":path"]!);
      return true;
    },
    request(req, res) {
      onRequest?.(req, res);
      if (refuse?.(req, res) === true) return;
      if (schedule === undefined) answer(req, res);
      else schedule(req, res, () => answer(req, res));
    },
  };
}

/** A request in one of the RPC protocols (their content types), which connect-node answers whatever its path. */
function isRpcRequest(req: AnyRequest): boolean {
  const type = req.headers["content-type"] ?? "";
  return type.startsWith("application/grpc") || type.startsWith("application/connect+");
}

function notAllowed(req: AnyRequest, res: AnyResponse, methods: readonly string[]): void {
  const body =
    JSON.stringify({
      code: "unimplemented",
      message: `${req.method ?? ""} is not allowed here; allowed: ${methods.join(", ")}`,
    }) + "\n";
  (res as import("node:http").ServerResponse).writeHead(405, {
    allow: methods.join(", "),
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}
