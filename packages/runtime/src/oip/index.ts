// The Open Inference Protocol (KServe v2 / Triton): REST `/v2/...` and gRPC
// `inference.GRPCInferenceService`, one more front for the typed API's model implementations.
export type { OipCatalog, OipCatalogOptions, OipModel, OipTensorMetadata, OipTensorSpec } from "./catalog.js";
export { createOipCatalog, OIP_DEFAULT_VERSION, OIP_PLATFORM } from "./catalog.js";
export type { OipDatatype } from "./datatypes.js";
export { fromOipDatatype, oipDatatypes, oipElementSize, toOipDatatype } from "./datatypes.js";
export { OIP_HEALTH_METHODS, oipGrpcService, oipServiceEntry } from "./grpc-service.js";
export type { OipModelMetadata, OipServerMetadata } from "./metadata.js";
export { modelMetadata, OIP_EXTENSIONS, OIP_SERVER_NAME, serverMetadata } from "./metadata.js";
export type { OipRestOptions, OipRestRoute } from "./rest-routes.js";
export { createOipRestRoutes, OIP_AUTH_TARGET, oipErrorAnswer, oipHttpStatus } from "./rest-routes.js";
