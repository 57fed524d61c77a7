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
import { constants, type Http2ServerResponse } from "node:http2";
import type { AnyRequest, AnyResponse } from "../http/routes.js";
import { guardRequestBody } from "../limits/request-guard.js";
import { clampTimeoutHeaders } from "../limits/timeouts.js";
import { isClientGone } from "./abort-reasons.js";
import { limitErrorResponse } from "./limit-error-response.js";
import { encodeGrpcMessage } from "./protocol-grpc/grpc-message.js";

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
      unknownMethod(req, res);
      return;
    }
    let uReq: ReturnType<typeof universalRequestFromNodeRequest>;
    try {
      uReq = universalRequestFromNodeRequest(req, res as ServerResponse, undefined, contextValues?.(req));
    } catch {
      // connect-node builds the call's URL from Host (or :authority), and one that no URL
      // parser takes (`a b`, `x:99999`, `[::1`) throws there — unguarded, it took the process
      // with it. Nothing here routes by authority (the native gRPC path never reads it), so
      // the call is served as if sent to the address it arrived on.
      const { localAddress = "127.0.0.1", localPort = 0 } = req.socket;
      // By the request object, not httpVersionMajor: an HTTP/1.1 request line may claim "HTTP/2.0".
      req.headers["stream" in req ? ":authority" : "host"] = localAddress.includes(":")
        ? `[${localAddress}]:${localPort}`
        : `${localAddress}:${localPort}`;
      try {
        uReq = universalRequestFromNodeRequest(req, res as ServerResponse, undefined, contextValues?.(req));
      } catch {
        const text = "bad request: the request's authority or path is not a valid URL\n";
        res.writeHead(400, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text) });
        res.end(text);
        return;
      }
    }
    clampTimeoutHeaders(uReq.header);
    if (
      req.method === "POST" &&
      typeof uReq.body === "object" &&
      uReq.body !== null &&
      Symbol.asyncIterator in uReq.body
    ) {
      uReq.body = guardRequestBody(
        uReq.body as AsyncIterable<Uint8Array>,
        uReq.header,
        handler.method.input as DescMessage,
        limits,
      );
    }
    handler(uReq)
      .then((uRes) => universalResponseToNodeResponse(limitErrorResponse(uRes), res))
      .catch((reason: unknown) => {
        // Whatever failed, the request gets an end: a response cut short is reset (HTTP/2)
        // or its connection closed (HTTP/1.1), never left open without an answer.
        if (!res.writableEnded) {
          if ("stream" in res) (res as Http2ServerResponse).stream.close(constants.NGHTTP2_INTERNAL_ERROR);
          else res.destroy();
        }
        // A client that left mid-answer is logged once, as CANCELLED, by the request log.
        if (ConnectError.from(reason).code === Code.Aborted || isClientGone(reason)) return;
        console.error(`handler for rpc ${handler.method.name} of ${handler.service.typeName} failed`, reason);
      });
  };
}

/**
 * A path no service answers. A gRPC or gRPC-Web call gets what gRPC servers answer (grpc-go,
 * grpc-java): HTTP 200, trailers-only, `grpc-status: 12` (UNIMPLEMENTED) and a message naming
 * the method — a 404 without `grpc-status` left each client to invent a status of its own.
 * Any other request (Connect's protocol included, whose spec maps 404 to unimplemented) gets 404.
 */
function unknownMethod(req: AnyRequest, res: AnyResponse): void {
  const type = req.headers["content-type"] ?? "";
  const path = (req.url ?? "").split("?", 1)[0]!;
  if (type.startsWith("application/grpc")) {
    // Trailers-only: the status in the one header block, which ends the stream (gRPC-Web reads it there too).
    const headers = {
      "content-type": type.startsWith("application/grpc-web") ? "application/grpc-web+proto" : "application/grpc",
      "grpc-status": "12",
      "grpc-message": encodeGrpcMessage(`unknown method ${path}: no service of this server has it`),
    };
    const stream = (res as Partial<Http2ServerResponse>).stream;
    if (stream !== undefined) {
      if (!stream.destroyed && !stream.headersSent) stream.respond({ ":status": 200, ...headers }, { endStream: true });
    } else {
      (res as ServerResponse).writeHead(200, headers);
      res.end();
    }
    return;
  }
  res.writeHead(404);
  res.end();
}
