// `npm test`: the server on a free port, called with the generated client over gRPC and
// Connect, as another service or a browser would call it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createServer, type BlazeServer } from "@blazerpc/runtime";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { InferenceServiceBinding } from "../gen/demo/v1/demo_blaze.js";
import { createInferenceServiceClient } from "../gen/demo/v1/demo_client.js";
import { app } from "../models.js";

let server: BlazeServer;

before(async () => {
  server = createServer({ app, services: [InferenceServiceBinding], host: "127.0.0.1", port: 0 });
  await server.listen();
});
after(() => server.close());

const features = {
  dtype: "float32" as const,
  shape: [2, 4],
  data: new Float32Array([5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]),
};

test("classify answers each row with three probabilities, over gRPC and Connect", async () => {
  for (const transport of [
    createGrpcTransport({ baseUrl: server.url() }),
    createConnectTransport({ baseUrl: server.url(), httpVersion: "1.1" }),
  ]) {
    const client = createInferenceServiceClient(transport);
    const probabilities = await client.classify(features);
    assert.equal(probabilities.dtype, "float32");
    assert.deepEqual(probabilities.shape, [2, 3]);
    const rows = [Array.from(probabilities.data.subarray(0, 3)), Array.from(probabilities.data.subarray(3, 6))];
    for (const row of rows) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    assert.equal(rows[0]!.indexOf(Math.max(...rows[0]!)), 0); // setosa
    assert.equal(rows[1]!.indexOf(Math.max(...rows[1]!)), 2); // virginica
  }
});

test("generate streams one word per message", async () => {
  const client = createInferenceServiceClient(createGrpcTransport({ baseUrl: server.url() }));
  const words: string[] = [];
  for await (const word of client.generate("hello", 5)) words.push(word);
  assert.equal(words.length, 5);
});

test("a tensor of the wrong shape is refused, naming the field", async () => {
  // The generated client checks dtype and shape before sending, as the server does
  // (INVALID_ARGUMENT); a raw Connect JSON call meets the server's check.
  const client = createInferenceServiceClient(createGrpcTransport({ baseUrl: server.url() }));
  await assert.rejects(
    client.classify({ dtype: "float32", shape: [1, 5], data: new Float32Array(5) } as never),
    /features: dim 1 is 5, expected 4/,
  );
  const res = await fetch(`${server.url()}/demo.v1.InferenceService/PredictClassify`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      features: { dtype: "float32", shape: ["1", "5"], data: Buffer.alloc(20).toString("base64") },
    }),
  });
  assert.equal(res.status, 400);
  const body = (await res.json()) as { code: string; message: string };
  assert.equal(body.code, "invalid_argument");
  assert.match(body.message, /features: dim 1 is 5, expected 4/);
});
