// Tensor elements between OIP's forms (JSON numbers, gRPC typed contents) and the
// little-endian bytes a TensorProto holds, with the errors a client sees.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { InferTensorContentsSchema } from "../gen/inference/grpc_predict_v2_pb.js";
import {
  contentsValues,
  decodeValues,
  encodeValues,
  flattenData,
  formatOipShape,
  fromHalf,
  toHalf,
} from "./tensor-data.js";

function errorOf(f: () => unknown): [Code, string] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectError);
    return [(e as ConnectError).code, (e as ConnectError).rawMessage];
  }
  throw new Error("it did not throw");
}

const le = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe("encodeValues / decodeValues", () => {
  it.each([
    ["float32", [1.5, -2, 3.25e-8], new Float32Array([1.5, -2, 3.25e-8])],
    ["float64", [0.1, -1e300], new Float64Array([0.1, -1e300])],
    ["int8", [-128, 127, 0], new Int8Array([-128, 127, 0])],
    ["int16", [-32768, 32767], new Int16Array([-32768, 32767])],
    ["int32", [-2147483648, 2147483647], new Int32Array([-2147483648, 2147483647])],
    ["uint8", [0, 255], new Uint8Array([0, 255])],
    ["uint16", [65535], new Uint16Array([65535])],
    ["uint32", [4294967295, 1], new Uint32Array([4294967295, 1])],
    ["int64", [-5, 2 ** 53 - 1], new BigInt64Array([-5n, 2n ** 53n - 1n])],
    ["uint64", [7], new BigUint64Array([7n])],
  ] as const)("%s: numbers ⇄ the typed array's little-endian bytes", (dtype, values, array) => {
    const bytes = encodeValues(dtype, values, "x");
    expect(Buffer.from(bytes)).toEqual(le(array));
    const back = decodeValues(dtype, bytes);
    expect(back).toEqual(dtype === "float32" ? Array.from(array as Float32Array) : values);
  });

  it("int64 and uint64: bigints (gRPC int64_contents) in, and past 2^53 out as bigints, exactly", () => {
    const big = [-(2n ** 63n), 2n ** 63n - 1n, 3n];
    const bytes = encodeValues("int64", big, "x");
    expect(Buffer.from(bytes)).toEqual(le(new BigInt64Array(big)));
    expect(decodeValues("int64", bytes)).toEqual(big.map((b) => (b === 3n ? 3 : b)));
    expect(decodeValues("uint64", encodeValues("uint64", [2n ** 64n - 1n], "x"))).toEqual([2n ** 64n - 1n]);
  });

  it("bool: true/false or 1/0 in, booleans out", () => {
    const bytes = encodeValues("bool", [true, false, 1, 0], "x");
    expect(Array.from(bytes)).toEqual([1, 0, 1, 0]);
    expect(decodeValues("bool", bytes)).toEqual([true, false, true, false]);
  });

  it("float16: rounded to the nearest half, widened back", () => {
    const bytes = encodeValues("float16", [1, -2.5, 65504, 1e-8, 0.1], "x");
    expect(Array.from(new Uint16Array(new Uint8Array(bytes).buffer))).toEqual([0x3c00, 0xc100, 0x7bff, 0, 0x2e66]);
    expect(decodeValues("float16", bytes)).toEqual([1, -2.5, 65504, 0, 0.0999755859375]);
  });

  it("refuses an element that does not fit, naming the input, the element and its value", () => {
    const cases: [Parameters<typeof encodeValues>[0], unknown[], string][] = [
      ["float32", [1, "2"], 'input "x": element 1 is "2", expected a number (FP32)'],
      ["float64", [null], 'input "x": element 0 is null, expected a number (FP64)'],
      ["int8", [128], 'input "x": element 0 is 128, expected an integer from -128 to 127 (INT8)'],
      ["uint8", [-1], 'input "x": element 0 is -1, expected an integer from 0 to 255 (UINT8)'],
      ["int32", [1.5], 'input "x": element 0 is 1.5, expected an integer from -2147483648 to 2147483647 (INT32)'],
      ["uint64", [-1], 'input "x": element 0 is -1, expected an integer from 0 to 18446744073709551615 (UINT64)'],
      [
        "int64",
        [2n ** 63n],
        'input "x": element 0 is 9223372036854775808, expected an integer from -9223372036854775808 to 9223372036854775807 (INT64)',
      ],
      ["bool", [2], 'input "x": element 0 is 2, expected true or false (BOOL)'],
      ["float32", [[1]], 'input "x": element 0 is [1], expected a number (FP32)'],
      [
        "float32",
        ["z".repeat(100)],
        `input "x": element 0 is "${"z".repeat(63)}… (102 characters), expected a number (FP32)`,
      ],
    ];
    for (const [dtype, values, message] of cases) {
      expect(errorOf(() => encodeValues(dtype, values, "x"))).toEqual([Code.InvalidArgument, message]);
    }
  });
});

describe("flattenData", () => {
  it("takes flat, nested (any depth) and lone values, row-major", () => {
    const flat = [1, 2, 3, 4];
    expect(flattenData(flat, "x")).toBe(flat);
    expect(
      flattenData(
        [
          [1, 2],
          [3, 4],
        ],
        "x",
      ),
    ).toEqual([1, 2, 3, 4]);
    expect(
      flattenData(
        [
          [[1], [2]],
          [[3], [4]],
        ],
        "x",
      ),
    ).toEqual([1, 2, 3, 4]);
    expect(flattenData(5, "x")).toEqual([5]);
    expect(flattenData([], "x")).toEqual([]);
  });

  it("refuses arrays nested deeper than a tensor may have dims", () => {
    let deep: unknown = [1];
    for (let i = 0; i < 70; i++) deep = [deep];
    expect(errorOf(() => flattenData(deep, "x"))).toEqual([
      Code.InvalidArgument,
      'input "x": data nests deeper than the 64 dims a tensor may have',
    ]);
  });
});

describe("contentsValues", () => {
  const contents = (init: Parameters<typeof create<typeof InferTensorContentsSchema>>[1]) =>
    create(InferTensorContentsSchema, init);

  it("takes the field of the datatype", () => {
    expect(contentsValues("FP32", contents({ fp32Contents: [1, 2] }), "x")).toEqual([1, 2]);
    expect(contentsValues("INT16", contents({ intContents: [-1] }), "x")).toEqual([-1]);
    expect(contentsValues("UINT64", contents({ uint64Contents: [5n] }), "x")).toEqual([5n]);
    expect(contentsValues("BOOL", contents({ boolContents: [true] }), "x")).toEqual([true]);
    expect(contentsValues("FP64", undefined, "x")).toEqual([]);
  });

  it("refuses another field, and FP16 (raw only)", () => {
    expect(errorOf(() => contentsValues("FP32", contents({ fp64Contents: [1], intContents: [2] }), "x"))).toEqual([
      Code.InvalidArgument,
      'input "x": FP32 values go in fp32_contents, but the request sets int_contents, fp64_contents',
    ]);
    expect(errorOf(() => contentsValues("FP16", contents({}), "x"))).toEqual([
      Code.InvalidArgument,
      'input "x": FP16 has no typed contents field: send its bytes in raw_input_contents',
    ]);
  });
});

describe("half floats", () => {
  it("round to nearest, ties to even; overflow to infinity; NaN stays NaN; subnormals", () => {
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // a tie: to even
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // a tie: to even, up
    expect(toHalf(65520)).toBe(0x7c00);
    expect(toHalf(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
    expect(toHalf(2 ** -24)).toBe(1);
    expect(toHalf(-0)).toBe(0x8000);
    expect(fromHalf(0x7c00)).toBe(Infinity);
    expect(fromHalf(1)).toBe(2 ** -24);
  });

  it("every half survives the round trip", () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue; // NaNs
      expect(toHalf(fromHalf(h))).toBe(h);
    }
  });
});

it("formatOipShape: JSON style, at most 8 dims shown", () => {
  expect(formatOipShape([4, 512])).toBe("[4,512]");
  expect(formatOipShape([])).toBe("[]");
  expect(formatOipShape(new Array(10).fill(1))).toBe("[1,1,1,1,1,1,1,1,… (10 dims)]");
});
