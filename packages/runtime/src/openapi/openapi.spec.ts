// The OpenAPI document and the /docs page, built in-process from the examples' generated
// descriptors: security, HTTP routes, streams, examples that mean something, and a
// document the OpenAPI 3.1 schema accepts.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { fromTensorProto } from "@blazerpc/tensor";
import { InferenceService as IrisService } from "../../../../examples/iris/gen/iris/v1/iris_pb.js";
import { InferenceService as TypesService } from "../../../../examples/types/gen/types/v1/types_pb.js";
import { docsPage } from "./docs-page.js";
import { createOpenApiDocument, exampleTensor, HEALTH_ROUTE_DOCS, type HttpRouteDoc } from "./openapi.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const VALIDATOR = path.join(__dirname, "..", "..", "..", "..", "test", "e2e", "fixtures", "validate-openapi.mjs");

/** The OpenAPI 3.1 schema's verdict (the validator is an ES module: it runs in its own process). */
function validate(doc: unknown): { valid: boolean; version: string; errors: unknown } {
  const r = spawnSync(process.execPath, [VALIDATOR], { input: JSON.stringify(doc), encoding: "utf8", timeout: 20_000 });
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout);
}

const tensorValues = (t: { shape: string[]; dtype: string; data: string }) =>
  Array.from(
    fromTensorProto({ shape: t.shape.map(BigInt), dtype: t.dtype, data: new Uint8Array(Buffer.from(t.data, "base64")) })
      .data as ArrayLike<number | bigint>,
    Number,
  );

const ECHO_ROUTE: HttpRouteDoc = {
  method: "POST",
  path: "/v1/items/{id}",
  summary: "Update an item",
  description: "Stores the item under its id.",
  requestSchema: {
    type: "object",
    required: ["name"],
    properties: { name: { type: "string", example: "lamp" }, count: { type: "integer" } },
  },
  responseSchema: { type: "object", properties: { ok: { type: "boolean" } } },
};

describe("createOpenApiDocument", () => {
  const plain: Json = createOpenApiDocument({ title: "iris", services: [IrisService] });
  const full: Json = createOpenApiDocument({
    title: "types",
    services: [IrisService, TypesService],
    bearerAuth: true,
    routes: [...HEALTH_ROUTE_DOCS, ECHO_ROUTE],
  });

  it("declares bearer auth and requires it, except on public routes", () => {
    expect(full.components.securitySchemes).toEqual({
      bearerAuth: { type: "http", scheme: "bearer", description: expect.any(String) },
    });
    expect(full.security).toEqual([{ bearerAuth: [] }]);
    expect(full.paths["/iris.v1.InferenceService/PredictIris"].post.responses[401]).toBeDefined();
    expect(full.paths["/healthz"].get.security).toEqual([]);
    expect(full.paths["/v1/items/{id}"].post.security).toBeUndefined(); // the document-wide requirement
    expect(full.paths["/v1/items/{id}"].post.responses[401]).toBeDefined();
    // Without the option: no scheme, no requirement.
    expect(plain.components.securitySchemes).toBeUndefined();
    expect(plain.security).toBeUndefined();
    expect(plain.paths["/iris.v1.InferenceService/PredictIris"].post.responses[401]).toBeUndefined();
  });

  it("lists HTTP routes beside the RPCs, with their schemas, path parameters and an example body", () => {
    expect(Object.keys(full.paths)).toEqual(expect.arrayContaining(["/healthz", "/readyz", "/v1/items/{id}"]));
    const health = full.paths["/healthz"].get;
    expect(health).toMatchObject({ tags: ["HTTP routes"], summary: "Liveness", "x-blazerpc-route": true });
    expect(health.responses[200].content["application/json"].schema.properties.status.enum).toEqual([
      "SERVING",
      "NOT_SERVING",
    ]);
    expect(health.requestBody).toBeUndefined();
    const post = full.paths["/v1/items/{id}"].post;
    expect(post).toMatchObject({
      operationId: "POST /v1/items/{id}",
      summary: "Update an item",
      description: "Stores the item under its id.",
    });
    expect(post.parameters).toEqual([{ name: "id", in: "path", required: true, schema: { type: "string" } }]);
    expect(post.requestBody.content["application/json"]).toEqual({
      schema: ECHO_ROUTE.requestSchema,
      example: { name: "lamp", count: 3 },
    });
    expect(post.responses[200].content["application/json"].schema).toEqual(ECHO_ROUTE.responseSchema);
    expect(full.tags).toContainEqual({ name: "HTTP routes", description: expect.any(String) });
    // app.route's ":name" is OpenAPI's "{name}".
    const colon: Json = createOpenApiDocument({
      title: "x",
      services: [],
      routes: [{ method: "GET", path: "/models/:name/versions/:version" }],
    });
    expect(Object.keys(colon.paths)).toEqual(["/models/{name}/versions/{version}"]);
    expect(
      colon.paths["/models/{name}/versions/{version}"].get.parameters.map((p: { name: string }) => p.name),
    ).toEqual(["name", "version"]);
  });

  it("refuses a route described twice or not from the root", () => {
    expect(() =>
      createOpenApiDocument({ title: "x", services: [], routes: [HEALTH_ROUTE_DOCS[0]!, HEALTH_ROUTE_DOCS[0]!] }),
    ).toThrow("GET /healthz is described twice");
    expect(() =>
      createOpenApiDocument({ title: "x", services: [], routes: [{ method: "GET", path: "healthz" }] }),
    ).toThrow('route path "healthz" must start with "/"');
  });

  it("describes a server stream with its request and response schemas and an example request", () => {
    const op = full.paths["/iris.v1.InferenceService/PredictGenerate"].post;
    expect(op["x-blazerpc-rpc"]).toEqual({
      kind: "server_streaming",
      service: "iris.v1.InferenceService",
      method: "PredictGenerate",
      requestType: "iris.v1.PredictGenerateRequest",
      responseType: "iris.v1.PredictGenerateResponse",
      example: { prompt: "hello", maxTokens: 3 },
    });
    expect(op.requestBody.content["application/connect+json"].schema.contentSchema).toEqual({
      $ref: "#/components/schemas/iris.v1.PredictGenerateRequest",
    });
    expect(op.responses[200].content["application/connect+json"].schema.contentSchema).toEqual({
      $ref: "#/components/schemas/iris.v1.PredictGenerateResponse",
    });
    expect(full.components.schemas["iris.v1.PredictGenerateRequest"].properties).toEqual({
      prompt: { type: "string" },
      maxTokens: { type: "number", format: "double" },
    });
    expect(full.components.schemas["iris.v1.PredictGenerateResponse"].properties).toEqual({
      result: { type: "string" },
    });
    const count = full.paths["/types.v1.InferenceService/PredictCount"].post;
    expect(count["x-blazerpc-rpc"].kind).toBe("server_streaming");
    expect(full.components.schemas[count["x-blazerpc-rpc"].responseType]).toBeDefined();
    // A unary method: its example where OpenAPI tools look for it.
    expect(full.paths["/iris.v1.InferenceService/PredictIris"].post["x-blazerpc-rpc"]).toMatchObject({
      kind: "unary",
      requestType: "iris.v1.PredictIrisRequest",
    });
  });

  it("gives tensor examples of the declared dtype and shape, never all zeros", () => {
    const iris =
      full.paths["/iris.v1.InferenceService/PredictIris"].post.requestBody.content["application/json"].example;
    expect(iris.features).toMatchObject({ shape: ["1", "4"], dtype: "float32" });
    expect(tensorValues(iris.features)).toEqual([0.5, 1, 1.5, 2]);
    const t =
      full.paths["/types.v1.InferenceService/PredictTensors"].post.requestBody.content["application/json"].example;
    expect(t.image).toMatchObject({ shape: ["1", "2", "2"], dtype: "uint8" });
    expect(tensorValues(t.image)).toEqual([1, 2, 3, 4]);
    expect(t.masks).toHaveLength(1);
    expect(t.masks[0]).toMatchObject({ shape: ["1"], dtype: "float32" });
    expect(tensorValues(t.named.key)).toEqual([1, 2]);
    expect(t.named.key.dtype).toBe("int64");
    expect(tensorValues(t.extra)).toEqual([0.5]);
    // Every dtype, float16 as its half bits (0.5 = 0x3800, 1 = 0x3c00, 1.5 = 0x3e00).
    expect(Buffer.from(exampleTensor("float16", ["3"]).data, "base64")).toEqual(
      Buffer.from([0x00, 0x38, 0x00, 0x3c, 0x00, 0x3e]),
    );
    for (const dtype of [
      "float32",
      "float64",
      "int8",
      "int16",
      "int32",
      "int64",
      "uint8",
      "uint16",
      "uint32",
      "uint64",
      "bool",
    ]) {
      const values = tensorValues(exampleTensor(dtype, ["batch", "3"]));
      expect(values).toHaveLength(3);
      expect(values.some((v) => v !== 0)).toBe(true);
    }
  });

  it("gives plausible scalar examples: strings, numbers, enums past UNSPECIFIED, lists of one", () => {
    const ex = (m: string) =>
      full.paths[`/types.v1.InferenceService/${m}`].post.requestBody.content["application/json"].example;
    expect(Object.values(ex("PredictScalars")).every((v) => v !== 0 && v !== "" && v !== false)).toBe(true);
    const enums = ex("PredictEnums");
    for (const v of Object.values(enums).flat()) expect(String(v)).not.toMatch(/UNSPECIFIED/);
    const lists = ex("PredictLists");
    for (const v of Object.values(lists)) expect(v).toHaveLength(1);
  });

  it("is valid OpenAPI 3.1, with bearer auth and routes as without", () => {
    expect(validate(full)).toEqual({ valid: true, version: "3.1", errors: null });
    expect(validate(plain)).toEqual({ valid: true, version: "3.1", errors: null });
    // The validator does refuse a broken security scheme.
    expect(
      validate({ ...full, components: { ...full.components, securitySchemes: { bearerAuth: { type: "http" } } } })
        .valid,
    ).toBe(false);
  });
});

describe("docsPage", () => {
  it("embeds the document as data, escaping whatever could end the script", () => {
    const doc = createOpenApiDocument({
      title: "<b>iris</b>",
      services: [IrisService],
      routes: [{ method: "GET", path: "/x", summary: "</script><script>alert(1)</script>" }],
    });
    const html = docsPage(doc);
    expect(html).toContain("<title>&lt;b&gt;iris&lt;/b&gt; — BlazeRPC API</title>");
    expect(html).not.toContain("</script><script>alert");
    const embedded = /<script type="application\/json" id="openapi">([^]*?)<\/script>/.exec(html)![1]!;
    expect(JSON.parse(embedded)).toEqual(doc);
    // Exactly the two script elements: the data and the page's own code.
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    // Nothing from elsewhere, and no HTML built from strings.
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it("ships the Authorize field hidden, for the script to show when the document declares bearer auth", () => {
    // What the script does with it is checked in a browser: test/e2e/docs-page.spec.ts.
    const html = docsPage(createOpenApiDocument({ title: "iris", services: [IrisService], bearerAuth: true }));
    expect(html).toMatch(/<form id="auth" class="auth" hidden>/);
    expect(html).toContain("securitySchemes");
  });
});
