import { EventEmitter } from "node:events";
import type * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionGzip } from "@connectrpc/connect-node";
import { BodyReader } from "./body-reader.js";

/** What BodyReader uses of a stream: its events, pause and resume, and whether it is destroyed. */
class FakeStream extends EventEmitter {
  destroyed = false;
  paused = false;
  resumed = 0;
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.resumed++;
    return this;
  }
  send(...chunks: (number[] | Buffer)[]): void {
    for (const c of chunks) this.emit("data", Buffer.from(c));
  }
  finish(): void {
    this.emit("end");
  }
}

function reader(max = 100): { stream: FakeStream; body: BodyReader } {
  const stream = new FakeStream();
  return { stream, body: new BodyReader(stream as unknown as http2.ServerHttp2Stream, max) };
}

function envelope(flags: number, data: Uint8Array | number[]): Buffer {
  const bytes = Buffer.from(data);
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(bytes.byteLength, 1);
  return Buffer.concat([head, bytes]);
}

async function rejection(p: Promise<unknown>): Promise<{ code: Code; message: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConnectError);
  return { code: (e as ConnectError).code, message: (e as ConnectError).rawMessage };
}

describe("BodyReader", () => {
  it("puts together a message that arrives in pieces, its prefix split too", async () => {
    const { stream, body } = reader();
    const single = body.single("unary", null);
    const bytes = envelope(0, [1, 2, 3, 4]);
    stream.send(bytes.subarray(0, 2), bytes.subarray(2, 4), bytes.subarray(4, 6), bytes.subarray(6));
    stream.finish();
    expect([...(await single)]).toEqual([1, 2, 3, 4]);
  });

  it("refuses a prefix over readMaxBytes as soon as its fifth byte is in, split or not, and reads no further", async () => {
    for (const split of [1, 3, 5]) {
      const { stream, body } = reader(100);
      const single = body.single("unary", null);
      const prefix = Buffer.from([0, 0, 0, 0, 101]);
      stream.send(prefix.subarray(0, split));
      if (split < 5) {
        expect(stream.paused).toBe(false);
        stream.send(prefix.subarray(split));
      }
      // No "end": the body is still coming, and stays in flow control.
      expect(stream.paused).toBe(true);
      expect(await rejection(single)).toEqual({
        code: Code.ResourceExhausted,
        message: "message size 101 is larger than configured readMaxBytes 100",
      });
      body.discard();
      expect(stream.resumed).toBe(0);
    }
  });

  it("finds an oversize second envelope once the body is in, and answers an extra message after decompressing the first", async () => {
    const first = reader(100);
    const one = first.body.single("unary", null);
    first.stream.send(envelope(0, [1]), [0, 0, 0, 0, 101]);
    first.stream.finish();
    expect((await rejection(one)).code).toBe(Code.ResourceExhausted);

    // A compressed message that does not decompress is reported before the message after it.
    const second = reader(100);
    const two = second.body.single("unary", compressionGzip);
    second.stream.send(envelope(1, [1, 2, 3]), envelope(0, [4]));
    second.stream.finish();
    expect(await rejection(two)).toEqual({ code: Code.Internal, message: "decompression failed" });

    const third = reader(100);
    const three = third.body.single("server-streaming", compressionGzip);
    third.stream.send(envelope(1, gzipSync(Buffer.from([5, 6]))), envelope(0, [7]));
    third.stream.finish();
    expect(await rejection(three)).toEqual({
      code: Code.Unimplemented,
      message: "protocol error: received extra input message for server-streaming method",
    });
  });

  it("decompresses the message with the negotiated compression", async () => {
    const { stream, body } = reader(100);
    const single = body.single("unary", compressionGzip);
    stream.send(envelope(1, gzipSync(Buffer.from([5, 6, 7]))));
    stream.finish();
    expect([...(await single)]).toEqual([5, 6, 7]);
  });

  it("answers a client gone before its body was in with CANCELED: the client went away", async () => {
    const { stream, body } = reader();
    const single = body.single("unary", null);
    stream.send([0, 0]);
    stream.destroyed = true;
    stream.emit("close");
    expect(await rejection(single)).toEqual({ code: Code.Canceled, message: "the client went away" });
  });

  it("reads and drops the rest of a body it will not use, and nothing once it has ended", () => {
    const open = reader();
    open.body.discard();
    expect(open.stream.resumed).toBe(1);
    const ended = reader();
    ended.stream.finish();
    ended.body.discard();
    expect(ended.stream.resumed).toBe(0);
  });
});
