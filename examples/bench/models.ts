// The gRPC benchmark's payload models (bench/run.cjs, docs/benchmarks.md): no arithmetic,
// so what is measured is the server moving bytes — a large tensor in and out, and many
// small messages down one stream. proto/ and gen/ are generated (`blaze generate models.ts`).
import { createApp, type Float32, type Int32, type Tensor } from "@blazerpc/runtime";

/** The app: its name is the schema's package (`bench.v1`). */
export const app = createApp({ name: "bench" });

/** Sends the tensor back unchanged (the benchmark sends 1 MiB: shape [1, 262144]). */
app.model("echo", async (x: Tensor<"float32", ["batch", "n"]>): Promise<Tensor<"float32", ["batch", "n"]>> => x);

/** Streams `n` small messages, one per tick, with no waiting in between. */
app.model("ticks", { streaming: true }, async function* (n: number): AsyncGenerator<{ index: Int32; value: Float32 }> {
  for (let i = 0; i < n; i++) yield { index: i, value: i / 2 };
});
