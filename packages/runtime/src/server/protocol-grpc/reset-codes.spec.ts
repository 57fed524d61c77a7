import { constants } from "node:http2";
import { Code } from "@connectrpc/connect";
import { connectErrorFromH2ResetCode } from "./reset-codes.js";

describe("connectErrorFromH2ResetCode", () => {
  it("maps each HTTP/2 error code to connect-node's error, named as Node names it", () => {
    const expected: [string, Code][] = [
      ["PROTOCOL_ERROR", Code.Internal],
      ["INTERNAL_ERROR", Code.Internal],
      ["FLOW_CONTROL_ERROR", Code.Internal],
      ["SETTINGS_TIMEOUT", Code.Internal],
      ["FRAME_SIZE_ERROR", Code.Internal],
      ["REFUSED_STREAM", Code.Unavailable],
      ["CANCEL", Code.Canceled],
      ["COMPRESSION_ERROR", Code.Internal],
      ["CONNECT_ERROR", Code.Internal],
      ["ENHANCE_YOUR_CALM", Code.ResourceExhausted],
      ["INADEQUATE_SECURITY", Code.PermissionDenied],
      ["HTTP_1_1_REQUIRED", Code.PermissionDenied],
    ];
    for (const [name, code] of expected) {
      const rst = (constants as unknown as Record<string, number>)[`NGHTTP2_${name}`]!;
      const error = connectErrorFromH2ResetCode(rst);
      expect({ name, code: error?.code, message: error?.rawMessage }).toEqual({
        name,
        code,
        message: `http/2 stream closed with error code ${name} (0x${rst.toString(16)})`,
      });
    }
    expect(connectErrorFromH2ResetCode(constants.NGHTTP2_CANCEL)?.rawMessage).toBe(
      "http/2 stream closed with error code CANCEL (0x8)",
    );
  });

  it("gives no error for NO_ERROR, STREAM_CLOSED and codes HTTP/2 does not define", () => {
    expect(connectErrorFromH2ResetCode(constants.NGHTTP2_NO_ERROR)).toBeUndefined();
    expect(connectErrorFromH2ResetCode(constants.NGHTTP2_STREAM_CLOSED)).toBeUndefined();
    expect(connectErrorFromH2ResetCode(0xe)).toBeUndefined();
    expect(connectErrorFromH2ResetCode(0xffff)).toBeUndefined();
  });
});
