// The entry point (main.py in the reference): one server, one port. Compiled to
// dist/server.js and run with plain `node`; `blaze serve director.ts` serves the same app.
import { createServer, serverOptionsFromEnv, stopOnSignals } from "@blazerpc/runtime";
import { app } from "./director.js";

const server = createServer({
  app,
  // Every BLAZE_* setting (BLAZE_HOST, BLAZE_PORT, limits, timeouts, drain, auth, …), as `blaze serve` reads it.
  ...serverOptionsFromEnv(),
});
server.listen().then(
  () => console.log(`inference director listening on ${server.url()}`),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
// SIGINT/SIGTERM (and, under `npm start`, npm's exit) drain the server, then exit.
stopOnSignals(server);
