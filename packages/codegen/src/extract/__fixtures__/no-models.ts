// Fixture for extract.spec.ts: an app with no models. The `model` call below is on an
// object that is not a BlazeRPC app, so extract must not count it.
import { createApp } from "@blazerpc/runtime";

export const app = createApp({ name: "empty" });

const registry = { model: (name: string, fn: (x: string) => string) => fn(name) };
registry.model("lookalike", (x: string): string => x);
