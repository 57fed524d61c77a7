// The engine benchmark's model: examples/mlp (the 15 MB MLP of @blazerpc/onnx/testing,
// served by BlazeRPC from its compiled dist/), the request every client sends, and the
// answer a correct server gives.
"use strict";
const path = require("node:path");
const { createRequire } = require("node:module");
const { ROOT } = require("../harness.cjs");

const MLP_DIR = path.join(ROOT, "examples", "mlp");
const MLP_DIST = path.join(MLP_DIR, "dist");
const RPC_PATH = "/mlp.v1.InferenceService/PredictMlp";
const WIDTH = 512;

/** Resolves packages as examples/mlp does (the workspace builds it links to). */
const mlpRequire = createRequire(path.join(MLP_DIR, "package.json"));

function need(file) {
  try {
    return require(path.join(MLP_DIST, file));
  } catch (err) {
    throw new Error(`examples/mlp is not built (${err.message}); run \`npm run bench:engine\`, which builds first`);
  }
}

/** examples/mlp/models.js: reads its MLP_* environment when first required. */
const loadModels = () => need("models.js");
const loadPb = () => need(path.join("gen", "mlp", "v1", "mlp_pb.js"));

/** One deterministic input row (the same for every request). */
function sampleRow() {
  const { seededFloat32 } = mlpRequire("@blazerpc/onnx/testing");
  return seededFloat32(WIDTH, 7);
}

/** Wraps one message in gRPC's length-prefixed framing. */
function grpcFrame(message) {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/**
 * The request (one row) as protobuf bytes and as a gRPC frame, the offset of the row's
 * float data inside the frame (so an open-loop client can stamp each request), and the
 * expected output row from the plain TypeScript MLP.
 */
function fixture() {
  const { create, toBinary } = mlpRequire("@bufbuild/protobuf");
  const { PredictMlpRequestSchema } = loadPb();
  const row = sampleRow();
  const data = new Uint8Array(row.buffer);
  const request = toBinary(
    PredictMlpRequestSchema,
    create(PredictMlpRequestSchema, { input: { shape: [1n, BigInt(WIDTH)], dtype: "float32", data } }),
  );
  const frame = grpcFrame(request);
  const dataOffset = Buffer.from(frame).indexOf(Buffer.from(data));
  if (dataOffset < 0) throw new Error("the row's bytes are not in the request frame");
  // The answer: a PredictMlpResponse with WIDTH floats, framed (the size a response must have).
  const responseFrameBytes = 5 + request.length;
  return { row, request, frame, dataOffset, responseFrameBytes };
}

/** The expected output of `row` (float64 reference). */
function expectedOutput(row) {
  const { runMlpReference } = mlpRequire("@blazerpc/onnx/testing");
  return runMlpReference(loadModels().getMlpFixture(), row, 1);
}

/**
 * One real call through @grpc/grpc-js with the very bytes h2load sends: grpc-status OK and
 * the output within 1e-5 of the reference MLP.
 */
async function verifyCall(label, port, fx, want) {
  const grpc = require("@grpc/grpc-js");
  const { fromBinary } = mlpRequire("@bufbuild/protobuf");
  const { PredictMlpResponseSchema } = loadPb();
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const res = await new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        RPC_PATH,
        () => Buffer.from(fx.request),
        (buf) => fromBinary(PredictMlpResponseSchema, buf),
        null,
        { deadline: Date.now() + 10_000 },
        (err, value) => (err ? reject(err) : resolve(value)),
      );
    });
    const t = res.result;
    if (
      t === undefined ||
      t.dtype !== "float32" ||
      t.shape.join(",") !== `1,${WIDTH}` ||
      t.data.byteLength !== WIDTH * 4
    ) {
      throw new Error(`unexpected tensor: shape ${t?.shape}, dtype ${t?.dtype}`);
    }
    const got = new Float32Array(new Uint8Array(t.data).buffer);
    let maxDiff = 0;
    for (let i = 0; i < WIDTH; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    if (!(maxDiff < 1e-5)) throw new Error(`output differs from the reference MLP by ${maxDiff}`);
    return maxDiff;
  } catch (err) {
    throw new Error(`${label}: the verification call failed: ${err.message}`);
  } finally {
    client.close();
  }
}

module.exports = {
  MLP_DIR,
  MLP_DIST,
  RPC_PATH,
  WIDTH,
  mlpRequire,
  loadModels,
  loadPb,
  sampleRow,
  fixture,
  expectedOutput,
  verifyCall,
};
