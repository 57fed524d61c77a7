// Baseline: a bare @connectrpc/connect-node handler on a plain Node.js server — the stack
// BlazeRPC is built on, without its protocol sniffing, dispatch, HTTP routes or bindings.
//
//   node bench/servers/connect-node.cjs [iris|bench] [--h1]
//
// iris (default): PredictIris; bench: PredictEcho and PredictTicks (examples/bench).
// --h1: `http.createServer` (HTTP/1.1, for Connect with JSON) instead of h2c.
"use strict";
const http = require("node:http");
const http2 = require("node:http2");
const { connectNodeAdapter } = require("@connectrpc/connect-node");
const { ConnectError, Code } = require("@connectrpc/connect");
const { loadIrisPb, decodeFeatures, irisForward, resultInit, serveChild } = require("../iris.cjs");
const { loadBenchPb, decodeEcho, echoResultInit, tickInit } = require("../payloads.cjs");

const APP = process.argv[2] === "bench" ? "bench" : "iris";
const H1 = process.argv.includes("--h1");

function routes(router) {
  if (APP === "iris") {
    // Only the method being measured; connect answers the other one with UNIMPLEMENTED.
    router.service(loadIrisPb().InferenceService, {
      predictIris(req) {
        const features = decodeFeatures(req.features);
        if (features.error !== undefined) throw new ConnectError(features.error, Code.InvalidArgument);
        return resultInit(irisForward(features.data, features.rows), features.rows);
      },
    });
  } else {
    router.service(loadBenchPb().InferenceService, {
      predictEcho(req) {
        const x = decodeEcho(req.x);
        if (x.error !== undefined) throw new ConnectError(x.error, Code.InvalidArgument);
        return echoResultInit(x.tensor);
      },
      async *predictTicks(req) {
        for (let i = 0; i < req.n; i++) yield tickInit(i);
      },
    });
  }
}

serveChild(`connect-node ${APP}${H1 ? " (HTTP/1.1)" : ""}`, async () => {
  const handler = connectNodeAdapter({ routes });
  const server = H1 ? http.createServer(handler) : http2.createServer({}, handler);
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
        if (H1) server.closeAllConnections();
      }),
  };
});
