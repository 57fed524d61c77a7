// Fixture for extract.spec.ts: an app of code-first RPCs alone (no app.model), which is an
// app with a schema like any other.
import { createApp } from "@blazerpc/runtime";

export const app = createApp({ name: "rpc-only" });

app.rpc("Clock.Now", async (): Promise<Date> => new Date());
