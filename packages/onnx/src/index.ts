// @blazerpc/onnx: ONNX models through onnxruntime-node. Node.js only.
// Test fixtures (models built by our own code) are in "@blazerpc/onnx/testing".
export type { OnnxModel, OnnxModelOptions } from "./load-onnx-model.js";
export { loadOnnxModel } from "./load-onnx-model.js";
export type { OnnxDim, OnnxValueInfo } from "./value-info.js";
export { toTensorSpec } from "./value-info.js";
export { getDTypeOfOrtType, supportedDTypes } from "./dtype.js";
export { OnnxError } from "./errors.js";
