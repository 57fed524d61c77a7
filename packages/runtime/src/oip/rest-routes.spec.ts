// The OIP's REST routes as the server serves them (a real server on 127.0.0.1 port 0, the
// iris example's binding, bearer auth on, a model that loads): health answers without a
// token, the rest needs one, errors are {"error": …} with their statuses, readiness follows
// the loader; gRPC's health checks are exempt as REST's are.
import { gzipSync } from "node:zlib";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Tensor } from "@blazerpc/tensor";
import { InferenceServiceBinding } from "../../../../examples/iris/gen/iris/v1/iris_blaze.js";
import { createApp } from "../app.js";
import { GRPCInferenceService } from "../gen/inference/grpc_predict_v2_pb.js";
import { createServer, type BlazeServer } from "../server/server.js";
import { createOipRestRoutes, oipErrorAnswer, oipHttpStatus } from "./rest-routes.js";

const TOKEN = "s3cret";
let loaded!: () => void;
let server: BlazeServer;
let base: string;

beforeAll(async () => {
  const app = createApp({ name: "iris" });
  app.model("iris", async (f: Tensor): Promise<Tensor> => ({
    dtype: "float32",
    shape: [f.shape[0]!, 3],
    data: new Float32Array(f.shape[0]! * 3).fill(0.5),
  }));
  app.model("generate", async function* () {
    yield "x";
  });
  app.loader("iris", () => new Promise<void>((resolve) => (loaded = resolve)));
  server = createServer({ app, services: [InferenceServiceBinding], port: 0, auth: { tokens: [TOKEN] } });
  await server.listen();
  base = server.url();
});
afterAll(() => server?.close());

const get = async (path: string, token?: string) => {
  const r = await fetch(base + path, token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: r.status, headers: r.headers, text: await r.text() };
};
const infer = async (token?: string) => {
  const r = await fetch(`${base}/v2/models/iris/infer`, {
    method: "POST",
    headers: token !== undefined ? { authorization: `Bearer ${token}` } : {},
    body: JSON.stringify({ inputs: [{ name: "features", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }] }),
  });
  return { status: r.status, headers: r.headers, body: (await r.json()) as unknown };
};
const grpcClient = (token?: string) =>
  createClient(
    GRPCInferenceService,
    createGrpcTransport({
      baseUrl: base,
      ...(token !== undefined
        ? { interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))] }
        : {}),
    }),
  );

it("while the model loads: health says not ready (400) with no token; infer is 503 {error}", async () => {
  expect(await get("/v2/health/live")).toMatchObject({ status: 200, text: "" });
  expect(await get("/v2/health/ready")).toMatchObject({ status: 400, text: "" });
  expect(await get("/v2/models/iris/ready")).toMatchObject({ status: 400, text: "" });
  const r = await infer(TOKEN);
  expect([r.status, r.body]).toEqual([503, { error: 'model "iris" is still loading' }]);
  const grpc = grpcClient();
  expect((await grpc.serverLive({})).live).toBe(true);
  expect((await grpc.serverReady({})).ready).toBe(false);
  expect((await grpc.modelReady({ name: "iris" })).ready).toBe(false);
  const err = await grpcClient(TOKEN)
    .modelInfer({ modelName: "iris", inputs: [{ name: "features", datatype: "FP32", shape: [0n, 4n] }] })
    .catch((e: unknown) => e);
  expect([(err as ConnectError).code, (err as ConnectError).rawMessage]).toEqual([
    Code.Unavailable,
    'model "iris" is still loading',
  ]);
});

it("metadata and inference need the token: 401 {error} with a challenge, on REST and gRPC", async () => {
  for (const path of ["/v2", "/v2/models/iris"]) {
    const r = await get(path);
    expect([path, r.status, JSON.parse(r.text)]).toEqual([
      path,
      401,
      { error: "missing bearer token: send the header `authorization: Bearer <token>`" },
    ]);
    expect(r.headers.get("www-authenticate")).toBe('Bearer realm="blazerpc"');
    expect((await get(path, "wrong")).status).toBe(401);
    expect((await get(path, TOKEN)).status).toBe(200);
  }
  const r = await infer();
  expect([r.status, r.body]).toEqual([
    401,
    { error: "missing bearer token: send the header `authorization: Bearer <token>`" },
  ]);
  const err = await grpcClient()
    .serverMetadata({})
    .catch((e: unknown) => e);
  expect((err as ConnectError).code).toBe(Code.Unauthenticated);
  expect((await grpcClient(TOKEN).serverMetadata({})).name).toBe("blazerpc");
});

it("once loaded: ready, and inference answers", async () => {
  loaded();
  await server.health.load();
  expect((await get("/v2/health/ready")).status).toBe(200);
  expect((await get("/v2/models/iris/versions/1/ready")).status).toBe(200);
  const r = await infer(TOKEN);
  expect([r.status, r.body]).toEqual([
    200,
    {
      model_name: "iris",
      model_version: "1",
      outputs: [{ name: "result", datatype: "FP32", shape: [1, 3], data: [0.5, 0.5, 0.5] }],
    },
  ]);
});

it("a compressed body (Content-Encoding gzip) is 415 {error}, not read as JSON; identity is the body as it is", async () => {
  const body = JSON.stringify({ inputs: [{ name: "features", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }] });
  const post = async (encoding: string, data: Uint8Array | string) => {
    const r = await fetch(`${base}/v2/models/iris/infer`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-encoding": encoding },
      body: data,
    });
    return { status: r.status, accept: r.headers.get("accept-encoding"), body: (await r.json()) as unknown };
  };
  expect(await post("gzip", gzipSync(body))).toEqual({
    status: 415,
    accept: "identity",
    body: { error: 'the request\'s Content-Encoding is "gzip": send the body uncompressed (identity)' },
  });
  expect((await post("identity", body)).status).toBe(200);
});

it("/openapi.json lists the routes, the health ones needing no token", async () => {
  const doc = JSON.parse((await get("/openapi.json", TOKEN)).text) as {
    paths: Record<string, Record<string, { security?: unknown[]; summary?: string }>>;
  };
  expect(doc.paths["/v2/health/ready"]!.get!.security).toEqual([]);
  expect(doc.paths["/v2/models/{model}/ready"]!.get!.security).toEqual([]);
  expect(doc.paths["/v2/models/{model}/infer"]!.post!.security).toBeUndefined();
  expect(doc.paths["/v2/models/{model}/infer"]!.post!.summary).toBe("OIP: inference");
});

it("createOipRestRoutes: the protocol's paths, the health ones marked", () => {
  const routes = createOipRestRoutes({ catalog: { models: [] } as never });
  expect(routes.map((r) => `${r.route.method} ${r.route.path}${r.health ? " (health)" : ""}`)).toEqual([
    "GET /v2",
    "GET /v2/health/live (health)",
    "GET /v2/health/ready (health)",
    "GET /v2/models/:model",
    "GET /v2/models/:model/ready (health)",
    "POST /v2/models/:model/infer",
    "GET /v2/models/:model/versions/:version",
    "GET /v2/models/:model/versions/:version/ready (health)",
    "POST /v2/models/:model/versions/:version/infer",
  ]);
});

it("oipErrorAnswer: {error} and the status that fits the code; 413 stays 413", () => {
  const status = (code: Code) => oipHttpStatus(code);
  expect(
    [
      Code.InvalidArgument,
      Code.FailedPrecondition,
      Code.OutOfRange,
      Code.Unauthenticated,
      Code.PermissionDenied,
      Code.NotFound,
      Code.AlreadyExists,
      Code.Unimplemented,
      Code.Unavailable,
      Code.ResourceExhausted,
      Code.DeadlineExceeded,
      Code.Internal,
      Code.Unknown,
    ].map(status),
  ).toEqual([400, 400, 400, 401, 403, 404, 409, 501, 503, 503, 504, 500, 500]);
  expect(oipErrorAnswer(new ConnectError("too big", Code.ResourceExhausted), 413)).toEqual({
    status: 413,
    body: { error: "too big" },
  });
  expect(oipErrorAnswer(new ConnectError("full", Code.ResourceExhausted), 429)).toEqual({
    status: 503,
    body: { error: "full" },
  });
});
