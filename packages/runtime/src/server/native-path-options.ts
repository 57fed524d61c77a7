import type { HandlerContext, Interceptor } from "@connectrpc/connect";
import type { ModelRpc } from "../binding/connect-routes.js";

/**
 * What both native paths (gRPC on the HTTP/2 stream, Connect on the request) are given: the
 * methods they serve and everything connect-node is given for the same calls, so that they
 * answer as it does.
 */
export interface NativePathOptions {
  /** The RPCs by URL path (the service table's native map). */
  readonly rpcs: ReadonlyMap<string, ModelRpc>;
  /** Largest message accepted, in bytes (the same limit connect-node applies). */
  readonly readMaxBytes: number;
  /** Most fields (or JSON values) a request message may hold, counted before it is decoded; unknown fields are skipped. */
  readonly readMaxFields: number;
  /** Responses are compressed (when negotiated) from this size on, as connect's `compressMinBytes`. */
  readonly compressMinBytes: number;
  /** Connect interceptors, outermost first: the same ones connect-node runs. */
  readonly interceptors: readonly Interceptor[];
  /**
   * Runs once a call's headers are in, before its body is read (connect's `requestGate`,
   * e.g. auth). A throw or rejection answers the call with that error.
   */
  readonly requestGate?: (ctx: HandlerContext) => void | Promise<void>;
  /**
   * Wraps each call's implementation: tracing makes the call's span the active one here, as
   * its interceptor does on connect-node.
   */
  readonly around?: <T>(ctx: HandlerContext, fn: () => T) => T;
  /** `http` or `https`, for the calls' `url`. */
  readonly scheme: "http" | "https";
}
