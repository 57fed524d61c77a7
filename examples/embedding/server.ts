// The production entry: compiled to dist/server.js and run with plain `node`
// (no code generation, no TypeScript loader at run time).
import { createServer, stopOnSignals } from "@blazerpc/runtime";
import { InferenceServiceBinding } from "./gen/embedding/v1/embedding_blaze.js";
import { app } from "./models.js";

const server = createServer({
  app,
  services: [InferenceServiceBinding],
  host: process.env.BLAZE_HOST ?? "127.0.0.1",
  port: Number(process.env.BLAZE_PORT ?? 50051),
});
server.listen().then(() => console.log(`embedding listening on ${server.url()}`));
// SIGINT/SIGTERM (and, under `npm start`, npm's exit) drain the server, then exit.
stopOnSignals(server);
