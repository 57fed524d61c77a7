/**
 * What protoc-gen-blaze knows of a model's TypeScript signature, read back from the
 * schema's descriptors and custom options, and the code that converts between the
 * model's values and the messages on the wire. Shared by the binding (`_blaze.ts`) and
 * the client (`_client.ts`) generators.
 */
import {
  getOption,
  hasOption,
  ScalarType,
  type DescEnum,
  type DescField,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
} from "@bufbuild/protobuf";
import type { GeneratedFile, Printable } from "@bufbuild/protoplugin";
import { modelOption, tensorOption } from "@blazerpc/tensor";
import { ts_field as tsFieldOption, ts_value as tsValueOption } from "@blazerpc/tensor/blazerpc/v1/options_pb.js";
import { call as callOption } from "@blazerpc/tensor/blazerpc/v1/call_pb.js";

const TENSOR_PROTO = "blazerpc.v1.TensorProto";
const TIMESTAMP = "google.protobuf.Timestamp";

/** One model method of a service (or code-first RPC), with what its options say. */
export interface ModelMethod {
  readonly method: DescMethod;
  /** The registered model's name; an RPC's `Service.Method`. */
  readonly model: string;
  /** A code-first RPC (`app.rpc`): the client names its method after the RPC's method, not the model. */
  readonly rpc: boolean;
  /** The function's last parameter takes the call context, which the server passes after the request's fields. */
  readonly context: boolean;
  readonly streaming: boolean;
  /** The model takes one object: the request's fields. */
  readonly objectParams: boolean;
  /** The model returns an object: the response's fields. */
  readonly objectResult: boolean;
  /** List batching: the model takes one array per parameter and returns one result (or Error) per request. */
  readonly listBatched: boolean;
}

/** The model methods of a service (those with the `blazerpc.v1.model` option; `blazerpc.v1.call` says how they are called). */
export function modelMethods(service: DescService): ModelMethod[] {
  return service.methods
    .filter((m) => hasOption(m, modelOption))
    .map((method) => {
      const spec = getOption(method, modelOption);
      if (!spec.objectResult && method.output.fields.length !== 1) {
        throw new Error(`${method.output.typeName}: a model's response must have exactly one field, "result"`);
      }
      const call = hasOption(method, callOption) ? getOption(method, callOption) : undefined;
      return {
        method,
        model: spec.name,
        rpc: call?.rpc === true,
        context: call?.context === true,
        streaming: method.methodKind === "server_streaming",
        objectParams: spec.objectParams,
        objectResult: spec.objectResult,
        listBatched: spec.listBatched,
      };
    });
}

/** The name of a method in the generated client: the model's name, or an RPC's method (`getHealthStatus`). */
export function clientMethodName(m: ModelMethod): string {
  return m.rpc ? m.method.localName : m.model;
}

/** The name protobuf-es gives a message or enum: `Point`, `PredictXRequest_Box`. */
export function localName(desc: DescMessage | DescEnum): string {
  const file = desc.file.proto.package;
  const name = file === "" ? desc.typeName : desc.typeName.slice(file.length + 1);
  return name.replace(/\./g, "_");
}

/** The TypeScript name of a field: its JSON name (the TypeScript name it was generated from). */
export function tsName(field: DescField): string {
  return field.jsonName;
}

/** Whether the field is optional in TypeScript (proto3 `optional`). */
export function isOptional(field: DescField): boolean {
  return field.proto.proto3Optional === true;
}

/** A tensor field's declared dtype and shape. */
export interface TensorDecl {
  readonly dtype: string;
  readonly shape: readonly (number | string)[];
}

export function tensorDeclOf(field: DescField): TensorDecl | undefined {
  if (!hasOption(field, tensorOption)) return undefined;
  const spec = getOption(field, tensorOption);
  return { dtype: spec.dtype, shape: spec.shape.map((d) => (/^\d+$/.test(d) ? Number(d) : d)) };
}

/** The TypeScript value of each value of an enum (but the zero value), in order. */
export function enumValues(e: DescEnum): { name: string; number: number; value: string | number }[] {
  return e.values
    .filter((v) => v.number !== 0)
    .map((v) => {
      if (!hasOption(v, tsValueOption)) return { name: v.name, number: v.number, value: v.name };
      const spec = getOption(v, tsValueOption).value;
      return {
        name: v.name,
        number: v.number,
        value: spec.case === "numberValue" ? spec.value : spec.case === "stringValue" ? spec.value : v.name,
      };
    });
}

/**
 * The messages and enums a file's model signatures use, in first-use order: the types of
 * every field reachable from the requests and responses (requests and responses themselves
 * when a model takes or returns an object), tensors and timestamps excepted.
 */
export function signatureTypes(
  file: DescFile,
  methods: readonly ModelMethod[],
): { messages: DescMessage[]; enums: DescEnum[] } {
  const messages: DescMessage[] = [];
  const enums: DescEnum[] = [];
  const visit = (m: DescMessage) => {
    if (messages.includes(m)) return;
    if (m.file !== file)
      throw new Error(
        `${m.typeName}: a model signature may only use messages of its own file (or blazerpc.v1.TensorProto, google.protobuf.Timestamp)`,
      );
    messages.push(m);
    fieldsOf(m);
  };
  const fieldsOf = (m: DescMessage) => {
    for (const field of m.fields) {
      const e = field.enum;
      if (e !== undefined) {
        if (!enums.includes(e)) enums.push(e);
        continue;
      }
      const msg = field.message;
      if (msg !== undefined && msg.typeName !== TENSOR_PROTO && msg.typeName !== TIMESTAMP) visit(msg);
    }
  };
  for (const { method, objectParams, objectResult } of methods) {
    if (objectParams) visit(method.input);
    else fieldsOf(method.input);
    if (objectResult) visit(method.output);
    else fieldsOf(method.output);
  }
  return { messages, enums };
}

/** A path in error messages, as the parts of a template literal. */
export type Path = readonly (string | { readonly expr: string })[];

/** The path as an expression: `"features"` or `` `${path}masks[${i}]` ``. */
export function pathExpr(path: Path): string {
  if (path.every((p) => typeof p === "string")) return JSON.stringify(path.join(""));
  return (
    "`" + path.map((p) => (typeof p === "string" ? p.replace(/[`$\\]/g, "\\$&") : "${" + p.expr + "}")).join("") + "`"
  );
}

/** What an expression needs: whether it used its path (so a parameter can be left unnamed). */
interface Built {
  readonly code: Printable[];
  readonly usesPath: boolean;
  /** True when the value passes through unchanged (no conversion). */
  readonly identity: boolean;
}

/**
 * Prints TypeScript types and conversion code for one generated file. `ref` prints a
 * symbol declared in the client file: a bare name there, an import elsewhere.
 */
export class SignatureEmitter {
  constructor(
    private readonly f: GeneratedFile,
    private readonly ref: (name: string, typeOnly: boolean) => Printable,
  ) {}

  /** The TypeScript type of a field's value, as the model sees it. */
  fieldType(field: DescField): Printable[] {
    switch (field.fieldKind) {
      case "scalar":
        return [scalarTs(field.scalar, field.longAsString)];
      case "enum":
        return [this.ref(localName(field.enum), true)];
      case "message":
        return this.messageType(field.message, field);
      case "list":
        if (field.listKind === "scalar") return [scalarTs(field.scalar, field.longAsString), "[]"];
        if (field.listKind === "enum") return [this.ref(localName(field.enum), true), "[]"];
        return [...this.messageType(field.message, field), "[]"];
      case "map": {
        if (field.mapKey !== ScalarType.STRING)
          throw new Error(
            `${field.parent.typeName}.${field.name}: only string map keys are supported in a model signature`,
          );
        const value =
          field.mapKind === "scalar"
            ? [scalarTs(field.scalar, false)]
            : field.mapKind === "enum"
              ? [this.ref(localName(field.enum), true)]
              : this.messageType(field.message, field);
        return isEsMap(field) ? ["Map<string, ", ...value, ">"] : ["Record<string, ", ...value, ">"];
      }
    }
  }

  private messageType(m: DescMessage, field: DescField): Printable[] {
    if (m.typeName === TENSOR_PROTO) {
      const decl = tensorDeclOf(field);
      const Tensor = this.f.import("Tensor", "@blazerpc/tensor", true);
      return decl === undefined ? [Tensor] : [Tensor, tensorTypeArgs(decl)];
    }
    if (m.typeName === TIMESTAMP) return ["Date"];
    return [this.ref(localName(m), true)];
  }

  /** Message → model value, for one field read from `src` (e.g. `req`), or a parameter. */
  decodeField(field: DescField, src: string, path: Path): Built {
    const access = `${src}.${field.localName}`;
    const here: Path = [...path, tsName(field)];
    if (field.fieldKind === "list") {
      const elem = this.decodeElement(field, "e", [...here, "[", { expr: "i" }, "]"], false);
      if (elem.identity) return { code: [access], usesPath: false, identity: true };
      return {
        code: [access, elem.usesPath ? ".map((e, i) => " : ".map((e) => ", ...elem.code, ")"],
        usesPath: elem.usesPath && path.some((p) => typeof p !== "string"),
        identity: false,
      };
    }
    if (field.fieldKind === "map") {
      const elem = this.decodeElement(field, "e", [...here, "[", { expr: "JSON.stringify(k)" }, "]"], false);
      const entries = `Object.entries(${access})`;
      const usesPath = elem.usesPath && path.some((p) => typeof p !== "string");
      if (isEsMap(field)) {
        if (elem.identity) return { code: ["new Map(", entries, ")"], usesPath: false, identity: false };
        return {
          code: ["new Map(", entries, ".map(([k, e]) => [k, ", ...elem.code, "] as const))"],
          usesPath,
          identity: false,
        };
      }
      if (elem.identity) return { code: [access], usesPath: false, identity: true };
      return {
        code: ["Object.fromEntries(", entries, ".map(([k, e]) => [k, ", ...elem.code, "] as const))"],
        usesPath,
        identity: false,
      };
    }
    const elem = this.decodeElement(field, access, here, !isOptional(field));
    return { ...elem, usesPath: elem.usesPath && path.some((p) => typeof p !== "string") };
  }

  /** Model value → message init, for one field read from `src` (e.g. `result`), or a parameter. */
  encodeField(field: DescField, value: string, path: Path): Built {
    const here: Path = [...path, tsName(field)];
    if (field.fieldKind === "list") {
      const elem = this.encodeElement(field, "e", [...here, "[", { expr: "i" }, "]"]);
      if (elem.identity) return { code: [value], usesPath: false, identity: true };
      return {
        code: [value, elem.usesPath ? ".map((e, i) => " : ".map((e) => ", ...elem.code, ")"],
        usesPath: elem.usesPath && path.some((p) => typeof p !== "string"),
        identity: false,
      };
    }
    if (field.fieldKind === "map") {
      const elem = this.encodeElement(field, "e", [...here, "[", { expr: "JSON.stringify(k)" }, "]"]);
      const usesPath = elem.usesPath && path.some((p) => typeof p !== "string");
      const entries = isEsMap(field) ? `[...${value}]` : `Object.entries(${value})`;
      if (elem.identity)
        return isEsMap(field)
          ? { code: ["Object.fromEntries(", value, ")"], usesPath: false, identity: false }
          : { code: [value], usesPath: false, identity: true };
      return {
        code: ["Object.fromEntries(", entries, ".map(([k, e]) => [k, ", ...elem.code, "] as const))"],
        usesPath,
        identity: false,
      };
    }
    const elem = this.encodeElement(field, value, here);
    return { ...elem, usesPath: elem.usesPath && path.some((p) => typeof p !== "string") };
  }

  private decodeElement(field: DescField, access: string, path: Path, maybeAbsent: boolean): Built {
    const kind =
      field.fieldKind === "list" ? field.listKind : field.fieldKind === "map" ? field.mapKind : field.fieldKind;
    if (kind === "scalar") return { code: [access], usesPath: false, identity: true };
    if (kind === "enum") {
      return {
        code: [this.ref(`decode${localName(field.enum!)}`, false), "(", access, ", ", pathExpr(path), ")"],
        usesPath: true,
        identity: false,
      };
    }
    const m = field.message!;
    if (m.typeName === TENSOR_PROTO) {
      const decl = tensorDeclOf(field);
      const fromTensorProto = this.f.import("fromTensorProto", "@blazerpc/tensor");
      if (decl === undefined)
        return {
          code: [fromTensorProto, "(", access, ", undefined, ", pathExpr(path), ")"],
          usesPath: true,
          identity: false,
        };
      const Tensor = this.f.import("Tensor", "@blazerpc/tensor", true);
      return {
        code: [
          fromTensorProto,
          "(",
          access,
          ", ",
          specLiteral(decl),
          ", ",
          pathExpr(path),
          ") as ",
          Tensor,
          tensorTypeArgs(decl),
        ],
        usesPath: true,
        identity: false,
      };
    }
    if (m.typeName === TIMESTAMP) {
      const timestampDate = this.f.import("timestampDate", "@bufbuild/protobuf/wkt");
      return maybeAbsent
        ? {
            code: ["(", access, " !== undefined ? ", timestampDate, "(", access, ") : new Date(0))"],
            usesPath: false,
            identity: false,
          }
        : { code: [timestampDate, "(", access, ")"], usesPath: false, identity: false };
    }
    return {
      code: [this.ref(`decode${localName(m)}`, false), "(", access, ", ", pathExpr([...path, "."]), ")"],
      usesPath: true,
      identity: false,
    };
  }

  private encodeElement(field: DescField, value: string, path: Path): Built {
    const kind =
      field.fieldKind === "list" ? field.listKind : field.fieldKind === "map" ? field.mapKind : field.fieldKind;
    if (kind === "scalar") return { code: [value], usesPath: false, identity: true };
    if (kind === "enum") {
      return {
        code: [this.ref(`encode${localName(field.enum!)}`, false), "(", value, ", ", pathExpr(path), ")"],
        usesPath: true,
        identity: false,
      };
    }
    const m = field.message!;
    if (m.typeName === TENSOR_PROTO) {
      const decl = tensorDeclOf(field);
      const toTensorProto = this.f.import("toTensorProto", "@blazerpc/tensor");
      return {
        code: [
          toTensorProto,
          "(",
          value,
          ", ",
          decl === undefined ? "undefined" : specLiteral(decl),
          ", ",
          pathExpr(path),
          ")",
        ],
        usesPath: true,
        identity: false,
      };
    }
    if (m.typeName === TIMESTAMP) {
      return {
        code: [this.f.import("timestampFromDate", "@bufbuild/protobuf/wkt"), "(", value, ")"],
        usesPath: false,
        identity: false,
      };
    }
    return {
      code: [this.ref(`encode${localName(m)}`, false), "(", value, ", ", pathExpr([...path, "."]), ")"],
      usesPath: true,
      identity: false,
    };
  }

  /**
   * The arguments a model takes, from a request message `src`: one expression per
   * parameter (`[req.text, fromTensorProto(req.image, …)]`), or the decoded object.
   */
  decodeArguments(m: ModelMethod, src: string): Printable[][] {
    if (m.objectParams) return [[this.ref(`decode${localName(m.method.input)}`, false), "(", src, ', "")']];
    return m.method.input.fields.map((field) => {
      const built = this.decodeField(field, src, []);
      if (!isOptional(field) || built.identity) return built.code;
      return [`${src}.${field.localName} === undefined ? undefined : `, ...built.code];
    });
  }

  /**
   * The response message init for a model's result `value`: an expression (a returned
   * object), or the one property of an object literal (`result: …`).
   */
  encodeResult(m: ModelMethod, value: string): { expr: Printable[] } | { property: Printable[] } {
    if (m.objectResult) return { expr: [this.ref(`encode${localName(m.method.output)}`, false), "(", value, ', "")'] };
    const field = m.method.output.fields[0]!;
    const built = this.encodeField(field, value, []);
    if (isOptional(field))
      return { property: ["...(", value, " !== undefined ? { ", field.localName, ": ", ...built.code, " } : {})"] };
    return { property: [field.localName, ": ", ...built.code] };
  }

  /** The value a model returns (or yields), from a response message `src`. */
  decodeResult(m: ModelMethod, src: string): Printable[] {
    if (m.objectResult) return [this.ref(`decode${localName(m.method.output)}`, false), "(", src, ', "")'];
    const field = m.method.output.fields[0]!;
    const built = this.decodeField(field, src, []);
    if (!isOptional(field) || built.identity) return built.code;
    return [`${src}.${field.localName} === undefined ? undefined : `, ...built.code];
  }

  /** The request message init for a model's arguments, named after the parameters (or one object `request`). */
  encodeArguments(m: ModelMethod, params: readonly string[]): Printable[] {
    if (m.objectParams) return [this.ref(`encode${localName(m.method.input)}`, false), "(", params[0]!, ', "")'];
    const parts: Printable[] = ["{ "];
    m.method.input.fields.forEach((field, i) => {
      const built = this.encodeField(field, params[i]!, []);
      if (i > 0) parts.push(", ");
      if (isOptional(field))
        parts.push("...(", params[i]!, " !== undefined ? { ", field.localName, ": ", ...built.code, " } : {})");
      else if (built.identity && field.localName === params[i]) parts.push(field.localName);
      else parts.push(field.localName, ": ", ...built.code);
    });
    parts.push(" }");
    return parts.length === 2 ? ["{}"] : parts;
  }

  /**
   * The model-side parameters of a method: `(features: Tensor<…>)`, or `(request: X)` for
   * an object. Optional ones end in `?` where nothing required follows them.
   */
  parameters(m: ModelMethod): { name: string; type: Printable[]; optional: boolean }[] {
    if (m.objectParams)
      return [{ name: "request", type: [this.ref(localName(m.method.input), true)], optional: false }];
    const fields = m.method.input.fields;
    return fields.map((field, i) => {
      const optional = isOptional(field);
      const laterRequired = fields.slice(i + 1).some((f) => !isOptional(f));
      const type = this.fieldType(field);
      return {
        name: paramName(field),
        type: optional && laterRequired ? [...type, " | undefined"] : type,
        optional: optional && !laterRequired,
      };
    });
  }

  /** The type a model returns (unary) or yields (stream). */
  resultType(m: ModelMethod): Printable[] {
    if (m.objectResult) return [this.ref(localName(m.method.output), true)];
    const field = m.method.output.fields[0]!;
    const type = this.fieldType(field);
    return isOptional(field) ? [...type, " | undefined"] : type;
  }
}

/** A parameter name for a field: its TypeScript name when that is a usable identifier. */
export function paramName(field: DescField): string {
  const name = tsName(field);
  return /^[A-Za-z_$][\w$]*$/.test(name) && !RESERVED.has(name) ? name : field.localName;
}

const RESERVED = new Set(
  "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with as implements interface let package private protected public static yield await".split(
    " ",
  ),
);

function isEsMap(field: DescField): boolean {
  return field.fieldKind === "map" && hasOption(field, tsFieldOption) && getOption(field, tsFieldOption).esMap;
}

function scalarTs(t: ScalarType, longAsString: boolean): string {
  switch (t) {
    case ScalarType.STRING:
      return "string";
    case ScalarType.BOOL:
      return "boolean";
    case ScalarType.BYTES:
      return "Uint8Array";
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return longAsString ? "string" : "bigint";
    default:
      return "number";
  }
}

/** `<"float32", ["batch", 4]>` */
export function tensorTypeArgs(decl: TensorDecl): string {
  return `<${JSON.stringify(decl.dtype)}, [${decl.shape.map((d) => JSON.stringify(d)).join(", ")}]>`;
}

/** The spec as a TypeScript object literal: `{ dtype: "float32", shape: ["batch", 4] }`. */
function specLiteral(decl: TensorDecl): string {
  return `{ dtype: ${JSON.stringify(decl.dtype)}, shape: [${decl.shape.map((d) => JSON.stringify(d)).join(", ")}] }`;
}
