// The payload scenarios of the gRPC benchmark (bench/run.cjs) and their servers
// (servers/*.cjs): the examples/bench app — `echo`, a float32 tensor sent back unchanged, and
// `ticks`, a server stream of small messages — its built schemas, the requests every client
// sends and what a correct server answers.
"use strict";
const path = require("node:path");
const { ROOT, grpcFrame, create, toBinary } = require("./iris.cjs");

const BENCH_DIR = path.join(ROOT, "examples", "bench");
const BENCH_DIST = path.join(BENCH_DIR, "dist");
const ECHO_PATH = "/bench.v1.InferenceService/PredictEcho";
const TICKS_PATH = "/bench.v1.InferenceService/PredictTicks";

/** The echoed tensor: float32 [1, 262144], 1 MiB of data. */
const ECHO_FLOATS = 262_144;
/** Messages per `ticks` call. */
const TICKS = 100;

/** The generated protobuf-es schemas of examples/bench (compiled by `tsc -b`). */
function loadBenchPb() {
  try {
    return require(path.join(BENCH_DIST, "gen", "bench", "v1", "bench_pb.js"));
  } catch (err) {
    throw new Error(`examples/bench is not built (${err.message}); run \`npm run bench\`, which builds first`);
  }
}

/**
 * Decodes the echo request's `x` for the bare servers, with the checks the BlazeRPC binding
 * makes (dtype, rank 2, byte length = rows × columns × 4) and into a Float32Array as it
 * does (a view when aligned, else a copy). Returns `{ tensor }` or `{ error }`.
 */
function decodeEcho(t) {
  if (t === undefined) return { error: "x: missing" };
  if (t.dtype !== "float32") return { error: `x: dtype is ${t.dtype}, expected float32` };
  if (t.shape.length !== 2) return { error: "x: shape must be [batch, n]" };
  const count = Number(t.shape[0]) * Number(t.shape[1]);
  if (t.data.byteLength !== count * 4) return { error: `x: data is ${t.data.byteLength} bytes, expected ${count * 4}` };
  const data =
    t.data.byteOffset % 4 === 0
      ? new Float32Array(t.data.buffer, t.data.byteOffset, count)
      : new Float32Array(new Uint8Array(t.data).buffer, 0, count);
  return { tensor: { shape: t.shape, data } };
}

/** The echo response init for a decoded tensor (bytes are a view, no copy). */
function echoResultInit({ shape, data }) {
  return { result: { shape, dtype: "float32", data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) } };
}

/** The i-th message of a `ticks` stream, as examples/bench/models.ts yields it. */
function tickInit(i) {
  return { index: i, value: i / 2 };
}

/**
 * The requests every client sends: `echo` (the request message; its response message has
 * the same bytes: both are a TensorProto in field 1) and `ticks` (n = TICKS; the response
 * stream's messages, each as bytes).
 */
function benchFixture() {
  const pb = loadBenchPb();
  const floats = new Float32Array(ECHO_FLOATS);
  for (let i = 0; i < floats.length; i++) floats[i] = (i % 1000) / 8 - 60;
  const echoTensor = { shape: [1n, BigInt(ECHO_FLOATS)], dtype: "float32", data: new Uint8Array(floats.buffer) };
  const echoRequest = toBinary(pb.PredictEchoRequestSchema, create(pb.PredictEchoRequestSchema, { x: echoTensor }));
  const echoResponse = toBinary(
    pb.PredictEchoResponseSchema,
    create(pb.PredictEchoResponseSchema, { result: echoTensor }),
  );
  const ticksRequest = toBinary(pb.PredictTicksRequestSchema, create(pb.PredictTicksRequestSchema, { n: TICKS }));
  const tickMessages = [];
  for (let i = 0; i < TICKS; i++) {
    tickMessages.push(toBinary(pb.PredictTicksResponseSchema, create(pb.PredictTicksResponseSchema, tickInit(i))));
  }
  return {
    echoRequest,
    echoResponse,
    echoData: new Uint8Array(floats.buffer),
    ticksRequest,
    tickMessages,
    /** DATA bytes of one whole `ticks` response: TICKS gRPC frames. */
    ticksResponseBytes: tickMessages.reduce((n, m) => n + 5 + m.length, 0),
    /** Each message gRPC-framed: what the raw HTTP/2 server writes, one write per message. */
    tickFrames: tickMessages.map((m) => grpcFrame(m)),
  };
}

module.exports = {
  BENCH_DIR,
  BENCH_DIST,
  ECHO_PATH,
  TICKS_PATH,
  ECHO_FLOATS,
  TICKS,
  loadBenchPb,
  decodeEcho,
  echoResultInit,
  tickInit,
  benchFixture,
};
