// `npm test`: the server on a free port, called with the generated client over gRPC and
// Connect, and over plain HTTP, as other services, scripts and browsers would call it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createServer, type BlazeServer } from "@blazerpc/runtime";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { InferenceDirectorBinding } from "../gen/demo/v1/demo_blaze.js";
import { createInferenceDirectorClient } from "../gen/demo/v1/demo_client.js";
import { app, state } from "../service.js";

let server: BlazeServer;

before(async () => {
  server = createServer({ app, services: [InferenceDirectorBinding], host: "127.0.0.1", port: 0 });
  await server.listen();
});
after(() => server.close());

test("the start hook made the service healthy, and GetHealthStatus says so over gRPC and Connect", async () => {
  for (const transport of [
    createGrpcTransport({ baseUrl: server.url() }),
    createConnectTransport({ baseUrl: server.url(), httpVersion: "1.1" }),
  ]) {
    const director = createInferenceDirectorClient(transport);
    const health = await director.getHealthStatus();
    assert.equal(health.overallStatus, "HEALTHY");
  }
});

test("GET /health reads the same state, and a change is seen by the RPC, the route and readiness at once", async () => {
  const director = createInferenceDirectorClient(createGrpcTransport({ baseUrl: server.url() }));
  assert.equal(await director.setHealthStatus("UNHEALTHY", { headers: { "x-operator": "the test" } }), "UNHEALTHY");
  const health = (await (await fetch(`${server.url()}/health`)).json()) as {
    overall_status: string;
    calls_served: number;
  };
  assert.equal(health.overall_status, "UNHEALTHY");
  assert.equal(health.calls_served, state.callsServed);
  assert.equal((await fetch(`${server.url()}/readyz`)).status, 503);
  await director.setHealthStatus("HEALTHY");
  assert.equal((await fetch(`${server.url()}/readyz`)).status, 200);
});

test("a status that is not one of the enum's is refused, naming the field", async () => {
  const res = await fetch(`${server.url()}/demo.v1.InferenceDirector/SetHealthStatus`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ overallStatus: "SPLENDID" }),
  });
  assert.equal(res.status, 400);
  const body = (await res.json()) as { code: string; message: string };
  assert.equal(body.code, "invalid_argument");
  assert.match(body.message, /overallStatus/);
});
