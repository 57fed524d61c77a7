import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { limitMessage } from "../errors.js";
import { respecGrpcMessage } from "./protocol-grpc/grpc-message.js";

/**
 * connect-node's response with its error message held to MAX_ERROR_MESSAGE_BYTES, however
 * the error was made. Errors normally arrive cut already (`toWireError` on the call's abort);
 * this catches those connect-node serializes without passing there — a call whose deadline
 * had already passed (`connect-timeout-ms: 0`) when its JSON failed to parse, quoting the
 * client's input whole. Covers the Connect unary error body (JSON) and gRPC's `grpc-message`
 * in headers (trailers-only) and trailers, which is also re-encoded as the gRPC spec says
 * (see `encodeGrpcMessage`).
 */
export function limitErrorResponse(uRes: UniversalServerResponse): UniversalServerResponse {
  const { body, header } = uRes;
  if (body === undefined) return uRes;
  if (uRes.status !== 200 && header?.get("content-type")?.startsWith("application/json") === true) {
    return { ...uRes, body: jsonError(body, header) };
  }
  if (
    header?.get("content-type")?.startsWith("application/grpc") === true &&
    !header.get("content-type")!.startsWith("application/grpc-web")
  ) {
    return { ...uRes, body: grpcMessages(body, uRes) };
  }
  return uRes;
}

/** The Connect error body, its `message` cut (and `content-length` set again) before the headers go. */
async function* jsonError(body: AsyncIterable<Uint8Array>, header: Headers): AsyncGenerator<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  let bytes: Uint8Array = Buffer.concat(chunks);
  try {
    const error = JSON.parse(Buffer.from(bytes).toString("utf8")) as { message?: unknown };
    if (typeof error.message === "string") {
      const cut = limitMessage(error.message);
      if (cut !== error.message) {
        bytes = Buffer.from(JSON.stringify({ ...error, message: cut }));
        header.set("content-length", String(bytes.byteLength));
      }
    }
  } catch {
    // Not JSON: left as it is.
  }
  yield bytes;
}

/** The gRPC body as it is; `grpc-message` cut in the headers before they go, and in the trailers once they are set. */
async function* grpcMessages(
  body: AsyncIterable<Uint8Array>,
  uRes: UniversalServerResponse,
): AsyncGenerator<Uint8Array> {
  let first = true;
  for await (const c of body) {
    if (first) cutGrpcMessage(uRes.header);
    first = false;
    yield c;
  }
  cutGrpcMessage(uRes.header);
  cutGrpcMessage(uRes.trailer);
}

function cutGrpcMessage(h: Headers | undefined): void {
  if (h !== undefined) respecGrpcMessage(h, limitMessage);
}
