// The server under test: BlazeRPC's one-port server with an example's app and its generated
// binding, as examples/iris/server.ts builds it (from the compiled dist/).
//
//   node bench/servers/blazerpc.cjs [iris|bench] [--no-fast-path] [--no-batching]
//
// iris (default): examples/iris; bench: examples/bench (echo, ticks). --no-fast-path:
// `createServer({ fastPath: false })`, every protocol through connect-node. --no-batching:
// the app's models registered again, as they are but without their `batch` options.
"use strict";
const path = require("node:path");
const { createRequire } = require("node:module");
const { ROOT, serveChild } = require("../iris.cjs");

const APP = process.argv[2] === "bench" ? "bench" : "iris";
const FAST_PATH = !process.argv.includes("--no-fast-path");
const BATCHING = !process.argv.includes("--no-batching");

serveChild(`blazerpc ${APP}${FAST_PATH ? "" : " (no fast path)"}${BATCHING ? "" : " (no batching)"}`, async () => {
  const dir = path.join(ROOT, "examples", APP);
  // Resolves @blazerpc/runtime the way the example itself does: the workspace build it links to.
  const { createServer, createApp } = createRequire(path.join(dir, "package.json"))("@blazerpc/runtime");
  let { app } = require(path.join(dir, "dist", "models.js"));
  if (!BATCHING) {
    // The same models, through the public API, without `batch`: one model call per request.
    const unbatched = createApp({ name: app.name });
    for (const m of app.models) unbatched.model(m.name, { ...m.options, batch: undefined }, m.fn);
    app = unbatched;
  }
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
