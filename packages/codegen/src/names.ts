/** Naming rules shared by the proto printer and the plugin. */

/** The service every app's models are served under. */
export const SERVICE_NAME = "InferenceService";

/**
 * What a model may be called: letters, digits, `-`, `_` and `.`, starting with a letter or a
 * digit, as models are named elsewhere (`sklearn-iris`, `text-embedding-3`, `resnet50.v2`).
 * Its RPC is `Predict` and the name's PascalCase: `score-reviews` → `PredictScoreReviews`.
 */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** `maxTokens` → `max_tokens`; `HTTPCode` → `http_code`. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toLowerCase();
}

/** `iris` → `Iris`; `text_embed` → `TextEmbed`. */
export function toPascalCase(name: string): string {
  return toSnakeCase(name)
    .split("_")
    .filter((s) => s !== "")
    .map((s) => s[0]!.toUpperCase() + s.slice(1))
    .join("");
}

/** The proto package of an app: `iris` → `iris.v1`. */
export function protoPackage(appName: string): string {
  return `${toSnakeCase(appName)}.v1`;
}

/** The path of an app's generated proto inside the proto folder: `iris/v1/iris.proto`. */
export function protoFilePath(appName: string): string {
  const pkg = toSnakeCase(appName);
  return `${pkg}/v1/${pkg}.proto`;
}

/** The RPC name of a model: `iris` → `PredictIris`. */
export function rpcName(modelName: string): string {
  return `Predict${toPascalCase(modelName)}`;
}

/** `in-progress` → `IN_PROGRESS`; `fastMode` → `FAST_MODE`. */
export function toUpperSnakeCase(name: string): string {
  return toSnakeCase(name).toUpperCase();
}

/**
 * The JSON name protoc gives a field by default (`max_tokens` → `maxTokens`), which is
 * also the property name protobuf-es generates. When a TypeScript name differs from it
 * (`userID` → `user_id` → `userId`), the printer sets `json_name` to the TypeScript name.
 */
export function defaultJsonName(protoName: string): string {
  let out = "";
  let upper = false;
  for (const ch of protoName) {
    if (ch === "_") upper = true;
    else {
      out += upper ? ch.toUpperCase() : ch;
      upper = false;
    }
  }
  return out;
}

/** The request message of a model: `iris` → `PredictIrisRequest`. */
export function requestName(modelName: string): string {
  return `${rpcName(modelName)}Request`;
}

/** The response message of a model: `iris` → `PredictIrisResponse`. */
export function responseName(modelName: string): string {
  return `${rpcName(modelName)}Response`;
}

/** What naming a registration needs: its name, whether it is an RPC, and the named types its messages take, if any. */
export interface Registration {
  /** The model's name; for an RPC (`app.rpc`), `Service.Method`. */
  readonly name: string;
  readonly rpc?: boolean | undefined;
  readonly requestType?: string | undefined;
  readonly responseType?: string | undefined;
}

/**
 * Where a registration is served in the schema: a model as `InferenceService.Predict<Name>`,
 * an RPC (`app.rpc("InferenceDirector.GetHealthStatus", fn)`) as the service and method it names.
 */
export function schemaMethod(r: Registration): { readonly service: string; readonly method: string } {
  if (r.rpc !== true) return { service: SERVICE_NAME, method: rpcName(r.name) };
  const dot = r.name.indexOf(".");
  return { service: r.name.slice(0, dot), method: r.name.slice(dot + 1) };
}

/** The request message of a registration: `PredictIrisRequest`, `GetHealthStatusRequest`, or the named type it takes. */
export function requestMessageName(r: Registration): string {
  return r.requestType ?? (r.rpc === true ? `${schemaMethod(r).method}Request` : requestName(r.name));
}

/** The response message of a registration: `PredictIrisResponse`, `GetHealthStatusResponse`, or the named type it returns. */
export function responseMessageName(r: Registration): string {
  return r.responseType ?? (r.rpc === true ? `${schemaMethod(r).method}Response` : responseName(r.name));
}
