import {
  getOption,
  hasOption,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
} from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { getDType, quoteValue, type DType } from "@blazerpc/tensor";
import { call as callOption } from "@blazerpc/tensor/blazerpc/v1/call_pb.js";
import { model as modelOption, tensor as tensorOption } from "@blazerpc/tensor/blazerpc/v1/options_pb.js";
import type { ServiceEntry } from "../binding/service-table.js";
import type { ServingState } from "../health/serving-state.js";
import { toOipDatatype, type OipDatatype } from "./datatypes.js";

/** A tensor of a model as OIP metadata describes it: `{ name, datatype, shape }`, a dim of any size as -1. */
export interface OipTensorMetadata {
  /** The proto field's name: `input`, `features`, `result`. */
  readonly name: string;
  readonly datatype: OipDatatype;
  readonly shape: readonly number[];
}

/** One input or output of a model: its metadata, the dtype and dims the schema declares, and the field that holds it. */
export interface OipTensorSpec extends OipTensorMetadata {
  readonly dtype: DType;
  /** The declared dims: `"4"`, or a name such as `"batch"` for a dim of any size. */
  readonly dims: readonly string[];
  /** The request's or response's field (a `blazerpc.v1.TensorProto`). */
  readonly field: DescField;
}

/** A model served over the Open Inference Protocol: a unary model method whose request and response fields are all tensors. */
export interface OipModel {
  /** The model's registered name, as the method's `(blazerpc.v1.model)` option names it. */
  readonly name: string;
  /** The model's version, or `"1"` when it declares none. */
  readonly version: string;
  readonly platform: string;
  readonly inputs: readonly OipTensorSpec[];
  readonly outputs: readonly OipTensorSpec[];
  /** The typed API's service and method that serve it. */
  readonly service: DescService;
  readonly method: DescMethod;
  /**
   * The typed API's implementation of the method, from the service table: decode and
   * check the request, the model's gate, the executor (batcher, deadline, admission),
   * encode. OIP calls this very function.
   */
  readonly impl: (req: unknown, ctx: HandlerContext) => Promise<unknown>;
}

/** The models the Open Inference Protocol serves, and their readiness. */
export interface OipCatalog {
  /** Every OIP model, in the order of the service table. */
  readonly models: readonly OipModel[];
  /** The model of that name (and version, when one is given: `""` is any), or undefined. */
  getModel(name: string, version?: string): OipModel | undefined;
  /**
   * Like {@link OipCatalog.getModel}, but throws.
   *
   * @throws ConnectError NOT_FOUND naming the model (and the version), listing what is served.
   */
  getModelOrThrow(name: string, version?: string): OipModel;
  /** Ready: its loader (if any) finished and the server is not shutting down. */
  isModelReady(model: OipModel): boolean;
  /** Ready: what `/readyz` says (every model SERVING, the server not shutting down). */
  isServerReady(): boolean;
}

/** Options of {@link createOipCatalog}. */
export interface OipCatalogOptions {
  /** The service table's entries; the model services' methods are the candidates. */
  readonly entries: readonly ServiceEntry[];
  /** Whose model statuses readiness reads. */
  readonly state: ServingState;
}

/** The platform OIP metadata names for every model. */
export const OIP_PLATFORM = "blazerpc";

/** The version a model that declares none is served as. */
export const OIP_DEFAULT_VERSION = "1";

const TENSOR_TYPE = "blazerpc.v1.TensorProto";

/**
 * The catalog of OIP models: every unary method of the model services (not code-first
 * RPCs) whose request and response fields are all tensors declared with
 * `(blazerpc.v1.tensor)`, and at least one output. The model's name is the one it is
 * registered under, kept as it is (any string); a second method serving the same model
 * is left out.
 *
 * @example
 * const catalog = createOipCatalog({ entries: table.services, state });
 * catalog.getModelOrThrow("iris").inputs; // [{ name: "features", datatype: "FP32", shape: [-1, 4], … }]
 */
export function createOipCatalog(options: OipCatalogOptions): OipCatalog {
  const { entries, state } = options;
  const models: OipModel[] = [];
  const byName = new Map<string, OipModel>();
  for (const entry of entries) {
    if (entry.origin !== "model") continue;
    for (const method of entry.service.methods) {
      const name = entry.models?.[method.localName];
      const impl = entry.impl[method.localName];
      if (name === undefined || typeof impl !== "function" || byName.has(name)) continue;
      const model = oipModelOf(name, entry.service, method, impl as OipModel["impl"]);
      if (model === undefined) continue;
      models.push(model);
      byName.set(name, model);
    }
  }
  const getModel = (name: string, version = "") => {
    const m = byName.get(name);
    return m !== undefined && (version === "" || version === m.version) ? m : undefined;
  };
  return {
    models,
    getModel,
    getModelOrThrow(name, version = "") {
      const m = byName.get(name);
      if (m === undefined) {
        const served = models.length === 0 ? "none" : listNames(models.map((x) => x.name));
        throw new ConnectError(`unknown model ${quoteValue(name)}; the models served are: ${served}`, Code.NotFound);
      }
      if (version !== "" && version !== m.version)
        throw new ConnectError(
          `model ${quoteValue(name)} has no version ${quoteValue(version)}; it serves version ${quoteValue(m.version)}`,
          Code.NotFound,
        );
      return m;
    },
    isModelReady: (m) => state.modelStatus(m.name) === "SERVING",
    isServerReady: () => state.status() === "SERVING",
  };
}

/** The OIP model a method serves, or undefined when it does not qualify. */
function oipModelOf(
  name: string,
  service: DescService,
  method: DescMethod,
  impl: OipModel["impl"],
): OipModel | undefined {
  if (method.methodKind !== "unary") return undefined;
  if (hasOption(method, callOption) && getOption(method, callOption).rpc) return undefined;
  const inputs = tensorsOf(method.input);
  const outputs = tensorsOf(method.output);
  if (inputs === undefined || outputs === undefined || outputs.length === 0) return undefined;
  const declared = hasOption(method, modelOption) ? getOption(method, modelOption).version : "";
  return {
    name,
    version: declared !== "" ? declared : OIP_DEFAULT_VERSION,
    platform: OIP_PLATFORM,
    inputs,
    outputs,
    service,
    method,
    impl,
  };
}

/** Every field of `message` as a tensor, or undefined when one is not a single declared tensor. */
function tensorsOf(message: DescMessage): OipTensorSpec[] | undefined {
  const specs: OipTensorSpec[] = [];
  for (const field of message.fields) {
    if (field.fieldKind !== "message" || field.message.typeName !== TENSOR_TYPE || !hasOption(field, tensorOption))
      return undefined;
    const spec = getOption(field, tensorOption);
    const info = getDType(spec.dtype);
    if (info === undefined) return undefined;
    specs.push({
      name: field.name,
      datatype: toOipDatatype(info.name),
      shape: spec.shape.map((d) => (/^\d+$/.test(d) ? Number(d) : -1)),
      dtype: info.name,
      dims: spec.shape,
      field,
    });
  }
  return specs;
}

/** Names for a message: quoted, at most 20, then how many more. */
export function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 20).map((n) => quoteValue(n, 64));
  return names.length > 20 ? `${shown.join(", ")} and ${names.length - 20} more` : shown.join(", ");
}
