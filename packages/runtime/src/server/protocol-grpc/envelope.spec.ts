import { Code, ConnectError } from "@connectrpc/connect";
import {
  encodeEnvelope,
  encodeEnvelopeParts,
  parseSingleEnvelope,
  readEnvelopeLength,
  SPLIT_FRAME_BYTES,
} from "./envelope.js";

/** A frame as a client writes it. */
function envelope(flags: number, data: Uint8Array | number[]): Buffer {
  const bytes = Buffer.from(data);
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(bytes.byteLength, 1);
  return Buffer.concat([head, bytes]);
}

/** The error `fn` throws, as a client sees it: its code and its message. */
function thrown(fn: () => unknown): { code: Code; message: string } {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectError);
    return { code: (e as ConnectError).code, message: (e as ConnectError).rawMessage };
  }
  throw new Error("did not throw");
}

describe("encodeEnvelope", () => {
  it("writes flags, a big-endian length and the message into one buffer", () => {
    expect(Buffer.from(encodeEnvelope(0, new Uint8Array([7, 8, 9])) as Uint8Array)).toEqual(
      Buffer.from([0, 0, 0, 0, 3, 7, 8, 9]),
    );
    expect(Buffer.from(encodeEnvelope(1, new Uint8Array([7])) as Uint8Array)).toEqual(Buffer.from([1, 0, 0, 0, 1, 7]));
    expect(Buffer.from(encodeEnvelope(0, new Uint8Array(0)) as Uint8Array)).toEqual(Buffer.from([0, 0, 0, 0, 0]));
    const frame = encodeEnvelope(0, new Uint8Array(0x1234).fill(5)) as Uint8Array;
    expect([...frame.subarray(0, 6)]).toEqual([0, 0, 0, 0x12, 0x34, 5]);
    expect(frame.byteLength).toBe(5 + 0x1234);
  });

  it("keeps a message under 64 KiB in the one buffer, and splits one of 64 KiB or more into prefix and the same bytes", () => {
    const under = new Uint8Array(SPLIT_FRAME_BYTES - 1).fill(3);
    const small = encodeEnvelope(1, under);
    expect(small).toBeInstanceOf(Uint8Array);
    expect((small as Uint8Array).byteLength).toBe(5 + SPLIT_FRAME_BYTES - 1);
    expect([...(small as Uint8Array).subarray(0, 5)]).toEqual([1, 0, 0, 0xff, 0xff]);
    expect((small as Uint8Array)[5 + SPLIT_FRAME_BYTES - 2]).toBe(3);

    const data = new Uint8Array(SPLIT_FRAME_BYTES).fill(4);
    const large = encodeEnvelope(1, data);
    expect(Array.isArray(large)).toBe(true);
    const [head, body] = large as [Buffer, Uint8Array];
    expect([...head]).toEqual([1, 0, 1, 0, 0]);
    // Not a copy: the message is written as it is.
    expect(body).toBe(data);
  });

  it("writes lengths the way readEnvelopeLength reads them, up to 2^32 - 1", () => {
    const frame = encodeEnvelope(0, new Uint8Array(300)) as Uint8Array;
    expect([...frame.subarray(0, 5)]).toEqual([0, 0, 0, 1, 0x2c]);
    expect(readEnvelopeLength(frame, 0)).toBe(300);
    expect(readEnvelopeLength(new Uint8Array([9, 9, 0xff, 0xff, 0xff, 0xff]), 1)).toBe(0xffff_ffff);
  });
});

describe("encodeEnvelopeParts", () => {
  it("puts one prefix with the total length before the parts, passed on as they are", () => {
    const a = new Uint8Array([1, 2]);
    const b = new Uint8Array(70_000).fill(9);
    const frame = encodeEnvelopeParts(0, [a, b]) as Uint8Array[];
    expect(Buffer.from(frame[0]!)).toEqual(Buffer.from([0, 0, 0x01, 0x11, 0x72]));
    expect(frame[1]).toBe(a);
    expect(frame[2]).toBe(b);
    // One buffer: encodeEnvelope's frame.
    expect(Buffer.from(encodeEnvelopeParts(1, a) as Uint8Array)).toEqual(Buffer.from([1, 0, 0, 0, 2, 1, 2]));
  });
});

describe("parseSingleEnvelope", () => {
  const max = 100;

  it("returns the one message of a body, without copying it", () => {
    const body = envelope(0, [1, 2, 3]);
    const env = parseSingleEnvelope(body, "unary", max, false);
    expect([...env.data]).toEqual([1, 2, 3]);
    expect(env.data.buffer).toBe(body.buffer);
    expect(env.compressed).toBe(false);
    expect(env.trailing).toBeUndefined();
    expect([...parseSingleEnvelope(envelope(0, []), "unary", max, false).data]).toEqual([]);
  });

  it("reports a compressed message (flag bit 0 only) for the caller to decompress", () => {
    expect(parseSingleEnvelope(envelope(1, [1]), "unary", max, true).compressed).toBe(true);
    expect(parseSingleEnvelope(envelope(0b11, [1]), "unary", max, true).compressed).toBe(true);
    expect(parseSingleEnvelope(envelope(0b10, [1]), "unary", max, false).compressed).toBe(false);
  });

  it("answers an empty body with UNIMPLEMENTED: missing input message", () => {
    expect(thrown(() => parseSingleEnvelope(Buffer.alloc(0), "unary", max, false))).toEqual({
      code: Code.Unimplemented,
      message: "protocol error: missing input message for unary method",
    });
    expect(thrown(() => parseSingleEnvelope(Buffer.alloc(0), "server-streaming", max, false))).toEqual({
      code: Code.Unimplemented,
      message: "protocol error: missing input message for server-streaming method",
    });
  });

  it("answers a cut-off first envelope with INVALID_ARGUMENT: incomplete envelope", () => {
    const incomplete = { code: Code.InvalidArgument, message: "protocol error: incomplete envelope" };
    expect(thrown(() => parseSingleEnvelope(Buffer.from([0, 0, 0]), "unary", max, false))).toEqual(incomplete);
    expect(thrown(() => parseSingleEnvelope(envelope(0, [1, 2, 3, 4]).subarray(0, 7), "unary", max, false))).toEqual(
      incomplete,
    );
  });

  it("answers a length over readMaxBytes with RESOURCE_EXHAUSTED from its prefix alone, for the first two envelopes", () => {
    const tooLarge = {
      code: Code.ResourceExhausted,
      message: "message size 101 is larger than configured readMaxBytes 100",
    };
    const prefix = Buffer.from([0, 0, 0, 0, 101]);
    expect(thrown(() => parseSingleEnvelope(prefix, "unary", max, false))).toEqual(tooLarge);
    // Checked before the extra message is.
    expect(thrown(() => parseSingleEnvelope(Buffer.concat([envelope(0, [1]), prefix]), "unary", max, false))).toEqual(
      tooLarge,
    );
    // A compressed flag is not looked at before the sizes are.
    expect(thrown(() => parseSingleEnvelope(Buffer.concat([envelope(1, [1]), prefix]), "unary", max, false))).toEqual(
      tooLarge,
    );
    // Exactly readMaxBytes is allowed.
    expect(parseSingleEnvelope(envelope(0, new Uint8Array(100)), "unary", max, false).data.byteLength).toBe(100);
    // A third envelope is never read: two already make one too many.
    const third = parseSingleEnvelope(Buffer.concat([envelope(0, [1]), envelope(0, [2]), prefix]), "unary", max, false);
    expect(third.trailing?.code).toBe(Code.Unimplemented);
  });

  it("answers a compressed message without negotiated compression with INTERNAL, before an extra message", () => {
    const internal = {
      code: Code.Internal,
      message: "received compressed envelope, but do not know how to decompress",
    };
    expect(thrown(() => parseSingleEnvelope(envelope(1, [1]), "unary", max, false))).toEqual(internal);
    expect(
      thrown(() => parseSingleEnvelope(Buffer.concat([envelope(1, [1]), envelope(0, [2])]), "unary", max, false)),
    ).toEqual(internal);
  });

  it("leaves an extra message or left-over bytes to `trailing`, to throw once the message is decompressed", () => {
    const extra = parseSingleEnvelope(
      Buffer.concat([envelope(1, [1]), envelope(0, [2])]),
      "server-streaming",
      max,
      true,
    );
    expect([...extra.data]).toEqual([1]);
    expect(extra.compressed).toBe(true);
    expect(extra.trailing).toBeInstanceOf(ConnectError);
    expect({ code: extra.trailing?.code, message: extra.trailing?.rawMessage }).toEqual({
      code: Code.Unimplemented,
      message: "protocol error: received extra input message for server-streaming method",
    });
    expect(
      parseSingleEnvelope(Buffer.concat([envelope(0, [1]), envelope(0, [2])]), "unary", max, false).trailing
        ?.rawMessage,
    ).toBe("protocol error: received extra input message for unary method");
    for (const rest of [Buffer.from([0, 0]), envelope(0, [2, 3]).subarray(0, 6)]) {
      const left = parseSingleEnvelope(Buffer.concat([envelope(0, [1]), rest]), "unary", max, false);
      expect([...left.data]).toEqual([1]);
      expect({ code: left.trailing?.code, message: left.trailing?.rawMessage }).toEqual({
        code: Code.InvalidArgument,
        message: "protocol error: incomplete envelope",
      });
    }
  });
});
