import { getOption, hasOption, ScalarType, type DescEnum, type DescField, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { model as modelOption, tensor as tensorOption } from "@blazerpc/tensor/blazerpc/v1/options_pb.js";
import type { FileIndex } from "../reflection/file-index.js";

/** A JSON Schema (2020-12) object, as OpenAPI 3.1 embeds it. */
export type Schema = Record<string, unknown>;

/** Options of {@link createOpenApiDocument}. */
export interface OpenApiOptions {
  /** The document's title (the app's name). */
  title: string;
  /** The services to describe. */
  services: readonly DescService[];
  /** Where comments come from (when the schema was given with source info). */
  files?: FileIndex;
}

const ERROR_CODES = [
  "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists", "permission_denied",
  "resource_exhausted", "failed_precondition", "aborted", "out_of_range", "unimplemented", "internal", "unavailable",
  "data_loss", "unauthenticated",
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
  const { title, services, files } = options;
  const comment = (name: string) => files?.getComment(name);
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
        oneofs.length > 0 ? oneofs.map((o) => `At most one of ${o.fields.map((f) => `\`${f.jsonName}\``).join(", ")}.`).join(" ") : undefined,
      ),
    };
    return ref;
  };
  const valueSchema = (f: DescField, kind: "scalar" | "enum" | "message", scalar?: ScalarType, e?: DescEnum, msg?: DescMessage): Schema => {
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
      notes.push(`A ${spec.dtype} tensor of shape [${spec.shape.join(", ")}]: \`dtype\` "${spec.dtype}", \`shape\` that many dims (decimal strings; "batch" is any size), \`data\` the values, little-endian and row-major, base64.`);
      s["x-blazerpc-tensor"] = { dtype: spec.dtype, shape: spec.shape };
    }
    if (f.proto.proto3Optional) notes.push("Optional: absent means not set.");
    return { ...s, ...describe(comment(`${f.parent.typeName}.${f.name}`), notes.join(" ") || undefined) };
  };

  for (const service of services) {
    for (const method of service.methods) {
      const request = addMessage(method.input);
      const response = addMessage(method.output);
      const path = `/${service.typeName}/${method.name}`;
      const streaming = method.methodKind === "server_streaming";
      const doc = comment(`${service.typeName}.${method.name}`);
      const model = hasOption(method, modelOption) ? getOption(method, modelOption) : undefined;
      const common = {
        operationId: `${service.typeName}.${method.name}`,
        tags: [service.typeName],
        summary: doc?.split("\n")[0] ?? (model !== undefined ? `Model "${model.name}"` : method.name),
        description: [
          doc,
          model !== undefined ? `Serves model \`${model.name}\`${model.version !== "" ? ` (version ${model.version})` : ""}.` : undefined,
          streaming
            ? "A server stream: the Connect streaming protocol (`application/connect+json`, each message enveloped: 1 flag byte, 4 length bytes, then the JSON), or gRPC / gRPC-Web. The JSON of one message is described by the schemas below."
            : undefined,
        ].filter((x) => x !== undefined).join("\n\n"),
        ...(model !== undefined ? { "x-blazerpc-model": { name: model.name, version: model.version, streaming: model.streaming } } : {}),
      };
      const errors = { default: { description: "An error, in the Connect protocol's JSON form.", content: { "application/json": { schema: { $ref: "#/components/schemas/connect.Error" } } } } };
      const ops: Schema = {};
      if (streaming) {
        const envelope = { schema: { type: "string", contentMediaType: "application/connect+json", description: "Enveloped JSON messages." } };
        ops.post = {
          ...common,
          parameters: [protocolVersionHeader, timeoutHeader],
          requestBody: { required: true, content: { "application/connect+json": envelope }, description: `One enveloped ${method.input.typeName} (schema: ${request}).` },
          responses: { 200: { description: `Enveloped ${method.output.typeName} messages (schema: ${response}), then an end-of-stream message.`, content: { "application/connect+json": envelope } }, ...errors },
        };
      } else {
        const example = exampleOf(method.input, 0);
        ops.post = {
          ...common,
          parameters: [protocolVersionHeader, timeoutHeader],
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: { $ref: request }, example },
              "application/proto": { schema: { type: "string", contentMediaType: "application/proto", description: `A binary ${method.input.typeName}.` } },
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
            description: `${common.description}\n\nNo side effects, so it can be called with GET (cacheable): the request goes in the query.`.trim(),
            parameters: [
              { name: "connect", in: "query", required: true, schema: { type: "string", const: "v1" }, description: "The Connect protocol's version." },
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
      description:
        `Every RPC of this server over the Connect protocol: POST the request as JSON (\`content-type: application/json\`) to \`/<service>/<method>\` and get the response as JSON; errors come as a Connect error body with an HTTP status. The same methods answer gRPC and gRPC-Web on the same port.\n\nproto3 JSON mapping: fields by their JSON (lowerCamelCase) names, 64-bit integers as decimal strings, bytes as base64, enums by name.`,
    },
    paths,
    components: { schemas },
  };
}

const protocolVersionHeader = { name: "Connect-Protocol-Version", in: "header", required: false, schema: { type: "string", const: "1" } };
const timeoutHeader = { name: "Connect-Timeout-Ms", in: "header", required: false, schema: { type: "string", pattern: "^[0-9]{1,10}$" }, description: "The call's deadline, in milliseconds." };

const tensorDescription =
  "A tensor (BlazeRPC's wire format, the same as the Python BlazeRPC's): `shape` the size of each dim (64-bit integers, so decimal strings in JSON), `dtype` a numpy dtype name (`float32`, `int64`, `uint8`, …), `data` the values as bytes — little-endian, row-major, product(shape) × itemsize of them — in base64. Example: a float32 tensor of shape [1, 2] holding 1.0 and 2.0 is `{\"shape\": [\"1\", \"2\"], \"dtype\": \"float32\", \"data\": \"AACAPwAAAEA=\"}`.";

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
      return { type: "string", format: "int64", pattern: "^-?[0-9]+$", description: "A 64-bit integer, as a decimal string." };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64", pattern: "^[0-9]+$", description: "An unsigned 64-bit integer, as a decimal string." };
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
      return { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$", description: 'Seconds with an "s" suffix, e.g. "1.5s".' };
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
      return { type: "object", required: ["@type"], properties: { "@type": { type: "string" } }, additionalProperties: true };
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

/** A request body that parses: zero values, and tensors of the declared dtype and shape ("batch" → 1). */
export function exampleOf(m: DescMessage, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (depth > 4) return out;
  for (const f of m.fields) {
    if (f.fieldKind === "message" && f.message.typeName === TENSOR_TYPE && hasOption(f, tensorOption)) {
      const spec = getOption(f, tensorOption);
      const shape = spec.shape.map((d) => (/^\d+$/.test(d) ? Number(d) : 1));
      const itemsize = { float64: 8, int64: 8, uint64: 8, float32: 4, int32: 4, uint32: 4, float16: 2, int16: 2, uint16: 2 }[spec.dtype] ?? 1;
      out[f.jsonName] = { shape: shape.map(String), dtype: spec.dtype, data: Buffer.alloc(shape.reduce((a, b) => a * b, 1) * itemsize).toString("base64") };
    } else if (f.fieldKind === "scalar") {
      out[f.jsonName] = exampleScalar(f.scalar);
    } else if (f.fieldKind === "enum") {
      out[f.jsonName] = f.enum.values[0]?.name ?? "";
    } else if (f.fieldKind === "message" && wellKnown(f.message.typeName) === undefined) {
      out[f.jsonName] = exampleOf(f.message, depth + 1);
    } else if (f.fieldKind === "list") {
      out[f.jsonName] = [];
    } else if (f.fieldKind === "map") {
      out[f.jsonName] = {};
    }
  }
  return out;
}

function exampleScalar(t: ScalarType): unknown {
  switch (t) {
    case ScalarType.BOOL:
      return false;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return "";
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return "0";
    default:
      return 0;
  }
}

/** The methods of a service that may be called with GET. */
export function isPure(method: DescMethod): boolean {
  return method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
}
