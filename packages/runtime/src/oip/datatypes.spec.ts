// The dtype ⇄ OIP datatype table and element sizes.
import { dtypeNames } from "@blazerpc/tensor";
import { fromOipDatatype, oipDatatypes, oipElementSize, toOipDatatype } from "./datatypes.js";

it("maps every dtype to its OIP datatype and back", () => {
  expect(Object.fromEntries(dtypeNames.map((d) => [d, toOipDatatype(d)]))).toEqual({
    float32: "FP32",
    float64: "FP64",
    float16: "FP16",
    int8: "INT8",
    int16: "INT16",
    int32: "INT32",
    int64: "INT64",
    uint8: "UINT8",
    uint16: "UINT16",
    uint32: "UINT32",
    uint64: "UINT64",
    bool: "BOOL",
  });
  for (const d of dtypeNames) expect(fromOipDatatype(toOipDatatype(d))).toBe(d);
  expect([...oipDatatypes].sort()).toEqual(dtypeNames.map(toOipDatatype).sort());
});

it("takes the Python BlazeRPC's aliases, and refuses what is no dtype", () => {
  expect([toOipDatatype("float"), toOipDatatype("double")]).toEqual(["FP32", "FP64"]);
  expect(() => toOipDatatype("complex64")).toThrow('unknown dtype "complex64"');
});

it("knows no datatype outside the table: BYTES, BF16, lower case, inherited names", () => {
  for (const d of ["BYTES", "BF16", "fp32", "FP8", "toString", "__proto__", ""])
    expect(fromOipDatatype(d)).toBeUndefined();
});

it("gives each datatype's element size in bytes", () => {
  expect(Object.fromEntries(oipDatatypes.map((d) => [d, oipElementSize(d)]))).toEqual({
    BOOL: 1,
    UINT8: 1,
    UINT16: 2,
    UINT32: 4,
    UINT64: 8,
    INT8: 1,
    INT16: 2,
    INT32: 4,
    INT64: 8,
    FP16: 2,
    FP32: 4,
    FP64: 8,
  });
});
