// Error messages that quote client input stay short, on every path: a 70,000-character
// dtype comes back as INVALID_ARGUMENT with the dtype cut to 256 characters (and the
// connection it came on keeps serving: before, the trailers did not fit one header block,
// the stream was reset with FRAME_SIZE_ERROR and the whole connection got GOAWAY); shapes
// show a few dims then `… (N dims)`; and whatever an error says — a model's own
// ConnectError, connect-node's own messages — no message sent to a client is longer than
// MAX_ERROR_MESSAGE_BYTES.
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import { TensorProtoSchema, toTensorProto } from "@blazerpc/tensor";
import { createApp, createServer, MAX_ERROR_MESSAGE_BYTES, type BlazeServer } from "@blazerpc/runtime";
import { app as irisApp } from "../../examples/iris/models.js";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import {
  InferenceService,
  PredictGenerateRequestSchema,
  PredictIrisRequestSchema,
  PredictIrisResponseSchema,
} from "../../examples/iris/gen/iris/v1/iris_pb.js";
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
} from "../../packages/runtime/src/gen/grpc/health/v1/health_pb.js";
import { grpcMessage, grpcUnary, run } from "../e2e/support.js";

const IRIS = "/iris.v1.InferenceService/PredictIris";
const good = toTensorProto({ dtype: "float32", shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) });
const longDtype = "x".repeat(70_000);
const hostile = create(TensorProtoSchema, { dtype: longDtype, shape: [1n, 4n], data: new Uint8Array(16) });
const DTYPE_MESSAGE = `features: unknown dtype "${"x".repeat(256)}…" (70000 characters)`;
// 60 dims (under the rank cap), each as long as a dim can be: the message names a few.
const BIG = 9007199254740991n;
const wide = create(TensorProtoSchema, {
  dtype: "float32",
  shape: Array.from({ length: 60 }, () => BIG),
  data: new Uint8Array(0),
});
const WIDE_MESSAGE = `features: rank is 60 (shape [${Array.from({ length: 8 }, () => BIG).join(", ")}, … (60 dims)]), expected 2 (shape [batch, 4])`;

const utf8 = (s: string) => Buffer.byteLength(s, "utf8");

const servers: BlazeServer[] = [];
const clients: grpc.Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: Partial<Parameters<typeof createServer>[0]> = {}): Promise<BlazeServer> {
  const server = createServer({ app: irisApp, services: [InferenceServiceBinding], port: 0, ...options });
  servers.push(server);
  await server.listen();
  return server;
}

function grpcClient(server: BlazeServer): grpc.Client {
  const c = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure());
  clients.push(c);
  return c;
}

const predict = (c: grpc.Client, features: typeof good) =>
  grpcUnary(c, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, { features }).then(
    (r) => r.result?.shape.map(Number),
    (e: grpc.ServiceError) => e,
  );

describe.each([
  ["the native gRPC path", true],
  ["connect-node's gRPC", false],
])("error messages over grpc-js (%s)", (_name, fastPath) => {
  it("a 70,000-character dtype: INVALID_ARGUMENT with the dtype cut short; the connection keeps serving", async () => {
    const server = await start({ fastPath });
    const c = grpcClient(server);
    expect(await predict(c, good)).toEqual([1, 3]);
    // Calls in flight on the same connection as the hostile one, and one after it.
    const beside = Array.from({ length: 20 }, () => predict(c, good));
    const err = (await predict(c, hostile)) as grpc.ServiceError;
    expect([err.code, grpcMessage(err)]).toEqual([grpc.status.INVALID_ARGUMENT, DTYPE_MESSAGE]);
    expect(await Promise.all(beside)).toEqual(beside.map(() => [1, 3]));
    expect(await predict(c, good)).toEqual([1, 3]);
  });

  it("a shape of 60 long dims: a few are named, then the count", async () => {
    const server = await start({ fastPath });
    const err = (await predict(grpcClient(server), wide)) as grpc.ServiceError;
    expect([err.code, grpcMessage(err)]).toEqual([grpc.status.INVALID_ARGUMENT, WIDE_MESSAGE]);
  });
});

describe("error messages over connect-node's other protocols", () => {
  const transports: [string, (url: string) => Transport][] = [
    ["gRPC-Web (HTTP/1.1)", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
    ["Connect JSON (HTTP/1.1)", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" })],
    [
      "Connect binary (HTTP/2)",
      (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
    ],
  ];
  it.each(transports)("%s: the long dtype and the wide shape are cut short", async (_name, transport) => {
    const server = await start();
    const client = createClient(InferenceService, transport(server.url()));
    const dtype = await client.predictIris({ features: hostile }).catch((e: unknown) => ConnectError.from(e));
    expect([(dtype as ConnectError).code, (dtype as ConnectError).rawMessage]).toEqual([
      Code.InvalidArgument,
      DTYPE_MESSAGE,
    ]);
    const shape = await client.predictIris({ features: wide }).catch((e: unknown) => ConnectError.from(e));
    expect([(shape as ConnectError).code, (shape as ConnectError).rawMessage]).toEqual([
      Code.InvalidArgument,
      WIDE_MESSAGE,
    ]);
    expect((await client.predictIris({ features: good })).result?.shape).toEqual([1n, 3n]);
  });

  it("a Connect JSON error body stays small (curl, HTTP/1.1)", async () => {
    const server = await start();
    const body = JSON.stringify({
      features: { dtype: longDtype, shape: ["1", "4"], data: Buffer.alloc(16).toString("base64") },
    });
    const r = await run("curl", [
      "-sS",
      "-X",
      "POST",
      "-H",
      "content-type: application/json",
      "--data-binary",
      body,
      `${server.url()}${IRIS}`,
    ]);
    expect(JSON.parse(r.stdout)).toEqual({ code: "invalid_argument", message: DTYPE_MESSAGE });
  });
});

describe(`the safety net: no message sent is longer than ${MAX_ERROR_MESSAGE_BYTES} bytes`, () => {
  // A model that fails with a message it built from its input, as a ConnectError: passed on
  // as it is by the runtime, so only the boundary where errors become wire errors bounds it.
  const huge = "é".repeat(50_000) + "the end";
  const app = createApp({ name: "iris" });
  app.model("iris", async () => {
    throw new ConnectError(huge, Code.FailedPrecondition);
  });
  app.model("generate", async function* () {
    yield "one";
    throw new ConnectError(huge, Code.FailedPrecondition);
  });

  const checkBounded = (code: Code | grpc.status, message: string | undefined) => {
    expect(code).toBe(Code.FailedPrecondition);
    expect(utf8(message!)).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES);
    expect(message).toMatch(/^éé+… \(message cut: 50007 characters\)$/);
  };

  it.each([true, false])("gRPC (grpc-js, fastPath %s): unary and streaming", async (fastPath) => {
    const server = createServer({ app, services: [InferenceServiceBinding], port: 0, fastPath });
    servers.push(server);
    await server.listen();
    const c = grpcClient(server);
    const err = (await predict(c, good)) as grpc.ServiceError;
    checkBounded(err.code, grpcMessage(err));
    const streamErr = await new Promise<grpc.ServiceError>((resolve) => {
      const call = c.makeServerStreamRequest(
        "/iris.v1.InferenceService/PredictGenerate",
        (m: Uint8Array) => Buffer.from(m),
        (b: Buffer) => b,
        toBinary(PredictGenerateRequestSchema, create(PredictGenerateRequestSchema, { prompt: "a", maxTokens: 5 })),
      );
      call.on("data", () => undefined);
      call.on("error", resolve);
    });
    checkBounded(streamErr.code, grpcMessage(streamErr));
    expect(await predict(c, good)).toMatchObject({ code: grpc.status.FAILED_PRECONDITION }); // still serving
  });

  it.each([
    ["gRPC-Web", (baseUrl: string) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
    ["Connect", (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "1.1" })],
  ])("%s: unary and streaming", async (_name, transport) => {
    const server = createServer({ app, services: [InferenceServiceBinding], port: 0 });
    servers.push(server);
    await server.listen();
    const client = createClient(InferenceService, transport(server.url()));
    const err = ConnectError.from(await client.predictIris({ features: good }).catch((e: unknown) => e));
    checkBounded(err.code, err.rawMessage);
    const streamErr = await (async () => {
      try {
        for await (const _ of client.predictGenerate({ prompt: "a", maxTokens: 5 }));
      } catch (e) {
        return ConnectError.from(e);
      }
      return undefined;
    })();
    checkBounded(streamErr!.code, streamErr!.rawMessage);
  });

  it("connect-node's own messages too: protobuf-es quoting a 70,000-character JSON value (curl, Connect JSON)", async () => {
    const server = await start();
    const body = JSON.stringify({ features: { dtype: "float32", shape: [longDtype], data: "" } });
    const r = await run("curl", [
      "-sS",
      "-X",
      "POST",
      "-H",
      "content-type: application/json",
      "--data-binary",
      body,
      `${server.url()}${IRIS}`,
    ]);
    const answer = JSON.parse(r.stdout) as { code: string; message: string };
    expect(answer.code).toBe("invalid_argument");
    expect(answer.message).toMatch(
      /^cannot decode field blazerpc\.v1\.TensorProto\.shape from JSON: .*x… \(message cut: \d+ characters\)$/,
    );
    expect(utf8(answer.message)).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES);
  });

  it("health (on connect-node) quotes a 70,000-character service name cut short too", async () => {
    const server = await start();
    const c = grpcClient(server);
    const err = await grpcUnary(
      c,
      "/grpc.health.v1.Health/Check",
      HealthCheckRequestSchema,
      HealthCheckResponseSchema,
      { service: longDtype },
    ).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect([err?.code, grpcMessage(err)]).toEqual([
      grpc.status.NOT_FOUND,
      `unknown service "${"x".repeat(256)}…" (70000 characters)`,
    ]);
    expect(await predict(c, good)).toEqual([1, 3]);
  });
});
