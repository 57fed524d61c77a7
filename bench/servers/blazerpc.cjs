// The server under test: BlazeRPC's one-port server with an example's app and its generated
// binding, as examples/iris/server.ts builds it (from the compiled dist/).
//
//   node bench/servers/blazerpc.cjs [iris|bench] [--no-fast-path]
//
// iris (default): examples/iris; bench: examples/bench (echo, ticks). --no-fast-path:
// `createServer({ fastPath: false })`, every protocol through connect-node.
"use strict";
const path = require("node:path");
const { createRequire } = require("node:module");
const { ROOT, serveChild } = require("../iris.cjs");

const APP = process.argv[2] === "bench" ? "bench" : "iris";
const FAST_PATH = !process.argv.includes("--no-fast-path");

serveChild(`blazerpc ${APP}${FAST_PATH ? "" : " (no fast path)"}`, async () => {
  const dir = path.join(ROOT, "examples", APP);
  // Resolves @blazerpc/runtime the way the example itself does: the workspace build it links to.
  const { createServer } = createRequire(path.join(dir, "package.json"))("@blazerpc/runtime");
  const { app } = require(path.join(dir, "dist", "models.js"));
  const { InferenceServiceBinding } = require(path.join(dir, "dist", "gen", APP, "v1", `${APP}_blaze.js`));
  const server = createServer({
    app,
    services: [InferenceServiceBinding],
    host: "127.0.0.1",
    port: 0,
    fastPath: FAST_PATH,
  });
  const { port } = await server.listen();
  return { port, close: () => server.close() };
});
