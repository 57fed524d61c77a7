// The production entry: `npm run build` compiles it to dist/server.js, run with plain node
// (no code generation, no TypeScript at run time). `npm run dev` serves models.ts instead.
import { createServer, serverOptionsFromEnv, stopOnSignals } from "@blazerpc/runtime";
import { InferenceServiceBinding } from "./gen/demo/v1/demo_blaze.js";
import { app } from "./models.js";

const server = createServer({
  app,
  services: [InferenceServiceBinding],
  // Every BLAZE_* setting as `blaze serve` reads it (limits, timeouts, BLAZE_DRAIN_DELAY_MS, auth, …).
  ...serverOptionsFromEnv(),
  host: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 50051),
});
server.listen().then(() => console.log(`demo listening on ${server.url()}`));
// SIGINT/SIGTERM (and, under `npm start`, npm's exit) drain the server, then exit.
stopOnSignals(server);
