import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter } from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
  type ConnectNodeAdapterOptions,
} from "@connectrpc/connect-node";
import type { ServerResponse } from "node:http";
import type { AnyRequest, AnyResponse } from "../http/routes.js";
import { guardRequestBody } from "../limits/request-guard.js";

/** Options of {@link createConnectHandler}: connect-node's adapter's, plus the field limit. */
export interface ConnectHandlerOptions extends ConnectNodeAdapterOptions {
  /** Most fields (or JSON values) one request message may hold; see `readMaxFields` of the server. */
  readonly readMaxFields: number;
  readonly readMaxBytes: number;
}

/**
 * connect-node's request handler (what `connectNodeAdapter` builds, over the same public
 * pieces: a Connect router and `universalRequestFromNodeRequest` /
 * `universalResponseToNodeResponse`), with every request body held to `readMaxFields` by
 * {@link guardRequestBody} before connect decodes it. Unknown fields are skipped, never kept.
 *
 * @example
 * const rpc = createConnectHandler({ routes, readMaxBytes: 4 << 20, readMaxFields: 100_000 });
 * http.createServer(rpc);
 */
export function createConnectHandler(options: ConnectHandlerOptions): (req: AnyRequest, res: AnyResponse) => void {
  const { readMaxFields, readMaxBytes, routes, contextValues } = options;
  const router = createConnectRouter({
    acceptCompression: [compressionGzip, compressionBrotli],
    ...options,
    binaryOptions: { readUnknownFields: false, ...options.binaryOptions },
  });
  routes(router);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  const limits = { readMaxBytes, readMaxFields };
  return (req, res) => {
    const handler = handlers.get((req.url ?? "").split("?", 1)[0]!);
    if (handler === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    const uReq = universalRequestFromNodeRequest(req, res as ServerResponse, undefined, contextValues?.(req));
    if (req.method === "POST" && typeof uReq.body === "object" && uReq.body !== null && Symbol.asyncIterator in uReq.body) {
      uReq.body = guardRequestBody(uReq.body as AsyncIterable<Uint8Array>, uReq.header, handler.method.input as DescMessage, limits);
    }
    handler(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        console.error(`handler for rpc ${handler.method.name} of ${handler.service.typeName} failed`, reason);
      });
  };
}
