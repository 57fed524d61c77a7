// `npm test`: the server on a free port, called with the generated client over gRPC and
// Connect; its answers must equal the ONNX model run directly.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { loadOnnxModel } from "@blazerpc/onnx";
import { createServer, type BlazeServer } from "@blazerpc/runtime";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { InferenceServiceBinding } from "../gen/demo/v1/demo_blaze.js";
import { createInferenceServiceClient } from "../gen/demo/v1/demo_client.js";
import { app, MODEL_PATH } from "../models.js";

let server: BlazeServer;

before(async () => {
  server = createServer({ app, services: [InferenceServiceBinding], host: "127.0.0.1", port: 0 });
  await server.listen();
});
after(() => server.close());

test("classify answers what the model computes, over gRPC and Connect, once it is loaded", async () => {
  const ready = await fetch(`${server.url()}/readyz`);
  assert.equal(ready.status, 200);
  const features = {
    dtype: "float32" as const,
    shape: [3, 4],
    data: new Float32Array([5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3, 5.9, 3.0, 4.2, 1.5]),
  };
  const direct = await loadOnnxModel(MODEL_PATH);
  const want = Array.from((await direct.run({ features })).logits!.data as Float32Array);
  await direct.release();
  for (const transport of [
    createGrpcTransport({ baseUrl: server.url() }),
    createConnectTransport({ baseUrl: server.url(), httpVersion: "1.1" }),
  ]) {
    const logits = await createInferenceServiceClient(transport).classify(features);
    assert.deepEqual(logits.shape, [3, 3]);
    assert.deepEqual(Array.from(logits.data), want);
  }
});
