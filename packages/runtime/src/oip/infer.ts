import { create, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import { MAX_TENSOR_RANK, quoteValue, TensorProtoSchema, type TensorProtoLike } from "@blazerpc/tensor";
import { listNames, type OipModel, type OipTensorSpec } from "./catalog.js";
import { oipElementSize, toOipDatatype, type OipDatatype } from "./datatypes.js";
import { encodeValues, formatOipShape, inputError } from "./tensor-data.js";

/** What an inference request says of one input before its data: the OIP header. */
export interface OipInputHeader {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly (number | bigint)[];
}

/** An input whose header matches one of the model's inputs: its spec, shape and element count. */
export interface ResolvedInput {
  readonly spec: OipTensorSpec;
  readonly shape: readonly number[];
  /** Elements: the product of the shape. */
  readonly count: number;
}

/** An input with its data: little-endian, row-major bytes of its dtype. */
export interface InputTensor {
  readonly input: ResolvedInput;
  readonly data: Uint8Array;
}

/** One output of the model, as the typed API answered it. */
export interface OipOutput {
  readonly name: string;
  readonly datatype: OipDatatype;
  readonly shape: readonly number[];
  /** Little-endian, row-major bytes (the response TensorProto's own). */
  readonly data: Uint8Array;
}

/**
 * Checks an input's header against the model: a known input name, its datatype, and a
 * shape of non-negative integers with the model's rank and fixed dims (-1 in the metadata:
 * any size). The typed API's decoding checks it all again.
 *
 * @throws ConnectError INVALID_ARGUMENT naming the input.
 * @example
 * resolveInput(model, { name: "input", datatype: "FP32", shape: [1, 512] }).count // 512
 */
export function resolveInput(model: OipModel, header: OipInputHeader): ResolvedInput {
  const spec = model.inputs.find((i) => i.name === header.name);
  if (spec === undefined)
    throw new ConnectError(
      `unknown input ${quoteValue(header.name)}; model ${quoteValue(model.name)} takes ${inputsOf(model)}`,
      Code.InvalidArgument,
    );
  if (header.datatype !== spec.datatype)
    throw inputError(
      spec.name,
      `datatype is ${quoteValue(header.datatype, 32)}, expected ${spec.datatype} (the model's ${spec.dtype})`,
    );
  if (!Array.isArray(header.shape) || header.shape.length > MAX_TENSOR_RANK)
    throw inputError(spec.name, `the shape must be a list of at most ${MAX_TENSOR_RANK} dims`);
  const shape: number[] = [];
  let count = 1;
  for (const d of header.shape) {
    const n = typeof d === "bigint" ? Number(d) : d;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0)
      throw inputError(spec.name, `the shape holds ${describeDim(d)}; dims are integers ≥ 0`);
    shape.push(n);
    count *= n;
  }
  if (!Number.isSafeInteger(count)) throw inputError(spec.name, `shape ${formatOipShape(shape)} is too large`);
  const bad =
    shape.length !== spec.shape.length ? -1 : shape.findIndex((d, i) => spec.shape[i] !== -1 && spec.shape[i] !== d);
  if (shape.length !== spec.shape.length || bad >= 0)
    throw inputError(
      spec.name,
      `shape ${formatOipShape(shape)} does not match the model's ${formatOipShape(spec.shape)} (${
        bad < 0
          ? `${shape.length} dims, expected ${spec.shape.length}`
          : `dim ${bad} is ${shape[bad]}, expected ${spec.shape[bad]}`
      })`,
    );
  return { spec, shape, count };
}

/**
 * An input's data from its elements (JSON `data`, gRPC typed contents), checked: as many
 * as the shape holds, each fitting the datatype.
 *
 * @throws ConnectError INVALID_ARGUMENT: `input "x": expected 2048 values for shape [4,512], got 2047`.
 */
export function inputFromValues(input: ResolvedInput, values: ArrayLike<unknown>): InputTensor {
  if (values.length !== input.count)
    throw inputError(
      input.spec.name,
      `expected ${input.count} values for shape ${formatOipShape(input.shape)}, got ${values.length}`,
    );
  return { input, data: encodeValues(input.spec.dtype, values, input.spec.name) };
}

/**
 * An input's data from raw bytes (the binary tensor extension, `raw_input_contents`),
 * checked to be as many as the shape and datatype take.
 *
 * @throws ConnectError INVALID_ARGUMENT: `input "x": expected 8192 bytes for shape [4,512] of FP32, got 8188`.
 */
export function inputFromBytes(input: ResolvedInput, bytes: Uint8Array): InputTensor {
  const want = input.count * oipElementSize(input.spec.datatype);
  if (bytes.byteLength !== want)
    throw inputError(
      input.spec.name,
      `expected ${want} bytes for shape ${formatOipShape(input.shape)} of ${input.spec.datatype}, got ${bytes.byteLength}`,
    );
  return { input, data: bytes };
}

/**
 * Checks the outputs a request asks for: known names, each once. An empty list is every output.
 *
 * @throws ConnectError INVALID_ARGUMENT naming the output.
 */
export function checkRequestedOutputs(model: OipModel, names: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (!model.outputs.some((o) => o.name === name))
      throw new ConnectError(
        `unknown output ${quoteValue(name)}; model ${quoteValue(model.name)} gives ${listNames(model.outputs.map((o) => o.name))}`,
        Code.InvalidArgument,
      );
    if (seen.has(name)) throw new ConnectError(`output ${quoteValue(name)} is requested twice`, Code.InvalidArgument);
    seen.add(name);
  }
}

/**
 * Runs the model through the typed API: the inputs become a request message of the
 * model's method (one TensorProto per field), the method's own implementation answers it
 * (decoding and checks, the model's gate, the executor with its batcher, deadline and
 * admission), and the response's tensors become the outputs, those `requested` (every one
 * when empty) in that order. Errors keep the typed API's codes and messages.
 *
 * @throws ConnectError INVALID_ARGUMENT for an input given twice or missing; whatever the method throws.
 * @example
 * const outputs = await runModel(model, [inputFromBytes(resolveInput(model, header), raw)], [], ctx);
 */
export async function runModel(
  model: OipModel,
  inputs: readonly InputTensor[],
  requested: readonly string[],
  ctx: HandlerContext,
): Promise<OipOutput[]> {
  const init: Record<string, unknown> = {};
  for (const { input, data } of inputs) {
    const key = input.spec.field.localName;
    if (init[key] !== undefined) throw inputError(input.spec.name, "it is given twice");
    init[key] = create(TensorProtoSchema, {
      dtype: input.spec.dtype,
      shape: input.shape.map((d) => BigInt(d)),
      data,
    });
  }
  const missing = model.inputs.filter((i) => init[i.field.localName] === undefined && !i.field.proto.proto3Optional);
  if (missing.length > 0)
    throw new ConnectError(
      `missing input ${listNames(missing.map((i) => i.name))}; model ${quoteValue(model.name)} takes ${inputsOf(model)}`,
      Code.InvalidArgument,
    );
  const req = create(model.method.input, init as never);
  const res = (await model.impl(req, forMethod(ctx, model))) as Record<string, unknown>;
  const wanted =
    requested.length === 0 ? model.outputs : requested.map((n) => model.outputs.find((o) => o.name === n)!);
  return wanted.map((spec) => {
    const t = res[spec.field.localName] as TensorProtoLike | undefined;
    if (t === undefined)
      throw new ConnectError(`model ${quoteValue(model.name)} gave no ${quoteValue(spec.name)}`, Code.Internal);
    return {
      name: spec.name,
      datatype: toOipDatatype(t.dtype),
      shape: t.shape.map((d) => Number(d)),
      data: t.data,
    };
  });
}

/**
 * The call's context as the typed method sees it: the same signal, deadline, headers and
 * values, with the model's service and method (what a model's CallContext reports). A small
 * object that reads through to the call's own — not `Object.create(ctx)`, which makes every
 * call's context a prototype (about 8 µs a call in V8).
 */
class MethodContext implements HandlerContext {
  constructor(
    private readonly call: HandlerContext,
    readonly service: DescService,
    readonly method: DescMethod,
  ) {}
  get signal(): AbortSignal {
    return this.call.signal;
  }
  timeoutMs(): number | undefined {
    return this.call.timeoutMs();
  }
  get requestMethod(): string {
    return this.call.requestMethod;
  }
  get requestHeader(): Headers {
    return this.call.requestHeader;
  }
  get responseHeader(): Headers {
    return this.call.responseHeader;
  }
  get responseTrailer(): Headers {
    return this.call.responseTrailer;
  }
  get protocolName(): string {
    return this.call.protocolName;
  }
  get values(): ContextValues {
    return this.call.values;
  }
  get url(): string {
    return this.call.url;
  }
}

function forMethod(ctx: HandlerContext, model: OipModel): HandlerContext {
  return ctx.method === model.method ? ctx : new MethodContext(ctx, model.service, model.method);
}

function inputsOf(model: OipModel): string {
  return model.inputs.length === 0 ? "no inputs" : listNames(model.inputs.map((i) => i.name));
}

function describeDim(d: unknown): string {
  const text = typeof d === "bigint" ? String(d) : (JSON.stringify(d) ?? String(d));
  return text.length <= 32 ? text : `${text.slice(0, 32)}…`;
}
