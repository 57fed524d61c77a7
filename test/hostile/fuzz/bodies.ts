// Request messages of the iris example (PredictIris, PredictGenerate) and of the server's own
// services (health, reflection), as protobuf and as JSON: valid ones whose answer is known,
// and hostile ones built field by field or mutated byte by byte.
import type { Rng } from "./prng.js";
import {
  doubleField,
  fixed32Field,
  lenField,
  overlongVarint,
  packedField,
  tag,
  varint,
  varintField,
  WireType,
} from "./wire.js";

/** What a valid request must be answered with (checked against a direct call of the model). */
export type Expectation =
  { kind: "iris"; rows: number; data: Float32Array } | { kind: "generate"; prompt: string; maxTokens: number };

/** A request message in both encodings; `expect` only when it is valid as it stands. */
export interface Message {
  proto: Buffer;
  json: Buffer;
  expect?: Expectation;
}

const DTYPES = [
  "float32",
  "float",
  "float64",
  "double",
  "float16",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "bool",
];
const BAD_DTYPES = [
  "",
  "Float32",
  "float32 ",
  "f4",
  "<f4",
  "complex64",
  "bfloat16",
  "string",
  "object",
  "float32\u0000",
  "fl\u00f6at32",
  "__proto__",
  "constructor",
  "toString",
];
const ITEMSIZE: Record<string, number> = {
  float32: 4,
  float: 4,
  float64: 8,
  double: 8,
  float16: 2,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  bool: 1,
};

/** Dimension sizes that hurt: zero, one, the batch limits, past 2^31, 2^53 and 2^63, negative (two's complement). */
const HOSTILE_DIMS: readonly bigint[] = [
  0n,
  1n,
  3n,
  4n,
  5n,
  32n,
  33n,
  1024n,
  65536n,
  2n ** 31n,
  2n ** 32n + 4n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 62n,
  2n ** 63n - 1n,
  -1n,
  -4n,
  -(2n ** 63n),
];

function b64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

/** Small finite floats, like iris measurements. */
function features(rng: Rng, rows: number): Float32Array {
  const f = new Float32Array(rows * 4);
  for (let i = 0; i < f.length; i++) f[i] = Math.round(rng.float() * 80) / 10;
  return f;
}

// ---------------------------------------------------------------------------------------
// Valid messages

export function validIris(rng: Rng): Message {
  // Up to the iris model's maxBatchSize (32): a request may not hold more rows than a batch.
  const rows = rng.weighted([
    [1, 0],
    [8, 1],
    [4, 2],
    [2, rng.int(3, 32)],
  ] as const);
  const data = features(rng, rows);
  const dtype = rng.chance(0.9) ? "float32" : "float";
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const tensor = Buffer.concat([
    rng.chance(0.8) ? packedField(1, [rows, 4]) : Buffer.concat([varintField(1, rows), varintField(1, 4)]),
    lenField(2, Buffer.from(dtype)),
    lenField(3, bytes),
  ]);
  const shape = rng.chance(0.5) ? [String(rows), "4"] : [rows, 4];
  return {
    proto: lenField(1, tensor),
    json: Buffer.from(JSON.stringify({ features: { shape, dtype, data: b64(bytes) } })),
    expect: { kind: "iris", rows, data },
  };
}

const PROMPTS = ["hello", "", "iris", "a rose is a rose", "\u00e9t\u00e9", "\u{1F33A} flowers"];

export function validGenerate(rng: Rng): Message {
  const prompt = rng.pick(PROMPTS);
  const maxTokens = rng.int(0, 12);
  const proto = Buffer.concat([
    prompt === "" ? Buffer.alloc(0) : lenField(1, Buffer.from(prompt)),
    maxTokens === 0 ? Buffer.alloc(0) : doubleField(2, maxTokens),
  ]);
  const json = rng.chance(0.5) ? { prompt, maxTokens } : { prompt, max_tokens: maxTokens };
  return { proto, json: Buffer.from(JSON.stringify(json)), expect: { kind: "generate", prompt, maxTokens } };
}

// ---------------------------------------------------------------------------------------
// Hostile protobuf, built field by field

/** One field of any kind, with any (also wrong) wire type, for a message that does not expect it. */
export function randomField(rng: Rng, depth = 0): Buffer {
  const field = rng.weighted([
    [6, rng.int(1, 20)],
    [2, rng.int(21, 536_870_911)],
    [1, 0],
    [1, rng.int(536_870_912, 2 ** 32)],
  ] as const);
  const wt = rng.weighted([
    [4, 0],
    [2, 1],
    [5, 2],
    [1, 3],
    [1, 4],
    [2, 5],
    [1, 6],
    [1, 7],
  ] as const);
  switch (wt) {
    case WireType.varint:
      return Buffer.concat([
        tag(field, wt),
        rng.chance(0.15)
          ? overlongVarint(rng.int(0, 1000), rng.int(2, 12))
          : varint(BigInt.asUintN(64, BigInt(rng.u32()) << BigInt(rng.int(0, 40)))),
      ]);
    case WireType.fixed64:
      return Buffer.concat([tag(field, wt), rng.bytes(8)]);
    case WireType.len: {
      const inner =
        depth < 6 && rng.chance(0.4) ? randomFields(rng, rng.int(1, 4), depth + 1) : rng.bytes(rng.size(64));
      const declared = rng.chance(0.15)
        ? rng.pick([inner.length + 1, inner.length + 1000, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 53])
        : inner.length;
      return lenField(field, inner, declared);
    }
    case WireType.startGroup: {
      const body = depth < 6 && rng.chance(0.5) ? randomFields(rng, rng.int(0, 3), depth + 1) : Buffer.alloc(0);
      // Closed by the matching end tag, a different one, or never.
      const end = rng.weighted([
        [3, tag(field, 4)],
        [1, tag(field + 1, 4)],
        [1, Buffer.alloc(0)],
      ] as const);
      return Buffer.concat([tag(field, wt), body, end]);
    }
    case WireType.fixed32:
      return Buffer.concat([tag(field, wt), rng.bytes(4)]);
    default:
      // An end-group without its start, or a wire type that does not exist: then anything.
      return Buffer.concat([tag(field, wt), rng.bytes(rng.size(8))]);
  }
}

export function randomFields(rng: Rng, n: number, depth = 0): Buffer {
  return Buffer.concat(Array.from({ length: n }, () => randomField(rng, depth)));
}

/** A TensorProto whose every field may be wrong: shape, dtype, data length, wire types, extra fields. */
function hostileTensor(rng: Rng): Buffer {
  const parts: Buffer[] = [];
  const rank = rng.weighted([
    [1, 0],
    [2, 1],
    [8, 2],
    [2, 3],
    [1, rng.int(4, 40)],
  ] as const);
  const dims: bigint[] = Array.from({ length: rank }, (_, i) =>
    rng.chance(0.6) ? (i === 1 ? 4n : BigInt(rng.int(0, 6))) : rng.pick(HOSTILE_DIMS),
  );
  const dtype = rng.weighted([
    [6, "float32"],
    [3, rng.pick(DTYPES)],
    [2, rng.pick(BAD_DTYPES)],
    [1, rng.text(rng.size(40))],
    // Long enough that an error message quoting it would be long.
    [1, "x".repeat(rng.int(300, 5000))],
  ] as const);
  const count = dims.reduce((p, d) => (d >= 0n && d < 1000n ? p * Number(d) : p * 1000), 1);
  const item = Object.hasOwn(ITEMSIZE, dtype) ? ITEMSIZE[dtype]! : 4;
  const wantBytes = Math.min(count * item, 16 * 1024);
  const dataLength = rng.weighted([
    [5, wantBytes],
    [2, Math.max(0, wantBytes + rng.int(-3, 3))],
    [2, rng.size(4096)],
    [1, 0],
  ] as const);
  const shapeEncoding = rng.weighted([
    [4, "packed"],
    [2, "unpacked"],
    [1, "mixed"],
    [1, "wrong-wire-type"],
  ] as const);
  const shape = (): Buffer => {
    switch (shapeEncoding) {
      case "packed":
        return packedField(1, dims);
      case "unpacked":
        return Buffer.concat(dims.map((d) => varintField(1, d)));
      case "mixed":
        return Buffer.concat([packedField(1, dims.slice(0, 1)), ...dims.slice(1).map((d) => varintField(1, d))]);
      case "wrong-wire-type":
        return Buffer.concat(dims.map((d) => fixed32Field(1, Number(BigInt.asUintN(32, d)))));
    }
  };
  const fields: (() => Buffer)[] = [
    shape,
    () =>
      rng.chance(0.9)
        ? lenField(2, Buffer.from(dtype))
        : rng.chance(0.5)
          ? varintField(2, rng.int(0, 100))
          : lenField(2, rng.bytes(rng.size(16))),
    () => (rng.chance(0.93) ? lenField(3, rng.bytes(dataLength)) : varintField(3, dataLength)),
  ];
  // In order, shuffled, or with fields missing or repeated (the last one wins for scalars).
  const order = rng.chance(0.6) ? [0, 1, 2] : Array.from({ length: rng.int(0, 5) }, () => rng.int(0, 2));
  for (const i of order) {
    parts.push(fields[i]!());
    if (rng.chance(0.1)) parts.push(randomField(rng, 1));
  }
  return Buffer.concat(parts);
}

export function hostileIrisProto(rng: Rng): Buffer {
  const parts: Buffer[] = [];
  const n = rng.weighted([
    [1, 0],
    [8, 1],
    [2, 2],
    [1, rng.int(3, 6)],
  ] as const); // a message field repeated is merged
  for (let i = 0; i < n; i++) {
    const tensor = hostileTensor(rng);
    parts.push(
      rng.weighted([
        [10, lenField(1, tensor)],
        [1, lenField(1, tensor, tensor.length + rng.int(1, 1000))], // a length past the end
        [1, lenField(1, tensor, Math.max(0, tensor.length - rng.int(1, 8)))], // a length that cuts the tensor
        [1, varintField(1, tensor.length)], // a message sent as a varint
        [1, Buffer.concat([tag(1, WireType.startGroup), tensor, tag(1, WireType.endGroup)])], // as a group
      ] as const),
    );
  }
  if (rng.chance(0.2)) parts.splice(rng.int(0, parts.length), 0, randomFields(rng, rng.int(1, 4)));
  return Buffer.concat(parts);
}

const DOUBLES = [
  0,
  1,
  5,
  -1,
  -0,
  0.5,
  2.5,
  1e9,
  2 ** 53,
  1e308,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Infinity,
  -Infinity,
  NaN,
];

export function hostileGenerateProto(rng: Rng): Buffer {
  const parts: Buffer[] = [];
  for (let i = rng.int(0, 3); i > 0; i--) {
    parts.push(
      rng.weighted([
        [4, lenField(1, Buffer.from(rng.text(rng.size(200))))],
        [2, lenField(1, rng.bytes(rng.size(64)))], // not UTF-8, mostly
        [1, lenField(1, Buffer.from("x".repeat(rng.int(1000, 20_000))))],
        [1, varintField(1, rng.int(0, 1000))],
        [5, doubleField(2, rng.chance(0.7) ? rng.int(0, 20) : rng.pick(DOUBLES))],
        [1, varintField(2, rng.int(0, 1000))], // a double as a varint
        [1, fixed32Field(2, rng.u32())],
        [1, randomField(rng)],
      ] as const),
    );
  }
  return Buffer.concat(parts);
}

/** grpc.health.v1.HealthCheckRequest: `service` (1) is a string. */
export function hostileHealthProto(rng: Rng): Buffer {
  return rng.weighted([
    [3, Buffer.alloc(0)],
    [2, lenField(1, Buffer.from(rng.pick(["", "iris.v1.InferenceService", "nope", "grpc.health.v1.Health"])))],
    [1, lenField(1, Buffer.from(rng.text(rng.size(100))))],
    [1, lenField(1, rng.bytes(rng.size(32)))],
    [1, randomFields(rng, rng.int(1, 3))],
  ] as const);
}

/** grpc.reflection.v1.ServerReflectionRequest: host (1), file_by_filename (3), file_containing_symbol (4), list_services (7). */
export function hostileReflectionProto(rng: Rng): Buffer {
  const field = rng.pick([1, 3, 4, 5, 6, 7]);
  const value = rng.weighted([
    [
      3,
      Buffer.from(
        rng.pick([
          "",
          "*",
          "iris.v1.InferenceService",
          "iris/v1/iris.proto",
          "blazerpc/v1/tensor.proto",
          "google.protobuf.Empty",
        ]),
      ),
    ],
    [2, Buffer.from(rng.text(rng.size(60)))],
    [1, rng.bytes(rng.size(40))],
  ] as const);
  return Buffer.concat([lenField(field, value), ...(rng.chance(0.2) ? [randomField(rng)] : [])]);
}

// ---------------------------------------------------------------------------------------
// Byte-level mutation

/** A few random edits: bit flips, byte sets, inserts, deletes, duplicated or cut ranges. */
export function mutateBytes(rng: Rng, input: Buffer, edits = rng.int(1, 4)): Buffer {
  let b = Buffer.from(input);
  for (let e = 0; e < edits; e++) {
    const at = b.length === 0 ? 0 : rng.int(0, b.length - 1);
    switch (rng.int(0, 6)) {
      case 0:
        if (b.length > 0) b[at] = b[at]! ^ (1 << rng.int(0, 7));
        break;
      case 1:
        if (b.length > 0) b[at] = rng.pick([0x00, 0x7f, 0x80, 0xff, 0x0a, 0x22, 0x5c, rng.int(0, 255)]);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), rng.bytes(rng.int(1, 8)), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.int(1, 8)))]);
        break;
      case 4: {
        const len = rng.int(1, 32);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
        break;
      }
      case 5:
        b = b.subarray(0, at);
        break;
      default:
        b = Buffer.concat([b, rng.bytes(rng.int(1, 16))]);
    }
  }
  return b;
}

// ---------------------------------------------------------------------------------------
// Hostile JSON

/** A JSON value of any type, for a place that expects another. */
function wrongValue(rng: Rng, depth = 0): string {
  switch (rng.int(0, 11)) {
    case 0:
      return "null";
    case 1:
      return rng.pick(["true", "false"]);
    case 2:
      return rng.pick([
        "0",
        "-0",
        "1",
        "-1",
        "4",
        "1.5",
        "1e400",
        "-1e400",
        "1e-400",
        "123456789012345678901234567890",
        "9007199254740993",
        "0.1e1",
        "1E2",
      ]);
    case 3:
      return JSON.stringify(
        rng.pick([
          "",
          "NaN",
          "Infinity",
          "-Infinity",
          "1e999",
          "0x10",
          " 4",
          "4 ",
          "-4",
          "18446744073709551616",
          "9223372036854775808",
          "1.0",
        ]),
      );
    case 4:
      return JSON.stringify(rng.text(rng.size(40)));
    case 5:
      return depth < 4
        ? `[${Array.from({ length: rng.int(0, 4) }, () => wrongValue(rng, depth + 1)).join(",")}]`
        : "[]";
    case 6:
      return depth < 4
        ? `{${Array.from({ length: rng.int(0, 3) }, () => `${JSON.stringify(rng.text(rng.size(8)))}:${wrongValue(rng, depth + 1)}`).join(",")}}`
        : "{}";
    case 7:
      return deepNesting(rng);
    case 8:
      return JSON.stringify(
        rng.pick([
          "!!!!",
          "AAA",
          "A===",
          "====",
          "-_-_",
          "AAAA AAAA",
          "\u00ff\u00fe",
          "QQ",
          "QQ=",
          "QUJD\nREVG",
          "%%%",
          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ]),
      );
    case 9:
      return `"${"\\ud800"}"`; // a lone surrogate, escaped
    case 10:
      return `"${rng.pick(["\\x41", "\\u12", "\\", "\\q"])}"`; // invalid escapes
    default:
      return JSON.stringify("x".repeat(rng.int(300, 5000)));
  }
}

function deepNesting(rng: Rng): string {
  const depth = rng.pick([10, 100, 1000, 5000, 20_000]);
  const [open, close] = rng.chance(0.5) ? ["[", "]"] : ['{"a":', "}"];
  return open.repeat(depth) + (rng.chance(0.5) ? "1" : "") + close.repeat(rng.chance(0.9) ? depth : rng.int(0, depth));
}

/** A PredictIris request in JSON, any part of it possibly wrong. */
export function hostileIrisJson(rng: Rng): Buffer {
  const rows = rng.int(0, 4);
  const data = rng.weighted([
    [4, JSON.stringify(b64(Buffer.from(features(rng, rows).buffer)))],
    [1, JSON.stringify(Buffer.from(features(rng, rows).buffer).toString("base64url"))],
    [1, JSON.stringify(b64(rng.bytes(rng.size(64))))],
    [3, wrongValue(rng)],
  ] as const);
  const dim = () =>
    rng.weighted([
      [4, String(rows)],
      [3, '"4"'],
      [3, wrongValue(rng)],
      [1, `"${rng.pick(HOSTILE_DIMS).toString()}"`],
    ] as const);
  const shape = rng.chance(0.7) ? `[${Array.from({ length: rng.int(0, 4) }, dim).join(",")}]` : wrongValue(rng);
  const dtype = rng.chance(0.6)
    ? JSON.stringify(rng.chance(0.7) ? "float32" : rng.pick([...DTYPES, ...BAD_DTYPES]))
    : wrongValue(rng);
  const members = [`"shape":${shape}`, `"dtype":${dtype}`, `"data":${data}`].filter(() => rng.chance(0.85));
  if (rng.chance(0.2))
    members.push(
      `${JSON.stringify(rng.pick(["extra", "Shape", "@type", "__proto__", rng.text(6)]))}:${wrongValue(rng)}`,
    );
  if (rng.chance(0.1)) members.push(members[0] ?? '"dtype":"float32"'); // a duplicate key
  const tensor = rng.chance(0.85) ? `{${members.join(",")}}` : wrongValue(rng);
  const key = rng.weighted([
    [8, "features"],
    [1, "Features"],
    [1, "result"],
    [1, "features\u0000"],
  ] as const);
  const top = rng.weighted([
    [10, `{${JSON.stringify(key)}:${tensor}}`],
    [1, wrongValue(rng)],
    [1, `{"features":${tensor},"features":${tensor}}`],
  ] as const);
  return finishJson(rng, top);
}

export function hostileGenerateJson(rng: Rng): Buffer {
  const members: string[] = [];
  if (rng.chance(0.8))
    members.push(`"prompt":${rng.chance(0.6) ? JSON.stringify(rng.text(rng.size(50))) : wrongValue(rng)}`);
  if (rng.chance(0.8)) {
    const key = rng.pick(["maxTokens", "max_tokens", "maxtokens", "MaxTokens"]);
    const value = rng.weighted([
      [4, String(rng.int(0, 10))],
      [2, JSON.stringify(rng.pick(["NaN", "Infinity", "-Infinity", "5", "1e3"]))],
      [3, wrongValue(rng)],
    ] as const);
    members.push(`${JSON.stringify(key)}:${value}`);
  }
  return finishJson(rng, `{${members.join(",")}}`);
}

/** Whitespace, a BOM, trailing garbage, invalid UTF-8 or byte edits around a JSON text. */
function finishJson(rng: Rng, text: string): Buffer {
  let b: Buffer = Buffer.from(text);
  if (rng.chance(0.05)) b = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]);
  if (rng.chance(0.05)) b = Buffer.concat([b, Buffer.from(rng.pick([" ", "\n", "x", "{}", "\u0000", ","]))]);
  if (rng.chance(0.07)) {
    // Invalid UTF-8 inside the text: a lone continuation byte, an overlong form, a surrogate in UTF-8.
    const bad = Buffer.from(
      rng.pick([[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]),
    );
    const at = rng.int(0, b.length);
    b = Buffer.concat([b.subarray(0, at), bad, b.subarray(at)]);
  }
  if (rng.chance(0.15)) b = mutateBytes(rng, b, rng.int(1, 2));
  return b;
}
