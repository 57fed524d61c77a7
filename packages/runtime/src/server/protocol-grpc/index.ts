// The native gRPC path's public pieces; the modules beside this one are its internals.
export { createNativeGrpc } from "./native-grpc.js";
export type { NativeCallContext, NativeGrpc, NativeGrpcOptions } from "./native-grpc.js";
