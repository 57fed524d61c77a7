// Fixture for extract.spec.ts: model names as users write them elsewhere (letters, digits,
// "-", "_", "."), and two of them that become one RPC. Read by ts-morph only.
import { createApp } from "@blazerpc/runtime";

export const app = createApp({ name: "names" });

app.model("score-reviews", async (text: string): Promise<number> => text.length);
app.model("sklearn.iris", async (x: number): Promise<number> => x);
app.model("text-embedding-3", async (text: string): Promise<string> => text);
app.model("3d-unet", async (x: number): Promise<number> => x);
