// Baseline: a bare @connectrpc/connect-node handler on a plain h2c server — the stack
// BlazeRPC is built on, without its protocol sniffing, dispatch, HTTP routes or bindings.
"use strict";
const http2 = require("node:http2");
const { connectNodeAdapter } = require("@connectrpc/connect-node");
const { ConnectError, Code } = require("@connectrpc/connect");
const { loadIrisPb, decodeFeatures, irisForward, resultInit, serveChild } = require("../iris.cjs");

serveChild("connect-node", async () => {
  const { InferenceService } = loadIrisPb();
  const handler = connectNodeAdapter({
    routes(router) {
      // Only the method being measured; connect answers the other one with UNIMPLEMENTED.
      router.service(InferenceService, {
        predictIris(req) {
          const features = decodeFeatures(req.features);
          if (features.error !== undefined) throw new ConnectError(features.error, Code.InvalidArgument);
          return resultInit(irisForward(features.data, features.rows), features.rows);
        },
      });
    },
  });
  const server = http2.createServer({}, handler);
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const sessions = new Set();
  server.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  return {
    port: server.address().port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.close();
      }),
  };
});
