// The server under test: BlazeRPC's one-port server with the iris example's app and its
// generated binding, exactly as examples/iris/server.ts builds it (from the compiled dist/).
"use strict";
const path = require("node:path");
const { IRIS_DIST, irisRequire, serveChild } = require("../iris.cjs");

serveChild("blazerpc", async () => {
  const { createServer } = irisRequire("@blazerpc/runtime");
  const { app } = require(path.join(IRIS_DIST, "models.js"));
  const { InferenceServiceBinding } = require(path.join(IRIS_DIST, "gen", "iris", "v1", "iris_blaze.js"));
  const server = createServer({ app, services: [InferenceServiceBinding], host: "127.0.0.1", port: 0 });
  const { port } = await server.listen();
  return { port, close: () => server.close() };
});
