export type { DType, DataOf, DataTypeMap, DTypeInfo, TensorData } from "./dtype.js";
export { dtypeNames, getDType, getDTypeOrThrow, isDType } from "./dtype.js";
export type { Dim, Tensor, TensorSpec } from "./tensor.js";
export { MAX_QUOTED_CHARS, MAX_SHOWN_DIMS, TensorError, quoteValue } from "./errors.js";
export type { TensorProtoLike } from "./convert.js";
export { MAX_TENSOR_RANK, formatShape, fromTensorProto, toTensorProto, validateTensor } from "./convert.js";
export { TensorProtoSchema, file_blazerpc_v1_tensor } from "./gen/blazerpc/v1/tensor_pb.js";
export type { TensorProto } from "./gen/blazerpc/v1/tensor_pb.js";
export {
  file_blazerpc_v1_options,
  model as modelOption,
  tensor as tensorOption,
  ModelSpecSchema,
  TensorSpecSchema,
} from "./gen/blazerpc/v1/options_pb.js";
export type { ModelSpec as ModelSpecOption, TensorSpec as TensorSpecOption } from "./gen/blazerpc/v1/options_pb.js";
export { file_blazerpc_v1_call, call as callOption, CallSpecSchema } from "./gen/blazerpc/v1/call_pb.js";
export type { CallSpec as CallSpecOption } from "./gen/blazerpc/v1/call_pb.js";
