// gRPC server reflection (v1 and v1alpha) through a real server: `buf curl` lists the
// services and methods and calls a model with no schema but what reflection serves, over
// gRPC, gRPC-Web and Connect; a @grpc/grpc-js reflection client checks the files, their
// dependencies and comments, and that malformed requests get clear errors.
import * as path from "node:path";
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { toTensorProto } from "@blazerpc/tensor";
import { createServer, type BlazeServer } from "@blazerpc/runtime";
import { app } from "../../examples/iris/models.js";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import * as v1 from "../../packages/runtime/src/gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../packages/runtime/src/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { bufBin, irisProtoDir, parseJsonStream, repoRoot, run, tensorFromJson, tensorToJson } from "./support.js";

/** `buf build` of the iris schema, with source info, as `blaze serve` makes it. */
async function irisDescriptorSet(): Promise<Uint8Array> {
  const out = path.join(repoRoot, "node_modules", ".cache", `iris-${process.pid}.binpb`);
  const r = await run(bufBin, ["build", irisProtoDir, "--as-file-descriptor-set", "-o", out]);
  expect(r.stderr).toBe("");
  const fs = await import("node:fs");
  const bytes = fs.readFileSync(out);
  fs.rmSync(out);
  return bytes;
}

/** Sends reflection requests on one bidi stream and collects one response per request. */
function reflect<Req extends DescMessage, Res extends DescMessage>(
  client: grpc.Client,
  pkg: "v1" | "v1alpha",
  reqSchema: Req,
  resSchema: Res,
  requests: Uint8Array[],
): Promise<{ responses: MessageShape<Res>[]; status: grpc.StatusObject }> {
  return new Promise((resolve) => {
    const call = client.makeBidiStreamRequest(
      `/grpc.reflection.${pkg}.ServerReflection/ServerReflectionInfo`,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => fromBinary(resSchema, b),
    );
    const responses: MessageShape<Res>[] = [];
    call.on("data", (m: MessageShape<Res>) => responses.push(m));
    call.on("error", () => undefined);
    call.on("status", (status) => resolve({ responses, status }));
    for (const r of requests) call.write(r);
    call.end();
  });
}

const v1Request = (init: Parameters<typeof create<typeof v1.ServerReflectionRequestSchema>>[1]) =>
  toBinary(v1.ServerReflectionRequestSchema, create(v1.ServerReflectionRequestSchema, init));

const filesOf = (res: v1.ServerReflectionResponse): FileDescriptorProto[] =>
  res.messageResponse.case === "fileDescriptorResponse"
    ? res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b))
    : [];

/** The leading comment at a source path of a file (e.g. [6, 0, 2, 0]: service 0, method 0). */
const commentAt = (file: FileDescriptorProto, p: number[]) =>
  file.sourceCodeInfo?.location.find((l) => l.path.join(".") === p.join("."))?.leadingComments.trim();

describe("server reflection", () => {
  let server: BlazeServer;
  let client: grpc.Client;

  beforeAll(async () => {
    server = createServer({
      app,
      services: [InferenceServiceBinding],
      port: 0,
      descriptorSet: await irisDescriptorSet(),
    });
    await server.listen();
    client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  const SERVICES = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "inference.GRPCInferenceService",
    "iris.v1.InferenceService",
  ];

  const METHODS = [
    "grpc.health.v1.Health/Check",
    "grpc.health.v1.Health/List",
    "grpc.health.v1.Health/Watch",
    "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    // The Open Inference Protocol (docs/oip.md), served by default.
    "inference.GRPCInferenceService/ModelInfer",
    "inference.GRPCInferenceService/ModelMetadata",
    "inference.GRPCInferenceService/ModelReady",
    "inference.GRPCInferenceService/RepositoryModelLoad",
    "inference.GRPCInferenceService/RepositoryModelUnload",
    "inference.GRPCInferenceService/ServerLive",
    "inference.GRPCInferenceService/ServerMetadata",
    "inference.GRPCInferenceService/ServerReady",
    "iris.v1.InferenceService/PredictGenerate",
    "iris.v1.InferenceService/PredictIris",
  ];

  it.each(["grpc", "grpcweb", "connect"])(
    "buf curl --protocol %s lists services and methods and calls a model by reflection",
    async (protocol) => {
      const base = server.url();
      const list = await run(bufBin, [
        "curl",
        "--protocol",
        protocol,
        "--http2-prior-knowledge",
        "--list-services",
        base,
      ]);
      expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: "" });
      expect(list.stdout.trim().split("\n").sort()).toEqual(SERVICES);

      const methods = await run(bufBin, [
        "curl",
        "--protocol",
        protocol,
        "--http2-prior-knowledge",
        "--list-methods",
        base,
      ]);
      expect({ code: methods.code, stderr: methods.stderr }).toEqual({ code: 0, stderr: "" });
      expect(methods.stdout.trim().split("\n").sort()).toEqual(METHODS);

      const features = { dtype: "float32" as const, shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) };
      const body = JSON.stringify({ features: tensorToJson(toTensorProto(features)) });
      const call = await run(bufBin, [
        "curl",
        "--protocol",
        protocol,
        "--http2-prior-knowledge",
        "-d",
        body,
        `${base}/iris.v1.InferenceService/PredictIris`,
      ]);
      expect({ code: call.code, stderr: call.stderr }).toEqual({ code: 0, stderr: "" });
      const [res] = parseJsonStream(call.stdout) as { result: { shape: string[]; dtype: string; data: string } }[];
      const direct = (await app.getModelOrThrow("iris").fn(features)) as { data: Float32Array };
      expect(Array.from(tensorFromJson(res!.result).data as Float32Array)).toEqual(Array.from(direct.data));

      const stream = await run(bufBin, [
        "curl",
        "--protocol",
        protocol,
        "--http2-prior-knowledge",
        "-d",
        '{"prompt":"hi","maxTokens":3}',
        `${base}/iris.v1.InferenceService/PredictGenerate`,
      ]);
      expect(stream.code).toBe(0);
      expect(parseJsonStream(stream.stdout)).toHaveLength(3);
    },
  );

  it("serves the file containing a symbol with its dependencies and its comments (v1)", async () => {
    const { responses, status } = await reflect(
      client,
      "v1",
      v1.ServerReflectionRequestSchema,
      v1.ServerReflectionResponseSchema,
      [
        v1Request({ messageRequest: { case: "fileContainingSymbol", value: "iris.v1.InferenceService.PredictIris" } }),
        v1Request({ messageRequest: { case: "fileByFilename", value: "blazerpc/v1/tensor.proto" } }),
        v1Request({ messageRequest: { case: "fileContainingSymbol", value: "grpc.health.v1.Health" } }),
      ],
    );
    expect(status.code).toBe(grpc.status.OK);
    expect(responses).toHaveLength(3);
    const iris = filesOf(responses[0]!);
    expect(iris.map((f) => f.name)).toEqual([
      "iris/v1/iris.proto",
      "blazerpc/v1/options.proto",
      "google/protobuf/descriptor.proto",
      "blazerpc/v1/tensor.proto",
    ]);
    // The comments written in models.ts, carried into the proto, come back through reflection.
    expect(commentAt(iris[0]!, [6, 0, 2, 0])).toBe(
      "Classify iris flowers; returns class probabilities.\n Each row of features is (sepal length, sepal width, petal length, petal width) in cm.",
    );
    expect(commentAt(iris[3]!, [4, 0])).toMatch(/\S/); // TensorProto's own doc comment
    expect(filesOf(responses[1]!).map((f) => f.name)).toEqual(["blazerpc/v1/tensor.proto"]);
    const health = filesOf(responses[2]!);
    expect(health.map((f) => f.name)).toEqual(["grpc/health/v1/health.proto"]);
    expect(commentAt(health[0]!, [6, 0])).toBe(
      "Health tells whether the server, or one of its services, can answer requests.",
    );
    // Reflection's own file, as a dependency-free file, is served too.
    expect(responses.every((r) => r.originalRequest !== undefined)).toBe(true);
  });

  it("answers v1alpha too: list services and extension numbers", async () => {
    const req = (init: Parameters<typeof create<typeof v1alpha.ServerReflectionRequestSchema>>[1]) =>
      toBinary(v1alpha.ServerReflectionRequestSchema, create(v1alpha.ServerReflectionRequestSchema, init));
    const { responses } = await reflect(
      client,
      "v1alpha",
      v1alpha.ServerReflectionRequestSchema,
      v1alpha.ServerReflectionResponseSchema,
      [
        req({ messageRequest: { case: "listServices", value: "" } }),
        req({ messageRequest: { case: "allExtensionNumbersOfType", value: "google.protobuf.MethodOptions" } }),
        req({
          messageRequest: {
            case: "fileContainingExtension",
            value: { containingType: "google.protobuf.FieldOptions", extensionNumber: 51234 },
          },
        }),
      ],
    );
    const [list, numbers, ext] = responses.map((r) => r.messageResponse);
    expect(list?.case === "listServicesResponse" && list.value.service.map((s) => s.name).sort()).toEqual(SERVICES);
    expect(numbers?.case === "allExtensionNumbersResponse" && numbers.value).toMatchObject({
      baseTypeName: "google.protobuf.MethodOptions",
      extensionNumber: [51234],
    });
    expect(
      ext?.case === "fileDescriptorResponse" &&
        fromBinary(FileDescriptorProtoSchema, ext.value.fileDescriptorProto[0]!).name,
    ).toBe("blazerpc/v1/options.proto");
  });

  it("answers malformed and unknown requests in-band with clear errors, and keeps the stream and the server going", async () => {
    const { responses, status } = await reflect(
      client,
      "v1",
      v1.ServerReflectionRequestSchema,
      v1.ServerReflectionResponseSchema,
      [
        v1Request({}),
        v1Request({ messageRequest: { case: "fileByFilename", value: "nope.proto" } }),
        v1Request({ messageRequest: { case: "fileContainingSymbol", value: "iris.v1.Nope" } }),
        v1Request({ messageRequest: { case: "allExtensionNumbersOfType", value: "no.Such" } }),
        v1Request({ messageRequest: { case: "listServices", value: "" } }),
      ],
    );
    expect(status.code).toBe(grpc.status.OK);
    expect(
      responses.map((r) =>
        r.messageResponse.case === "errorResponse"
          ? [r.messageResponse.value.errorCode, r.messageResponse.value.errorMessage]
          : r.messageResponse.case,
      ),
    ).toEqual([
      [
        3,
        "the request sets none of file_by_filename, file_containing_symbol, file_containing_extension, all_extension_numbers_of_type, list_services",
      ],
      [5, 'file not found: "nope.proto"'],
      [5, 'symbol not found: "iris.v1.Nope"'],
      [5, 'type not found: "no.Such"'],
      "listServicesResponse",
    ]);
    // Bytes that are no protobuf message end the stream with the protocol layer's error.
    const garbage = await reflect(client, "v1", v1.ServerReflectionRequestSchema, v1.ServerReflectionResponseSchema, [
      new Uint8Array([0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
    ]);
    expect(garbage.status.code).toBe(grpc.status.INTERNAL);
    expect(decodeURIComponent(garbage.status.details)).toMatch(/premature EOF|invalid/i);
    const after = await reflect(client, "v1", v1.ServerReflectionRequestSchema, v1.ServerReflectionResponseSchema, [
      v1Request({ messageRequest: { case: "listServices", value: "" } }),
    ]);
    expect(after.responses).toHaveLength(1);
  });

  it("serves the embedded descriptors (no comments) when given no descriptor set", async () => {
    const other = createServer({ app, services: [InferenceServiceBinding], port: 0 });
    await other.listen();
    try {
      expect(other.files.hasSourceInfo("iris/v1/iris.proto")).toBe(false);
      expect(other.files.hasSourceInfo("grpc/health/v1/health.proto")).toBe(true);
      expect(server.files.hasSourceInfo("iris/v1/iris.proto")).toBe(true);
      const r = await run(bufBin, ["curl", "--protocol", "grpc", "--list-methods", other.url()]);
      expect(r.stdout.trim().split("\n").sort()).toEqual(METHODS);
    } finally {
      await other.close();
    }
  });
});
