// HTTP beside gRPC, through a real server and curl: Connect GET for methods without side
// effects, GET /openapi.json (valid OpenAPI 3.1, proto3 JSON mapping, tensors documented,
// examples the server accepts), GET /docs (self-contained HTML), and CORS with an allow-list.
// The page itself, in a browser: docs-page.spec.ts.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createFileRegistry, fromBinary, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import {
  createApp,
  createOpenApiDocument,
  createServer,
  defineModelService,
  type BlazeServer,
  type Tensor,
} from "@blazerpc/runtime";
import { HEALTH_ROUTE_DOCS } from "../../packages/runtime/src/openapi/openapi.js";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import { bufBin, repoRoot, run } from "./support.js";

// The parsed document, walked freely by the assertions below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type OpenApiDoc = Record<string, any>;

/** The pure.v1 fixture schema, built with buf, and a binding of its two methods. */
async function pureService(): Promise<{ service: DescService; set: Uint8Array }> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "blaze-pure-")), "set.binpb");
  const r = await run(bufBin, [
    "build",
    path.join(repoRoot, "test/e2e/fixtures/proto"),
    "--as-file-descriptor-set",
    "-o",
    out,
  ]);
  expect(r.stderr).toBe("");
  const set = fs.readFileSync(out);
  fs.rmSync(path.dirname(out), { recursive: true });
  return {
    service: createFileRegistry(fromBinary(FileDescriptorSetSchema, set)).getService("pure.v1.PureService")!,
    set,
  };
}

async function curl(args: string[]): Promise<{ status: number; headers: string; body: string }> {
  const r = await run("curl", ["-sS", "-D", "-", ...args]);
  const cut = r.stdout.indexOf("\r\n\r\n");
  const headers = r.stdout.slice(0, cut);
  return { status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(headers)?.[1]), headers, body: r.stdout.slice(cut + 4) };
}

const header = (headers: string, name: string) => new RegExp(`^${name}: (.*?)\\r?$`, "im").exec(headers)?.[1];

describe("HTTP beside gRPC", () => {
  let server: BlazeServer;
  let base: string;
  let pureDesc: DescService;

  beforeAll(async () => {
    const { service, set } = await pureService();
    pureDesc = service;
    const app = createApp({ name: "iris" });
    app.model("iris", async (f: Tensor<"float32", ["batch", 4]>): Promise<Tensor<"float32", ["batch", 3]>> => ({
      dtype: "float32",
      shape: [f.shape[0]!, 3],
      data: new Float32Array(f.shape[0]! * 3),
    }));
    app.model("generate", async function* (prompt: string): AsyncGenerator<string> {
      yield prompt;
    });
    app.model("square", async (x: number) => x * x);
    app.model("echo", async (e: unknown) => e);
    const pure = defineModelService(service, {
      square: {
        kind: "unary",
        model: "square",
        decode: (r: { x: number }) => [r.x],
        encode: (result: number) => ({ result }),
      },
      echo: { kind: "unary", model: "echo", decode: (r: unknown) => [r], encode: (e: object) => e },
    });
    server = createServer({
      app,
      services: [InferenceServiceBinding, pure],
      port: 0,
      descriptorSet: set,
      cors: { origins: ["https://app.example.com"] },
    });
    await server.listen();
    base = server.url();
  });
  afterAll(() => server.close());

  it("answers a method without side effects by Connect GET, and refuses GET on the others", async () => {
    const message = encodeURIComponent(JSON.stringify({ x: 12 }));
    const ok = await curl([`${base}/pure.v1.PureService/Square?connect=v1&encoding=json&message=${message}`]);
    expect([ok.status, JSON.parse(ok.body)]).toEqual([200, { result: 144 }]);
    const post = await curl([
      "-X",
      "POST",
      "-H",
      "content-type: application/json",
      "-d",
      '{"x":3}',
      `${base}/pure.v1.PureService/Square`,
    ]);
    expect(JSON.parse(post.body)).toEqual({ result: 9 });
    const notPure = await curl([`${base}/pure.v1.PureService/Echo?connect=v1&encoding=json&message=%7B%7D`]);
    expect(notPure.status).toBe(405);
  });

  it("serves /openapi.json: valid OpenAPI 3.1, in the proto3 JSON mapping, tensors documented", async () => {
    const r = await curl([`${base}/openapi.json`]);
    expect(r.status).toBe(200);
    expect(header(r.headers, "content-type")).toBe("application/json");
    const doc = JSON.parse(r.body) as OpenApiDoc;
    // Against the OpenAPI 3.1 schema, by a well-kept validator (an ES module: run apart from jest).
    const check = spawnSync(process.execPath, [path.join(__dirname, "fixtures", "validate-openapi.mjs")], {
      input: r.body,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(check.stderr).toBe("");
    expect(JSON.parse(check.stdout)).toEqual({ valid: true, version: "3.1", errors: null });
    // …which does refuse a broken document.
    const broken = spawnSync(process.execPath, [path.join(__dirname, "fixtures", "validate-openapi.mjs")], {
      input: JSON.stringify({ ...doc, paths: { nope: {} } }),
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(JSON.parse(broken.stdout).valid).toBe(false);

    // Every RPC, and the health routes beside them.
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/healthz",
      "/iris.v1.InferenceService/PredictGenerate",
      "/iris.v1.InferenceService/PredictIris",
      "/pure.v1.PureService/Echo",
      "/pure.v1.PureService/Square",
      "/readyz",
      // The Open Inference Protocol's REST routes (docs/oip.md), served by default.
      "/v2",
      "/v2/health/live",
      "/v2/health/ready",
      "/v2/models/{model}",
      "/v2/models/{model}/infer",
      "/v2/models/{model}/ready",
      "/v2/models/{model}/versions/{version}",
      "/v2/models/{model}/versions/{version}/infer",
      "/v2/models/{model}/versions/{version}/ready",
    ]);
    expect(Object.keys(doc.paths["/pure.v1.PureService/Square"])).toEqual(["post", "get"]);
    expect(Object.keys(doc.paths["/pure.v1.PureService/Echo"])).toEqual(["post"]);
    // Comments from the schema become summaries and descriptions.
    expect(doc.paths["/pure.v1.PureService/Square"].post.summary).toBe("Squares a number.");
    expect(doc.paths["/iris.v1.InferenceService/PredictIris"].post["x-blazerpc-model"]).toEqual({
      name: "iris",
      version: "",
      streaming: false,
    });

    const s = doc.components.schemas;
    expect(s["pure.v1.Everything"].properties).toMatchObject({
      big: { type: "string", format: "int64", pattern: "^-?[0-9]+$" },
      ubig: { type: "string", format: "uint64" },
      blob: { type: "string", contentEncoding: "base64" },
      color: { $ref: "#/components/schemas/pure.v1.Color" },
      tags: { type: "array", items: { type: "string" } },
      counts: { type: "object", additionalProperties: { type: "integer", format: "int32" } },
      inner: { $ref: "#/components/schemas/pure.v1.Everything.Inner" },
      flag: { type: "boolean", description: "Optional: absent means not set." },
      ratio: { type: "number", format: "float" },
      at: { $ref: "#/components/schemas/google.protobuf.Timestamp" },
    });
    expect(s["pure.v1.Everything"].description).toBe("Every kind of field.\n\nAt most one of `name`, `number`.");
    expect(s["pure.v1.Color"]).toMatchObject({ type: "string", enum: ["COLOR_UNSPECIFIED", "COLOR_RED"] });
    expect(s["google.protobuf.Timestamp"]).toMatchObject({ type: "string", format: "date-time" });
    // The tensor: its wire form, and each tensor field's dtype and shape.
    expect(s["blazerpc.v1.TensorProto"].properties).toMatchObject({
      shape: { type: "array", items: { type: "string", format: "int64" } },
      dtype: { type: "string" },
      data: { type: "string", contentEncoding: "base64" },
    });
    expect(s["blazerpc.v1.TensorProto"].description).toMatch(/little-endian, row-major/);
    expect(s["iris.v1.PredictIrisRequest"].properties.features).toMatchObject({
      $ref: "#/components/schemas/blazerpc.v1.TensorProto",
      "x-blazerpc-tensor": { dtype: "float32", shape: ["batch", "4"] },
    });
    expect(s["iris.v1.PredictIrisRequest"].properties.features.description).toMatch(
      /^A float32 tensor of shape \[batch, 4\]/,
    );
    expect(s["connect.Error"].properties.code.enum).toContain("invalid_argument");

    // The example request the document gives is one the server accepts: a tensor of the
    // declared shape ("batch" → 1) holding 0.5, 1, 1.5, 2, not zeros.
    const example =
      doc.paths["/iris.v1.InferenceService/PredictIris"].post.requestBody.content["application/json"].example;
    expect(example).toEqual({
      features: {
        shape: ["1", "4"],
        dtype: "float32",
        data: Buffer.from(new Float32Array([0.5, 1, 1.5, 2]).buffer).toString("base64"),
      },
    });
    const call = await curl([
      "-X",
      "POST",
      "-H",
      "content-type: application/json",
      "-d",
      JSON.stringify(example),
      `${base}/iris.v1.InferenceService/PredictIris`,
    ]);
    expect(call.status).toBe(200);
  });

  it("gives examples the server accepts: every unary method's, and the stream's over the Connect streaming protocol", async () => {
    const doc = JSON.parse((await curl([`${base}/openapi.json`])).body) as OpenApiDoc;
    const unary = Object.entries(doc.paths as OpenApiDoc).filter(
      ([, ops]) => ops.post?.["x-blazerpc-rpc"]?.kind === "unary",
    );
    expect(unary.map(([p]) => p).sort()).toEqual([
      "/iris.v1.InferenceService/PredictIris",
      "/pure.v1.PureService/Echo",
      "/pure.v1.PureService/Square",
    ]);
    for (const [p, ops] of unary) {
      const example = ops.post.requestBody.content["application/json"].example;
      const r = await curl([
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "-d",
        JSON.stringify(example),
        `${base}${p}`,
      ]);
      expect([p, r.status]).toEqual([p, 200]);
    }
    // Echo's example sets one member of its oneof (two would not parse) and answers itself.
    const echo = doc.paths["/pure.v1.PureService/Echo"].post.requestBody.content["application/json"].example;
    expect([echo.name, echo.number]).toEqual(["hello", undefined]);
    expect(echo.big).toBe("3");
    // The stream: one enveloped request message, enveloped answers, then the end of the stream.
    const gen = doc.paths["/iris.v1.InferenceService/PredictGenerate"].post["x-blazerpc-rpc"];
    expect(gen).toMatchObject({
      kind: "server_streaming",
      requestType: "iris.v1.PredictGenerateRequest",
      example: { prompt: "hello" },
    });
    const json = Buffer.from(JSON.stringify(gen.example));
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), json]);
    frame.writeUInt32BE(json.length, 1);
    const res = await fetch(`${base}/iris.v1.InferenceService/PredictGenerate`, {
      method: "POST",
      headers: { "content-type": "application/connect+json" },
      body: frame,
    });
    expect([res.status, res.headers.get("content-type")]).toEqual([200, "application/connect+json"]);
    const body = Buffer.from(await res.arrayBuffer());
    const flags: number[] = [];
    for (let at = 0; at < body.length; at += 5 + body.readUInt32BE(at + 1)) flags.push(body[at]!);
    expect(flags).toEqual([0, 2]); // this test's generate yields its prompt once
  });

  it("documents bearer auth and HTTP routes as valid OpenAPI 3.1 too", () => {
    const doc = createOpenApiDocument({
      title: "iris",
      services: [InferenceServiceBinding.service, pureDesc],
      files: server.files,
      bearerAuth: true,
      routes: HEALTH_ROUTE_DOCS,
    });
    const check = spawnSync(process.execPath, [path.join(__dirname, "fixtures", "validate-openapi.mjs")], {
      input: JSON.stringify(doc),
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(JSON.parse(check.stdout)).toEqual({ valid: true, version: "3.1", errors: null });
    expect(Object.keys(doc.paths as object)).toEqual(
      expect.arrayContaining(["/healthz", "/readyz", "/pure.v1.PureService/Square"]),
    );
  });

  it("serves /docs: one self-contained HTML page with every method", async () => {
    const r = await curl([`${base}/docs`]);
    expect(r.status).toBe(200);
    expect(header(r.headers, "content-type")).toBe("text/html; charset=utf-8");
    expect(r.body).toMatch(/^<!doctype html>/);
    // Nothing loaded from elsewhere: no src or href to another host, no @import.
    expect(r.body).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
    expect(r.body).not.toMatch(/@import|<link /i);
    for (const p of ["/iris.v1.InferenceService/PredictIris", "/pure.v1.PureService/Square"])
      expect(r.body).toContain(p);
    // The embedded document cannot close its script element early.
    const embedded = /<script type="application\/json" id="openapi">([^]*?)<\/script>/.exec(r.body)![1]!;
    expect(JSON.parse(embedded).openapi).toBe("3.1.0");
  });

  describe("CORS", () => {
    const IRIS = "/iris.v1.InferenceService/PredictIris";
    it("answers a preflight from an allowed origin with the methods and headers gRPC-Web and Connect need", async () => {
      const r = await curl([
        "-X",
        "OPTIONS",
        "-H",
        "origin: https://app.example.com",
        "-H",
        "access-control-request-method: POST",
        "-H",
        "access-control-request-headers: content-type,x-grpc-web",
        `${base}${IRIS}`,
      ]);
      expect(r.status).toBe(204);
      expect(header(r.headers, "access-control-allow-origin")).toBe("https://app.example.com");
      expect(header(r.headers, "access-control-allow-methods")).toBe("POST, GET, OPTIONS");
      const allowed = header(r.headers, "access-control-allow-headers")!.toLowerCase().split(", ");
      expect(allowed).toEqual(
        expect.arrayContaining([
          "content-type",
          "connect-protocol-version",
          "connect-timeout-ms",
          "x-grpc-web",
          "grpc-timeout",
          "x-user-agent",
          "authorization",
        ]),
      );
      expect(header(r.headers, "access-control-max-age")).toBe("7200");
    });

    it("adds the allow-origin and expose headers to an allowed origin's request, none to others'", async () => {
      const body = JSON.stringify({
        features: { shape: ["1", "4"], dtype: "float32", data: Buffer.alloc(16).toString("base64") },
      });
      const ok = await curl([
        "-X",
        "POST",
        "-H",
        "origin: https://app.example.com",
        "-H",
        "content-type: application/json",
        "-d",
        body,
        `${base}${IRIS}`,
      ]);
      expect(ok.status).toBe(200);
      expect(header(ok.headers, "access-control-allow-origin")).toBe("https://app.example.com");
      expect(header(ok.headers, "access-control-expose-headers")!.toLowerCase()).toContain("grpc-status");
      expect(header(ok.headers, "vary")).toBe("Origin");
      const other = await curl([
        "-X",
        "POST",
        "-H",
        "origin: https://evil.example",
        "-H",
        "content-type: application/json",
        "-d",
        body,
        `${base}${IRIS}`,
      ]);
      expect(header(other.headers, "access-control-allow-origin")).toBeUndefined();
      const preflight = await curl([
        "-X",
        "OPTIONS",
        "-H",
        "origin: https://evil.example",
        "-H",
        "access-control-request-method: POST",
        `${base}${IRIS}`,
      ]);
      expect(preflight.status).toBe(403);
      expect(header(preflight.headers, "access-control-allow-origin")).toBeUndefined();
    });

    it("is off by default", async () => {
      const app = createApp({ name: "iris" });
      app.model("iris", async (f: Tensor<"float32", ["batch", 4]>) => f);
      app.model("generate", async function* () {});
      const plain = createServer({ app, services: [InferenceServiceBinding], port: 0 });
      await plain.listen();
      try {
        const r = await curl([
          "-X",
          "OPTIONS",
          "-H",
          "origin: https://app.example.com",
          "-H",
          "access-control-request-method: POST",
          `${plain.url()}${IRIS}`,
        ]);
        expect(header(r.headers, "access-control-allow-origin")).toBeUndefined();
      } finally {
        await plain.close();
      }
    });
  });
});
