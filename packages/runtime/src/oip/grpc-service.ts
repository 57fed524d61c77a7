import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { ServiceEntry } from "../binding/service-table.js";
import {
  GRPCInferenceService,
  type InferTensorContents,
  type ModelInferRequest,
  type ModelMetadataRequest,
  type ModelReadyRequest,
} from "../gen/inference/grpc_predict_v2_pb.js";
import type { OipCatalog } from "./catalog.js";
import { checkRequestedOutputs, inputFromBytes, inputFromValues, resolveInput, runModel } from "./infer.js";
import { modelMetadata, serverMetadata } from "./metadata.js";
import { contentsValues, inputError } from "./tensor-data.js";

/** The methods of `inference.GRPCInferenceService` that are health checks: whatever exempts `grpc.health.v1.Health` from auth exempts them too. */
export const OIP_HEALTH_METHODS: ReadonlySet<string> = new Set(["ServerLive", "ServerReady", "ModelReady"]);

/**
 * KServe's `inference.GRPCInferenceService` over the catalog: ServerLive, ServerReady,
 * ModelReady, ServerMetadata, ModelMetadata and ModelInfer (inputs as typed `contents` or
 * `raw_input_contents`; outputs answered as `raw_output_contents`, as Triton does, those
 * asked for or every one). ModelInfer runs the typed API's implementation of the model's
 * method, so its batching, deadline, admission and errors are the typed API's. The
 * repository methods (RepositoryModelLoad, RepositoryModelUnload) are UNIMPLEMENTED.
 *
 * @example
 * router.service(GRPCInferenceService, oipGrpcService(catalog));
 */
export function oipGrpcService(catalog: OipCatalog): Partial<ServiceImpl<typeof GRPCInferenceService>> {
  return {
    serverLive: () => ({ live: true }),
    serverReady: () => ({ ready: catalog.isServerReady() }),
    modelReady: (req: ModelReadyRequest) => ({
      ready: catalog.isModelReady(catalog.getModelOrThrow(req.name, req.version)),
    }),
    serverMetadata: () => {
      const { name, version, extensions } = serverMetadata();
      return { name, version, extensions: [...extensions] };
    },
    modelMetadata(req: ModelMetadataRequest) {
      const m = modelMetadata(catalog.getModelOrThrow(req.name, req.version));
      const tensor = (t: (typeof m.inputs)[number]) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape.map((d) => BigInt(d)),
      });
      return {
        name: m.name,
        versions: [...m.versions],
        platform: m.platform,
        inputs: m.inputs.map(tensor),
        outputs: m.outputs.map(tensor),
      };
    },
    async modelInfer(req: ModelInferRequest, ctx: HandlerContext) {
      const model = catalog.getModelOrThrow(req.modelName, req.modelVersion);
      const raw = req.rawInputContents;
      if (raw.length > 0 && raw.length !== req.inputs.length)
        throw new ConnectError(
          `raw_input_contents holds ${raw.length} entries for ${req.inputs.length} inputs: one per input, in the order of the inputs`,
          Code.InvalidArgument,
        );
      const requested = req.outputs.map((o) => o.name);
      checkRequestedOutputs(model, requested);
      const inputs = req.inputs.map((input, i) => {
        const resolved = resolveInput(model, { name: input.name, datatype: input.datatype, shape: input.shape });
        if (raw.length === 0)
          return inputFromValues(resolved, contentsValues(resolved.spec.datatype, input.contents, input.name));
        if (hasContents(input.contents))
          throw inputError(
            input.name,
            "it sets contents, but the request sends raw_input_contents: use one or the other",
          );
        return inputFromBytes(resolved, raw[i]!);
      });
      const outputs = await runModel(model, inputs, requested, ctx);
      return {
        modelName: model.name,
        modelVersion: model.version,
        id: req.id,
        outputs: outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape.map((d) => BigInt(d)) })),
        rawOutputContents: outputs.map((o) => o.data),
      };
    },
  };
}

/**
 * `inference.GRPCInferenceService` as the server's service table holds it: the server's
 * own (origin `builtin`), served by the native gRPC path and by connect-node.
 *
 * @example
 * createServiceTable([...served, healthEntry(state), oipServiceEntry(catalog)]);
 */
export function oipServiceEntry(catalog: OipCatalog): ServiceEntry {
  return { service: GRPCInferenceService, impl: oipGrpcService(catalog), origin: "builtin", native: true };
}

function hasContents(c: InferTensorContents | undefined): boolean {
  return (
    c !== undefined &&
    (c.boolContents.length > 0 ||
      c.intContents.length > 0 ||
      c.int64Contents.length > 0 ||
      c.uintContents.length > 0 ||
      c.uint64Contents.length > 0 ||
      c.fp32Contents.length > 0 ||
      c.fp64Contents.length > 0 ||
      c.bytesContents.length > 0)
  );
}
