// Every row of the type mapping through a REAL server and back, with the generated typed
// client: examples/types' models each send their input back, so what the client gets must
// equal what it sent — across the three protocols (Connect JSON over HTTP/1.1, gRPC over
// HTTP/2, gRPC-Web binary over HTTP/1.1). Then what the conversions refuse, JSON names as
// curl users see them, HTTP GET for a pure model, and list batching.
import { create } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { createServer, type BlazeServer } from "@blazerpc/runtime";
import type { Tensor } from "@blazerpc/tensor";
import { app } from "../../examples/types/models.js";
import { Level, Shape } from "../../examples/types/types.js";
import { InferenceServiceBinding } from "../../examples/types/gen/types/v1/types_blaze.js";
import {
  createInferenceServiceClient,
  type Color,
  type InferenceServiceClient,
} from "../../examples/types/gen/types/v1/types_client.js";
import { InferenceService, PredictEnumsRequestSchema } from "../../examples/types/gen/types/v1/types_pb.js";

let server: BlazeServer;
let base: string;

beforeAll(async () => {
  server = createServer({ app, services: [InferenceServiceBinding], host: "127.0.0.1", port: 0 });
  await server.listen();
  base = server.url();
});
afterAll(async () => {
  await server.close();
});

const tensor = <T extends Tensor>(t: T): T => t;
const plain = (t: Tensor) => ({
  dtype: t.dtype,
  shape: [...t.shape],
  data: Array.from(t.data as ArrayLike<number | bigint>),
});

const transports: [string, () => Transport][] = [
  [
    "Connect JSON over HTTP/1.1",
    () => createConnectTransport({ baseUrl: base, httpVersion: "1.1", useBinaryFormat: false }),
  ],
  ["gRPC over HTTP/2", () => createGrpcTransport({ baseUrl: base })],
  ["gRPC-Web over HTTP/1.1", () => createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" })],
];

describe.each(transports)("every field type round-trips (%s)", (_name, transport) => {
  let client: InferenceServiceClient;
  beforeAll(() => {
    client = createInferenceServiceClient(transport());
  });

  it("string, number, bigint, boolean, Uint8Array; a returned object", async () => {
    const blob = new Uint8Array([0, 1, 254, 255]);
    expect(await client.scalars("héllo ✓", -3.25, -(2n ** 62n), true, blob)).toEqual({
      text: "héllo ✓",
      score: -3.25,
      count: -(2n ** 62n),
      flag: true,
      blob,
    });
    expect(await client.scalars("", 0, 0n, false, new Uint8Array())).toEqual({
      text: "",
      score: 0,
      count: 0n,
      flag: false,
      blob: new Uint8Array(),
    });
  });

  it("Int32, Uint32, Float32, Float64, Int64, Uint64 at their limits; a destructured parameter", async () => {
    const exact = { i32: -(2 ** 31), u32: 2 ** 32 - 1, f32: 1.5, f64: 0.1, i64: -(2n ** 63n), u64: 2n ** 64n - 1n };
    expect(await client.exact(exact)).toEqual(exact);
  });

  it("arrays of strings, floats and messages", async () => {
    const points = [
      { x: 1, y: 2 },
      { x: -3, y: 4.5, label: "p" },
    ];
    expect(await client.lists(["a", "", "c"], [0.5, -2], points)).toEqual({
      words: ["a", "", "c"],
      values: [0.5, -2],
      points,
    });
    expect(await client.lists([], [], [])).toEqual({ words: [], values: [], points: [] });
  });

  it("string-literal unions, numeric and string TypeScript enums, inline unions, arrays of enums", async () => {
    const palette: Color[] = ["blue", "red", "red"];
    expect(await client.enums("green", Level.High, Shape.Square, "exact", palette)).toEqual({
      color: "green",
      level: Level.High,
      shape: Shape.Square,
      mode: "exact",
      palette,
    });
    // The first member of a TypeScript enum (value 0) is not the proto zero value.
    expect((await client.enums("red", Level.Low, Shape.Circle, "fast", [])).level).toBe(Level.Low);
  });

  it("optionals: absent stays absent, present round-trips (scalar, exact, message, enum, Date)", async () => {
    expect(await client.optionals()).toEqual({});
    const when = new Date("2024-02-29T12:34:56.789Z");
    expect(await client.optionals("n", 0, { x: 0, y: 0 }, "blue", when)).toEqual({
      name: "n",
      count: 0,
      point: { x: 0, y: 0 },
      color: "blue",
      when,
    });
  });

  it("Record<string, T> and Map<string, T> of scalars, messages and enums", async () => {
    const labels = { a: "1", "b c": "2" };
    const scores = new Map([
      ["x", 1.5],
      ["y", -1],
    ]);
    const points = { p: { x: 1, y: 2, label: "l" } };
    const colors = new Map<string, Color>([["sky", "blue"]]);
    const res = await client.maps(labels, scores, points, colors);
    expect(res.labels).toEqual(labels);
    expect(res.scores).toBeInstanceOf(Map);
    expect([...res.scores]).toEqual([...scores]);
    expect(res.points).toEqual(points);
    expect([...res.colors]).toEqual([...colors]);
  });

  it("generic instances and inline object types", async () => {
    const page = { items: [{ x: 1, y: 1 }], next: "2" };
    const box = { min: { x: 0, y: 0 }, max: { x: 9, y: 9, label: "far" } };
    expect(await client.nested(page, box)).toEqual({ page, box });
    expect(await client.nested({ items: [] }, box)).toEqual({ page: { items: [] }, box });
  });

  it("Date and Date[] as google.protobuf.Timestamp, to the millisecond", async () => {
    const at = new Date(Date.UTC(1969, 6, 20, 20, 17, 40, 123));
    const history = [new Date(0), new Date("9999-12-31T23:59:59.999Z")];
    expect(await client.dates(at, history)).toEqual({ at, history });
  });

  it("tensors alone, in arrays, in maps, optional", async () => {
    const image = tensor<Tensor<"uint8", ["batch", 2, 2]>>({
      dtype: "uint8",
      shape: [1, 2, 2],
      data: new Uint8Array([1, 2, 3, 250]),
    });
    const masks = [
      tensor<Tensor<"float32", ["n"]>>({ dtype: "float32", shape: [3], data: new Float32Array([0.5, -1, 2]) }),
    ];
    const named = {
      a: tensor<Tensor<"int64", [2]>>({ dtype: "int64", shape: [2], data: new BigInt64Array([-1n, 2n ** 62n]) }),
    };
    const extra = tensor<Tensor<"float64", [1]>>({ dtype: "float64", shape: [1], data: new Float64Array([Math.PI]) });
    const res = await client.tensors(image, masks, named, extra);
    expect(plain(res.image)).toEqual(plain(image));
    expect(res.masks.map(plain)).toEqual(masks.map(plain));
    expect(plain(res.named.a!)).toEqual(plain(named.a));
    expect(plain(res.extra!)).toEqual(plain(extra));
    expect((await client.tensors(image, [], {})).extra).toBeUndefined();
  });

  it("a destructured parameter with a default, options from another file, a returned object", async () => {
    const res = await client.search({ text: "q", filters: { a: "1", b: "2", c: "3", d: "4" }, userID: "u7" });
    expect(res.total).toBe(3);
    expect(res.hits).toEqual([
      { id: "u7:a=1", score: 1, color: "red" },
      { id: "u7:b=2", score: 0.5, color: "blue" },
      { id: "u7:c=3", score: expect.closeTo(1 / 3, 6) as number, color: "red" },
    ]);
    expect(res.echo).toEqual({ items: ["q"], next: "u7" });
    expect((await client.search({ text: "q", topK: 1, filters: { a: "1", b: "2" }, userID: "u" })).total).toBe(1);
  });

  it("a stream of objects", async () => {
    const got = [];
    for await (const m of client.count(3)) got.push(m);
    expect(got).toEqual([
      { n: 1, square: 1n },
      { n: 2, square: 4n },
      { n: 3, square: 9n },
    ]);
  });

  it("a plain value result, and a function registered from another file", async () => {
    expect(await client.square(-4)).toBe(16);
    expect(await client.shout("hi")).toBe("HI");
  });
});

describe("what the conversions refuse", () => {
  it("a missing or unknown enum value is INVALID_ARGUMENT naming the field", async () => {
    const raw = createClient(InferenceService, createGrpcTransport({ baseUrl: base }));
    const call = (init: Record<string, unknown>) => raw.predictEnums(create(PredictEnumsRequestSchema, init as never));
    await expect(call({ level: 1, shape: 1, mode: 1 })).rejects.toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: "color: missing: no value was sent",
    });
    await expect(call({ color: 9, level: 1, shape: 1, mode: 1 })).rejects.toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: "color: unknown value 9 of types.v1.Color",
    });
    await expect(call({ color: 1, level: 1, shape: 1, mode: 1, palette: [1, 0] })).rejects.toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: "palette[1]: missing: no value was sent",
    });
  });

  it("a value outside the enum is refused by the client before anything is sent", async () => {
    const client = createInferenceServiceClient(createGrpcTransport({ baseUrl: base }));
    await expect(client.enums("purple" as Color, Level.Low, Shape.Circle, "fast", [])).rejects.toThrow(
      'color: "purple" is not one of "red", "green", "blue"',
    );
  });

  it("a tensor unlike its declaration is refused by the client too, naming its path", async () => {
    const client = createInferenceServiceClient(createConnectTransport({ baseUrl: base, httpVersion: "1.1" }));
    const image: Tensor<"uint8", ["batch", 2, 2]> = { dtype: "uint8", shape: [1, 2, 2], data: new Uint8Array(4) };
    const bad = { k: { dtype: "int32", shape: [2], data: new Int32Array(2) } } as unknown as Record<
      string,
      Tensor<"int64", [2]>
    >;
    const err = await client.tensors(image, [], bad).catch((e: unknown) => e);
    // The client checks what it sends, too.
    expect(String(err)).toContain('named["k"]: dtype is int32, expected int64');
  });
});

describe("on the wire", () => {
  it("Connect JSON uses the TypeScript names (json_name), enum names and map objects", async () => {
    const res = await fetch(`${base}/types.v1.InferenceService/PredictSearch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "q", topK: 1, filters: { a: "1" }, userID: "me" }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      hits: [{ id: "me:a=1", score: 1, color: "COLOR_RED" }],
      total: 1,
      echo: { items: ["q"], next: "me" },
    });
  });

  it("a pure model (@pure) is NO_SIDE_EFFECTS, so it answers Connect's HTTP GET; others do not", async () => {
    expect(InferenceService.method.predictSquare.idempotency).toBe(MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS);
    expect(InferenceService.method.predictShout.idempotency).toBe(MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN);
    const get = (method: string, message: unknown) =>
      fetch(
        `${base}/types.v1.InferenceService/${method}?connect=v1&encoding=json&message=${encodeURIComponent(JSON.stringify(message))}`,
      );
    const square = await get("PredictSquare", { x: 3 });
    expect(square.status).toBe(200);
    expect(await square.json()).toEqual({ result: 9 });
    expect((await get("PredictShout", { text: "no" })).status).toBe(405);
    // The generated client, told to use GET, reaches it too.
    const client = createInferenceServiceClient(
      createConnectTransport({ baseUrl: base, httpVersion: "1.1", useHttpGet: true }),
    );
    expect(await client.square(5)).toBe(25);
  });

  it("a list-batched model answers each request of a batch, failing only the one whose result is an Error", async () => {
    const client = createInferenceServiceClient(createGrpcTransport({ baseUrl: base }));
    const calls = ["a", "bb", "", "dddd"].map((text, i) =>
      client.measure(text, i + 1).then(
        (r) => r,
        (e: unknown) => ConnectError.from(e),
      ),
    );
    const results = await Promise.all(calls);
    expect(results[0]).toEqual({ length: 1, scaled: 1 });
    expect(results[1]).toEqual({ length: 2, scaled: 4 });
    expect(results[2]).toMatchObject({ code: Code.Internal, rawMessage: 'model "measure" failed: empty text' });
    expect(results[3]).toEqual({ length: 4, scaled: 16 });
  });
});
