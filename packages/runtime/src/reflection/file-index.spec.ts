import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { file_blazerpc_v1_options } from "@blazerpc/tensor/blazerpc/v1/options_pb.js";
import { file_grpc_health_v1_health } from "../gen/grpc/health/v1/health_pb.js";
import { sourceInfo } from "../gen/source_info.js";
import { createFileIndex } from "./file-index.js";

describe("createFileIndex", () => {
  it("indexes files after their imports, and every kind of symbol", () => {
    const index = createFileIndex([file_blazerpc_v1_options]);
    expect(index.names).toEqual(["google/protobuf/descriptor.proto", "blazerpc/v1/options.proto"]);
    expect(index.withDependencies("blazerpc/v1/options.proto")).toEqual([
      "blazerpc/v1/options.proto",
      "google/protobuf/descriptor.proto",
    ]);
    for (const symbol of [
      "blazerpc.v1.TensorSpec",
      "blazerpc.v1.TensorSpec.dtype",
      "blazerpc.v1.model",
      "blazerpc",
      "blazerpc.v1",
      ".blazerpc.v1.ModelSpec",
    ]) {
      expect([symbol, index.fileOfSymbol(symbol)]).toEqual([symbol, "blazerpc/v1/options.proto"]);
    }
    expect(index.fileOfSymbol("google.protobuf.FieldDescriptorProto.TYPE_INT64")).toBe(
      "google/protobuf/descriptor.proto",
    );
    expect(index.fileOfSymbol("google.protobuf.FieldDescriptorProto.Type.TYPE_INT64")).toBe(
      "google/protobuf/descriptor.proto",
    );
    expect(index.fileOfSymbol("blazerpc.v1.Nope")).toBeUndefined();
    expect(index.fileOfExtension(".google.protobuf.MethodOptions", 51234)).toBe("blazerpc/v1/options.proto");
    expect(index.extensionNumbers("google.protobuf.ServiceOptions")).toEqual([]);
    expect(index.extensionNumbers("no.Such")).toBeUndefined();
  });

  it("takes comments from a descriptor set with source info, only for files of the same schema", () => {
    const withInfo = createFileIndex([file_grpc_health_v1_health], { sourceInfo: [sourceInfo] });
    expect(withInfo.hasSourceInfo("grpc/health/v1/health.proto")).toBe(true);
    expect(withInfo.getComment("grpc.health.v1.Health.Check")).toMatch(/^The current status of a service/);
    expect(withInfo.getComment("grpc.health.v1.HealthCheckResponse.ServingStatus.SERVICE_UNKNOWN")).toMatch(
      /not known to this server/,
    );

    // The same file with a field renamed: a stale set, ignored.
    const set = fromBinary(FileDescriptorSetSchema, base64Decode(sourceInfo));
    const health = set.file.find((f) => f.name === "grpc/health/v1/health.proto")!;
    health.messageType[0]!.field[0]!.name = "renamed";
    const stale = createFileIndex([file_grpc_health_v1_health], {
      sourceInfo: [toBinary(FileDescriptorSetSchema, set)],
    });
    expect(stale.hasSourceInfo("grpc/health/v1/health.proto")).toBe(false);
    expect(stale.getComment("grpc.health.v1.Health.Check")).toBeUndefined();
    expect(stale.getFile("grpc/health/v1/health.proto")!.messageType[0]!.field[0]!.name).toBe("service");
  });
});
