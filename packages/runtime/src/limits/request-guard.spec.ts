import { gzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { TensorProtoSchema } from "@blazerpc/tensor";
import { guardRequestBody } from "./request-guard.js";

const limits = { readMaxBytes: 1 << 20, readMaxFields: 10 };

/** `n` unknown varint fields: 2 bytes each. */
const unknown = (n: number) => Buffer.from(Array.from({ length: n }, () => [0x28, 0x00]).flat());
const envelope = (m: Uint8Array, flags = 0) => {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(m.byteLength, 1);
  return Buffer.concat([head, m]);
};
/** The body as it arrives, in chunks of `size` bytes. */
async function* chunked(bytes: Uint8Array, size = 3): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}
async function read(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const c of body) out.push(c);
  return Buffer.concat(out);
}
async function guarded(headers: Record<string, string>, bytes: Uint8Array): Promise<Buffer | ConnectError> {
  try {
    return await read(guardRequestBody(chunked(bytes), new Headers(headers), TensorProtoSchema, limits));
  } catch (e) {
    return e as ConnectError;
  }
}
const tooMany = expect.objectContaining({
  code: Code.ResourceExhausted,
  rawMessage: expect.stringContaining("readMaxFields 10"),
});

describe("guardRequestBody", () => {
  it("passes bodies within the limit on as they came, for every protocol", async () => {
    const m = unknown(10);
    const json = Buffer.from('{"shape":["1","2"],"dtype":"float32"}');
    for (const [type, body] of [
      ["application/grpc", Buffer.concat([envelope(m), envelope(m)])],
      ["application/grpc-web+proto", envelope(m)],
      ["application/connect+json", envelope(json)],
      ["application/proto", m],
      ["application/json; charset=utf-8", json],
      ["application/grpc-web-text", Buffer.from(envelope(m).toString("base64"))],
    ] as const) {
      expect(await guarded({ "content-type": type }, body)).toEqual(body);
    }
  });

  it("refuses a message over the limit in each form: enveloped, bare, JSON, base64, compressed", async () => {
    const m = unknown(11);
    const json = Buffer.from(`{"shape":[${"1,".repeat(20)}1]}`);
    expect(
      await guarded({ "content-type": "application/grpc" }, Buffer.concat([envelope(unknown(10)), envelope(m)])),
    ).toEqual(tooMany);
    expect(await guarded({ "content-type": "application/proto" }, m)).toEqual(tooMany);
    expect(await guarded({ "content-type": "application/json" }, json)).toEqual(tooMany);
    expect(await guarded({ "content-type": "application/grpc-web+json" }, envelope(json))).toEqual(tooMany);
    expect(
      await guarded({ "content-type": "application/grpc-web-text" }, Buffer.from(envelope(m).toString("base64"))),
    ).toEqual(tooMany);
    expect(
      await guarded({ "content-type": "application/grpc", "grpc-encoding": "gzip" }, envelope(gzipSync(m), 1)),
    ).toEqual(tooMany);
    expect(await guarded({ "content-type": "application/json", "content-encoding": "gzip" }, gzipSync(json))).toEqual(
      tooMany,
    );
  });

  it("leaves what it cannot read to connect-node: unknown types and encodings, oversize prefixes", async () => {
    const m = unknown(11);
    expect(await guarded({ "content-type": "text/plain" }, m)).toEqual(m);
    expect(await guarded({ "content-type": "application/grpc", "grpc-encoding": "zstd" }, envelope(m, 1))).toEqual(
      envelope(m, 1),
    );
    const oversize = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xff]), m]);
    expect(await guarded({ "content-type": "application/grpc" }, oversize)).toEqual(oversize);
  });
});
