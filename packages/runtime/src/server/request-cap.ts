import * as http2 from "node:http2";
import type { AnyRequest, AnyResponse } from "../http/routes.js";

/** Options of {@link createRequestCap}. */
export interface RequestCapOptions {
  /** Requests and streams in flight on all connections together past which new ones are refused. */
  max: number;
  /** How many are in flight now (the connection tracker's count, O(1)). */
  inFlight: () => number;
}

/** What {@link createRequestCap} returns. */
export interface RequestCap {
  /**
   * A new HTTP/2 stream, before anything is built for it: when `max` are in flight, resets it
   * with REFUSED_STREAM and returns true.
   */
  refuseStream(stream: http2.ServerHttp2Stream): boolean;
  /**
   * A request already counted in flight (HTTP/1.1; HTTP/2 ones were let through as
   * streams): when more than `max` are, answers 503 and returns true.
   */
  refuseRequest(req: AnyRequest, res: AnyResponse): boolean;
}

/**
 * The server-wide cap on requests in flight: every HTTP/2 stream (gRPC on the native path,
 * anything through connect-node, the plain HTTP routes) and every HTTP/1.1 request,
 * pipelined ones waiting for their turn included. Each held stream costs memory whether it
 * does anything or not (measured: ~12 KB for a gRPC call waiting for its body on the
 * native path, ~25 KB through connect-node), and SETTINGS_MAX_CONCURRENT_STREAMS only
 * bounds one connection.
 *
 * Past the cap a new HTTP/2 stream is reset with REFUSED_STREAM (RFC 9113 §8.7: the request
 * was not processed and may be retried; gRPC clients retry it transparently once, then
 * report UNAVAILABLE) — no call object, no header parsing beyond nghttp2's, no auth check.
 * An HTTP/1.1 request gets `503 Service Unavailable` with `retry-after: 1` (UNAVAILABLE to
 * Connect and gRPC-Web clients).
 *
 * @example
 * const cap = createRequestCap({ max: 10_000, inFlight: () => tracker.active });
 * h2server.on("stream", (stream) => { if (cap.refuseStream(stream)) return; … });
 */
export function createRequestCap({ max, inFlight }: RequestCapOptions): RequestCap {
  const message = `the server is at its limit of ${max} requests in flight (maxConcurrentRequests); retry later\n`;
  return {
    refuseStream(stream) {
      if (inFlight() < max) return false;
      // Closing with an error code makes Node emit that code as the stream's 'error'.
      stream.on("error", ignore);
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return true;
    },
    refuseRequest(req, res) {
      if (inFlight() <= max || req.httpVersionMajor !== 1) return false;
      const r = res as import("node:http").ServerResponse;
      r.writeHead(503, {
        "content-type": "text/plain; charset=utf-8",
        "content-length": Buffer.byteLength(message),
        "retry-after": "1",
      });
      r.end(message);
      return true;
    },
  };
}

const ignore = () => undefined;
