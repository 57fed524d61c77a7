import type { AddressInfo } from "node:net";
import { Code, ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import type { Registry } from "prom-client";
import { checkBindings, modelServiceEntries, servedModels } from "../binding/connect-routes.js";
import { ownServiceEntries } from "../binding/own-services.js";
import { createServiceTable } from "../binding/service-table.js";
import { createExecutor } from "../executor/executor.js";
import type { ExecutorMetrics } from "../executor/metrics.js";
import { file_grpc_health_v1_health } from "../gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { file_inference_grpc_predict_v2, GRPCInferenceService } from "../gen/inference/grpc_predict_v2_pb.js";
import { sourceInfo as ownSourceInfo } from "../gen/source_info.js";
import { healthEntry } from "../health/health-service.js";
import { createServingState, type ServingState } from "../health/serving-state.js";
import { createCors } from "../http/cors.js";
import type { AnyRequest } from "../http/routes.js";
import { bearerGate, isExempt } from "../middleware/auth/bearer-auth.js";
import { contextValuesFor, rememberResponse, type CallObserver } from "../middleware/call-observer.js";
import { defaultLogger, requestLog } from "../middleware/logging/request-log.js";
import { createPrometheusMetrics } from "../middleware/metrics/prometheus.js";
import { tracing as createTracing } from "../middleware/tracing/tracing.js";
import {
  createOipCatalog,
  createOipRestRoutes,
  OIP_AUTH_TARGET,
  OIP_HEALTH_METHODS,
  oipErrorAnswer,
  oipServiceEntry,
} from "../oip/index.js";
import { HEALTH_ROUTE_DOCS } from "../openapi/openapi.js";
import { createFileIndex, type FileIndex } from "../reflection/file-index.js";
import { reflectionEntries } from "../reflection/reflection-service.js";
import { SHUTDOWN_MESSAGE } from "./abort-reasons.js";
import { createBuiltinRoutes } from "./builtin-routes.js";
import { createCallsInFlight } from "./calls-in-flight.js";
import { createConnectHandler } from "./connect-handler.js";
import { createConnectionTracker } from "./connections.js";
import { createDispatch } from "./dispatch.js";
import type { NativePathOptions } from "./native-path-options.js";
import { createNativeConnect } from "./protocol-connect/index.js";
import { createNativeGrpc } from "./protocol-grpc/index.js";
import { createHttp1Pipeline } from "./http1-pipeline.js";
import { createHttp2Ping } from "./http2-ping.js";
import { createListener } from "./listeners.js";
import { resolveServerOptions, type ServerOptions } from "./options.js";
import { createRequestCap } from "./request-cap.js";
import { createShutdown } from "./shutdown.js";
import { createAppRoutes, type ServerRoute } from "./app-routes.js";
import { createLifecycle } from "./lifecycle.js";
import { createWriteTimeout } from "./write-timeout.js";

export type { ServerOptions } from "./options.js";
/** One RPC the server answers. */
export interface RpcInfo {
  /** URL path, e.g. `/iris.v1.InferenceService/PredictIris`. */
  readonly path: string;
  /** The model the method serves; `""` for a method of your own service. */
  readonly model: string;
  readonly kind: "unary" | "server_streaming" | "client_streaming" | "bidi_streaming";
}

/** A running (or ready to run) BlazeRPC server. */
export interface BlazeServer {
  /** Starts listening; resolves once the port is bound. Models with a loader start loading then. */
  listen(): Promise<AddressInfo>;
  /**
   * Shuts down gracefully: health turns NOT_SERVING at once (for `drainDelayMs` the server
   * still accepts and serves, so load balancers see it leave), then the listener stops accepting,
   * HTTP/2 connections get GOAWAY, in-flight requests and streams finish (up to
   * `closeGraceMs`; then they are ended with UNAVAILABLE), batch queues drain and
   * connections close. Resolves when everything is closed; calling it again returns the same promise.
   */
  close(): Promise<void>;
  /** The bound address; throws before `listen()` resolved. */
  address(): AddressInfo;
  /** `http://127.0.0.1:50051` (or `https://…` with TLS). */
  url(): string;
  /** Every RPC served, in the order of the services. */
  readonly rpcs: readonly RpcInfo[];
  /** The serving state that gRPC health, `/healthz` and `/readyz` report. */
  readonly health: ServingState;
  /** Every .proto file of the served schema (what reflection serves). */
  readonly files: FileIndex;
  /** The Prometheus registry `/metrics` renders; undefined with `prometheus: false`. */
  readonly registry: Registry | undefined;
}

/**
 * Creates a server that answers gRPC (HTTP/2), gRPC-Web and Connect (binary and JSON, over
 * HTTP/1.1 and HTTP/2) and plain HTTP GET routes, all on ONE port, every request decided at
 * one dispatch point (see docs/architecture.md). This function only wires the parts
 * together; each lives in its own module.
 *
 * @example
 * import { app } from "./models.js";
 * import { InferenceServiceBinding } from "./gen/iris/v1/iris_blaze.js";
 *
 * const server = createServer({ app, services: [InferenceServiceBinding], port: 50051 });
 * await server.listen();
 */
export function createServer(options: ServerOptions): BlazeServer {
  const o = resolveServerOptions(options);
  const { app, services = [], auth } = o;
  checkBindings(app, services);

  // What is served: one table, built once, that everything below reads.
  const state = createServingState(
    app,
    new Map([...servedModels(app, services), ...app.services.map((s): [string, string[]] => [s.service.typeName, []])]),
    app.servingStatus,
    o.peers,
  );
  app.servingStatus.allow(state.services());
  const prom =
    o.prometheus === false
      ? undefined
      : createPrometheusMetrics(state, o.prometheus === true ? {} : o.prometheus, (model) =>
          executor.queueDepth(model),
        );
  const executor = createExecutor(app, { metrics: combineMetrics([prom?.executor, o.metrics]) });
  // Set by the shutdown once its drain delay is over: from then on new model calls are refused.
  let refusing = false;
  const gate = (model: string) => {
    const status = state.loadStatus(model);
    // undefined: a code-first RPC, which is not a model and has no status of its own.
    if ((status === "SERVING" || status === undefined) && !refusing) return;
    const why =
      status === "LOADING"
        ? "is still loading"
        : status === "FAILED"
          ? `failed to load: ${state.errors()[model]}`
          : `is not serving: ${SHUTDOWN_MESSAGE}`;
    throw new ConnectError(`model "${model}" ${why}`, Code.Unavailable);
  };
  const served = [
    ...modelServiceEntries(services, executor, gate, (name) => app.getModel(name)?.rpc === true),
    ...ownServiceEntries(app),
  ];
  // The Open Inference Protocol: another front for the very same model implementations.
  const oip = o.oip ? createOipCatalog({ entries: served, state }) : undefined;
  const files = createFileIndex(
    [
      ...served.map((s) => s.service.file),
      file_grpc_health_v1_health,
      file_grpc_reflection_v1_reflection,
      file_grpc_reflection_v1alpha_reflection,
      ...(oip !== undefined ? [file_inference_grpc_predict_v2] : []),
    ],
    { sourceInfo: [ownSourceInfo, ...(o.descriptorSet !== undefined ? [o.descriptorSet] : [])] },
  );
  const table = createServiceTable([
    ...served,
    healthEntry(state),
    ...(oip !== undefined ? [oipServiceEntry(oip)] : []),
    ...(o.reflection
      ? reflectionEntries(files, [
          ...served.map((s) => s.service.typeName),
          ...(oip !== undefined ? [GRPCInferenceService.typeName] : []),
        ])
      : []),
  ]);

  // Who sees each call: metrics, traces, logs; the calls in flight.
  const spans = o.tracing ? createTracing() : undefined;
  const observers: CallObserver[] = [
    ...(prom !== undefined ? [prom.calls] : []),
    ...(spans !== undefined ? [spans.calls] : []),
    ...(o.log === false ? [] : [requestLog(o.log === true ? defaultLogger() : o.log)]),
  ];
  const calls = createCallsInFlight({ observers, models: table.models });
  // What exempts health from auth (`exempt: ["health"]`, the default) exempts the OIP's health checks too.
  const healthExempt = auth !== undefined && isExempt(auth, "grpc.health.v1.Health");
  const gateAuth = auth !== undefined ? bearerGate(auth) : undefined;
  const authenticate =
    gateAuth === undefined || !healthExempt || oip === undefined
      ? gateAuth
      : async (ctx: HandlerContext) => {
          if (ctx.service.typeName === GRPCInferenceService.typeName && OIP_HEALTH_METHODS.has(ctx.method.name)) return;
          await gateAuth(ctx);
        };
  const { readMaxBytes, readMaxFields, compressMinBytes, interceptors = [] } = o;

  // The two implementations of the RPC protocols, and the plain routes.
  const rpc = createConnectHandler({
    routes: table.register,
    readMaxBytes,
    readMaxFields,
    compressMinBytes,
    grpc: true,
    grpcWeb: true,
    connect: true,
    interceptors: [...(spans !== undefined ? [spans.interceptor] : []), ...interceptors],
    contextValues: (req) => contextValuesFor(req as AnyRequest),
    // Runs once a call's headers are in, before its body is read.
    requestGate: async (ctx) => {
      calls.connect(ctx);
      await authenticate?.(ctx);
    },
  });
  // The native paths: what connect-node is given, for the same methods.
  const nativePath: NativePathOptions = {
    rpcs: table.native,
    readMaxBytes,
    readMaxFields,
    compressMinBytes,
    interceptors,
    ...(spans !== undefined ? { around: spans.around } : {}),
    ...(authenticate !== undefined ? { requestGate: authenticate } : {}),
    scheme: o.tls !== undefined ? "https" : "http",
  };
  const native = o.fastPath
    ? createNativeGrpc({
        ...nativePath,
        onCall: calls.native,
        onRefused: (rpc, stream, headers, refusal, started) =>
          calls.refused(rpc.method, stream, headers, refusal, started),
        contextValues: createContextValues,
      })
    : undefined;
  const nativeConnect = o.fastPath
    ? createNativeConnect({ ...nativePath, onCall: calls.nativeConnect, contextValues: contextValuesFor })
    : undefined;
  const oipRoutes: ServerRoute[] =
    oip === undefined
      ? []
      : createOipRestRoutes({ catalog: oip }).map(({ route, health }) => ({
          route,
          by: "the Open Inference Protocol (the server's `oip: false` turns it off)",
          public: health && healthExempt,
          authTarget: OIP_AUTH_TARGET,
          errorAnswer: oipErrorAnswer,
        }));
  const routes = createBuiltinRoutes({
    state,
    registry: prom?.registry,
    renderMetrics: typeof o.prometheus === "object" ? o.prometheus.render : undefined,
    docs: o.docs
      ? {
          title: app.name,
          services: served.map((s) => s.service),
          files,
          bearerAuth: auth !== undefined,
          routes: [
            ...HEALTH_ROUTE_DOCS,
            ...oipRoutes.map(({ route: r, public: open }) => ({
              method: r.method,
              path: r.path,
              ...r.options,
              ...(auth !== undefined && (open === true || isExempt(auth, OIP_AUTH_TARGET)) ? { public: true } : {}),
            })),
            ...app.routes.map((r) => ({
              method: r.method,
              path: r.path,
              ...r.options,
              ...(auth !== undefined && isExempt(auth, r.path) ? { public: true } : {}),
            })),
          ],
        }
      : undefined,
    auth,
    withServices: () => app.services.length > 0 || app.servingStatus.entries().length > 0,
  });
  const routesInFlight = new Set<AbortController>();
  const appRoutes = createAppRoutes(app, {
    builtin: routes,
    table,
    serverRoutes: oipRoutes,
    readMaxBytes,
    auth,
    observers,
    scheme: o.tls !== undefined ? "https" : "http",
    inFlight: routesInFlight,
  });

  // Connections, the dispatch point, the listener.
  const tracker = createConnectionTracker(o);
  const cap = createRequestCap({ max: o.maxConcurrentRequests, inFlight: () => tracker.active });
  const dispatch = createDispatch({
    routes,
    appRoutes,
    rpc,
    ...(native !== undefined ? { native } : {}),
    ...(nativeConnect !== undefined ? { connect: nativeConnect } : {}),
    ...(o.cors !== undefined ? { cors: createCors(o.cors) } : {}),
    onRequest(req, res) {
      tracker.request(req, res);
      rememberResponse(req, res);
    },
    onNativeStream: tracker.stream,
    refuse: cap.refuseRequest,
    refuseStream: cap.refuseStream,
    schedule: createHttp1Pipeline({ maxPending: o.http1MaxPendingRequests }),
  });
  const listener = createListener({
    ...o,
    dispatch,
    tracker,
    watchWrites: createWriteTimeout({ timeoutMs: o.writeTimeoutMs }).watch,
    ping: createHttp2Ping({ intervalMs: o.http2PingIntervalMs }),
    tls: o.tls,
    maxConnections: o.maxConnections,
  });
  // The server's own long-lived calls (health watches, reflection streams); its unary
  // ones (ModelInfer among them) finish like any call.
  const builtin = new Set(
    table.methods.filter((m) => m.origin === "builtin" && m.method.methodKind !== "unary").map((m) => m.path),
  );
  const lifecycle = createLifecycle(app.hooks);
  const close = createShutdown({
    state,
    listener,
    tracker,
    calls,
    routes: routesInFlight,
    executor,
    closeGraceMs: o.closeGraceMs,
    drainDelayMs: o.drainDelayMs,
    refuseNew: () => {
      refusing = true;
    },
    isLongLived: (path) => builtin.has(path),
    stop: lifecycle.stop,
  });

  const rpcs: RpcInfo[] = table.methods.flatMap((m) =>
    m.origin === "builtin" ? [] : [{ path: m.path, model: m.model, kind: m.method.methodKind }],
  );
  let bound: AddressInfo | undefined;
  let closing = false;
  const server: BlazeServer = {
    rpcs,
    health: state,
    files,
    registry: prom?.registry,
    async listen() {
      await lifecycle.start();
      if (closing) throw new Error("the server was closed before it started listening");
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        listener.once("error", onError);
        listener.listen(o.port, o.host, () => {
          listener.off("error", onError);
          bound = listener.address() as AddressInfo;
          // Models load once the port is bound, so probes see them LOADING meanwhile.
          void state.load();
          resolve(bound);
        });
      });
    },
    close() {
      closing = true;
      return close();
    },
    address() {
      if (bound === undefined) throw new Error("the server is not listening — call listen() first");
      return bound;
    },
    url() {
      const { address, port: p, family } = server.address();
      const hostPart = family === "IPv6" ? `[${address}]` : address;
      return `${o.tls !== undefined ? "https" : "http"}://${hostPart}:${p}`;
    },
  };
  return server;
}

/** One ExecutorMetrics that calls each of `hooks` in turn. */
function combineMetrics(hooks: readonly (ExecutorMetrics | undefined)[]): ExecutorMetrics {
  const all = hooks.filter((h): h is ExecutorMetrics => h !== undefined);
  return {
    queued: (m, d) => all.forEach((h) => h.queued?.(m, d)),
    dequeued: (m, w, d) => all.forEach((h) => h.dequeued?.(m, w, d)),
    computed: (m, s, c, ok) => all.forEach((h) => h.computed?.(m, s, c, ok)),
    rejected: (m, r) => all.forEach((h) => h.rejected?.(m, r)),
  };
}
