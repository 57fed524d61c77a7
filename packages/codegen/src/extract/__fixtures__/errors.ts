// Fixture for extract.spec.ts: every diagnostic extract reports, one or more per model,
// all in one file so that one run must report every one of them. Not type-checked (it is
// excluded from every tsconfig); only read by ts-morph.
import { createApp, type Tensor } from "@blazerpc/runtime";

export const app = createApp({ name: "broken" });
const dynamicName = "dynamic";

app.model("ok", async (text: string): Promise<string> => text);
app.model("when", async (at: Date): Promise<string> => at.toISOString());
app.model("obj", async (point: { x: number; y: number }): Promise<number> => point.x);
app.model("either", async (value: string | number): Promise<string> => String(value));
app.model("grid", async (rows: number[][]): Promise<number> => rows.length);
app.model(dynamicName, async (text: string): Promise<string> => text);
app.model("bad-name", async (text: string): Promise<string> => text);
app.model("untyped", async (text): Promise<string> => text);
app.model("destructured", async ({ text }: { text: string }): Promise<string> => text);
app.model("optional", async (text?: string): Promise<string> => text ?? "");
app.model("defaulted", async (text: string = "x"): Promise<string> => text);
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
app.model("two_errors", async (when: Date, grid: string[][]): Promise<object> => ({ when, grid }));
app.model("versioned", { version: 2 }, async (text: string): Promise<string> => text);
app.model("not_a_function", 42);
app.model("textEmbed", async (text: string): Promise<string> => text);
app.model("text_embed", async (text: string): Promise<string> => text);
app.model("same_field", async (maxTokens: number, max_tokens: number): Promise<number> => maxTokens + max_tokens);
app.model("unnamed_field", async (_: string): Promise<string> => _);

const other = createApp({ name: "other" });
other.model("elsewhere", async (text: string): Promise<string> => text);

const unnamed = createApp({ name: String(Date.now()) });
unnamed.model("anonymous", async (text: string): Promise<string> => text);
