// Baseline: a bare @grpc/grpc-js server for the same path, (de)serializing with protobuf-es
// and the generated schemas — the reference gRPC implementation for Node.js.
"use strict";
const grpc = require("@grpc/grpc-js");
const { RPC_PATH, loadIrisPb, decodeFeatures, irisForward, resultInit, serveChild, create, toBinary, fromBinary } =
  require("../iris.cjs");

serveChild("grpc-js", async () => {
  const { PredictIrisRequestSchema, PredictIrisResponseSchema } = loadIrisPb();
  // grpc-js wants Buffers; wrapping protobuf-es's Uint8Array is a view, not a copy.
  const toBuffer = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
  const definition = {
    PredictIris: {
      path: RPC_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: (msg) => toBuffer(toBinary(PredictIrisRequestSchema, msg)),
      requestDeserialize: (buf) => fromBinary(PredictIrisRequestSchema, buf),
      responseSerialize: (msg) => toBuffer(toBinary(PredictIrisResponseSchema, msg)),
      responseDeserialize: (buf) => fromBinary(PredictIrisResponseSchema, buf),
    },
  };
  const server = new grpc.Server();
  server.addService(definition, {
    PredictIris(call, callback) {
      const features = decodeFeatures(call.request.features);
      if (features.error !== undefined) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: features.error });
        return;
      }
      const probs = irisForward(features.data, features.rows);
      callback(null, create(PredictIrisResponseSchema, resultInit(probs, features.rows)));
    },
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
});
