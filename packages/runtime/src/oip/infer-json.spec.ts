// The REST infer request's JSON, read and checked, and the answer's JSON written (exact
// 64-bit integers, binary outputs described by their size).
import { Code, ConnectError } from "@connectrpc/connect";
import type { OipModel } from "./catalog.js";
import { readInferRequest, writeInferResponse } from "./infer-json.js";

function errorOf(f: () => unknown): [Code, string] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectError);
    return [(e as ConnectError).code, (e as ConnectError).rawMessage];
  }
  throw new Error("it did not throw");
}

describe("readInferRequest", () => {
  it("reads inputs, id, outputs and the binary parameters; ignores parameters it does not know", () => {
    expect(
      readInferRequest({
        id: "7",
        parameters: { binary_data_output: true, priority: 3 },
        inputs: [
          { name: "a", datatype: "FP32", shape: [1, 2], data: [[1, 2]], parameters: { whatever: "x" } },
          { name: "b", datatype: "INT64", shape: [3], parameters: { binary_data_size: 24 } },
        ],
        outputs: [{ name: "y" }, { name: "z", parameters: { binary_data: false } }],
      }),
    ).toEqual({
      id: "7",
      binaryDataOutput: true,
      inputs: [
        { header: { name: "a", datatype: "FP32", shape: [1, 2] }, data: [[1, 2]], binarySize: undefined },
        { header: { name: "b", datatype: "INT64", shape: [3] }, data: undefined, binarySize: 24 },
      ],
      outputs: [
        { name: "y", binary: undefined },
        { name: "z", binary: false },
      ],
    });
    expect(readInferRequest({ inputs: [] })).toEqual({
      id: undefined,
      inputs: [],
      outputs: [],
      binaryDataOutput: false,
    });
  });

  it.each([
    [[], 'the request body must be a JSON object with an "inputs" list'],
    [null, 'the request body must be a JSON object with an "inputs" list'],
    [{}, '"inputs" must be a list of the input tensors'],
    [{ inputs: [], id: 7 }, '"id" must be a string'],
    [{ inputs: [], outputs: {} }, '"outputs" must be a list of {"name": …}'],
    [{ inputs: [], outputs: [{}] }, 'outputs[0] must be an object with a "name"'],
    [
      { inputs: [], outputs: [{ name: "y", parameters: { binary_data: "yes" } }] },
      "outputs[0].parameters.binary_data must be true or false",
    ],
    [{ inputs: [], parameters: [] }, '"parameters" must be an object'],
    [{ inputs: [], parameters: { binary_data_output: 1 } }, '"parameters.binary_data_output" must be true or false'],
    [{ inputs: [7] }, 'inputs[0] must be an object with "name", "datatype", "shape" and "data"'],
    [{ inputs: [{ datatype: "FP32", shape: [], data: [] }] }, "inputs[0].name must be a string"],
    [{ inputs: [{ name: "a", shape: [], data: [] }] }, 'inputs[0].datatype must be a string (input "a")'],
    [
      { inputs: [{ name: "a", datatype: "FP32", shape: 3, data: [] }] },
      'inputs[0].shape must be a list of dims (input "a")',
    ],
    [
      { inputs: [{ name: "a", datatype: "FP32", shape: [1] }] },
      'inputs[0] has neither "data" nor parameters.binary_data_size (input "a")',
    ],
    [
      { inputs: [{ name: "a", datatype: "FP32", shape: [1], parameters: { binary_data_size: -4 } }] },
      'inputs[0].parameters.binary_data_size must be a byte count (input "a")',
    ],
  ])("refuses %j: %s", (body, message) => {
    expect(errorOf(() => readInferRequest(body))).toEqual([Code.InvalidArgument, message]);
  });
});

describe("writeInferResponse", () => {
  const model = { name: "m-1.x", version: "2.0" } as OipModel;
  const i64 = new BigInt64Array([1n, -(2n ** 63n)]);
  const outputs = [
    { name: "counts", datatype: "INT64" as const, shape: [2], data: new Uint8Array(i64.buffer) },
    {
      name: "probs",
      datatype: "FP32" as const,
      shape: [1, 3],
      data: new Uint8Array(new Float32Array([0.5, NaN, -Infinity]).buffer),
    },
    { name: "mask", datatype: "BOOL" as const, shape: [2], data: new Uint8Array([1, 0]) },
  ];

  it("writes JSON numbers, exact past 2^53, NaN and infinities as null, BOOL as booleans; the id when given", () => {
    const { json, blobs } = writeInferResponse(model, "r1", outputs, () => false);
    expect(blobs).toEqual([]);
    expect(json).toBe(
      '{"model_name":"m-1.x","model_version":"2.0","id":"r1","outputs":[' +
        '{"name":"counts","datatype":"INT64","shape":[2],"data":[1,-9223372036854775808]},' +
        '{"name":"probs","datatype":"FP32","shape":[1,3],"data":[0.5,null,null]},' +
        '{"name":"mask","datatype":"BOOL","shape":[2],"data":[true,false]}]}',
    );
    expect(JSON.parse(writeInferResponse(model, undefined, [], () => false).json)).toEqual({
      model_name: "m-1.x",
      model_version: "2.0",
      outputs: [],
    });
  });

  it("answers binary outputs with their binary_data_size and their bytes as blobs, in order", () => {
    const { json, blobs } = writeInferResponse(model, undefined, outputs, (name) => name !== "probs");
    expect(JSON.parse(json).outputs).toEqual([
      { name: "counts", datatype: "INT64", shape: [2], parameters: { binary_data_size: 16 } },
      { name: "probs", datatype: "FP32", shape: [1, 3], data: [0.5, null, null] },
      { name: "mask", datatype: "BOOL", shape: [2], parameters: { binary_data_size: 2 } },
    ]);
    expect(blobs).toEqual([outputs[0]!.data, outputs[2]!.data]);
  });
});
