// Fixture for extract.spec.ts: two model names that become one RPC. Read by ts-morph only.
import { createApp } from "@blazerpc/runtime";

export const app = createApp({ name: "names" });

app.model("score-reviews", async (text: string): Promise<number> => text.length);
app.model("score_reviews", async (text: string): Promise<number> => text.length);
