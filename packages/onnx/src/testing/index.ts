// @blazerpc/onnx/testing: ONNX models built by our own code, for tests and benchmarks.
// Not part of the main entry point: it pulls in the ONNX schema subset and is not needed
// to serve a model.
export type { AttributeValue, InitializerDecl, ModelDecl, NodeDecl, OnnxDimDecl, ValueDecl } from "./build-model.js";
export { buildModelProto, encodeModel, onnxDataTypes } from "./build-model.js";
export type { MlpFixture, MlpLayer, MlpOptions } from "./mlp.js";
export { buildMlp, runMlpReference } from "./mlp.js";
export { createPrng, seededFloat32 } from "./prng.js";
export type { ModelProto } from "../gen/onnx/onnx_pb.js";
export { ModelProtoSchema, file_onnx_onnx } from "../gen/onnx/onnx_pb.js";
