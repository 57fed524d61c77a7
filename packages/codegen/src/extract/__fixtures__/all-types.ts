// Fixture for extract.spec.ts and the printer / plugin specs: one model per supported shape
// of signature. Never run; only read by ts-morph.
import { createApp, type Tensor } from "@blazerpc/runtime";

export const app = createApp({ name: "all_types" });

/**
 * Every scalar, unary, with a version.
 * Second line of the doc.
 *
 * @param text becomes the comment of field text
 */
app.model("scalars", { version: "1.2.0" }, async (text: string, score: number, count: bigint, flag: boolean, blob: Uint8Array): Promise<string> => {
  return `${text}${score}${count}${flag}${blob.length}`;
});

/** Arrays of scalars; returns synchronously. */
app.model("arrays", (words: string[], values: readonly number[], flags: boolean[], ids: bigint[], blobs: Uint8Array[]): number[] => {
  return values.map((v, i) => v + words.length + flags.length + ids.length + (blobs[i]?.length ?? 0));
});

app.model(
  "tensors",
  async (
    image: Tensor<"uint8", ["batch", 224, 224, 3]>,
    masks: Tensor<"float32", ["batch", "n"]>[],
  ): Promise<Tensor<"float32", ["batch", 10]>[]> => {
    void image;
    void masks;
    return [];
  },
);

/** Generate tokens from a prompt. */
app.model("generate", { streaming: true }, async function* (prompt: string, maxTokens: number): AsyncGenerator<string> {
  for (let i = 0; i < maxTokens; i++) yield prompt;
});

function frames(count: bigint): AsyncIterable<Tensor<"int64", [2]>> {
  void count;
  return (async function* () {})();
}

/** Declared as a function: its doc comes from the declaration. */
function isPositive(x: number): boolean {
  return x > 0;
}

app.model("frames", frames);
app.model("is_positive", isPositive);
app.model("raw", async (blob: Uint8Array): Promise<Uint8Array> => blob);
app.model("counter", async (): Promise<bigint> => 1n);

type Embedding = Tensor<"float16", readonly [768]>;

/** Exported: the doc is on the variable statement. */
export const embed = app.model("embed", (texts: string[]): Embedding[] => texts.map(() => ({ dtype: "float16", shape: [768], data: new Uint16Array(768) })));

app.model("lines", (text: string): AsyncIterableIterator<string> => (async function* () { yield* text.split("\n"); })());
