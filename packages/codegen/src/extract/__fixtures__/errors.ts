// Fixture for extract.spec.ts and golden.spec.ts: every diagnostic extract reports, one or
// more per model, all in one file (and errors-types.ts) so that one run must report every
// one of them. Not type-checked (it is excluded from every tsconfig); only read by ts-morph.
import { createApp, type Tensor } from "@blazerpc/runtime";
import type { Broken, Point as OtherPoint, Tree, Wrap } from "./errors-types.js";

export const app = createApp({ name: "broken" });
const dynamicName = "dynamic";
class Thing { constructor(public x: number) {} }
interface Point { y: number }
interface PredictOkRequest { text: string }
declare function loadOptions(): { version: string };
interface Mixed { [key: string]: string; name: string }
interface Clash { userID: string; user_id: string }
interface Odd { "content-type": string }
enum Computed { A = "a".length }
function overloaded(x: string): Promise<string>;
function overloaded(x: number): Promise<string>;
function overloaded(x: unknown): Promise<string> { return Promise.resolve(String(x)); }

app.model("ok", async (text: string): Promise<string> => text);
app.model("any_param", async (value: any): Promise<string> => String(value));
app.model("unknown_param", async (value: unknown): Promise<string> => String(value));
app.model("function_param", async (callback: (x: number) => string): Promise<string> => callback(1));
app.model("either", async (value: string | number): Promise<string> => String(value));
app.model("nullable", async (text: string | null): Promise<string> => text ?? "");
app.model("numbers", async (level: 1 | 2 | 3): Promise<number> => level);
app.model("variants", async (shape: { circle: number } | { square: number }): Promise<number> => 0);
app.model("tuple", async (pair: [number, string]): Promise<string> => pair[1]);
app.model("grid", async (rows: number[][]): Promise<number> => rows.length);
app.model("holes", async (items: (string | undefined)[]): Promise<number> => items.length);
app.model("number_keys", async (m: Record<number, string>): Promise<number> => 0);
app.model("map_keys", async (m: Map<number, string>): Promise<number> => m.size);
app.model("map_holes", async (m: Record<string, string | undefined>): Promise<number> => 0);
app.model("list_of_maps", async (ms: Record<string, string>[]): Promise<number> => ms.length);
app.model("mixed", async (m: Mixed): Promise<string> => m.name);
app.model("void_param", async (x: void): Promise<string> => String(x));
app.model("unnamed_generic", async (w: Wrap<{ a: string }>): Promise<string> => w.value.a);
app.model("overloaded", overloaded);
app.model("never_param", async (x: never): Promise<string> => x);
app.model("null_param", async (x: null): Promise<string> => String(x));
app.model("weak_ref", async (r: WeakRef<object>): Promise<string> => String(r));
app.model("field_clash", async (c: Clash): Promise<string> => c.userID);
app.model("odd_name", async (o: Odd): Promise<string> => o["content-type"]);
app.model("no_properties", async ({ length }: string): Promise<number> => length);
app.model("array_pattern", async ([first]: string[], n: number): Promise<string> => first ?? String(n));
app.model("computed_enum", async (c: Computed): Promise<number> => c);
app.model("digit_values", async (d: "2d" | "3d"): Promise<string> => d);
app.model("tagged", async (x: string & { tag: true }): Promise<string> => x);
app.model("batched_destructured", { batch: { maxBatchSize: 4, maxDelayMs: 1 } }, async ({ a }: { a: string }): Promise<string[]> => [a]);
app.model("map_of_lists", async (m: Record<string, string[]>): Promise<number> => 0);
app.model("recursive", async (tree: Tree): Promise<number> => tree.value);
app.model("instance", async (thing: Thing): Promise<number> => thing.x);
app.model("set", async (tags: Set<string>): Promise<number> => tags.size);
app.model("typed_array", async (xs: Float32Array): Promise<number> => xs.length);
app.model("promise_param", async (p: Promise<string>): Promise<string> => p);
app.model("object_param", async (o: object): Promise<string> => String(o));
app.model("unresolved", async (data: NoSuchType): Promise<number> => data.length);
app.model("broken_types", async (b: Broken): Promise<string> => b.name);
app.model("two_points", async (a: Point, b: OtherPoint): Promise<number> => a.y + b.x);
app.model("reserved_name", async (r: PredictOkRequest): Promise<string> => r.text);
app.model("enum_clash", async (mode: "fast" | "Fast"): Promise<string> => mode);
app.model("enum_zero", async (mode: "unspecified" | "on"): Promise<string> => mode);
app.model("two_destructured", async ({ a }: { a: string }, b: string): Promise<string> => a + b);
app.model("generic", async <T>(x: T): Promise<string> => String(x));
app.model("dynamic_options", loadOptions(), async (text: string): Promise<string> => text);
app.model(dynamicName, async (text: string): Promise<string> => text);
app.model("bad/name", async (text: string): Promise<string> => text);
app.model("untyped", async (text): Promise<string> => text);
app.model("rest", async (...texts: string[]): Promise<string> => texts.join(""));
app.model("not_streaming", { streaming: true }, async (text: string): Promise<string> => text);
app.model("is_streaming", { streaming: false }, async function* (text: string): AsyncGenerator<string> { yield text; });
app.model("no_dtype", async (t: Tensor): Promise<string> => t.dtype);
app.model("no_shape", async (t: Tensor<"float32">): Promise<string> => t.dtype);
app.model("bad_dtype", async (t: Tensor<"float128", [2]>): Promise<string> => t.dtype);
app.model("bad_dim", async (t: Tensor<"float32", [number]>): Promise<string> => t.dtype);
app.model("nothing", async (text: string): Promise<void> => { void text; });
app.model("nothing_sync", (text: string): void => { void text; });
app.model("nothing_streamed", async function* (text: string): AsyncGenerator<void> { void text; });
app.model("no_return", async (text: string) => { void text; });
app.model("ok", async (again: string): Promise<string> => again);
app.model("two_errors", async (when: () => void, grid: string[][]): Promise<symbol> => Symbol());
app.model("versioned", { version: 2 }, async (text: string): Promise<string> => text);
app.model("not_a_function", 42);
app.model("batched_value", { batch: { maxBatchSize: 4, maxDelayMs: 1 } }, async (text: string): Promise<string[]> => [text]);
app.model("batched_result", { batch: { maxBatchSize: 4, maxDelayMs: 1 } }, async (texts: string[]): Promise<string> => texts.join(""));
app.model("batched_stream", { batch: { maxBatchSize: 4, maxDelayMs: 1 } }, async function* (t: Tensor<"float32", ["batch", 2]>): AsyncGenerator<string> { yield t.dtype; });
app.model("textEmbed", async (text: string): Promise<string> => text);
app.model("text_embed", async (text: string): Promise<string> => text);
app.model("same_field", async (maxTokens: number, max_tokens: number): Promise<number> => maxTokens + max_tokens);
app.model("unnamed_field", async (_: string): Promise<string> => _);

const other = createApp({ name: "other" });
other.model("elsewhere", async (text: string): Promise<string> => text);

const unnamed = createApp({ name: String(Date.now()) });
unnamed.model("anonymous", async (text: string): Promise<string> => text);
