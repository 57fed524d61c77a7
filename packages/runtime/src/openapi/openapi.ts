import {
  getOption,
  hasOption,
  ScalarType,
  type DescEnum,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
} from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { call as callOption } from "@blazerpc/tensor/blazerpc/v1/call_pb.js";
import { model as modelOption, tensor as tensorOption } from "@blazerpc/tensor/blazerpc/v1/options_pb.js";
import type { FileIndex } from "../reflection/file-index.js";

/** A JSON Schema (2020-12) object, as OpenAPI 3.1 embeds it. */
export type Schema = Record<string, unknown>;

/**
 * A plain HTTP route served beside the RPCs (e.g. `GET /healthz`), for the document and
 * the `/docs` page. Schemas are JSON Schemas (2020-12) of JSON bodies.
 *
 * @example
 * const route: HttpRouteDoc = { method: "GET", path: "/healthz", summary: "Liveness", responseSchema: { type: "object" } };
 */
export interface HttpRouteDoc {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** From the root, e.g. `/healthz`; `{name}` (or `app.route`'s `:name`) segments are path parameters. */
  path: string;
  summary?: string;
  description?: string;
  /** The JSON request body (ignored for GET, which has none). */
  requestSchema?: Record<string, unknown>;
  /** The JSON body of a 200 answer. */
  responseSchema?: Record<string, unknown>;
  /** Needs no bearer token even with {@link OpenApiOptions.bearerAuth} on (health routes). Default false. */
  public?: boolean;
}

/** Options of {@link createOpenApiDocument}. */
export interface OpenApiOptions {
  /** The document's title (the app's name). */
  title: string;
  /** The services to describe. */
  services: readonly DescService[];
  /** Where comments come from (when the schema was given with source info). */
  files?: FileIndex;
  /**
   * The server wants `authorization: Bearer <token>`: the document declares the
   * `bearerAuth` security scheme and requires it (public routes excepted), and `/docs`
   * shows an "Authorize" field. Default false.
   */
  bearerAuth?: boolean;
  /** Plain HTTP routes served beside the RPCs, listed after them. */
  routes?: readonly HttpRouteDoc[];
}

const HEALTH_BODY: Schema = {
  type: "object",
  required: ["status", "models"],
  properties: {
    status: {
      type: "string",
      enum: ["SERVING", "NOT_SERVING"],
      description: 'The whole server, as gRPC health\'s "" service reports it.',
    },
    models: {
      type: "object",
      additionalProperties: { type: "string", enum: ["LOADING", "SERVING", "FAILED", "NOT_SERVING"] },
      description: "Each model's state.",
    },
    errors: {
      type: "object",
      additionalProperties: { type: "string" },
      description: "Why models failed to load (only when one did).",
    },
    services: {
      type: "object",
      additionalProperties: { type: "string", enum: ["SERVING", "NOT_SERVING"] },
      description: "Each served service's status (only when the app serves services of its own or sets statuses).",
    },
  },
};

/**
 * The built-in health routes, `GET /healthz` and `GET /readyz`, for {@link OpenApiOptions.routes}.
 *
 * @example
 * createOpenApiDocument({ title: "iris", services, routes: HEALTH_ROUTE_DOCS });
 */
export const HEALTH_ROUTE_DOCS: readonly HttpRouteDoc[] = [
  {
    method: "GET",
    path: "/healthz",
    summary: "Liveness",
    description: "200 while the process answers at all (a Kubernetes liveness probe). Needs no token.",
    responseSchema: HEALTH_BODY,
    public: true,
  },
  {
    method: "GET",
    path: "/readyz",
    summary: "Readiness",
    description:
      "200 when every model is SERVING; 503 (same body) while models load, after one failed to load, and while the server shuts down. Needs no token.",
    responseSchema: HEALTH_BODY,
    public: true,
  },
];

const ERROR_CODES = [
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
];

const TENSOR_TYPE = "blazerpc.v1.TensorProto";

/**
 * An OpenAPI 3.1 document for the Connect protocol of `services`, built from their
 * descriptors: one path per method (`POST /<service>/<method>`, and `GET` for methods
 * declared `idempotency_level = NO_SIDE_EFFECTS`), request and response bodies in the
 * proto3 JSON mapping (field JSON names, 64-bit integers as decimal strings, bytes as
 * base64, enums by name), the Connect error body, and each tensor field's dtype and shape.
 *
 * @example
 * const doc = createOpenApiDocument({ title: "iris", services: [InferenceService] });
 * doc.paths["/iris.v1.InferenceService/PredictIris"].post.requestBody
 */
export function createOpenApiDocument(options: OpenApiOptions): Schema {
  const { title, services, files, bearerAuth = false, routes = [] } = options;
  // `buf:lint:ignore` lines are for buf, not for readers (code generation writes them on code-first RPCs).
  const comment = (name: string) => withoutLintIgnores(files?.getComment(name));
  const schemas: Record<string, Schema> = {};
  const paths: Record<string, Schema> = {};

  const addEnum = (e: DescEnum): string => {
    if (schemas[e.typeName] === undefined) {
      schemas[e.typeName] = {
        type: "string",
        enum: e.values.map((v) => v.name),
        ...describe(comment(e.typeName), "Values by name; their numbers are accepted on input too."),
      };
    }
    return `#/components/schemas/${e.typeName}`;
  };
  const addMessage = (m: DescMessage): string => {
    const ref = `#/components/schemas/${m.typeName}`;
    if (schemas[m.typeName] !== undefined) return ref;
    const wkt = wellKnown(m.typeName);
    if (wkt !== undefined) {
      schemas[m.typeName] = wkt;
      return ref;
    }
    const properties: Record<string, Schema> = {};
    schemas[m.typeName] = {}; // placeholder: messages may be recursive
    for (const f of m.fields) properties[f.jsonName] = fieldSchema(f);
    const oneofs = m.oneofs.filter((o) => !o.fields.every((f) => f.proto.proto3Optional));
    schemas[m.typeName] = {
      type: "object",
      properties,
      ...describe(
        m.typeName === TENSOR_TYPE ? tensorDescription : comment(m.typeName),
        oneofs.length > 0
          ? oneofs.map((o) => `At most one of ${o.fields.map((f) => `\`${f.jsonName}\``).join(", ")}.`).join(" ")
          : undefined,
      ),
    };
    return ref;
  };
  const valueSchema = (
    f: DescField,
    kind: "scalar" | "enum" | "message",
    scalar?: ScalarType,
    e?: DescEnum,
    msg?: DescMessage,
  ): Schema => {
    if (kind === "scalar") return scalarSchema(scalar!);
    if (kind === "enum") return { $ref: addEnum(e!) };
    return { $ref: addMessage(msg!) };
  };
  const fieldSchema = (f: DescField): Schema => {
    let s: Schema;
    switch (f.fieldKind) {
      case "scalar":
        s = scalarSchema(f.scalar);
        break;
      case "enum":
        s = { $ref: addEnum(f.enum) };
        break;
      case "message":
        s = { $ref: addMessage(f.message) };
        break;
      case "list":
        s = { type: "array", items: valueSchema(f, f.listKind, f.scalar, f.enum, f.message) };
        break;
      case "map":
        s = { type: "object", additionalProperties: valueSchema(f, f.mapKind, f.scalar, f.enum, f.message) };
        break;
    }
    const notes: string[] = [];
    if (hasOption(f, tensorOption)) {
      const spec = getOption(f, tensorOption);
      notes.push(
        `A ${spec.dtype} tensor of shape [${spec.shape.join(", ")}]: \`dtype\` "${spec.dtype}", \`shape\` that many dims (decimal strings; "batch" is any size), \`data\` the values, little-endian and row-major, base64.`,
      );
      s["x-blazerpc-tensor"] = { dtype: spec.dtype, shape: spec.shape };
    }
    if (f.proto.proto3Optional) notes.push("Optional: absent means not set.");
    return { ...s, ...describe(comment(`${f.parent.typeName}.${f.name}`), notes.join(" ") || undefined) };
  };

  const tags: Schema[] = [];
  const unauthorized = bearerAuth
    ? {
        401: {
          description: "No valid bearer token: send `authorization: Bearer <token>`.",
          content: { "application/json": { schema: { $ref: "#/components/schemas/connect.Error" } } },
        },
      }
    : {};
  for (const service of services) {
    tags.push({ name: service.typeName, ...describe(comment(service.typeName)) });
    for (const method of service.methods) {
      const streaming = method.methodKind === "server_streaming";
      // Client and bidi streams need HTTP/2 both ways: no JSON POST, no try-it. Left out.
      if (!streaming && method.methodKind !== "unary") continue;
      const request = addMessage(method.input);
      const response = addMessage(method.output);
      const path = `/${service.typeName}/${method.name}`;
      const doc = comment(`${service.typeName}.${method.name}`);
      // A code-first RPC (`app.rpc`) carries the model option too (its run-time name), but it is not a model.
      const isRpc = hasOption(method, callOption) && getOption(method, callOption).rpc;
      const model = !isRpc && hasOption(method, modelOption) ? getOption(method, modelOption) : undefined;
      const example = exampleOf(method.input, 0);
      const common = {
        operationId: `${service.typeName}.${method.name}`,
        tags: [service.typeName],
        summary: doc?.split("\n")[0] ?? (model !== undefined ? `Model "${model.name}"` : method.name),
        description: [
          doc,
          model !== undefined
            ? `Serves model \`${model.name}\`${model.version !== "" ? ` (version ${model.version})` : ""}.`
            : undefined,
          streaming
            ? `A server stream over the Connect streaming protocol (\`application/connect+json\`): the request is one enveloped message, the answer enveloped messages then an end-of-stream message; each envelope is 1 flag byte, a 4-byte big-endian length, then the JSON. The JSON of the request is a ${method.input.typeName}, of each answer a ${method.output.typeName}. gRPC and gRPC-Web reach it on the same port.`
            : undefined,
        ]
          .filter((x) => x !== undefined)
          .join("\n\n"),
        // What the /docs page needs to call it: kind, message types and (for streams, whose
        // body is not plain JSON) an example request message.
        "x-blazerpc-rpc": {
          kind: streaming ? "server_streaming" : "unary",
          service: service.typeName,
          method: method.name,
          requestType: method.input.typeName,
          responseType: method.output.typeName,
          ...(streaming ? { example } : {}),
        },
        ...(model !== undefined
          ? { "x-blazerpc-model": { name: model.name, version: model.version, streaming: model.streaming } }
          : {}),
      };
      const errors = {
        ...unauthorized,
        default: {
          description: "An error, in the Connect protocol's JSON form.",
          content: { "application/json": { schema: { $ref: "#/components/schemas/connect.Error" } } },
        },
      };
      const ops: Schema = {};
      if (streaming) {
        const envelope = (ref: string, what: string) => ({
          schema: {
            type: "string",
            contentMediaType: "application/connect+json",
            contentSchema: { $ref: ref },
            description: what,
          },
        });
        ops.post = {
          ...common,
          parameters: [protocolVersionHeader, timeoutHeader],
          requestBody: {
            required: true,
            content: { "application/connect+json": envelope(request, `One enveloped ${method.input.typeName}.`) },
            description: `One enveloped ${method.input.typeName} (schema: ${request}).`,
          },
          responses: {
            200: {
              description: `Enveloped ${method.output.typeName} messages (schema: ${response}), then an end-of-stream message (flag 0x02): \`{"error"?: …, "metadata"?: …}\`. Errors after the headers come there, with HTTP status 200.`,
              content: {
                "application/connect+json": envelope(
                  response,
                  `Enveloped ${method.output.typeName} messages, then the end-of-stream message.`,
                ),
              },
            },
            ...errors,
          },
        };
      } else {
        ops.post = {
          ...common,
          parameters: [protocolVersionHeader, timeoutHeader],
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: { $ref: request }, example },
              "application/proto": {
                schema: {
                  type: "string",
                  contentMediaType: "application/proto",
                  description: `A binary ${method.input.typeName}.`,
                },
              },
            },
          },
          responses: {
            200: {
              description: `The ${method.output.typeName}.`,
              content: {
                "application/json": { schema: { $ref: response } },
                "application/proto": { schema: { type: "string", contentMediaType: "application/proto" } },
              },
            },
            ...errors,
          },
        };
        if (method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) {
          ops.get = {
            ...common,
            operationId: `${service.typeName}.${method.name}.get`,
            description:
              `${common.description}\n\nNo side effects, so it can be called with GET (cacheable): the request goes in the query.`.trim(),
            parameters: [
              {
                name: "connect",
                in: "query",
                required: true,
                schema: { type: "string", const: "v1" },
                description: "The Connect protocol's version.",
              },
              { name: "encoding", in: "query", required: true, schema: { type: "string", enum: ["json", "proto"] } },
              {
                name: "message",
                in: "query",
                required: true,
                schema: { type: "string" },
                example: JSON.stringify(example),
                description: `The ${method.input.typeName}: its JSON (encoding=json), or with base64=1 its bytes in unpadded base64url.`,
              },
              { name: "base64", in: "query", required: false, schema: { type: "string", enum: ["1"] } },
              { name: "compression", in: "query", required: false, schema: { type: "string", enum: ["gzip", "br"] } },
            ],
            responses: (ops.post as { responses: unknown }).responses,
          };
        }
      }
      paths[path] = ops;
    }
  }
  if (routes.length > 0) tags.push({ name: ROUTES_TAG, description: "Plain HTTP routes served on the same port." });
  for (const route of routes) addRoute(paths, route, bearerAuth);
  schemas["connect.Error"] = {
    type: "object",
    required: ["code"],
    properties: {
      code: { type: "string", enum: ERROR_CODES, description: "The Connect code (gRPC's status, in snake_case)." },
      message: { type: "string", description: "What went wrong, for a developer." },
      details: {
        type: "array",
        items: {
          type: "object",
          properties: { type: { type: "string" }, value: { type: "string", contentEncoding: "base64" }, debug: {} },
        },
      },
    },
    description: "The body of a Connect error response (HTTP status 4xx/5xx).",
  };
  return {
    openapi: "3.1.0",
    info: {
      title,
      version: services[0]?.file.proto.package.split(".").at(-1) ?? "v1",
      description: `Every RPC of this server over the Connect protocol: POST the request as JSON (\`content-type: application/json\`) to \`/<service>/<method>\` and get the response as JSON; errors come as a Connect error body with an HTTP status. The same methods answer gRPC and gRPC-Web on the same port.\n\nproto3 JSON mapping: fields by their JSON (lowerCamelCase) names, 64-bit integers as decimal strings, bytes as base64, enums by name.`,
    },
    ...(tags.some((t) => t.description !== undefined) ? { tags } : {}),
    paths,
    components: {
      schemas,
      ...(bearerAuth
        ? {
            securitySchemes: {
              bearerAuth: {
                type: "http",
                scheme: "bearer",
                description: "A token the server accepts, sent as `authorization: Bearer <token>`.",
              },
            },
          }
        : {}),
    },
    ...(bearerAuth ? { security: [{ bearerAuth: [] }] } : {}),
  };
}

/** The tag of the plain HTTP routes, in the document and on the page. */
export const ROUTES_TAG = "HTTP routes";

function addRoute(paths: Record<string, Schema>, route: HttpRouteDoc, bearerAuth: boolean): void {
  const { method, summary, description, requestSchema, responseSchema } = route;
  if (!route.path.startsWith("/"))
    throw new Error(`createOpenApiDocument: route path ${JSON.stringify(route.path)} must start with "/"`);
  // OpenAPI writes a parameter {name}; app.route writes it :name.
  const path = route.path.replace(/\/:([^/]+)/g, "/{$1}");
  const verb = method.toLowerCase();
  const ops = (paths[path] ??= {});
  if (ops[verb] !== undefined) throw new Error(`createOpenApiDocument: ${method} ${path} is described twice`);
  const params = [...path.matchAll(/\{([^}/]+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  const withBody = requestSchema !== undefined && method !== "GET";
  ops[verb] = {
    operationId: `${method} ${path}`,
    tags: [ROUTES_TAG],
    ...(summary !== undefined ? { summary } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(route.public === true && bearerAuth ? { security: [] } : {}),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(withBody
      ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: requestSchema, example: exampleOfSchema(requestSchema, 0) } },
          },
        }
      : {}),
    responses: {
      200: {
        description: "OK",
        ...(responseSchema !== undefined ? { content: { "application/json": { schema: responseSchema } } } : {}),
      },
      ...(bearerAuth && route.public !== true
        ? { 401: { description: "No valid bearer token: send `authorization: Bearer <token>`." } }
        : {}),
    },
    "x-blazerpc-route": true,
  };
}

const protocolVersionHeader = {
  name: "Connect-Protocol-Version",
  in: "header",
  required: false,
  schema: { type: "string", const: "1" },
};
const timeoutHeader = {
  name: "Connect-Timeout-Ms",
  in: "header",
  required: false,
  schema: { type: "string", pattern: "^[0-9]{1,10}$" },
  description: "The call's deadline, in milliseconds.",
};

const tensorDescription =
  'A tensor (BlazeRPC\'s wire format, the same as the Python BlazeRPC\'s): `shape` the size of each dim (64-bit integers, so decimal strings in JSON), `dtype` a numpy dtype name (`float32`, `int64`, `uint8`, …), `data` the values as bytes — little-endian, row-major, product(shape) × itemsize of them — in base64. Example: a float32 tensor of shape [1, 2] holding 1.0 and 2.0 is `{"shape": ["1", "2"], "dtype": "float32", "data": "AACAPwAAAEA="}`.';

function describe(...parts: (string | undefined)[]): { description?: string } {
  const text = parts.filter((p): p is string => p !== undefined && p !== "").join("\n\n");
  return text === "" ? {} : { description: text };
}

function scalarSchema(t: ScalarType): Schema {
  switch (t) {
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", minimum: 0, maximum: 4294967295 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return {
        type: "string",
        format: "int64",
        pattern: "^-?[0-9]+$",
        description: "A 64-bit integer, as a decimal string.",
      };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return {
        type: "string",
        format: "uint64",
        pattern: "^[0-9]+$",
        description: "An unsigned 64-bit integer, as a decimal string.",
      };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64", description: "Bytes, base64-encoded." };
  }
}

/** The proto3 JSON forms of the well-known types. */
function wellKnown(typeName: string): Schema | undefined {
  const wrapper = (s: Schema) => ({ ...s, type: [s.type as string, "null"] });
  switch (typeName) {
    case "google.protobuf.Timestamp":
      return { type: "string", format: "date-time", description: "RFC 3339, e.g. 2024-01-01T00:00:00Z." };
    case "google.protobuf.Duration":
      return {
        type: "string",
        pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$",
        description: 'Seconds with an "s" suffix, e.g. "1.5s".',
      };
    case "google.protobuf.Struct":
      return { type: "object", additionalProperties: true };
    case "google.protobuf.Value":
      return { description: "Any JSON value." };
    case "google.protobuf.ListValue":
      return { type: "array" };
    case "google.protobuf.Empty":
      return { type: "object" };
    case "google.protobuf.FieldMask":
      return { type: "string", description: "Comma-separated lowerCamelCase field paths." };
    case "google.protobuf.Any":
      return {
        type: "object",
        required: ["@type"],
        properties: { "@type": { type: "string" } },
        additionalProperties: true,
      };
    case "google.protobuf.DoubleValue":
    case "google.protobuf.FloatValue":
      return wrapper({ type: "number" });
    case "google.protobuf.Int32Value":
    case "google.protobuf.UInt32Value":
      return wrapper({ type: "integer" });
    case "google.protobuf.Int64Value":
    case "google.protobuf.UInt64Value":
      return wrapper({ type: "string", pattern: "^-?[0-9]+$" });
    case "google.protobuf.BoolValue":
      return wrapper({ type: "boolean" });
    case "google.protobuf.StringValue":
      return wrapper({ type: "string" });
    case "google.protobuf.BytesValue":
      return wrapper({ type: "string", contentEncoding: "base64" });
  }
  return undefined;
}

/**
 * A request body that parses and means something: every field set (the first member of
 * each oneof only), strings "hello", numbers 3, lists of one, and tensors of the declared
 * dtype and shape ("batch" and other named dims → 1) holding 0.5, 1, 1.5, … (integers
 * 1, 2, 3, …; bools alternating), never all zeros.
 */
export function exampleOf(m: DescMessage, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (depth > 3) return out;
  // Setting two members of a oneof is an error in the JSON mapping.
  const skipped = new Set<string>();
  for (const o of m.oneofs) for (const f of o.fields.slice(1)) if (!f.proto.proto3Optional) skipped.add(f.name);
  for (const f of m.fields) {
    if (skipped.has(f.name)) continue;
    const spec = hasOption(f, tensorOption) ? getOption(f, tensorOption) : undefined;
    const value = (
      kind: "scalar" | "enum" | "message",
      scalar?: ScalarType,
      e?: DescEnum,
      msg?: DescMessage,
    ): unknown => {
      if (kind === "scalar") return exampleScalar(scalar!);
      if (kind === "enum") return (e!.values.find((v) => v.number !== 0) ?? e!.values[0])?.name ?? "";
      if (msg!.typeName === TENSOR_TYPE)
        return spec !== undefined ? exampleTensor(spec.dtype, spec.shape) : exampleTensor("float32", ["2"]);
      if (wellKnown(msg!.typeName) !== undefined) return wellKnownExample(msg!.typeName);
      return depth < 3 ? exampleOf(msg!, depth + 1) : undefined;
    };
    let v: unknown;
    switch (f.fieldKind) {
      case "scalar":
        v = exampleScalar(f.scalar);
        break;
      case "enum":
        v = value("enum", undefined, f.enum);
        break;
      case "message":
        v = value("message", undefined, undefined, f.message);
        break;
      case "list": {
        const item = value(f.listKind, f.scalar, f.enum, f.message);
        v = item === undefined ? [] : [item];
        break;
      }
      case "map": {
        const item = value(f.mapKind, f.scalar, f.enum, f.message);
        v = item === undefined ? {} : { [exampleMapKey(f.mapKey)]: item };
        break;
      }
    }
    if (v !== undefined) out[f.jsonName] = v;
  }
  return out;
}

const ITEMSIZE: Record<string, number> = {
  float64: 8,
  int64: 8,
  uint64: 8,
  float32: 4,
  int32: 4,
  uint32: 4,
  float16: 2,
  int16: 2,
  uint16: 2,
};

/** A tensor in its proto3 JSON form, its values 0.5, 1, 1.5, … (integers 1, 2, …, bools alternating) up to 4, again. */
export function exampleTensor(
  dtype: string,
  shape: readonly string[],
): { shape: string[]; dtype: string; data: string } {
  const dims = shape.map((d) => (/^\d+$/.test(d) ? Number(d) : 1));
  const count = dims.reduce((a, b) => a * b, 1);
  const size = ITEMSIZE[dtype] ?? 1;
  const bytes = Buffer.alloc(count * size);
  for (let i = 0; i < count; i++) {
    const half = ((i % 8) + 1) / 2; // 0.5 … 4: exact in every float type
    const int = (i % 8) + 1;
    const at = i * size;
    switch (dtype) {
      case "float64":
        bytes.writeDoubleLE(half, at);
        break;
      case "float32":
        bytes.writeFloatLE(half, at);
        break;
      case "float16":
        bytes.writeUInt16LE(halfBits(half), at);
        break;
      case "int64":
        bytes.writeBigInt64LE(BigInt(int), at);
        break;
      case "uint64":
        bytes.writeBigUInt64LE(BigInt(int), at);
        break;
      case "int32":
        bytes.writeInt32LE(int, at);
        break;
      case "uint32":
        bytes.writeUInt32LE(int, at);
        break;
      case "int16":
        bytes.writeInt16LE(int, at);
        break;
      case "uint16":
        bytes.writeUInt16LE(int, at);
        break;
      case "bool":
        bytes.writeUInt8(i % 2 === 0 ? 1 : 0, at);
        break;
      default:
        bytes.writeUInt8(int, at); // int8, uint8, and what we do not know
    }
  }
  return { shape: dims.map(String), dtype, data: bytes.toString("base64") };
}

/** IEEE 754 half bits of a positive normal number that half holds exactly (0.5 … 4 here). */
function halfBits(v: number): number {
  const e = Math.floor(Math.log2(v));
  return ((e + 15) << 10) | Math.round((v / 2 ** e - 1) * 1024);
}

function exampleScalar(t: ScalarType): unknown {
  switch (t) {
    case ScalarType.BOOL:
      return true;
    case ScalarType.STRING:
      return "hello";
    case ScalarType.BYTES:
      return Buffer.from("hello").toString("base64");
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return "3";
    default:
      return 3;
  }
}

function exampleMapKey(t: ScalarType): string {
  if (t === ScalarType.STRING) return "key";
  if (t === ScalarType.BOOL) return "true";
  return "1";
}

function wellKnownExample(typeName: string): unknown {
  switch (typeName) {
    case "google.protobuf.Timestamp":
      return "2024-01-01T00:00:00Z";
    case "google.protobuf.Duration":
      return "1.5s";
    case "google.protobuf.Struct":
    case "google.protobuf.Empty":
      return {};
    case "google.protobuf.Value":
      return "hello";
    case "google.protobuf.ListValue":
      return ["hello"];
    case "google.protobuf.FieldMask":
      return "";
    case "google.protobuf.DoubleValue":
    case "google.protobuf.FloatValue":
    case "google.protobuf.Int32Value":
    case "google.protobuf.UInt32Value":
      return 3;
    case "google.protobuf.Int64Value":
    case "google.protobuf.UInt64Value":
      return "3";
    case "google.protobuf.BoolValue":
      return true;
    case "google.protobuf.StringValue":
      return "hello";
    case "google.protobuf.BytesValue":
      return Buffer.from("hello").toString("base64");
  }
  return undefined; // google.protobuf.Any: none parses without a registered type
}

/** An example of a JSON Schema's value: its own example, const, default or first enum value, else one built by type. */
export function exampleOfSchema(schema: Schema, depth: number): unknown {
  const s = schema as {
    example?: unknown;
    examples?: unknown[];
    const?: unknown;
    default?: unknown;
    enum?: unknown[];
    type?: unknown;
    properties?: Record<string, Schema>;
    items?: Schema;
    additionalProperties?: unknown;
  };
  if (s.example !== undefined) return s.example;
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0];
  if (s.const !== undefined) return s.const;
  if (s.default !== undefined) return s.default;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  if (depth > 4) return type === "array" ? [] : type === "object" ? {} : null;
  switch (type) {
    case "string":
      return "hello";
    case "integer":
    case "number":
      return 3;
    case "boolean":
      return true;
    case "array":
      return s.items !== undefined ? [exampleOfSchema(s.items, depth + 1)] : [];
    case "object":
    default: {
      if (s.properties === undefined) return type === "object" ? {} : null;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s.properties)) out[k] = exampleOfSchema(v, depth + 1);
      return out;
    }
  }
}

/** The methods of a service that may be called with GET. */
export function isPure(method: DescMethod): boolean {
  return method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
}

/** A comment without its `buf:lint:ignore` lines; undefined when nothing else is left. */
function withoutLintIgnores(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const kept = text
    .split("\n")
    .filter((line) => !/^\s*buf:lint:ignore /.test(line))
    .join("\n")
    .trim();
  return kept === "" ? undefined : kept;
}
