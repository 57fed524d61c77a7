import { Code, ConnectError } from "@connectrpc/connect";
import { quoteValue } from "@blazerpc/tensor";
import type { OipModel } from "./catalog.js";
import { fromOipDatatype } from "./datatypes.js";
import type { OipInputHeader, OipOutput } from "./infer.js";
import { decodeValues, type OipValue } from "./tensor-data.js";

/** One input of a REST infer request. */
export interface JsonInput {
  readonly header: OipInputHeader;
  /** Its JSON `data` (flat or nested), when it has no binary data. */
  readonly data: unknown;
  /** `parameters.binary_data_size`: its data is that many bytes of the body's binary part. */
  readonly binarySize: number | undefined;
}

/** One output a REST infer request asks for. */
export interface JsonRequestedOutput {
  readonly name: string;
  /** `parameters.binary_data`: answer it as binary (true) or JSON (false); undefined: as the request's `binary_data_output` says. */
  readonly binary: boolean | undefined;
}

/** A REST infer request, its JSON checked. */
export interface JsonInferRequest {
  /** Echoed in the answer. */
  readonly id: string | undefined;
  readonly inputs: readonly JsonInput[];
  /** Empty: every output. */
  readonly outputs: readonly JsonRequestedOutput[];
  /** `parameters.binary_data_output`: every output as binary unless it says otherwise. */
  readonly binaryDataOutput: boolean;
}

/**
 * Reads the JSON of a REST infer request (`POST /v2/models/{name}/infer`): `inputs` with
 * `name`, `datatype`, `shape` and `data` or `parameters.binary_data_size`; optional `id`,
 * `parameters.binary_data_output` and `outputs` (by name, with `parameters.binary_data`).
 * Parameters it does not know are ignored.
 *
 * @throws ConnectError INVALID_ARGUMENT naming what is wrong where (`inputs[1].shape: …`).
 * @example
 * readInferRequest(JSON.parse('{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}'))
 */
export function readInferRequest(body: unknown): JsonInferRequest {
  if (!isObject(body)) throw invalid('the request body must be a JSON object with an "inputs" list');
  const { id, inputs, outputs, parameters } = body;
  if (id !== undefined && typeof id !== "string") throw invalid('"id" must be a string');
  if (!Array.isArray(inputs)) throw invalid('"inputs" must be a list of the input tensors');
  if (outputs !== undefined && !Array.isArray(outputs)) throw invalid('"outputs" must be a list of {"name": …}');
  const params = optionalObject(parameters, '"parameters"');
  return {
    id,
    inputs: inputs.map((input, i) => readInput(input, `inputs[${i}]`)),
    outputs: (outputs ?? []).map((output: unknown, i: number) => readOutput(output, `outputs[${i}]`)),
    binaryDataOutput: optionalBool(params.binary_data_output, '"parameters.binary_data_output"') ?? false,
  };
}

function readInput(input: unknown, where: string): JsonInput {
  if (!isObject(input)) throw invalid(`${where} must be an object with "name", "datatype", "shape" and "data"`);
  const { name, datatype, shape, data, parameters } = input;
  if (typeof name !== "string") throw invalid(`${where}.name must be a string`);
  if (typeof datatype !== "string") throw invalid(`${where}.datatype must be a string (input ${quoteValue(name)})`);
  if (!Array.isArray(shape)) throw invalid(`${where}.shape must be a list of dims (input ${quoteValue(name)})`);
  const params = optionalObject(parameters, `${where}.parameters`);
  const size = params.binary_data_size;
  if (size !== undefined && (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0))
    throw invalid(`${where}.parameters.binary_data_size must be a byte count (input ${quoteValue(name)})`);
  if (size === undefined && data === undefined)
    throw invalid(`${where} has neither "data" nor parameters.binary_data_size (input ${quoteValue(name)})`);
  return { header: { name, datatype, shape: shape as number[] }, data, binarySize: size };
}

function readOutput(output: unknown, where: string): JsonRequestedOutput {
  if (!isObject(output) || typeof output.name !== "string") throw invalid(`${where} must be an object with a "name"`);
  const params = optionalObject(output.parameters, `${where}.parameters`);
  return { name: output.name, binary: optionalBool(params.binary_data, `${where}.parameters.binary_data`) };
}

/**
 * The answer of a REST infer request: its JSON text and the binary blobs that follow it
 * (the binary tensor data extension), one per output answered as binary, in order. A JSON
 * output's `data` is flat, row-major, with INT64/UINT64 written exactly (as JSON numbers
 * of any size), BOOL as true/false, and NaN or infinities as null (JSON has no numbers for
 * them; ask for binary data to get them).
 *
 * @example
 * const { json, blobs } = writeInferResponse(model, "42", outputs, () => false);
 */
export function writeInferResponse(
  model: OipModel,
  id: string | undefined,
  outputs: readonly OipOutput[],
  binary: (name: string) => boolean,
): { json: string; blobs: Uint8Array[] } {
  const blobs: Uint8Array[] = [];
  const parts = outputs.map((o) => {
    const head = `{"name":${JSON.stringify(o.name)},"datatype":"${o.datatype}","shape":${JSON.stringify(o.shape)}`;
    if (binary(o.name)) {
      blobs.push(o.data);
      return `${head},"parameters":{"binary_data_size":${o.data.byteLength}}}`;
    }
    return `${head},"data":[${decodeValues(fromOipDatatype(o.datatype)!, o.data).map(jsonValue).join(",")}]}`;
  });
  const json =
    `{"model_name":${JSON.stringify(model.name)},"model_version":${JSON.stringify(model.version)}` +
    (id !== undefined ? `,"id":${JSON.stringify(id)}` : "") +
    `,"outputs":[${parts.join(",")}]}`;
  return { json, blobs };
}

function jsonValue(v: OipValue): string {
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "null";
  return String(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function optionalObject(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw invalid(`${where} must be an object`);
  return v;
}

function optionalBool(v: unknown, where: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw invalid(`${where} must be true or false`);
  return v;
}

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}
