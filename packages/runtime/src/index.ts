export type {
  App,
  AppOptions,
  BatchOptions,
  LifecycleHook,
  ModelFunction,
  ModelLoader,
  ModelOptions,
  ModelRecord,
  OwnServiceRecord,
  RpcOptions,
} from "./app.js";
export { createApp } from "./app.js";
export type { MethodBinding, ModelServiceBinding } from "./binding/define-model-service.js";
export { defineModelService, isModelServiceBinding } from "./binding/define-model-service.js";
export type { Executor, ExecutorOptions } from "./executor/executor.js";
export type { CallContext } from "./context/call-context.js";
export { callContextOf } from "./context/call-context.js";
export type { ExecutorMetrics, RejectionReason } from "./executor/metrics.js";
export type { WorkerOptions } from "./worker/worker-pool.js";
export { createExecutor } from "./executor/executor.js";
export { limitMessage, MAX_ERROR_MESSAGE_BYTES, toConnectError } from "./errors.js";
export type { BlazeServer, RpcInfo, ServerOptions } from "./server/server.js";
export { createServer } from "./server/server.js";
export type { ResolvedSettings, SettingSpec } from "./server/settings.js";
export { resolveSettings, serverOptionsFromEnv, serverOptionsFromSettings, SETTINGS } from "./server/settings.js";
export type { StopOnSignalsOptions } from "./server/stop-on-signals.js";
export type { Peers } from "./health/serving-state.js";
export { stopOnSignals } from "./server/stop-on-signals.js";
export {
  DEFAULT_HTTP1_MAX_PENDING_REQUESTS,
  DEFAULT_HTTP2_CONNECTION_WINDOW_BYTES,
  DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS,
  DEFAULT_HTTP2_MAX_FRAME_BYTES,
  DEFAULT_HTTP2_PING_INTERVAL_MS,
  DEFAULT_HTTP2_STREAM_WINDOW_BYTES,
  DEFAULT_MAX_CONCURRENT_REQUESTS,
  DEFAULT_READ_MAX_BYTES,
  DEFAULT_READ_MAX_FIELDS,
  DEFAULT_WRITE_TIMEOUT_MS,
  SERVER_DEFAULTS,
} from "./server/defaults.js";
export type { Dim, DType, Tensor } from "@blazerpc/tensor";
export type { ExactScalar, Float32, Float64, Int32, Int64, Scalar, Uint32, Uint64 } from "./scalars.js";
export type { ModelStatus, ServiceStatus, ServingState } from "./health/serving-state.js";
export type { HealthBody } from "./http/routes.js";
export type { BearerAuthOptions } from "./middleware/auth/bearer-auth.js";
export { bearerAuth, bearerCheck, bearerToken } from "./middleware/auth/bearer-auth.js";
export type { PrometheusOptions } from "./middleware/metrics/prometheus.js";
export type { FileIndex } from "./reflection/file-index.js";
export type { CorsOptions } from "./http/cors.js";
export type { OipDatatype, OipModelMetadata, OipServerMetadata, OipTensorMetadata } from "./oip/index.js";
export { fromOipDatatype, OIP_AUTH_TARGET, toOipDatatype } from "./oip/index.js";
export { createOpenApiDocument } from "./openapi/openapi.js";
export type { HttpRouteDoc, OpenApiOptions } from "./openapi/openapi.js";
export type { HttpMethod, RouteHandler, RouteOptions, RouteRecord, RouteRequest } from "./http/route.js";
export type {
  CallObserver,
  CallInfo,
  CallOutcome,
  RefusedCallInfo,
  RouteCallInfo,
  RouteOutcome,
} from "./middleware/call-observer.js";
export { peerOf } from "./middleware/call-observer.js";
