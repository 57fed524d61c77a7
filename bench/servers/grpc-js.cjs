// Baseline: a bare @grpc/grpc-js server for the same paths, (de)serializing with protobuf-es
// and the generated schemas — the reference gRPC implementation for Node.js.
//
//   node bench/servers/grpc-js.cjs [iris|bench]
//
// iris (default): PredictIris; bench: PredictEcho and PredictTicks (examples/bench).
"use strict";
const grpc = require("@grpc/grpc-js");
const {
  RPC_PATH,
  loadIrisPb,
  decodeFeatures,
  irisForward,
  resultInit,
  serveChild,
  create,
  toBinary,
  fromBinary,
} = require("../iris.cjs");
const { ECHO_PATH, TICKS_PATH, loadBenchPb, decodeEcho, echoResultInit, tickInit } = require("../payloads.cjs");

const APP = process.argv[2] === "bench" ? "bench" : "iris";

// grpc-js wants Buffers; wrapping protobuf-es's Uint8Array is a view, not a copy.
const toBuffer = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

/** A grpc-js method definition (de)serializing with protobuf-es. */
function method(path, requestSchema, responseSchema, responseStream = false) {
  return {
    path,
    requestStream: false,
    responseStream,
    requestSerialize: (msg) => toBuffer(toBinary(requestSchema, msg)),
    requestDeserialize: (buf) => fromBinary(requestSchema, buf),
    responseSerialize: (msg) => toBuffer(toBinary(responseSchema, msg)),
    responseDeserialize: (buf) => fromBinary(responseSchema, buf),
  };
}

function irisService() {
  const { PredictIrisRequestSchema, PredictIrisResponseSchema } = loadIrisPb();
  const definition = { PredictIris: method(RPC_PATH, PredictIrisRequestSchema, PredictIrisResponseSchema) };
  const implementation = {
    PredictIris(call, callback) {
      const features = decodeFeatures(call.request.features);
      if (features.error !== undefined) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: features.error });
        return;
      }
      const probs = irisForward(features.data, features.rows);
      callback(null, create(PredictIrisResponseSchema, resultInit(probs, features.rows)));
    },
  };
  return { definition, implementation };
}

function benchService() {
  const pb = loadBenchPb();
  const definition = {
    PredictEcho: method(ECHO_PATH, pb.PredictEchoRequestSchema, pb.PredictEchoResponseSchema),
    PredictTicks: method(TICKS_PATH, pb.PredictTicksRequestSchema, pb.PredictTicksResponseSchema, true),
  };
  const implementation = {
    PredictEcho(call, callback) {
      const x = decodeEcho(call.request.x);
      if (x.error !== undefined) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: x.error });
        return;
      }
      callback(null, create(pb.PredictEchoResponseSchema, echoResultInit(x.tensor)));
    },
    PredictTicks(call) {
      for (let i = 0; i < call.request.n; i++) call.write(create(pb.PredictTicksResponseSchema, tickInit(i)));
      call.end();
    },
  };
  return { definition, implementation };
}

serveChild(`grpc-js ${APP}`, async () => {
  const { definition, implementation } = APP === "iris" ? irisService() : benchService();
  const server = new grpc.Server();
  server.addService(definition, implementation);
  const port = await new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    port,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
});
