// The floor: a bare node:http2 server (the `stream` event, not the compatibility
// request/response API) that reads each request body and answers precomputed gRPC bytes —
// no protobuf decoding or encoding, no validation, no model: what HTTP/2 itself costs in
// Node.js. Response headers, then the message frame(s), then trailers with grpc-status 0.
//
//   node bench/servers/raw-http2.cjs [iris|bench]
//
// iris (default): PredictIris answers the reference response. bench: PredictEcho sends the
// request's bytes back (its response message has the very bytes of the request: both are
// a TensorProto in field 1); PredictTicks answers the reference stream of TICKS messages,
// one write per message, whatever n the request asks for.
//
// Like BlazeRPC by default, each connection's receive window is raised to 16 MiB (Node's
// default: 64 KiB) as soon as the session's settings are in place; like grpc-js, the
// session memory cap is lifted (see below).
"use strict";
const http2 = require("node:http2");
const { RPC_PATH, fixture, grpcFrame, serveChild } = require("../iris.cjs");
const { ECHO_PATH, TICKS_PATH, benchFixture } = require("../payloads.cjs");

const APP = process.argv[2] === "bench" ? "bench" : "iris";
const CONNECTION_WINDOW = 16 * 1024 * 1024;

const RESPONSE_HEADERS = { ":status": 200, "content-type": "application/grpc" };
const TRAILERS = { "grpc-status": "0" };
const UNIMPLEMENTED = { ":status": 200, "content-type": "application/grpc", "grpc-status": "12" };

/** Headers, `frames` (one write each), trailers. */
function respond(stream, frames) {
  if (stream.destroyed || stream.closed) return;
  stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
  stream.once("wantTrailers", () => stream.sendTrailers(TRAILERS));
  const last = frames.length - 1;
  for (let i = 0; i < last; i++) stream.write(frames[i]);
  stream.end(frames[last]);
}

serveChild(`raw-http2 ${APP}`, async () => {
  /** path → frames to answer; null: echo the request body. */
  const answers = new Map();
  if (APP === "iris") {
    answers.set(RPC_PATH, [grpcFrame(fixture().response)]);
  } else {
    const fx = benchFixture();
    answers.set(ECHO_PATH, null);
    answers.set(TICKS_PATH, fx.tickFrames);
  }

  // As grpc-js does: Node.js refuses new streams (RST_STREAM ENHANCE_YOUR_CALM) once a
  // session holds more than maxSessionMemory (default 10 MB), which 16 × 1 MiB echoes
  // in flight exceed.
  const server = http2.createServer({ maxSessionMemory: Number.MAX_SAFE_INTEGER });
  const sessions = new Set();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    session.once("localSettings", () => {
      if (!session.destroyed) session.setLocalWindowSize(CONNECTION_WINDOW);
    });
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {}); // a reset stream is the client's business
    const frames = answers.get(headers[":path"]);
    if (frames === undefined) {
      stream.respond(UNIMPLEMENTED, { endStream: true });
      stream.resume();
      return;
    }
    if (frames === null) {
      const chunks = [];
      stream.on("data", (chunk) => chunks.push(chunk));
      stream.once("end", () => respond(stream, chunks));
    } else {
      stream.on("data", () => {});
      stream.once("end", () => respond(stream, frames));
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
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
