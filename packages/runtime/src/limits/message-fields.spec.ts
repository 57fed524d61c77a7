import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { TensorProtoSchema } from "@blazerpc/tensor";
import { ServerReflectionRequestSchema } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { createJsonValueCounter } from "./json-values.js";
import { checkMessageFields } from "./message-fields.js";

const refused = (fn: () => void, code = Code.ResourceExhausted) => {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConnectError);
  expect((err as ConnectError).code).toBe(code);
  return (err as ConnectError).rawMessage;
};

/** `n` unknown varint fields (field 5, value 0): 2 bytes each. */
const unknownFields = (n: number) => {
  const b = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) b[2 * i] = 0x28;
  return b;
};

describe("checkMessageFields", () => {
  it("counts a tensor as 3 fields, whatever the size of its data", () => {
    const t = toBinary(
      TensorProtoSchema,
      create(TensorProtoSchema, { shape: [1024n, 1024n], dtype: "float32", data: new Uint8Array(4 << 20) }),
    );
    expect(() => checkMessageFields(TensorProtoSchema, t, 4)).not.toThrow();
    // shape is packed: 2 elements + dtype + data
    expect(() => checkMessageFields(TensorProtoSchema, t, 3)).toThrow(ConnectError);
  });

  it("refuses unknown fields past the limit, and stops walking there", () => {
    expect(() => checkMessageFields(TensorProtoSchema, unknownFields(1000), 1000)).not.toThrow();
    expect(refused(() => checkMessageFields(TensorProtoSchema, unknownFields(1001), 1000))).toBe(
      "message holds more than 1000 fields (each repeated element and unknown field counts): larger than configured readMaxFields 1000",
    );
    const huge = unknownFields(8_000_000);
    const started = performance.now();
    refused(() => checkMessageFields(TensorProtoSchema, huge, 100_000));
    expect(performance.now() - started).toBeLessThan(500); // a walk of 100,000 fields, not 8M
  });

  it("counts each element of a packed repeated varint (a 16M-dim shape is refused before any bigint exists)", () => {
    const dims = 16 * 1024 * 1024;
    const packed = new Uint8Array(5 + dims);
    packed.set([0x0a, 0x80, 0x80, 0x80, 0x08]); // field 1, wire type 2, length 2^24
    packed.fill(1, 5);
    refused(() => checkMessageFields(TensorProtoSchema, packed.subarray(0, 5 + dims), 100_000));
    const small = toBinary(
      TensorProtoSchema,
      create(TensorProtoSchema, { shape: Array.from({ length: 99 }, () => 1n) }),
    );
    expect(() => checkMessageFields(TensorProtoSchema, small, 99)).not.toThrow();
    refused(() => checkMessageFields(TensorProtoSchema, small, 98));
  });

  it("walks nested messages and counts their fields", () => {
    const req = toBinary(
      ServerReflectionRequestSchema,
      create(ServerReflectionRequestSchema, {
        host: "h",
        messageRequest: { case: "fileContainingSymbol", value: "a.B" },
      }),
    );
    expect(() => checkMessageFields(ServerReflectionRequestSchema, req, 2)).not.toThrow();
    refused(() => checkMessageFields(ServerReflectionRequestSchema, req, 1));
  });

  it("leaves malformed bytes to the decoder", () => {
    for (const bad of [[0x0a, 0x05, 0x01], [0x0f], [0x28, 0x80], [0x0b, 0x28, 0x00]]) {
      expect(() => checkMessageFields(TensorProtoSchema, new Uint8Array(bad), 10)).not.toThrow();
    }
  });

  it("counts groups' fields, nested ones included", () => {
    // field 7 as a group holding 3 unknown varints, then its END_GROUP
    const group = new Uint8Array([0x3b, 0x28, 0x00, 0x28, 0x00, 0x28, 0x00, 0x3c]);
    expect(() => checkMessageFields(TensorProtoSchema, group, 4)).not.toThrow();
    refused(() => checkMessageFields(TensorProtoSchema, group, 3));
  });
});

describe("createJsonValueCounter", () => {
  const bytes = (s: string) => new TextEncoder().encode(s);

  it("counts values across chunks, ignoring what is inside strings", () => {
    const count = createJsonValueCounter(5);
    count(bytes('{"shape":["1",'));
    count(bytes('"2"],"dtype":"a,b,[{,,,,,,"}'));
    expect(refused(() => createJsonValueCounter(5)(bytes(`{"shape":[${"1,".repeat(10)}1]}`)))).toContain(
      "readMaxFields 5",
    );
  });

  it("keeps escapes inside strings", () => {
    const count = createJsonValueCounter(2);
    count(bytes('{"a":"\\",,,,,,,\\\\",'));
    count(bytes('"b":1}'));
  });

  it("refuses nesting deeper than 100", () => {
    expect(() => createJsonValueCounter(1000)(bytes("[".repeat(100)))).not.toThrow();
    expect(refused(() => createJsonValueCounter(1000)(bytes("[".repeat(101))), Code.InvalidArgument)).toBe(
      "JSON nests deeper than 100 levels",
    );
  });
});
