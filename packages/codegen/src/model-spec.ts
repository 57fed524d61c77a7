/**
 * The model spec: what code generation knows of an app, as plain data. `extract`
 * produces it from TypeScript; the proto printer turns it into a `.proto`.
 */

/**
 * A proto scalar a TypeScript type maps to: `string`, `number` (double), `bigint` (int64),
 * `boolean`, `Uint8Array` (bytes), and the exact number types of @blazerpc/runtime
 * (`Int32`, `Uint32`, `Float32`, `Float64`, `Int64`, `Uint64`).
 */
export type ScalarKind = "string" | "double" | "float" | "int32" | "uint32" | "int64" | "uint64" | "bool" | "bytes";

/** The type of one parameter, property, return value or stream element. */
export type TypeSpec =
  | { readonly kind: "scalar"; readonly scalar: ScalarKind }
  | { readonly kind: "tensor"; readonly dtype: string; readonly shape: readonly (number | string)[] }
  | { readonly kind: "repeated"; readonly element: TypeSpec }
  /** `Record<string, V>` (`container: "record"`) or `Map<string, V>` (`"map"`). */
  | { readonly kind: "map"; readonly value: TypeSpec; readonly container: "record" | "map" }
  /** A message of {@link AppSpec.messages}, by its name in the package (`Query`, `PredictXRequest.Point`). */
  | { readonly kind: "message"; readonly name: string }
  /** An enum of {@link AppSpec.enums}, by its name in the package. */
  | { readonly kind: "enum"; readonly name: string }
  /** `Date`, as `google.protobuf.Timestamp`. */
  | { readonly kind: "timestamp" };

/** A named, typed value: a parameter, a property, or the result. */
export interface FieldSpec {
  /** The TypeScript name, e.g. `maxTokens`. The proto field is its snake_case. */
  readonly name: string;
  readonly type: TypeSpec;
  /** An optional parameter or property (`x?: T`, `T | undefined`, a default value). */
  readonly optional?: boolean;
  /** JSDoc text, if any. */
  readonly doc?: string;
}

/** An object type (interface, type alias, inline type literal): a proto message. */
export interface MessageSpec {
  /**
   * The name in the package: a PascalCase name for a named type (`Query`, `PageItem` for
   * `Page<Item>`), or `<Parent>.<FieldInPascalCase>` for an inline type, nested in its parent.
   */
  readonly name: string;
  readonly doc?: string;
  readonly fields: readonly FieldSpec[];
}

/** One value of an enum. */
export interface EnumValueSpec {
  /** The proto name, prefixed with the enum's: `MODE_FAST`. */
  readonly name: string;
  /** The TypeScript value: the string literal, or the TS enum member's value. */
  readonly value: string | number;
  readonly doc?: string;
}

/** A string-literal union or a TypeScript enum: a proto enum (with `<NAME>_UNSPECIFIED = 0`). */
export interface EnumSpec {
  /** As {@link MessageSpec.name}. */
  readonly name: string;
  readonly doc?: string;
  readonly values: readonly EnumValueSpec[];
}

/** Where something was declared, for diagnostics. */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * One `app.model(name, options?, fn)` registration (served as `InferenceService.Predict<Name>`),
 * or one `app.rpc("Service.Method", options?, fn)` (served as `Service.Method`: {@link rpc}).
 */
export interface ModelSpec {
  /** The model's name; for an RPC, `Service.Method`. */
  readonly name: string;
  /** Registered with `app.rpc`: a code-first RPC of the app's own service, not a model. */
  readonly rpc?: boolean;
  /**
   * The function's last parameter takes the call context (`ctx: CallContext` of
   * @blazerpc/runtime): it is not part of {@link params}, and the server passes it.
   */
  readonly context?: boolean;
  /**
   * RPCs only: the request message is this named type's own message (one of
   * {@link AppSpec.messages}) — the interface of the one destructured parameter, when no
   * other registration takes it — instead of `<Method>Request`.
   */
  readonly requestType?: string;
  /**
   * RPCs only: the response message is this named type's own message (one of
   * {@link AppSpec.messages}) — the interface the function returns, when no other
   * registration returns it — instead of `<Method>Response`.
   */
  readonly responseType?: string;
  readonly doc?: string;
  readonly version?: string;
  /** True when the function returns an async iterable: a server stream. */
  readonly streaming: boolean;
  /** Declared free of side effects (`@pure`): `idempotency_level = NO_SIDE_EFFECTS`. */
  readonly pure?: boolean;
  /**
   * The request's fields: the parameters in order, or — with {@link objectParams} — the
   * properties of the one destructured parameter (`({ text, topK }: Query)`).
   */
  readonly params: readonly FieldSpec[];
  readonly objectParams?: boolean;
  /**
   * The response's fields: one field `result` holding the returned value (or each streamed
   * element), or — with {@link objectResult} — the properties of the returned object.
   */
  readonly results: readonly FieldSpec[];
  readonly objectResult?: boolean;
  /**
   * List batching (`batch` options and not every parameter a tensor): the function takes
   * one array per parameter and returns one result (or `Error`) per request; `params` and
   * `results` describe one request (the arrays' elements).
   */
  readonly listBatched?: boolean;
  readonly position: SourcePosition;
}

/** One app: `createApp({ name })` and the models registered on it, in source order. */
export interface AppSpec {
  readonly name: string;
  /** The entry file, as given to extract. */
  readonly entry: string;
  /** The models and code-first RPCs, in source order. */
  readonly models: readonly ModelSpec[];
  /** Every message the models' types need besides the request and response messages, in first-use order. */
  readonly messages?: readonly MessageSpec[];
  /** Every enum the models' types need, in first-use order. */
  readonly enums?: readonly EnumSpec[];
}
