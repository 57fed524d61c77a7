/**
 * The model spec: what code generation knows of an app, as plain data. `extract`
 * produces it from TypeScript; the proto printer turns it into a `.proto`.
 */

/** A proto scalar a TypeScript type maps to. */
export type ScalarKind = "string" | "double" | "int64" | "bool" | "bytes";

/** The type of one parameter, return value or stream element. */
export type TypeSpec =
  | { readonly kind: "scalar"; readonly scalar: ScalarKind }
  | { readonly kind: "tensor"; readonly dtype: string; readonly shape: readonly (number | string)[] }
  | { readonly kind: "repeated"; readonly element: TypeSpec };

/** A named, typed value: a parameter, or the result. */
export interface FieldSpec {
  /** The TypeScript name, e.g. `maxTokens`. */
  readonly name: string;
  readonly type: TypeSpec;
  /** JSDoc text, if any. */
  readonly doc?: string;
}

/** Where something was declared, for diagnostics. */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One `app.model(name, options?, fn)` registration. */
export interface ModelSpec {
  readonly name: string;
  readonly doc?: string;
  readonly version?: string;
  /** True when the function returns an async iterable: a server stream. */
  readonly streaming: boolean;
  readonly params: readonly FieldSpec[];
  /** The returned value (unary) or the type of each streamed element. */
  readonly result: FieldSpec;
  readonly position: SourcePosition;
}

/** One app: `createApp({ name })` and the models registered on it, in source order. */
export interface AppSpec {
  readonly name: string;
  /** The entry file, as given to extract. */
  readonly entry: string;
  readonly models: readonly ModelSpec[];
}
