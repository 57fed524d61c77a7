import { create, createFileRegistry, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { BytesValueSchema, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { TensorProtoSchema } from "@blazerpc/tensor";
import { joinSegments, SEGMENT_BYTES, segmentsLength, toBinarySegments } from "./message-segments.js";

// A schema of our own: a tensor inside a wrapper (the shape of every generated response),
// and messages where the large bytes are not the last field or have explicit presence.
const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "segments_test.proto",
    package: "seg",
    syntax: "proto3",
    dependency: ["blazerpc/v1/tensor.proto"],
    messageType: [
      {
        name: "Wrapped",
        field: [
          { name: "label", number: 1, type: 9, label: 1, jsonName: "label" },
          { name: "result", number: 2, type: 11, typeName: ".blazerpc.v1.TensorProto", label: 1, jsonName: "result" },
        ],
      },
      {
        name: "BytesFirst",
        field: [
          { name: "data", number: 1, type: 12, label: 1, jsonName: "data" },
          { name: "tail", number: 2, type: 9, label: 1, jsonName: "tail" },
        ],
      },
      {
        name: "Optional",
        field: [{ name: "data", number: 1, type: 12, label: 1, proto3Optional: true, oneofIndex: 0, jsonName: "data" }],
        oneofDecl: [{ name: "_data" }],
      },
    ],
  }),
  (name) => (name === "blazerpc/v1/tensor.proto" ? TensorProtoSchema.file : undefined),
);
const Wrapped = registry.getMessage("seg.Wrapped")!;
const BytesFirst = registry.getMessage("seg.BytesFirst")!;
const Optional = registry.getMessage("seg.Optional")!;

const big = (n = SEGMENT_BYTES * 4 + 3) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31) & 0xff;
  return b;
};
const tensor = (data: Uint8Array) =>
  create(TensorProtoSchema, { shape: [1n, BigInt(data.byteLength >> 2)], dtype: "float32", data });

/** Asserts the bytes are toBinary's, and says whether they came in parts. */
function same(schema: DescMessage, message: object): "parts" | "one buffer" {
  const parts = toBinarySegments(schema, message);
  const expected = toBinary(schema, message as never);
  // Buffer.equals, not toEqual: jest's deep equality takes seconds on a megabyte.
  expect(Buffer.from(joinSegments(parts)).equals(Buffer.from(expected))).toBe(true);
  expect(segmentsLength(parts)).toBe(expected.byteLength);
  return parts instanceof Uint8Array ? "one buffer" : "parts";
}

describe("toBinarySegments", () => {
  it("passes a large tensor's bytes on by reference, in toBinary's exact bytes, at any depth", () => {
    const data = big();
    expect(same(TensorProtoSchema, tensor(data))).toBe("parts");
    const wrapped = create(Wrapped, { label: "x".repeat(300), result: tensor(data) });
    expect(same(Wrapped, wrapped)).toBe("parts");
    const parts = toBinarySegments(Wrapped, wrapped) as Uint8Array[];
    expect(parts[parts.length - 1]).toBe(data); // the very same array, not a copy
    expect(same(BytesValueSchema, create(BytesValueSchema, { value: data }))).toBe("parts");
  });

  it("writes one buffer where parts would change the bytes or gain nothing", () => {
    // small values
    expect(same(TensorProtoSchema, tensor(big(SEGMENT_BYTES - 4)))).toBe("one buffer");
    expect(same(Wrapped, create(Wrapped, { label: "only" }))).toBe("one buffer");
    // not the last field: toBinary writes the fields after it later
    expect(same(BytesFirst, create(BytesFirst, { data: big(), tail: "t" }))).toBe("one buffer");
    // explicit presence (proto3 optional): an empty value is written too
    expect(same(Optional, create(Optional, { data: big() }))).toBe("one buffer");
    // unknown fields, written after the known ones
    const withUnknown = { ...tensor(big()), $unknown: [{ no: 99, wireType: 0, data: new Uint8Array([8]) }] };
    expect(same(TensorProtoSchema, withUnknown)).toBe("one buffer");
  });

  it("agrees with toBinary on 100 random tensors and wrappers around the threshold", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 100; i++) {
      const size = SEGMENT_BYTES - 256 + rand(512) * 4;
      const t = create(TensorProtoSchema, {
        shape: Array.from({ length: rand(4) }, () => BigInt(rand(1000))),
        dtype: ["float32", "int8", ""][rand(3)]!,
        data: big(size),
      });
      same(TensorProtoSchema, t);
      same(Wrapped, create(Wrapped, { label: "l".repeat(rand(200)), result: t }));
    }
  });
});
