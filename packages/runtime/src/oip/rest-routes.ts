import { Code, ConnectError, createHandlerContext } from "@connectrpc/connect";
import { quoteValue } from "@blazerpc/tensor";
import type { ErrorAnswer } from "../http/route-handler.js";
import type { HttpMethod, RouteHandler, RouteOptions, RouteRecord, RouteRequest } from "../http/route.js";
import { HEADER_LENGTH, joinBody, splitBody, takeBinaryInputs } from "./binary-data.js";
import type { OipCatalog } from "./catalog.js";
import { checkRequestedOutputs, inputFromBytes, inputFromValues, resolveInput, runModel } from "./infer.js";
import { readInferRequest, writeInferResponse } from "./infer-json.js";
import { modelMetadata, serverMetadata } from "./metadata.js";
import { flattenData } from "./tensor-data.js";

/** One route of the OIP REST API. */
export interface OipRestRoute {
  readonly route: RouteRecord;
  /** A health route: it follows what exempts health from auth (`exempt: ["health"]`, the default). */
  readonly health: boolean;
}

/** Options of {@link createOipRestRoutes}. */
export interface OipRestOptions {
  /** The models served, and their readiness. */
  readonly catalog: OipCatalog;
}

/** What `exempt` names to open the OIP (REST and gRPC) without a token: its gRPC service's name. */
export const OIP_AUTH_TARGET = "inference.GRPCInferenceService";

/**
 * The Open Inference Protocol's REST API (KServe v2), as routes served like the app's
 * (body limit, auth, metrics, logs):
 * - `GET /v2`: server metadata; `GET /v2/health/live`, `GET /v2/health/ready`: 200 when
 *   true, 400 when false, empty bodies;
 * - `GET /v2/models/{name}[/versions/{version}]`: model metadata; `…/ready`: 200 or 400;
 * - `POST /v2/models/{name}[/versions/{version}]/infer`: inference, JSON and the binary
 *   tensor data extension, through the typed API's implementation of the model's method.
 *
 * Every error answers `{"error": "…"}` (see {@link oipErrorAnswer}).
 *
 * @example
 * const routes = createOipRestRoutes({ catalog });
 * routes.map((r) => `${r.route.method} ${r.route.path}`); // ["GET /v2", "GET /v2/health/live", …]
 */
export function createOipRestRoutes(options: OipRestOptions): OipRestRoute[] {
  const { catalog } = options;
  const model = (req: RouteRequest) => catalog.getModelOrThrow(req.params.model!, req.params.version ?? "");
  const routes: OipRestRoute[] = [];
  const add = (method: HttpMethod, path: string, handler: RouteHandler, doc: RouteOptions, health = false) =>
    routes.push({ route: { method, path, handler, options: doc }, health });
  add("GET", "/v2", () => serverMetadata(), {
    summary: "OIP: server metadata",
    description: "The Open Inference Protocol's server metadata: name, version and the extensions served.",
    responseSchema: SERVER_METADATA,
  });
  add("GET", "/v2/health/live", () => truth(true), LIVE, true);
  add("GET", "/v2/health/ready", () => truth(catalog.isServerReady()), READY, true);
  for (const base of ["/v2/models/:model", "/v2/models/:model/versions/:version"]) {
    add("GET", base, (req) => modelMetadata(model(req)), {
      summary: "OIP: model metadata",
      description: "The model's name, versions, platform, and inputs and outputs (a dim of any size is -1).",
      responseSchema: MODEL_METADATA,
    });
    add("GET", `${base}/ready`, (req) => truth(catalog.isModelReady(model(req))), MODEL_READY, true);
    add("POST", `${base}/infer`, (req) => infer(req, catalog), INFER);
  }
  return routes;
}

/** 200 for true, 400 for false (the protocol: any 4xx is false), with an empty body. */
function truth(value: boolean): Response {
  return new Response(null, { status: value ? 200 : 400, headers: { "content-length": "0" } });
}

async function infer(req: RouteRequest, catalog: OipCatalog): Promise<Response> {
  const model = catalog.getModelOrThrow(req.params.model!, req.params.version ?? "");
  // A compressed body (Triton's clients can gzip or deflate it) would be read as JSON and
  // refused as "not valid JSON"; say what is wrong instead, as HTTP does (415).
  const encoding = req.headers.get("content-encoding")?.trim() ?? "";
  if (encoding !== "" && encoding.toLowerCase() !== "identity")
    return new Response(
      JSON.stringify({
        error: `the request's Content-Encoding is ${quoteValue(encoding, 32)}: send the body uncompressed (identity)`,
      }) + "\n",
      { status: 415, headers: { "content-type": "application/json", "accept-encoding": "identity" } },
    );
  const { json, binary } = splitBody(await req.bytes(), req.headers.get(HEADER_LENGTH));
  let body: unknown;
  try {
    body = JSON.parse(json);
  } catch (e) {
    throw new ConnectError(
      `the request's JSON is not valid: ${e instanceof Error ? e.message : String(e)}`,
      Code.InvalidArgument,
    );
  }
  const request = readInferRequest(body);
  checkRequestedOutputs(
    model,
    request.outputs.map((o) => o.name),
  );
  const resolved = request.inputs.map((i) => resolveInput(model, i.header));
  const parts = takeBinaryInputs(
    request.inputs.map((i) => i.binarySize),
    binary,
  );
  // Each input has binary data or JSON data (readInferRequest made sure of it).
  const inputs = resolved.map((input, i) => {
    const part = parts[i];
    return part !== undefined
      ? inputFromBytes(input, part)
      : inputFromValues(input, flattenData(request.inputs[i]!.data, input.spec.name));
  });
  const ctx = createHandlerContext({
    service: model.service,
    method: model.method,
    protocolName: "oip",
    requestMethod: req.method,
    url: req.url.href,
    requestSignal: req.signal,
    requestHeader: req.headers,
  });
  try {
    const outputs = await runModel(
      model,
      inputs,
      request.outputs.map((o) => o.name),
      ctx,
    );
    const asBinary = (name: string) => request.outputs.find((o) => o.name === name)?.binary ?? request.binaryDataOutput;
    const answer = writeInferResponse(model, request.id, outputs, asBinary);
    if (answer.blobs.length === 0)
      return new Response(answer.json + "\n", { headers: { "content-type": "application/json" } });
    const { body: bytes, headerLength } = joinBody(answer.json, answer.blobs);
    return new Response(bytes, {
      headers: { "content-type": "application/octet-stream", [HEADER_LENGTH]: String(headerLength) },
    });
  } finally {
    ctx.abort();
  }
}

/**
 * An OIP REST error answer: `{"error": "…"}`, with 400 for a bad request, 401 without a
 * valid token, 404 for an unknown model or version, 413 for a body too large, 503 for a
 * model not ready, a full queue or a server shutting down, 504 for a deadline, 500 for a
 * model's failure.
 *
 * @example
 * oipErrorAnswer(new ConnectError("unknown model \"x\"", Code.NotFound), 404) // { status: 404, body: { error: "unknown model \"x\"" } }
 */
export const oipErrorAnswer: ErrorAnswer = (error, status) => ({
  status: status === 413 ? 413 : oipHttpStatus(error.code),
  body: { error: error.rawMessage },
});

/**
 * The HTTP status of an OIP REST error of `code`.
 *
 * @example
 * oipHttpStatus(Code.ResourceExhausted) // 503
 */
export function oipHttpStatus(code: Code): number {
  switch (code) {
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
      return 400;
    case Code.Unauthenticated:
      return 401;
    case Code.PermissionDenied:
      return 403;
    case Code.NotFound:
      return 404;
    case Code.AlreadyExists:
    case Code.Aborted:
      return 409;
    case Code.Canceled:
      return 499;
    case Code.Unimplemented:
      return 501;
    case Code.Unavailable:
    case Code.ResourceExhausted:
      return 503;
    case Code.DeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

const TENSOR_METADATA = {
  type: "object",
  required: ["name", "datatype", "shape"],
  properties: {
    name: { type: "string" },
    datatype: {
      type: "string",
      enum: ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64"],
    },
    shape: { type: "array", items: { type: "integer" }, description: "A dim of any size is -1." },
  },
};

const SERVER_METADATA = {
  type: "object",
  required: ["name", "version", "extensions"],
  properties: {
    name: { type: "string" },
    version: { type: "string" },
    extensions: { type: "array", items: { type: "string" } },
  },
};

const MODEL_METADATA = {
  type: "object",
  required: ["name", "versions", "platform", "inputs", "outputs"],
  properties: {
    name: { type: "string" },
    versions: { type: "array", items: { type: "string" } },
    platform: { type: "string" },
    inputs: { type: "array", items: TENSOR_METADATA },
    outputs: { type: "array", items: TENSOR_METADATA },
  },
};

const LIVE: RouteOptions = {
  summary: "OIP: server live",
  description: "200 while the server answers at all; empty body.",
};

const READY: RouteOptions = {
  summary: "OIP: server ready",
  description: "200 when every model is ready (as `/readyz`), else 400; empty body.",
};

const MODEL_READY: RouteOptions = {
  summary: "OIP: model ready",
  description:
    "200 when the model is ready (loaded, the server not shutting down), else 400; empty body. 404 for an unknown model.",
};

const INFER: RouteOptions = {
  summary: "OIP: inference",
  description:
    'The Open Inference Protocol\'s inference request: `inputs` by name with `datatype`, `shape` and `data` (plain numbers, flat or nested, row-major), optional `id` (echoed) and `outputs` (by name). The binary tensor data extension: the JSON first, its length in the `Inference-Header-Content-Length` header, then each input\'s bytes (`parameters.binary_data_size`); outputs come back as binary with `parameters.binary_data_output: true` or an output\'s `parameters.binary_data: true`. Errors: `{"error": "…"}`.',
  requestSchema: {
    type: "object",
    required: ["inputs"],
    properties: {
      id: { type: "string" },
      parameters: { type: "object", properties: { binary_data_output: { type: "boolean" } } },
      inputs: {
        type: "array",
        items: {
          type: "object",
          required: ["name", "datatype", "shape"],
          properties: {
            ...TENSOR_METADATA.properties,
            parameters: { type: "object", properties: { binary_data_size: { type: "integer", minimum: 0 } } },
            data: { type: "array", description: "The elements, row-major: flat, or nested as the shape." },
          },
        },
      },
      outputs: {
        type: "array",
        items: {
          type: "object",
          required: ["name"],
          properties: {
            name: { type: "string" },
            parameters: { type: "object", properties: { binary_data: { type: "boolean" } } },
          },
        },
      },
    },
  },
  responseSchema: {
    type: "object",
    required: ["model_name", "outputs"],
    properties: {
      model_name: { type: "string" },
      model_version: { type: "string" },
      id: { type: "string" },
      outputs: {
        type: "array",
        items: {
          type: "object",
          required: ["name", "datatype", "shape"],
          properties: {
            ...TENSOR_METADATA.properties,
            parameters: { type: "object", properties: { binary_data_size: { type: "integer" } } },
            data: { type: "array" },
          },
        },
      },
    },
  },
};
