// Shared by the benchmark's driver (run.cjs) and its three servers (servers/*.cjs): where the
// built iris example lives, the iris math, the request every client sends, and the small
// protocol by which a server child tells the driver its port.
"use strict";
const path = require("node:path");
const { createRequire } = require("node:module");
const { create, toBinary, fromBinary } = require("@bufbuild/protobuf");

const ROOT = path.resolve(__dirname, "..");
const IRIS_DIR = path.join(ROOT, "examples", "iris");
const IRIS_DIST = path.join(IRIS_DIR, "dist");
const RPC_PATH = "/iris.v1.InferenceService/PredictIris";

/**
 * Resolves packages the way examples/iris itself does, so @blazerpc/runtime is the
 * workspace build that the example links to, not whatever else might be hoisted.
 */
const irisRequire = createRequire(path.join(IRIS_DIR, "package.json"));

/** The generated protobuf-es schemas of the iris example (compiled by `tsc -b`). */
function loadIrisPb() {
  try {
    return require(path.join(IRIS_DIST, "gen", "iris", "v1", "iris_pb.js"));
  } catch (err) {
    throw new Error(`examples/iris is not built (${err.message}); run \`npm run bench\`, which builds first`);
  }
}

// A copy of the linear layer in examples/iris/models.ts, and below the same arithmetic
// written the same way (map/reduce, Math.max spread), so that the bare servers do exactly
// the work the BlazeRPC model does and the outputs can be compared bit for bit.
const WEIGHTS = [
  [0.42, 1.37, -2.21, -0.97],
  [0.53, -0.32, -0.2, -0.94],
  [-1.07, -1.05, 2.41, 1.91],
];
const BIAS = [0.26, 1.08, -1.34];

/** Linear 4→3 + softmax over `rows` rows of `features`; returns rows×3 probabilities. */
function irisForward(features, rows) {
  const out = new Float32Array(rows * 3);
  for (let r = 0; r < rows; r++) {
    const logits = WEIGHTS.map((w, c) => BIAS[c] + w.reduce((s, wi, i) => s + wi * features[r * 4 + i], 0));
    const max = Math.max(...logits);
    const exps = logits.map((l) => Math.exp(l - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    exps.forEach((e, c) => (out[r * 3 + c] = e / sum));
  }
  return out;
}

/**
 * Decodes the `features` TensorProto for the bare servers, with the checks the BlazeRPC
 * binding makes (dtype, rank, width 4, byte length), so neither side skips validation.
 * Returns `{ rows, data }`, or `{ error }` instead of throwing: each server maps that to
 * its own INVALID_ARGUMENT.
 */
function decodeFeatures(t) {
  if (t === undefined) return { error: "features: missing" };
  if (t.dtype !== "float32") return { error: `features: dtype is ${t.dtype}, expected float32` };
  if (t.shape.length !== 2 || t.shape[1] !== 4n) return { error: "features: shape must be [batch, 4]" };
  const rows = Number(t.shape[0]);
  if (t.data.byteLength !== rows * 16)
    return { error: `features: data is ${t.data.byteLength} bytes, expected ${rows * 16}` };
  // Float32Array needs 4-byte alignment; protobuf-es hands out views into the request
  // buffer, which often are not aligned, and then a copy is the only way. The copy must be
  // `new Uint8Array(view)`: the view may be a Node.js Buffer, whose slice() does not copy.
  const data =
    t.data.byteOffset % 4 === 0
      ? new Float32Array(t.data.buffer, t.data.byteOffset, rows * 4)
      : new Float32Array(new Uint8Array(t.data).buffer, 0, rows * 4);
  return { rows, data };
}

/** The response message init for `rows`×3 probabilities (bytes are a view, no copy). */
function resultInit(probs, rows) {
  return {
    result: {
      shape: [BigInt(rows), 3n],
      dtype: "float32",
      data: new Uint8Array(probs.buffer, probs.byteOffset, probs.byteLength),
    },
  };
}

/** One iris flower (a setosa): the single row that every benchmark request carries. */
const SAMPLE_FEATURES = [5.1, 3.5, 1.4, 0.2];

/**
 * The request every client sends and what a correct server must answer: the request and
 * response messages as bytes, and the expected probabilities from the reference math.
 */
function fixture() {
  const { PredictIrisRequestSchema, PredictIrisResponseSchema } = loadIrisPb();
  const features = new Float32Array(SAMPLE_FEATURES);
  const request = toBinary(
    PredictIrisRequestSchema,
    create(PredictIrisRequestSchema, {
      features: { shape: [1n, 4n], dtype: "float32", data: new Uint8Array(features.buffer) },
    }),
  );
  const probs = irisForward(features, 1);
  const response = toBinary(PredictIrisResponseSchema, create(PredictIrisResponseSchema, resultInit(probs, 1)));
  return { request, response, probs };
}

/** Wraps one message in gRPC's length-prefixed framing: flag 0 (uncompressed) + u32 BE length. */
function grpcFrame(message) {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/**
 * Runs a server in a child process: `start()` resolves to `{ port, close }`; the port goes
 * to the driver as one `READY <port>` line on stdout. The child stops on SIGTERM/SIGINT,
 * and also when its stdin closes, so it never outlives a driver that was killed outright.
 */
function serveChild(name, start) {
  let closing = false;
  const stop = (close) => {
    if (closing) return;
    closing = true;
    // Bounded: a graceful close that hangs must not keep the child alive.
    setTimeout(() => process.exit(0), 2000).unref();
    Promise.resolve()
      .then(close)
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  start().then(
    ({ port, close }) => {
      for (const signal of ["SIGTERM", "SIGINT"]) process.once(signal, () => stop(close));
      process.stdin.once("end", () => stop(close)).once("close", () => stop(close));
      process.stdin.resume();
      process.stdout.write(`READY ${port}\n`);
    },
    (err) => {
      console.error(`[${name}] failed to start: ${err && err.stack ? err.stack : err}`);
      process.exit(1);
    },
  );
}

module.exports = {
  ROOT,
  IRIS_DIST,
  RPC_PATH,
  irisRequire,
  loadIrisPb,
  irisForward,
  decodeFeatures,
  resultInit,
  fixture,
  grpcFrame,
  serveChild,
  create,
  toBinary,
  fromBinary,
};
