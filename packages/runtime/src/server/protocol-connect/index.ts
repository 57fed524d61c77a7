// The native Connect path's public pieces; the modules beside this one are its internals.
export { createNativeConnect } from "./native-connect.js";
export type { NativeConnect, NativeConnectContext, NativeConnectOptions } from "./native-connect.js";
