import type * as http2 from "node:http2";
import { parseTimeout } from "@connectrpc/connect/protocol-grpc";
import { limitMessage } from "../../errors.js";
import type { Refusal } from "../../executor/refusal.js";
import { encodeGrpcMessage } from "./grpc-message.js";
import { headerValue } from "./headers.js";

/**
 * The time a call asks for in `grpc-timeout`, in milliseconds: undefined without one, and
 * also for a value that does not parse (the call itself then answers the parse error).
 */
export function grpcTimeoutMs(headers: http2.IncomingHttpHeaders): number | undefined {
  const value = headerValue(headers["grpc-timeout"]);
  if (value === null) return undefined;
  const { timeoutMs, error } = parseTimeout(value, Number.MAX_SAFE_INTEGER);
  return error === undefined ? timeoutMs : undefined;
}

/**
 * Answers a gRPC call with a refusal and nothing else: one trailers-only HEADERS frame
 * (`:status 200`, `content-type`, `grpc-status`, `grpc-message`, as the gRPC spec's
 * Trailers-Only response), no call object, no error object, no body read. The request's
 * body, if it is still coming, is read and dropped so that the stream completes.
 *
 * Under overload this is what a refused call costs the server — its HTTP/2 stream and one
 * header block — so refusing the calls beyond capacity takes a small share of the core
 * (measured in docs/benchmarks.md, "Overload") instead of as much as serving them.
 *
 * @example
 * if (refused !== undefined) refuseCall(stream, refused);
 */
export function refuseCall(stream: http2.ServerHttp2Stream, refusal: Refusal): void {
  // A client that resets the stream meanwhile makes Node emit its code as an 'error'.
  stream.on("error", ignore);
  if (stream.destroyed) return;
  stream.respond(
    {
      ":status": 200,
      "content-type": "application/grpc+proto",
      "grpc-status": String(refusal.code),
      "grpc-message": encodeGrpcMessage(limitMessage(refusal.message)),
    },
    { endStream: true },
  );
  stream.resume();
}

function ignore(): void {}
