// Every row of the type mapping (docs/codegen.md), one model per row. Each model sends its
// input back, so test/e2e/roundtrip.spec.ts can check that every field type survives the
// trip client → server → model → client unchanged. proto/ and gen/ are generated.
import { createApp, type Float32, type Int32, type Int64, type Tensor } from "@blazerpc/runtime";
import { measureOptions, searchOptions } from "./options.js";
import { shout } from "./shout.js";
import type { Color, Exact, Hit, Level, Page, Point, Query, Scalars, Shape } from "./types.js";

export const app = createApp({ name: "types" });

/**
 * string, number, bigint, boolean and Uint8Array as parameters; a returned object's
 * properties are the response's fields.
 *
 * @param text a string
 * @param score a double
 */
app.model(
  "scalars",
  async (text: string, score: number, count: bigint, flag: boolean, blob: Uint8Array): Promise<Scalars> => ({
    text,
    score,
    count,
    flag,
    blob,
  }),
);

/** The exact number types, as one destructured parameter. */
app.model("exact", async ({ i32, u32, f32, f64, i64, u64 }: Exact): Promise<Exact> => ({
  i32,
  u32,
  f32,
  f64,
  i64,
  u64,
}));

/** Arrays of scalars, of exact numbers and of objects; an inline returned object. */
app.model(
  "lists",
  async (
    words: string[],
    values: readonly Float32[],
    points: Point[],
  ): Promise<{ words: string[]; values: Float32[]; points: Point[] }> => ({
    words,
    values: [...values],
    points,
  }),
);

/** A string-literal union, TypeScript enums, and an inline union. */
app.model(
  "enums",
  async (
    color: Color,
    level: Level,
    shape: Shape,
    mode: "fast" | "exact",
    palette: Color[],
  ): Promise<{ color: Color; level: Level; shape: Shape; mode: "fast" | "exact"; palette: Color[] }> => ({
    color,
    level,
    shape,
    mode,
    palette,
  }),
);

/** Optional parameters and properties: proto3 optional. */
app.model(
  "optionals",
  async (
    name?: string,
    count?: Int32,
    point?: Point,
    color?: Color,
    when?: Date,
  ): Promise<{ name?: string; count?: Int32; point?: Point; color?: Color | undefined; when?: Date }> => ({
    ...(name !== undefined ? { name } : {}),
    ...(count !== undefined ? { count } : {}),
    ...(point !== undefined ? { point } : {}),
    color,
    ...(when !== undefined ? { when } : {}),
  }),
);

/** Record<string, T> and Map<string, T>: proto maps. */
app.model(
  "maps",
  async (
    labels: Record<string, string>,
    scores: Map<string, number>,
    points: Record<string, Point>,
    colors: Map<string, Color>,
  ): Promise<{
    labels: Record<string, string>;
    scores: Map<string, number>;
    points: Record<string, Point>;
    colors: Map<string, Color>;
  }> => ({
    labels,
    scores,
    points,
    colors,
  }),
);

/** A generic instantiated with a concrete type, and an inline object type. */
app.model(
  "nested",
  async (
    page: Page<Point>,
    box: { min: Point; max: Point },
  ): Promise<{ page: Page<Point>; box: { min: Point; max: Point } }> => ({ page, box }),
);

/** Date: google.protobuf.Timestamp. */
app.model("dates", async (at: Date, history: Date[]): Promise<{ at: Date; history: Date[] }> => ({ at, history }));

/** Tensors: alone, in arrays, in maps, optional. */
app.model(
  "tensors",
  async (
    image: Tensor<"uint8", ["batch", 2, 2]>,
    masks: Tensor<"float32", ["n"]>[],
    named: Record<string, Tensor<"int64", [2]>>,
    extra?: Tensor<"float64", [1]>,
  ): Promise<{
    image: Tensor<"uint8", ["batch", 2, 2]>;
    masks: Tensor<"float32", ["n"]>[];
    named: Record<string, Tensor<"int64", [2]>>;
    extra?: Tensor<"float64", [1]>;
  }> => ({
    image,
    masks,
    named,
    ...(extra !== undefined ? { extra } : {}),
  }),
);

/**
 * A destructured parameter (its properties are the request's fields), options declared in
 * another file, and a returned object.
 */
app.model(
  "search",
  searchOptions,
  async ({ text, topK = 3, filters, userID }: Query): Promise<{ hits: Hit[]; total: Int32; echo: Page<string> }> => {
    const hits: Hit[] = Object.entries(filters)
      .slice(0, topK)
      .map(([k, v], i) => ({ id: `${userID}:${k}=${v}`, score: 1 / (i + 1), color: i % 2 === 0 ? "red" : "blue" }));
    return { hits, total: hits.length, echo: { items: [text], next: userID } };
  },
);

/**
 * List batching: batch options and parameters that are not tensors, so the model is called
 * once per batch with every request's values (one array per parameter) and answers each
 * request (an Error fails that request only). The schema holds one request's values.
 */
app.model(
  "measure",
  measureOptions,
  async (texts: string[], scales: number[]): Promise<({ length: Int32; scaled: number } | Error)[]> =>
    texts.map((text, i) =>
      text === "" ? new Error("empty text") : { length: text.length, scaled: text.length * scales[i]! },
    ),
);

/** Counts to `to`: a stream of objects. */
app.model("count", { streaming: true }, async function* (to: Int32): AsyncGenerator<{ n: Int32; square: Int64 }> {
  for (let n = 1; n <= to; n++) yield { n, square: BigInt(n * n) };
});

/**
 * Squares a number. Pure: no side effects, so Connect clients may call it with HTTP GET.
 *
 * @pure
 */
app.model("square", async (/** The number to square. */ x: number): Promise<number> => x * x);

app.model("shout", shout);
