// The binary tensor data extension: splitting a request body, handing each input its bytes,
// joining an answer.
import { Code, ConnectError } from "@connectrpc/connect";
import { joinBody, splitBody, takeBinaryInputs } from "./binary-data.js";

const bytes = (...b: number[]) => new Uint8Array(b);

function errorOf(f: () => unknown): [Code, string] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectError);
    return [(e as ConnectError).code, (e as ConnectError).rawMessage];
  }
  throw new Error("it did not throw");
}

describe("splitBody", () => {
  const body = new Uint8Array([...Buffer.from('{"a":1}'), 1, 2, 3]);

  it("without the header, the whole body is JSON", () => {
    expect(splitBody(Buffer.from('{"a":1}'), null)).toEqual({ json: '{"a":1}', binary: bytes() });
  });

  it("with it, that many bytes of JSON, then the binary part (a view, not a copy)", () => {
    const split = splitBody(body, "7");
    expect(split.json).toBe('{"a":1}');
    expect(split.binary).toEqual(bytes(1, 2, 3));
    expect(split.binary.buffer).toBe(body.buffer);
    expect(splitBody(body, " 10 ")).toEqual({ json: '{"a":1}\u0001\u0002\u0003', binary: bytes() });
  });

  it.each(["11", "-1", "x", "", "1.5", "1e3", "9".repeat(40)])("refuses the header %j", (h) => {
    const [code, message] = errorOf(() => splitBody(body, h));
    expect(code).toBe(Code.InvalidArgument);
    expect(message).toMatch(
      /^the Inference-Header-Content-Length header is ".*"( \(\d+ characters\))?: it must be the byte length of the JSON at the start of the body \(10 bytes\)$/,
    );
  });
});

describe("takeBinaryInputs", () => {
  it("hands out the bytes in order, to the inputs that have a size", () => {
    expect(takeBinaryInputs([2, undefined, 0, 1], bytes(1, 2, 3))).toEqual([bytes(1, 2), undefined, bytes(), bytes(3)]);
    expect(takeBinaryInputs([undefined], bytes())).toEqual([undefined]);
  });

  it("refuses sizes that do not add up to the binary part, either way", () => {
    expect(errorOf(() => takeBinaryInputs([2, 2], bytes(1, 2, 3)))).toEqual([
      Code.InvalidArgument,
      "the request holds 3 bytes of binary tensor data, but its inputs' binary_data_size add up to 4",
    ]);
    expect(errorOf(() => takeBinaryInputs([undefined], bytes(1)))).toEqual([
      Code.InvalidArgument,
      "the request holds 1 bytes of binary tensor data, but its inputs' binary_data_size add up to 0",
    ]);
  });
});

it("joinBody: the JSON, then each blob; the header length is the JSON's UTF-8 length", () => {
  const { body, headerLength } = joinBody('{"é":1}', [bytes(1, 2), bytes(3)]);
  expect(headerLength).toBe(8);
  expect(Buffer.from(body)).toEqual(Buffer.concat([Buffer.from('{"é":1}'), Buffer.from([1, 2, 3])]));
});
