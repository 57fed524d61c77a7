import * as fs from "node:fs";
import * as path from "node:path";
import type { AppSpec } from "@blazerpc/codegen";
import type { OnnxModel, OnnxModelOptions } from "@blazerpc/onnx";
import type { App, BatchOptions, ModelServiceBinding } from "@blazerpc/runtime";
import { fromTensorProto, toTensorProto, type Tensor, type TensorProto } from "@blazerpc/tensor";
import { createFileRegistry, fromBinary, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { findModels, ZERO_CODE_BATCH, type RepositoryModel } from "./model-repository.js";
import { modelFields, onnxAppSpec, zeroCodeAppName, type ModelFields, type SignedModel } from "./onnx-spec.js";

/** A model of the repository, loaded into onnxruntime. */
export interface LoadedModel extends SignedModel {
  readonly onnx: OnnxModel;
  readonly fields: ModelFields;
}

/** A model repository, loaded: what `blaze serve model.onnx` / `blaze serve models/` serves. */
export interface ZeroCode {
  readonly appName: string;
  readonly spec: AppSpec;
  readonly models: readonly LoadedModel[];
  /** Frees every onnxruntime session. */
  release(): Promise<void>;
}

/**
 * Loads @blazerpc/onnx (and with it onnxruntime-node) from the project, or from the CLI's
 * own dependencies.
 *
 * @throws Error saying how to install it when it is not there.
 */
function onnxPackage(): typeof import("@blazerpc/onnx") {
  for (const from of [path.join(process.cwd(), "noop.js"), __filename]) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: onnxruntime loads only to serve a model file
      return require(
        require.resolve("@blazerpc/onnx", { paths: [path.dirname(from)] }),
      ) as typeof import("@blazerpc/onnx");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw err;
    }
  }
  throw new Error(
    "serving an .onnx file needs @blazerpc/onnx (onnxruntime-node): npm install @blazerpc/onnx --ignore-scripts",
  );
}

/**
 * Finds the models of `entry` (an `.onnx` file or a model repository folder), checks their
 * names, loads each into onnxruntime and reads its signature.
 *
 * @throws Error naming the model and file: a name that is not usable, two names that become
 *   one RPC, a file onnxruntime cannot load, an input or output BlazeRPC tensors cannot hold.
 */
export async function loadZeroCode(entry: string): Promise<ZeroCode> {
  const found = findModels(entry);
  checkNames(found);
  const onnx = onnxPackage();
  const models: LoadedModel[] = [];
  const release = async () => {
    await Promise.all(models.map((m) => m.onnx.release()));
  };
  try {
    for (const model of found) {
      const loaded = await onnx.loadOnnxModel(model.file, sessionOptions(model));
      const signed = { model, inputs: loaded.inputs, outputs: loaded.outputs };
      models.push({ ...signed, onnx: loaded, fields: modelFields(signed) });
    }
  } catch (err) {
    await release();
    throw err;
  }
  const isFile = fs.statSync(entry).isFile();
  const appName = zeroCodeAppName(entry, isFile);
  const spec = onnxAppSpec(appName, (path.relative(process.cwd(), entry) || ".").replace(/\\/g, "/"), models);
  return { appName, spec, models, release };
}

function sessionOptions(model: RepositoryModel): OnnxModelOptions {
  const { intraOpNumThreads, interOpNumThreads, executionProviders } = model.config;
  return {
    ...(intraOpNumThreads !== undefined ? { intraOpNumThreads } : {}),
    ...(interOpNumThreads !== undefined ? { interOpNumThreads } : {}),
    ...(executionProviders !== undefined ? { executionProviders: [...executionProviders] } : {}),
  };
}

/**
 * Model names as users write them: letters, digits, `-`, `_`, `.`. Two names that become
 * one RPC (`score-reviews`, `score_reviews`) are reported together.
 */
function checkNames(models: readonly RepositoryModel[]): void {
  const { MODEL_NAME, rpcName } = names();
  const problems: string[] = [];
  const byRpc = new Map<string, RepositoryModel>();
  const where = (m: RepositoryModel) => path.relative(process.cwd(), m.configFile ?? m.file) || m.file;
  for (const m of models) {
    if (!MODEL_NAME.test(m.name)) {
      problems.push(
        `${where(m)}: model name "${m.name}" is not usable in a schema — use letters, digits, "-", "_" and ".", starting with a letter or digit`,
      );
      continue;
    }
    const rpc = rpcName(m.name);
    const first = byRpc.get(rpc);
    if (first !== undefined) {
      problems.push(
        `models "${first.name}" (${where(first)}) and "${m.name}" (${where(m)}) both become rpc ${rpc} in the schema — rename one`,
      );
    } else byRpc.set(rpc, m);
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
}

/**
 * The service of a built schema (`buf build` output) by its full name.
 *
 * @throws Error when the descriptor set does not hold it.
 */
export function serviceOf(descriptorSet: Uint8Array, typeName: string): DescService {
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSet));
  const service = registry.getService(typeName);
  if (service === undefined) throw new Error(`the built schema has no service ${typeName}`);
  return service;
}

/**
 * Registers each loaded model on a new app of `runtime` (batched when every input and output
 * has a dynamic first dimension, unless its config says `"batch": false`) and binds the
 * schema's service to them: the same app and binding `blaze generate` would produce for a
 * TypeScript model, made at run time from the descriptors.
 *
 * @example
 * const { app, services } = zeroCodeApp(runtime, zc, serviceOf(descriptorSet, "models.v1.InferenceService"));
 * createServer({ app, services, descriptorSet });
 */
export function zeroCodeApp(
  runtime: typeof import("@blazerpc/runtime"),
  zc: ZeroCode,
  service: DescService,
): { app: App; services: ModelServiceBinding[] } {
  const app = runtime.createApp({ name: zc.appName });
  const methods: Parameters<typeof runtime.defineModelService>[1] = {};
  for (const loaded of zc.models) {
    const { model, fields, onnx } = loaded;
    const batch = batchOptions(loaded);
    const run = async (...tensors: Tensor[]): Promise<Record<string, Tensor>> => {
      const feeds: Record<string, Tensor> = {};
      fields.inputs.forEach((f, i) => (feeds[f.info.name] = tensors[i]!));
      const out = await onnx.run(feeds);
      const result: Record<string, Tensor> = {};
      for (const f of fields.outputs) result[f.field] = out[f.info.name]!;
      return result;
    };
    app.model(model.name, { version: model.version, ...(batch !== undefined ? { batch } : {}) }, run);
    const rpc = names().rpcName(model.name);
    const method = service.methods.find((m) => m.name === rpc);
    if (method === undefined) throw new Error(`the built schema has no rpc ${service.typeName}.${rpc}`);
    const localOf = (fieldsOf: typeof method.input.fields, name: string) => {
      const f = fieldsOf.find((d) => d.name === name);
      if (f === undefined) throw new Error(`the built schema has no field ${name} in ${method.input.typeName}`);
      return f.localName;
    };
    const inputs = fields.inputs.map((f) => ({
      ...f,
      local: localOf(method.input.fields, f.field),
      spec: { dtype: f.info.dtype, shape: f.info.shape! },
    }));
    const outputs = fields.outputs.map((f) => ({
      ...f,
      local: localOf(method.output.fields, f.field),
      spec: { dtype: f.info.dtype, shape: f.info.shape! },
    }));
    methods[method.localName] = {
      kind: "unary",
      model: model.name,
      decode: (req: Record<string, TensorProto | undefined>) =>
        inputs.map((f) => fromTensorProto(req[f.local], f.spec, f.field)),
      encode: (result: Record<string, Tensor>) => {
        const res: Record<string, TensorProto> = {};
        for (const f of outputs) res[f.local] = toTensorProto(result[f.field]!, f.spec, f.field);
        return res;
      },
    };
  }
  return { app, services: [runtime.defineModelService(service, methods)] };
}

/** The batch options of a model: on by default when it can batch, with the config's overrides. */
export function batchOptions(loaded: LoadedModel): BatchOptions | undefined {
  const { config, name, file } = loaded.model;
  if (config.batch === false) return undefined;
  if (!loaded.fields.batchable) {
    if (config.batch !== undefined) {
      throw new Error(
        `model "${name}" (${path.relative(process.cwd(), file)}): "batch" needs a dynamic first dimension on every input and output, which this model does not have`,
      );
    }
    return undefined;
  }
  return { ...ZERO_CODE_BATCH, ...(config.batch ?? {}) } as BatchOptions;
}

/** The naming rules of code generation, without loading ts-morph. */
function names(): typeof import("@blazerpc/codegen") {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the naming rules without ts-morph
  return require("@blazerpc/codegen/names") as typeof import("@blazerpc/codegen");
}

/**
 * The app spec of a model repository and the files it comes from, for `blaze proto` and
 * `blaze generate`: the models are loaded to read their signatures, then released.
 */
export async function zeroCodeSpec(entry: string): Promise<{ spec: AppSpec; sources: string[] }> {
  const zc = await loadZeroCode(entry);
  await zc.release();
  return {
    spec: zc.spec,
    sources: zc.models.flatMap((m) => [
      m.model.file,
      ...(m.model.configFile !== undefined ? [m.model.configFile] : []),
    ]),
  };
}
