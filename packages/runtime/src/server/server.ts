import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { App } from "../app.js";
import { checkBindings, registerBindings } from "../binding/connect-routes.js";
import type { ModelServiceBinding } from "../binding/define-model-service.js";
import { createExecutor } from "../executor/executor.js";
import type { ExecutorMetrics } from "../executor/metrics.js";
import { createHttpRoutes, type AnyRequest, type AnyResponse } from "../http/routes.js";
import { createDispatch } from "./dispatch.js";
import { sniffProtocol } from "./sniff.js";

/** Default cap on one message's size: 64 MiB (connect-node's own default is about 4 GiB). */
export const DEFAULT_READ_MAX_BYTES = 64 * 1024 * 1024;

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The app whose registered models are served. */
  app: App;
  /** The generated service bindings (`InferenceServiceBinding` from `<app>_blaze.ts`). */
  services: readonly ModelServiceBinding[];
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; `0` picks a free one. Default `50051`. */
  port?: number;
  /** TLS: HTTP/2 and HTTP/1.1 chosen by ALPN. Without it, plaintext (h2c by prior knowledge, and HTTP/1.1). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Largest request message accepted, in bytes; larger ones get RESOURCE_EXHAUSTED. Default 64 MiB. */
  readMaxBytes?: number;
  /** How long `close()` lets in-flight requests finish before cutting connections. Default 5000 ms. */
  closeGraceMs?: number;
  /** Hooks called as requests are queued, batched, computed and rejected (per model). */
  metrics?: ExecutorMetrics;
}

/** One RPC the server answers. */
export interface RpcInfo {
  /** URL path, e.g. `/iris.v1.InferenceService/PredictIris`. */
  readonly path: string;
  readonly model: string;
  readonly kind: "unary" | "server_streaming";
}

/** A running (or ready to run) BlazeRPC server. */
export interface BlazeServer {
  /** Starts listening; resolves once the port is bound. */
  listen(): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish (up to `closeGraceMs`), then closes every connection. */
  close(): Promise<void>;
  /** The bound address; throws before `listen()` resolved. */
  address(): AddressInfo;
  /** `http://127.0.0.1:50051` (or `https://…` with TLS). */
  url(): string;
  /** Every RPC served, in the order of the services. */
  readonly rpcs: readonly RpcInfo[];
}

/**
 * Creates a server that answers gRPC (HTTP/2), gRPC-Web and Connect (binary and JSON, over
 * HTTP/1.1 and HTTP/2) and plain HTTP GET routes, all on ONE port, with one connect-node
 * handler behind a single dispatch point.
 *
 * @example
 * import { app } from "./models.js";
 * import { InferenceServiceBinding } from "./gen/iris/v1/iris_blaze.js";
 *
 * const server = createServer({ app, services: [InferenceServiceBinding], port: 50051 });
 * await server.listen();
 */
export function createServer(options: ServerOptions): BlazeServer {
  const {
    app,
    services,
    host = "127.0.0.1",
    port = 50051,
    tls,
    readMaxBytes = DEFAULT_READ_MAX_BYTES,
    closeGraceMs = 5000,
    metrics,
  } = options;
  checkBindings(app, services);
  const executor = createExecutor(app, metrics !== undefined ? { metrics } : {});
  let serving = true;

  const rpc = connectNodeAdapter({
    routes: (router) => registerBindings(router, services, executor),
    readMaxBytes,
    grpc: true,
    grpcWeb: true,
    connect: true,
  }) as (req: AnyRequest, res: AnyResponse) => void;
  const dispatch = createDispatch(createHttpRoutes(app, { status: () => (serving ? "SERVING" : "NOT_SERVING") }), rpc);

  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  // In-flight requests per HTTP/1.1 socket. http.Server tracks idle connections only when
  // it listens itself, and ours gets its sockets from the sniffer, so we keep count here.
  let closing = false;
  const h1Active = new Map<net.Socket, number>();
  const http1Sockets = new Set<net.Socket>();
  const onHttp1Request = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    if (!http1Sockets.has(socket)) {
      http1Sockets.add(socket);
      socket.once("close", () => {
        http1Sockets.delete(socket);
        h1Active.delete(socket);
      });
    }
    h1Active.set(socket, (h1Active.get(socket) ?? 0) + 1);
    if (closing) res.setHeader("connection", "close");
    res.once("close", () => {
      const left = (h1Active.get(socket) ?? 1) - 1;
      h1Active.set(socket, left);
      if (closing && left === 0) socket.destroySoon();
    });
  };
  const closeIdleHttp1 = () => {
    for (const socket of http1Sockets) {
      if ((h1Active.get(socket) ?? 0) === 0) socket.destroySoon();
    }
  };

  let listener: net.Server;
  let h1: http.Server | undefined;
  let h2: http2.Http2Server | http2.Http2SecureServer;
  if (tls !== undefined) {
    h2 = http2.createSecureServer({ cert: tls.cert, key: tls.key, allowHTTP1: true }, dispatch);
    h2.on("secureConnection", track);
    // With allowHTTP1, HTTP/1.1 requests arrive as "request" events on the same server.
    h2.on("request", (req: AnyRequest, res: AnyResponse) => {
      if (req.httpVersionMajor === 1) onHttp1Request(req as http.IncomingMessage, res as http.ServerResponse);
    });
    listener = h2;
  } else {
    h2 = http2.createServer({}, dispatch);
    h1 = http.createServer(dispatch);
    h1.on("request", onHttp1Request);
    const http1 = h1;
    const h2c = h2;
    listener = net.createServer((socket) => {
      track(socket);
      sniffProtocol(socket, (protocol) => {
        if (protocol === "h2") {
          // The HTTP/2 session reads the bytes put back from the socket's buffer itself,
          // then reads natively; resuming here would steal data from it.
          h2c.emit("connection", socket);
        } else {
          http1.emit("connection", socket);
          socket.resume();
        }
      });
    });
  }
  h2.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });

  const rpcs: RpcInfo[] = services.flatMap(({ service, methods }) =>
    service.methods.flatMap((m) => {
      const b = methods[m.localName];
      return b === undefined ? [] : [{ path: `/${service.typeName}/${m.name}`, model: b.model, kind: b.kind }];
    }),
  );

  let bound: AddressInfo | undefined;
  return {
    rpcs,
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        listener.once("error", onError);
        listener.listen(port, host, () => {
          listener.off("error", onError);
          bound = listener.address() as AddressInfo;
          resolve(bound);
        });
      });
    },
    async close() {
      serving = false;
      closing = true;
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      // HTTP/2: GOAWAY, open streams finish. HTTP/1.1: idle keep-alive sockets close now,
      // busy ones after their response (sent with "connection: close").
      for (const s of sessions) s.close();
      closeIdleHttp1();
      const grace = setTimeout(() => {
        for (const s of sessions) s.destroy();
        for (const s of sockets) s.destroy();
      }, closeGraceMs);
      grace.unref();
      await closed;
      clearTimeout(grace);
      await executor.close();
    },
    address() {
      if (bound === undefined) throw new Error("the server is not listening — call listen() first");
      return bound;
    },
    url() {
      const { address, port: p, family } = this.address();
      const hostPart = family === "IPv6" ? `[${address}]` : address;
      return `${tls !== undefined ? "https" : "http"}://${hostPart}:${p}`;
    },
  };
}
