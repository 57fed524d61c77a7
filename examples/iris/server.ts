// The production entry: compiled to dist/server.js and run with plain `node`
// (no code generation, no TypeScript loader at run time).
import { createServer, serverOptionsFromEnv, stopOnSignals } from "@blazerpc/runtime";
import { InferenceServiceBinding } from "./gen/iris/v1/iris_blaze.js";
import { app } from "./models.js";

const server = createServer({
  app,
  services: [InferenceServiceBinding],
  // Every BLAZE_* setting (BLAZE_HOST, BLAZE_PORT, limits, timeouts, drain, auth, …), as `blaze serve` reads it.
  ...serverOptionsFromEnv(),
});
server.listen().then(() => console.log(`iris listening on ${server.url()}`));
// SIGINT/SIGTERM (and, under `npm start`, npm's exit) drain the server, then exit.
stopOnSignals(server);
