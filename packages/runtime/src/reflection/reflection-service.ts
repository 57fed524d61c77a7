import type { ConnectRouter } from "@connectrpc/connect";
import {
  ServerReflection as ServerReflectionV1,
  type ServerReflectionRequest as RequestV1,
} from "../gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflection as ServerReflectionV1alpha,
  type ServerReflectionRequest as RequestV1alpha,
} from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { ServiceEntry } from "../binding/service-table.js";
import type { FileIndex } from "./file-index.js";

/** gRPC status codes put in a reflection ErrorResponse. */
const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

type Request = RequestV1 | RequestV1alpha;

/** The answer to one reflection request (the same shape in v1 and v1alpha). */
type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/**
 * Answers one ServerReflectionRequest from the index. Unknown files, symbols and types, and
 * a request with nothing set, are answered in-band with an ErrorResponse (NOT_FOUND or
 * INVALID_ARGUMENT) as the protocol asks; the stream goes on.
 */
export function answerReflection(index: FileIndex, services: readonly string[], req: Request): Answer {
  const error = (errorCode: number, errorMessage: string): Answer => ({
    case: "errorResponse",
    value: { errorCode, errorMessage },
  });
  const files = (name: string): Answer => ({
    case: "fileDescriptorResponse",
    value: { fileDescriptorProto: index.withDependencies(name).map((n) => index.getSerialized(n)!) },
  });
  const r = req.messageRequest;
  switch (r.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: services.map((name) => ({ name })) } };
    case "fileByFilename":
      return index.getFile(r.value) !== undefined ? files(r.value) : error(NOT_FOUND, `file not found: "${r.value}"`);
    case "fileContainingSymbol": {
      const file = index.fileOfSymbol(r.value);
      return file !== undefined ? files(file) : error(NOT_FOUND, `symbol not found: "${r.value}"`);
    }
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = r.value;
      const file = index.fileOfExtension(containingType, extensionNumber);
      return file !== undefined
        ? files(file)
        : error(NOT_FOUND, `extension not found: ${extensionNumber} of "${containingType}"`);
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbers(r.value);
      return numbers !== undefined
        ? {
            case: "allExtensionNumbersResponse",
            value: { baseTypeName: r.value.replace(/^\./, ""), extensionNumber: numbers },
          }
        : error(NOT_FOUND, `type not found: "${r.value}"`);
    }
    default:
      return error(
        INVALID_ARGUMENT,
        "the request sets none of file_by_filename, file_containing_symbol, file_containing_extension, all_extension_numbers_of_type, list_services",
      );
  }
}

/** The names `list_services` answers: the model services, then health and reflection. */
export const OWN_SERVICES = [
  "grpc.health.v1.Health",
  ServerReflectionV1.typeName,
  ServerReflectionV1alpha.typeName,
] as const;

/**
 * Registers gRPC server reflection, `grpc.reflection.v1` and `v1alpha`, on a Connect router:
 * one response per request, in order, over a bidi stream (gRPC and, over HTTP/2, Connect and
 * gRPC-Web), so that grpcurl, grpcui and `buf curl` can list and call every service.
 */
export function registerReflection(router: ConnectRouter, index: FileIndex, services: readonly string[]): void {
  for (const { service, impl } of reflectionEntries(index, services)) router.service(service, impl as never);
}

/** gRPC server reflection, `grpc.reflection.v1` and `v1alpha`, as the server's service table holds it. */
export function reflectionEntries(index: FileIndex, services: readonly string[]): ServiceEntry[] {
  const names = [...services, ...OWN_SERVICES];
  const impl = {
    async *serverReflectionInfo(requests: AsyncIterable<Request>) {
      for await (const req of requests) {
        yield { validHost: req.host, originalRequest: req, messageResponse: answerReflection(index, names, req) };
      }
    },
  };
  return [
    { service: ServerReflectionV1, impl, origin: "builtin", native: false },
    { service: ServerReflectionV1alpha, impl, origin: "builtin", native: false },
  ];
}
