import type { ConnectError, ContextValues, HandlerContext } from "@connectrpc/connect";
import type { NativePathOptions } from "../native-path-options.js";
import { contentTypeUnaryRegExp } from "@connectrpc/connect/protocol-connect";
import type { ModelRpc } from "../../binding/connect-routes.js";
import type { AnyRequest, AnyResponse } from "../../http/routes.js";
import { ConnectUnaryCall } from "./unary-call.js";

/**
 * The native Connect path: Connect unary calls (`POST` with `application/json` or
 * `application/proto`, over HTTP/1.1 or HTTP/2) answered directly on Node's request and
 * response, with @bufbuild/protobuf for the messages, instead of through connect-node's
 * universal request, pipelines of async iterators and linked abort signals.
 *
 * connect-node stays the reference: everything this path answers, it answers the way
 * connect-node's Connect handler does — same status, headers (`trailer-` ones included),
 * error bodies, compression negotiation (gzip and br, from `compressMinBytes`), limits,
 * timeouts, request gate and interceptors — and test/e2e/connect-differential.spec.ts holds
 * both to it. What it does not take (Connect GET, streaming, other content types, methods
 * that are not unary, unknown paths) goes to connect-node unchanged.
 */
export interface NativeConnectOptions extends NativePathOptions {
  /**
   * Called as each call starts (its headers are in): in-flight sets, observers. Returns what
   * to call, once, when the call has ended — with the error it failed with, or undefined.
   */
  readonly onCall?: (
    ctx: NativeConnectContext,
    req: AnyRequest,
  ) => ((error: ConnectError | undefined) => void) | undefined;
  /** The context values each call starts with (connect-node's `contextValues`). */
  readonly contextValues?: (req: AnyRequest) => ContextValues;
}

/** A native Connect call's handler context: connect's, plus `abort` and what the native gRPC path's also say. */
export interface NativeConnectContext extends HandlerContext {
  abort(reason?: unknown): void;
  readonly aborted: boolean;
  readonly answersOnAbort: true;
}

/** Takes a request when the native Connect path serves it (true); false leaves it to connect-node. */
export type NativeConnect = (req: AnyRequest, res: AnyResponse) => boolean;

/**
 * The native Connect path for the given RPCs, to try on each request before connect-node.
 *
 * @example
 * const connect = createNativeConnect({
 *   rpcs,
 *   readMaxBytes: 4 << 20,
 *   readMaxFields: 100_000,
 *   compressMinBytes: 1024,
 *   interceptors: [],
 *   scheme: "http",
 * });
 * http.createServer((req, res) => {
 *   if (!connect(req, res)) connectNode(req, res);
 * });
 */
export function createNativeConnect(options: NativeConnectOptions): NativeConnect {
  const unary = new Map<string, Extract<ModelRpc, { kind: "unary" }>>();
  for (const [path, rpc] of options.rpcs) if (rpc.kind === "unary") unary.set(path, rpc);
  return (req, res) => {
    if (req.method !== "POST") return false;
    const type = req.headers["content-type"];
    if (type === undefined) return false;
    // The two spellings clients send, then every other one connect takes (`application/JSON; charset=utf8`).
    if (type !== "application/json" && type !== "application/proto" && !contentTypeUnaryRegExp.test(type)) return false;
    const binary = type === "application/proto" || /proto$/i.test(type);
    const rpc = unary.get(req.url!);
    if (rpc === undefined) return false;
    void new ConnectUnaryCall(req, res, rpc, binary, options).run();
    return true;
  };
}
