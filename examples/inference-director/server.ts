// The entry point (main.py in the reference): one server, one port. Compiled to
// dist/server.js and run with plain `node`; `blaze serve director.ts` serves the same app.
import { createServer, stopOnSignals } from "@blazerpc/runtime";
import { app } from "./director.js";

const server = createServer({
  app,
  host: process.env.BLAZE_HOST ?? "127.0.0.1",
  port: Number(process.env.BLAZE_PORT ?? 50051),
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
