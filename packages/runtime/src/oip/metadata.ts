import * as fs from "node:fs";
import * as path from "node:path";
import type { OipModel, OipTensorMetadata } from "./catalog.js";

/** The server's name in OIP server metadata. */
export const OIP_SERVER_NAME = "blazerpc";

/** The protocol extensions served: the binary tensor data of the REST API. */
export const OIP_EXTENSIONS: readonly string[] = ["binary_tensor_data"];

/** OIP server metadata: `GET /v2`, and ServerMetadata over gRPC. */
export interface OipServerMetadata {
  readonly name: string;
  /** `@blazerpc/runtime`'s version. */
  readonly version: string;
  readonly extensions: readonly string[];
}

/** OIP model metadata: `GET /v2/models/{name}`, and ModelMetadata over gRPC. */
export interface OipModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly OipTensorMetadata[];
  readonly outputs: readonly OipTensorMetadata[];
}

let version: string | undefined;

/**
 * The server's OIP metadata.
 *
 * @example
 * serverMetadata() // { name: "blazerpc", version: "0.1.0", extensions: ["binary_tensor_data"] }
 */
export function serverMetadata(): OipServerMetadata {
  return { name: OIP_SERVER_NAME, version: (version ??= runtimeVersion()), extensions: OIP_EXTENSIONS };
}

/**
 * A model's OIP metadata: its one version, its platform, and its inputs and outputs by
 * proto field name, a dim of any size as -1.
 *
 * @example
 * modelMetadata(catalog.getModelOrThrow("iris"))
 * // { name: "iris", versions: ["1"], platform: "blazerpc", inputs: [{ name: "features", datatype: "FP32", shape: [-1, 4] }], outputs: […] }
 */
export function modelMetadata(model: OipModel): OipModelMetadata {
  const tensor = ({ name, datatype, shape }: OipTensorMetadata) => ({ name, datatype, shape });
  return {
    name: model.name,
    versions: [model.version],
    platform: model.platform,
    inputs: model.inputs.map(tensor),
    outputs: model.outputs.map(tensor),
  };
}

/** The version in `@blazerpc/runtime`'s package.json (two folders up from `src/oip` and `dist/oip` alike). */
function runtimeVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}
