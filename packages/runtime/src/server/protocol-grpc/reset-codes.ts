import { Code, ConnectError } from "@connectrpc/connect";

/** HTTP/2 error codes (RFC 9113, section 7) with a meaning for a call: name and code. */
const RESET_CODES: Readonly<Record<number, readonly [string, Code]>> = {
  0x1: ["PROTOCOL_ERROR", Code.Internal],
  0x2: ["INTERNAL_ERROR", Code.Internal],
  0x3: ["FLOW_CONTROL_ERROR", Code.Internal],
  0x4: ["SETTINGS_TIMEOUT", Code.Internal],
  0x6: ["FRAME_SIZE_ERROR", Code.Internal],
  0x7: ["REFUSED_STREAM", Code.Unavailable],
  0x8: ["CANCEL", Code.Canceled],
  0x9: ["COMPRESSION_ERROR", Code.Internal],
  0xa: ["CONNECT_ERROR", Code.Internal],
  0xb: ["ENHANCE_YOUR_CALM", Code.ResourceExhausted],
  0xc: ["INADEQUATE_SECURITY", Code.PermissionDenied],
  0xd: ["HTTP_1_1_REQUIRED", Code.PermissionDenied],
};

/**
 * connect-node's mapping of an HTTP/2 RST_STREAM code to an error: none for NO_ERROR and
 * STREAM_CLOSED (nor for a code HTTP/2 does not define), which end a stream without saying
 * the call failed.
 *
 * @example
 * connectErrorFromH2ResetCode(stream.rstCode) ?? clientGoneError();
 */
export function connectErrorFromH2ResetCode(code: number): ConnectError | undefined {
  const m = RESET_CODES[code];
  return m === undefined
    ? undefined
    : new ConnectError(`http/2 stream closed with error code ${m[0]} (0x${code.toString(16)})`, m[1]);
}
