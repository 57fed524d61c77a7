import { Node, SyntaxKind, ts, type Symbol as MorphSymbol, type Type } from "ts-morph";
import { dtypeNames, isDType } from "@blazerpc/tensor";
import type { EnumSpec, EnumValueSpec, FieldSpec, MessageSpec, ScalarKind, TypeSpec } from "../model-spec.js";
import { toPascalCase, toSnakeCase, toUpperSnakeCase } from "../names.js";
import { docOfDeclaration } from "./jsdoc.js";

/** Where a type was met: what diagnostics point at and how they name it. */
export interface Site {
  /** The node diagnostics point at (a type annotation, a parameter, a property). */
  readonly node: Node;
  /** What the type is of, e.g. `parameter "features"` or `property "Query.topK"`. */
  readonly what: string;
  /** Whose signature led here, as diagnostics name it: `model "iris"`, `rpc "InferenceDirector.GetHealthStatus"`. */
  readonly owner: string;
  /** The written type, when there is one: names aliased unions and orders literals. */
  readonly typeNode?: Node | undefined;
}

/** The name an inline type gets: `<parent>.<Field>`, nested in its parent message. */
export interface Naming {
  readonly parent: string;
  readonly field: string;
}

/** A mapped type, and whether `undefined` was part of it (an optional value). */
export interface Mapped {
  readonly type: TypeSpec;
  readonly optional: boolean;
}

type Report = (node: Node, message: string) => void;

const EXACT_SCALARS: ReadonlySet<string> = new Set(["int32", "uint32", "float", "double", "int64", "uint64"]);
const NOT_DATA_TYPES: Readonly<Record<string, string>> = {
  Promise: "only a model's return type may be a Promise",
  Set: "use an array",
  ReadonlySet: "use an array",
  WeakMap: "use Record<string, T> or Map<string, T>",
  WeakSet: "use an array",
  ArrayBuffer: "use Uint8Array",
  SharedArrayBuffer: "use Uint8Array",
  DataView: "use Uint8Array",
  Buffer: "use Uint8Array (a Buffer arrives as a Uint8Array)",
  RegExp: "send its source as a string",
  Error: "send the message as a string, or throw it from the model",
  Function: "functions cannot be sent",
};
const TYPED_ARRAYS: Readonly<Record<string, string>> = {
  Float32Array: "float32",
  Float64Array: "float64",
  Int8Array: "int8",
  Int16Array: "int16",
  Int32Array: "int32",
  BigInt64Array: "int64",
  Uint16Array: "uint16",
  Uint32Array: "uint32",
  BigUint64Array: "uint64",
  Uint8ClampedArray: "uint8",
};

interface Registered<S> {
  readonly spec: S;
  readonly key: string;
  /** Its declaration, for clash messages (`file:line`, computed only then). */
  readonly declaration: Node;
}

/**
 * Turns TypeScript types into {@link TypeSpec}s, registering a message for every object
 * type and an enum for every string-literal union or TypeScript enum it meets (each once,
 * by identity), and reporting every type that has no place in a schema.
 */
export class TypeMapper {
  private readonly messages = new Map<string, Registered<MessageSpec | null>>();
  private readonly enums = new Map<string, Registered<EnumSpec>>();
  /** Type key → its name in the schema, or null when it failed (reported once). */
  private readonly done = new Map<string, string | null>();
  private readonly inProgress = new Set<string>();
  /** Names of messages in first-use order (a message's slot is taken before its fields are read). */
  private readonly order: string[] = [];

  constructor(
    private readonly report: Report,
    private readonly where: (node: Node) => string,
    /** Names the schema already uses (requests, responses, the service). */
    private readonly reserved: ReadonlyMap<string, string>,
  ) {}

  /** Every message registered, in first-use order. */
  getMessages(): MessageSpec[] {
    return this.order.flatMap((n) => {
      const spec = this.messages.get(n)?.spec;
      return spec ? [spec] : [];
    });
  }

  /** The message registered under `name`, if it was mapped without errors. */
  getMessage(name: string): MessageSpec | undefined {
    return this.messages.get(name)?.spec ?? undefined;
  }

  /** Every enum registered, in first-use order. */
  getEnums(): EnumSpec[] {
    return [...this.enums.values()].map((e) => e.spec);
  }

  /** Maps one type; undefined after reporting why it cannot be mapped. */
  map(type: Type, site: Site, naming: Naming): Mapped | undefined {
    const fail = (message: string): undefined => {
      this.report(site.node, `${site.owner}: ${site.what} ${message}`);
      return undefined;
    };
    const flags = type.getFlags();
    if (isUnresolved(type)) {
      const written = site.typeNode?.getText() ?? type.getText();
      return fail(
        `has type "${written}", which cannot be resolved — check its import and spelling (code generation adds no @types packages of its own, so a Node global such as Buffer may be unknown: use Uint8Array)`,
      );
    }
    if (flags & ts.TypeFlags.Any)
      return fail(`is "any" — give it a concrete type, e.g. string, an array or an interface`);
    if (flags & ts.TypeFlags.Unknown)
      return fail(`is "unknown" — give it a concrete type, e.g. string, an array or an interface`);
    if (flags & ts.TypeFlags.Never) return fail(`is "never" — give it a concrete type`);
    if (type.isBoolean() || type.isBooleanLiteral()) return scalar("bool");
    if (type.isUnion()) return this.union(type, site, naming, fail);
    if (type.isUndefined() || flags & ts.TypeFlags.Void)
      return fail(`has no value ("${type.getText()}") — give it a type, or leave it out`);
    if (type.isNull()) return fail(`is null — leave it out, or make it optional: x?: T`);
    if (type.isString() || type.isStringLiteral() || type.isTemplateLiteral()) return scalar("string");
    if (type.isNumber() || type.isNumberLiteral()) return scalar("double");
    if (flags & ts.TypeFlags.BigInt || flags & ts.TypeFlags.BigIntLiteral) return scalar("int64");
    if (type.isEnumLiteral() || flags & ts.TypeFlags.Enum) {
      const decl = enumDeclarationOf(type);
      return decl === undefined
        ? fail(`has an enum type that cannot be read ("${type.getText()}")`)
        : this.tsEnum(decl, site);
    }
    if (type.isIntersection()) {
      const brand = brandOf(type);
      if (brand !== undefined) return scalar(brand);
      if (type.getIntersectionTypes().every((t) => t.isObject())) return this.message(type, site, naming, fail);
      return fail(
        `has unsupported type "${typeText(type, site)}" — an intersection with a primitive; use the primitive, or an exact number type of @blazerpc/runtime (Int32, Float32, …)`,
      );
    }
    if (type.isObject()) return this.object(type, site, naming, fail);
    if (flags & ts.TypeFlags.NonPrimitive)
      return fail(`is "object" — use an interface with named properties, or Record<string, T>`);
    return fail(
      `has unsupported type "${typeText(type, site)}" — use string, number, bigint, boolean, Uint8Array, Date, Tensor<dtype, shape>, an interface, a string-literal union, Record<string, T> or an array of these`,
    );
  }

  /**
   * The fields of a plain object type (its properties, in declaration order), for a
   * message or for a request or response made of an object's properties.
   */
  fields(type: Type, site: Site, messageName: string): FieldSpec[] | undefined {
    const out: FieldSpec[] = [];
    let ok = true;
    for (const prop of type.getProperties()) {
      const field = this.field(prop, site, messageName, out);
      if (field === undefined) ok = false;
      else out.push(field);
    }
    return ok ? out : undefined;
  }

  /** True for an object type whose properties become a message's fields. */
  isPlainObject(type: Type): boolean {
    if (type.isIntersection())
      return brandOf(type) === undefined && type.getIntersectionTypes().every((t) => this.isPlainObject(t));
    if (!type.isObject() || type.isArray() || type.isTuple()) return false;
    const name = type.getSymbol()?.getName();
    if (
      name !== undefined &&
      (name in NOT_DATA_TYPES ||
        name in TYPED_ARRAYS ||
        ["Uint8Array", "Date", "Map", "ReadonlyMap", "ReadonlyArray", "Tensor"].includes(name))
    )
      return false;
    if (type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0) return false;
    if (type.getStringIndexType() !== undefined || type.getNumberIndexType() !== undefined) return false;
    const symbol = type.getSymbol();
    if (symbol !== undefined && symbol.hasFlags(ts.SymbolFlags.Class)) return false;
    return !isBuiltIn(symbol);
  }

  private field(
    prop: MorphSymbol,
    site: Site,
    messageName: string,
    siblings: readonly FieldSpec[],
  ): FieldSpec | undefined {
    const name = prop.getName();
    const decl = prop.getValueDeclaration() ?? prop.getDeclarations()[0];
    const inUserCode = decl !== undefined && !isLibFile(decl);
    const typeNode =
      inUserCode && (Node.isPropertySignature(decl) || Node.isPropertyDeclaration(decl))
        ? decl.getTypeNode()
        : undefined;
    const node = typeNode ?? (inUserCode ? decl : site.node);
    const label = `property "${messageName}.${name}"`;
    const fail = (message: string): undefined => {
      this.report(node, `${site.owner}: ${label} ${message}`);
      return undefined;
    };
    if (decl !== undefined && (Node.isMethodSignature(decl) || Node.isMethodDeclaration(decl))) {
      return fail(`is a method — functions cannot be sent; remove it from the type (or use Omit<T, "${name}">)`);
    }
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) {
      return fail(`has no usable schema field name — name properties with letters, digits and underscores`);
    }
    const protoName = toSnakeCase(name);
    if (!/^[a-z]/.test(protoName))
      return fail(`has no usable schema field name ("${protoName}") — start its name with a letter`);
    const clash = siblings.find((f) => toSnakeCase(f.name) === protoName);
    if (clash !== undefined)
      return fail(`and "${clash.name}" both become field "${protoName}" in the schema — rename one`);
    const mapped = this.map(
      prop.getTypeAtLocation(site.node),
      { node, what: label, owner: site.owner, typeNode },
      { parent: messageName, field: name },
    );
    if (mapped === undefined) return undefined;
    const optional = prop.hasFlags(ts.SymbolFlags.Optional) || mapped.optional;
    const doc = inUserCode ? docOfDeclaration(decl) : undefined;
    return { name, type: mapped.type, ...(optional ? { optional: true } : {}), ...(doc !== undefined ? { doc } : {}) };
  }

  /**
   * Maps the members of a union that are left once some were taken out (the `Error` of a
   * list-batched model's `(R | Error)[]`), `whole` being the union as written.
   */
  mapParts(parts: readonly Type[], whole: Type, site: Site, naming: Naming): Mapped | undefined {
    const fail = (message: string): undefined => {
      this.report(site.node, `${site.owner}: ${site.what} ${message}`);
      return undefined;
    };
    if (parts.length === 1) return this.map(parts[0]!, site, naming);
    return this.union(whole, site, naming, fail, parts);
  }

  private union(
    type: Type,
    site: Site,
    naming: Naming,
    fail: (m: string) => undefined,
    only?: readonly Type[],
  ): Mapped | undefined {
    const parts = only ?? type.getUnionTypes();
    const isVoidish = (t: Type) => t.isUndefined() || (t.getFlags() & ts.TypeFlags.Void) !== 0;
    const optional = parts.some(isVoidish);
    if (parts.some((t) => t.isNull())) {
      return fail(`includes null ("${typeText(type, site)}") — use an optional instead: x?: T, or T | undefined`);
    }
    const rest = parts.filter((t) => !isVoidish(t));
    if (rest.length === 0) return fail(`has no value ("${type.getText()}") — give it a type, or leave it out`);
    if (rest.every((t) => t.isBooleanLiteral())) return { type: { kind: "scalar", scalar: "bool" }, optional };
    if (rest.every((t) => t.isEnumLiteral())) {
      const decls = new Set(rest.map((t) => enumDeclarationOf(t)));
      const [decl] = decls;
      if (decls.size === 1 && decl !== undefined) {
        const mapped = this.tsEnum(decl, site);
        return mapped && { type: mapped.type, optional };
      }
    }
    if (rest.every((t) => t.isStringLiteral())) {
      const mapped = this.literalEnum(
        type,
        rest.map((t) => String(t.getLiteralValue())),
        site,
        naming,
      );
      return mapped && { type: mapped.type, optional };
    }
    if (rest.length === 1) {
      const mapped = this.map(rest[0]!, site, naming);
      return mapped && { type: mapped.type, optional: optional || mapped.optional };
    }
    if (rest.every((t) => t.isNumberLiteral())) {
      return fail(
        `is a union of number literals ("${typeText(type, site)}") — use number, or a string-literal union or a TypeScript enum for a fixed set of values`,
      );
    }
    if (rest.every((t) => t.isObject())) {
      return fail(
        `is a union of object types ("${typeText(type, site)}") — use one object type with optional properties, or one model per variant`,
      );
    }
    return fail(
      `is a union of unrelated types ("${typeText(type, site)}") — use one type, a string-literal union, or an object with optional properties`,
    );
  }

  private object(type: Type, site: Site, naming: Naming, fail: (m: string) => undefined): Mapped | undefined {
    const symbol = type.getSymbol();
    const name = symbol?.getName();
    if (name === "Uint8Array") return scalar("bytes");
    if (name === "Tensor" && isFromBlazePackage(symbol, "tensor")) return this.tensor(type, site, fail);
    if (name === "Date") return { type: { kind: "timestamp" }, optional: false };
    if (type.isTuple()) {
      return fail(
        `is a tuple ("${typeText(type, site)}") — use an object with named properties, or a Tensor for numeric data (tuples are only for Tensor shapes)`,
      );
    }
    const element = type.getArrayElementType() ?? (name === "ReadonlyArray" ? type.getTypeArguments()[0] : undefined);
    if (element !== undefined) return this.repeated(type, element, site, naming, fail);
    if ((name === "Map" || name === "ReadonlyMap") && isBuiltIn(symbol)) {
      const [key, value] = type.getTypeArguments();
      return this.mapOf(type, key!, value!, "map", site, naming, fail);
    }
    if (name !== undefined && name in TYPED_ARRAYS && isBuiltIn(symbol)) {
      return fail(`is a ${name} — use Tensor<"${TYPED_ARRAYS[name]}", [n]> for numeric data, or number[]`);
    }
    if (name !== undefined && name in NOT_DATA_TYPES && (isBuiltIn(symbol) || name === "Buffer")) {
      return fail(`is a ${name} — ${NOT_DATA_TYPES[name]}`);
    }
    if (type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0) {
      return fail(
        `is a function type ("${typeText(type, site)}") — functions cannot be sent; send data and call the function in the model`,
      );
    }
    if (symbol !== undefined && symbol.hasFlags(ts.SymbolFlags.Class)) {
      return fail(
        `is an instance of class "${name}" — only plain data crosses the wire; use an interface with its data properties`,
      );
    }
    const stringIndex = type.getStringIndexType();
    const numberIndex = type.getNumberIndexType();
    const props = type.getProperties();
    if ((stringIndex !== undefined || numberIndex !== undefined) && props.length > 0) {
      return fail(
        `mixes properties and an index signature ("${typeText(type, site)}") — use one: an interface, or Record<string, T>`,
      );
    }
    if (stringIndex !== undefined) return this.mapOf(type, undefined, stringIndex, "record", site, naming, fail);
    if (numberIndex !== undefined) {
      return fail(`is a map with number keys ("${typeText(type, site)}") — use string keys: Record<string, T>`);
    }
    if (isBuiltIn(symbol))
      return fail(
        `has built-in type "${typeText(type, site)}", which is not data — use string, number, an interface or an array`,
      );
    return this.message(type, site, naming, fail);
  }

  private repeated(
    outer: Type,
    element: Type,
    site: Site,
    naming: Naming,
    fail: (m: string) => undefined,
  ): Mapped | undefined {
    const inner = this.map(element, site, naming);
    if (inner === undefined) return undefined;
    if (inner.type.kind === "repeated")
      return fail(
        `is a nested array (${typeText(outer, site)}) — use a Tensor for numeric grids, or an array of objects holding arrays`,
      );
    if (inner.type.kind === "map")
      return fail(
        `is an array of maps (${typeText(outer, site)}) — wrap each map in an object: { entries: Record<string, T> }[]`,
      );
    if (inner.optional)
      return fail(
        `is an array of optional values (${typeText(outer, site)}) — a proto list has no missing elements; drop undefined from the element type`,
      );
    return { type: { kind: "repeated", element: inner.type }, optional: false };
  }

  private mapOf(
    outer: Type,
    key: Type | undefined,
    value: Type,
    container: "record" | "map",
    site: Site,
    naming: Naming,
    fail: (m: string) => undefined,
  ): Mapped | undefined {
    if (key !== undefined && !key.isString()) {
      return fail(`is a map with ${key.getText()} keys (${typeText(outer, site)}) — use string keys: Map<string, T>`);
    }
    const inner = this.map(value, site, naming);
    if (inner === undefined) return undefined;
    if (inner.type.kind === "repeated" || inner.type.kind === "map") {
      return fail(
        `is a map whose values are ${inner.type.kind === "repeated" ? "arrays" : "maps"} (${typeText(outer, site)}) — wrap each value in an object: Record<string, { items: T[] }>`,
      );
    }
    if (inner.optional)
      return fail(
        `is a map with optional values (${typeText(outer, site)}) — a proto map has no missing values; drop undefined from the value type`,
      );
    return { type: { kind: "map", value: inner.type, container }, optional: false };
  }

  private tensor(type: Type, site: Site, fail: (m: string) => undefined): Mapped | undefined {
    const [dtypeArg, shapeArg] = type.getTypeArguments();
    const example = 'Tensor<"float32", ["batch", 4]>';
    if (dtypeArg === undefined || !dtypeArg.isStringLiteral())
      return fail(`is a Tensor without a dtype literal — write it as ${example}`);
    const dtype = String(dtypeArg.getLiteralValue());
    if (!isDType(dtype)) return fail(`has unknown dtype "${dtype}" — use one of ${dtypeNames.join(", ")}`);
    if (shapeArg === undefined || !shapeArg.isTuple())
      return fail(`is a Tensor without a shape tuple — write it as ${example}`);
    const shape: (number | string)[] = [];
    for (const dim of shapeArg.getTupleElements()) {
      if (dim.isNumberLiteral() && Number.isSafeInteger(dim.getLiteralValue()) && Number(dim.getLiteralValue()) >= 0) {
        shape.push(Number(dim.getLiteralValue()));
      } else if (dim.isStringLiteral() && /^[A-Za-z_][A-Za-z0-9_]*$/.test(String(dim.getLiteralValue()))) {
        shape.push(String(dim.getLiteralValue()));
      } else {
        return fail(
          `has shape dimension "${dim.getText(site.node)}" — each dimension is a size literal (4) or a name ("batch")`,
        );
      }
    }
    return { type: { kind: "tensor", dtype, shape }, optional: false };
  }

  private message(type: Type, site: Site, naming: Naming, fail: (m: string) => undefined): Mapped | undefined {
    const named = namedType(type);
    let name: string;
    let key: string;
    if (named !== undefined) {
      const argNames: string[] = [];
      for (const arg of named.args) {
        const n = typeArgumentName(arg, site);
        if (n === undefined) {
          return fail(
            `has type "${typeText(type, site)}", whose name in the schema cannot be made from its type argument "${arg.getText()}" — give the type argument a name (an interface or a type alias)`,
          );
        }
        argNames.push(n);
      }
      name = toPascalCase(named.name) + argNames.join("");
      key = `named:${typeId(type)}`;
    } else {
      name = `${naming.parent}.${toPascalCase(naming.field)}`;
      key = `inline:${typeId(type)}:${name}`;
    }
    if (this.inProgress.has(key)) {
      this.done.set(key, null);
      return fail(
        `has recursive type "${typeText(type, site)}" (it contains itself) — flatten it, e.g. nodes in an array with parent indices`,
      );
    }
    const previous = this.done.get(key);
    if (previous !== undefined)
      return previous === null ? undefined : { type: { kind: "message", name: previous }, optional: false };
    const declNode = named?.declaration ?? site.node;
    if (!this.claim(name, key, fail)) {
      this.done.set(key, null);
      return undefined;
    }
    this.order.push(name);
    this.messages.set(name, { spec: null, key, declaration: declNode });
    this.inProgress.add(key);
    const fields = this.fields(type, site, name);
    this.inProgress.delete(key);
    if (this.done.get(key) === null || fields === undefined) {
      this.done.set(key, null);
      return undefined;
    }
    const doc = named !== undefined ? docOfDeclaration(named.declaration) : undefined;
    this.messages.set(name, {
      spec: { name, ...(doc !== undefined ? { doc } : {}), fields },
      key,
      declaration: declNode,
    });
    this.done.set(key, name);
    return { type: { kind: "message", name }, optional: false };
  }

  /** Takes a schema name for a type, or reports the clash. */
  private claim(name: string, key: string, fail: (m: string) => undefined): boolean {
    const taken = this.messages.get(name) ?? this.enums.get(name);
    const reserved = this.reserved.get(name);
    if (taken !== undefined && taken.key !== key) {
      fail(
        `has type "${name}", but another type is also named "${name}" in the schema (${this.where(taken.declaration)}) — rename one`,
      );
      return false;
    }
    if (reserved !== undefined) {
      fail(`has type "${name}", a name the schema already uses for ${reserved} — rename the type`);
      return false;
    }
    return true;
  }

  private literalEnum(type: Type, values: string[], site: Site, naming: Naming): Mapped | undefined {
    const alias = unionAlias(type, site) ?? aliasOfTypeNode(site.typeNode);
    const name = alias !== undefined ? toPascalCase(alias.name) : `${naming.parent}.${toPascalCase(naming.field)}`;
    const key = alias !== undefined ? `enum:${nodeKey(alias.declaration)}` : `enum-inline:${name}`;
    const previous = this.done.get(key);
    if (previous !== undefined)
      return previous === null ? undefined : { type: { kind: "enum", name: previous }, optional: false };
    const order = literalOrder(alias?.declaration.getTypeNode() ?? site.typeNode);
    const sorted = [...values].sort((a, b) => rank(order, a) - rank(order, b));
    const node = alias !== undefined && !isLibFile(alias.declaration) ? alias.declaration : site.node;
    const reportAt = (message: string): undefined => {
      this.report(node, `${site.owner}: ${site.what} ${message}`);
      return undefined;
    };
    return this.registerEnum(
      name,
      key,
      node,
      sorted.map((v) => ({ tsName: v, value: v, doc: undefined })),
      alias !== undefined ? docOfDeclaration(alias.declaration) : undefined,
      reportAt,
    );
  }

  private tsEnum(decl: Node, site: Site): Mapped | undefined {
    if (!Node.isEnumDeclaration(decl)) return undefined;
    const name = toPascalCase(decl.getName());
    const key = `enum:${nodeKey(decl)}`;
    const previous = this.done.get(key);
    if (previous !== undefined)
      return previous === null ? undefined : { type: { kind: "enum", name: previous }, optional: false };
    const reportAt = (message: string): undefined => {
      this.report(decl.getNameNode(), `${site.owner}: ${site.what} ${message}`);
      return undefined;
    };
    const members: { tsName: string; value: string | number; doc: string | undefined }[] = [];
    for (const m of decl.getMembers()) {
      const value = m.getValue();
      if (value === undefined) {
        this.done.set(key, null);
        return reportAt(
          `has enum "${decl.getName()}", whose member ${m.getName()} has no constant value — give every member a literal value`,
        );
      }
      members.push({ tsName: m.getName(), value, doc: docOfDeclaration(m) });
    }
    return this.registerEnum(name, key, decl, members, docOfDeclaration(decl), reportAt);
  }

  private registerEnum(
    name: string,
    key: string,
    declNode: Node,
    members: readonly { tsName: string; value: string | number; doc: string | undefined }[],
    doc: string | undefined,
    reportAt: (m: string) => undefined,
  ): Mapped | undefined {
    const failed = (message?: string): undefined => {
      this.done.set(key, null);
      if (message !== undefined) reportAt(message);
      return undefined;
    };
    if (!this.claim(name, key, reportAt)) return failed();
    const prefix = toUpperSnakeCase(name.slice(name.lastIndexOf(".") + 1));
    const values: EnumValueSpec[] = [];
    const seen = new Map<string, string>();
    for (const m of members) {
      const suffix = toUpperSnakeCase(m.tsName);
      const show = typeof m.value === "string" && m.tsName === m.value ? JSON.stringify(m.value) : m.tsName;
      if (suffix === "" || !/^[A-Z]/.test(suffix)) {
        return failed(
          `has enum "${name}" whose value ${show} has no usable schema name — use values that start with a letter`,
        );
      }
      const valueName = `${prefix}_${suffix}`;
      if (suffix === "UNSPECIFIED")
        return failed(
          `has enum "${name}" whose value ${show} becomes ${valueName}, the name of the zero value the schema adds — rename the value`,
        );
      const clash = seen.get(valueName);
      if (clash !== undefined)
        return failed(
          `has enum "${name}" whose values ${clash} and ${show} both become ${valueName} in the schema — rename one`,
        );
      seen.set(valueName, show);
      values.push({ name: valueName, value: m.value, ...(m.doc !== undefined ? { doc: m.doc } : {}) });
    }
    const spec: EnumSpec = { name, ...(doc !== undefined ? { doc } : {}), values };
    this.enums.set(name, { spec, key, declaration: declNode });
    this.done.set(key, name);
    return { type: { kind: "enum", name }, optional: false };
  }
}

/**
 * The identity of a named object type (an interface, or a type alias of an object type)
 * that would become a message of its own name; undefined for any other type.
 */
export function namedObjectKey(type: Type): string | undefined {
  return namedType(type) !== undefined ? `named:${typeId(type)}` : undefined;
}

/** `Tensor<…>` of @blazerpc/tensor. */
export function isTensorType(type: Type): boolean {
  return type.getSymbol()?.getName() === "Tensor" && isFromBlazePackage(type.getSymbol(), "tensor");
}

/** The element type of `T[]` or `readonly T[]`. */
export function arrayElementType(type: Type): Type | undefined {
  return (
    type.getArrayElementType() ??
    (type.getSymbol()?.getName() === "ReadonlyArray" ? type.getTypeArguments()[0] : undefined)
  );
}

/** `Error` or a class extending it. */
export function isErrorType(type: Type, depth = 0): boolean {
  if (!type.isObject() || depth > 8) return false;
  if (type.getSymbol()?.getName() === "Error" && isBuiltIn(type.getSymbol())) return true;
  return type.getBaseTypes().some((b) => isErrorType(b, depth + 1));
}

function scalar(s: ScalarKind): Mapped {
  return { type: { kind: "scalar", scalar: s }, optional: false };
}

function isUnresolved(type: Type): boolean {
  return (
    (type.getFlags() & ts.TypeFlags.Any) !== 0 &&
    (type.compilerType as { intrinsicName?: string }).intrinsicName === "error"
  );
}

function typeId(type: Type): number {
  return (type.compilerType as unknown as { id: number }).id;
}

/** The type as the user wrote it where possible (`Mode | undefined`, not the expanded union). */
function typeText(type: Type, site: Site): string {
  return type.getText(
    site.node,
    ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope,
  );
}

function nodeKey(node: Node): string {
  return `${node.getSourceFile().getFilePath()}:${node.getStart()}`;
}

function isLibFile(node: Node): boolean {
  return /[\\/]lib\.[\w.]*\.d\.ts$/.test(node.getSourceFile().getFilePath());
}

/**
 * Declared by the TypeScript library (lib.*.d.ts: Date, Map, Promise, RegExp …), perhaps
 * augmented by @types packages (@types/node adds to the typed arrays), never by user code.
 */
function isBuiltIn(symbol: MorphSymbol | undefined): boolean {
  if (symbol === undefined || ["__type", "__object"].includes(symbol.getName())) return false;
  const decls = symbol.getDeclarations();
  return (
    decls.some(isLibFile) &&
    decls.every((d) => isLibFile(d) || /[\\/]node_modules[\\/]@types[\\/]/.test(d.getSourceFile().getFilePath()))
  );
}

function isFromBlazePackage(symbol: MorphSymbol | undefined, pkg: "tensor" | "runtime"): boolean {
  const file = symbol?.getDeclarations()[0]?.getSourceFile().getFilePath();
  return file !== undefined && new RegExp(`[\\\\/](@blazerpc[\\\\/]${pkg}|packages[\\\\/]${pkg})[\\\\/]`).test(file);
}

/** The proto scalar of an exact number type of @blazerpc/runtime (`Int32` …), if `type` is one. */
function brandOf(type: Type): ScalarKind | undefined {
  for (const member of type.getIntersectionTypes()) {
    if (!member.isObject()) continue;
    for (const prop of member.getProperties()) {
      const decl = prop.getDeclarations()[0];
      if (decl === undefined || !Node.isPropertySignature(decl)) continue;
      const nameNode = decl.getNameNode();
      if (!Node.isComputedPropertyName(nameNode) || nameNode.getExpression().getText() !== "scalarType") continue;
      if (!isFromBlazePackage(prop, "runtime")) continue;
      const propType = prop.getTypeAtLocation(decl);
      const literal = [propType, ...propType.getUnionTypes()].find((t) => t.isStringLiteral());
      const value = literal === undefined ? undefined : String(literal.getLiteralValue());
      if (value !== undefined && EXACT_SCALARS.has(value)) return value as ScalarKind;
    }
  }
  return undefined;
}

function enumDeclarationOf(type: Type): Node | undefined {
  const symbol = type.getSymbol();
  if (symbol === undefined) return undefined;
  const decl = symbol.getDeclarations()[0];
  if (decl === undefined) return undefined;
  if (Node.isEnumDeclaration(decl)) return decl;
  if (Node.isEnumMember(decl)) return decl.getParent();
  return undefined;
}

/** An interface or a type alias (with its type arguments): a named message. */
function namedType(type: Type): { name: string; args: Type[]; declaration: Node } | undefined {
  const alias = type.getAliasSymbol();
  const aliasDecl = alias?.getDeclarations()[0];
  if (alias !== undefined && aliasDecl !== undefined)
    return { name: alias.getName(), args: type.getAliasTypeArguments(), declaration: aliasDecl };
  const symbol = type.getSymbol();
  const decl = symbol?.getDeclarations()[0];
  if (symbol === undefined || decl === undefined || !symbol.hasFlags(ts.SymbolFlags.Interface)) return undefined;
  const count = Node.isInterfaceDeclaration(decl) ? decl.getTypeParameters().length : 0;
  return { name: symbol.getName(), args: type.getTypeArguments().slice(0, count), declaration: decl };
}

/** The part of a generic instantiation's name a type argument gives: `Page<Item>` → `PageItem`. */
function typeArgumentName(type: Type, site: { node: Node }, depth = 0): string | undefined {
  if (depth > 4) return undefined;
  const brand = type.isIntersection() ? brandOf(type) : undefined;
  if (brand !== undefined) return toPascalCase(brand);
  if (type.isString()) return "String";
  if (type.isNumber()) return "Number";
  if (type.isBoolean()) return "Boolean";
  if (type.getFlags() & ts.TypeFlags.BigInt) return "Bigint";
  if (type.isStringLiteral()) return toPascalCase(String(type.getLiteralValue())) || undefined;
  const alias = type.getAliasSymbol();
  if (alias !== undefined) {
    const args = type.getAliasTypeArguments().map((a) => typeArgumentName(a, site, depth + 1));
    return args.every((a) => a !== undefined) ? toPascalCase(alias.getName()) + args.join("") : undefined;
  }
  if (type.isUnion()) {
    const named = unionAlias(type, site);
    if (named !== undefined) return toPascalCase(named.name);
    const parts = type.getUnionTypes().map((t) => typeArgumentName(t, site, depth + 1));
    return parts.every((p) => p !== undefined) ? parts.join("Or") : undefined;
  }
  const element = type.getArrayElementType();
  if (element !== undefined) {
    const inner = typeArgumentName(element, site, depth + 1);
    return inner === undefined ? undefined : `${inner}List`;
  }
  const symbol = type.getSymbol();
  if (symbol?.getName() === "Uint8Array") return "Bytes";
  if (symbol?.getName() === "Date") return "Date";
  if (symbol?.getName() === "Tensor") return "Tensor";
  const named = namedType(type);
  if (named !== undefined) {
    const args = named.args.map((a) => typeArgumentName(a, site, depth + 1));
    return args.every((a) => a !== undefined) ? toPascalCase(named.name) + args.join("") : undefined;
  }
  if (symbol !== undefined && symbol.hasFlags(ts.SymbolFlags.Enum)) return toPascalCase(symbol.getName());
  return undefined;
}

/**
 * The alias of a union even once `undefined` was added to it: `mode?: Mode` has the type
 * `"a" | "b" | undefined`, whose origin (kept by TypeScript for display) is `Mode | undefined`.
 */
function unionAlias(
  type: Type,
  site: { node: Node },
): { name: string; declaration: Node & { getTypeNode(): Node | undefined } } | undefined {
  const fromSymbol = (symbol: MorphSymbol | undefined) => {
    const decl = symbol?.getDeclarations()[0];
    return symbol !== undefined && decl !== undefined && Node.isTypeAliasDeclaration(decl)
      ? { name: symbol.getName(), declaration: decl }
      : undefined;
  };
  const direct = fromSymbol(type.getAliasSymbol());
  if (direct !== undefined) return direct;
  const origin = (type.compilerType as { origin?: ts.Type }).origin;
  if (origin === undefined || !(origin.flags & ts.TypeFlags.Union)) return undefined;
  const members = (origin as ts.UnionType).types;
  const aliased = members.filter((t) => t.aliasSymbol !== undefined && t.flags & ts.TypeFlags.Union);
  const others = members.filter((t) => !aliased.includes(t));
  if (aliased.length !== 1 || !others.every((t) => t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)))
    return undefined;
  const decl = aliased[0]!.aliasSymbol!.declarations?.[0];
  if (decl === undefined || !ts.isTypeAliasDeclaration(decl)) return undefined;
  // Back from the compiler's node to ts-morph's wrapper of the same node.
  const file = site.node.getProject().getSourceFile(decl.getSourceFile().fileName);
  const wrapped = file?.getDescendantsOfKind(SyntaxKind.TypeAliasDeclaration).find((d) => d.compilerNode === decl);
  return wrapped === undefined ? undefined : { name: wrapped.getName(), declaration: wrapped };
}

/** The alias a written type refers to: `Mode` or `Mode | undefined` → the declaration of `Mode`. */
function aliasOfTypeNode(
  typeNode: Node | undefined,
): { name: string; declaration: Node & { getTypeNode(): Node | undefined } } | undefined {
  if (typeNode === undefined) return undefined;
  let refs: Node[] = [typeNode];
  if (Node.isUnionTypeNode(typeNode))
    refs = typeNode.getTypeNodes().filter((n) => !["undefined", "void"].includes(n.getText()));
  if (refs.length !== 1 || !Node.isTypeReference(refs[0]!)) return undefined;
  const symbol = refs[0].getTypeName().getSymbol();
  const target = symbol?.isAlias() ? symbol.getAliasedSymbol() : symbol;
  const decl = target?.getDeclarations()[0];
  return target !== undefined && decl !== undefined && Node.isTypeAliasDeclaration(decl)
    ? { name: target.getName(), declaration: decl }
    : undefined;
}

/** The string literals of a written union, in the order written (through aliases). */
function literalOrder(typeNode: Node | undefined, depth = 0): string[] {
  if (typeNode === undefined || depth > 8) return [];
  if (Node.isParenthesizedTypeNode(typeNode)) return literalOrder(typeNode.getTypeNode(), depth + 1);
  if (Node.isUnionTypeNode(typeNode)) return typeNode.getTypeNodes().flatMap((n) => literalOrder(n, depth + 1));
  if (Node.isLiteralTypeNode(typeNode)) {
    const lit = typeNode.getLiteral();
    return Node.isStringLiteral(lit) || Node.isNoSubstitutionTemplateLiteral(lit) ? [lit.getLiteralValue()] : [];
  }
  if (Node.isTypeReference(typeNode)) {
    const symbol = typeNode.getTypeName().getSymbol();
    const target = symbol?.isAlias() ? symbol.getAliasedSymbol() : symbol;
    const decl = target?.getDeclarations()[0];
    if (decl !== undefined && Node.isTypeAliasDeclaration(decl)) return literalOrder(decl.getTypeNode(), depth + 1);
  }
  return [];
}

function rank(order: readonly string[], value: string): number {
  const i = order.indexOf(value);
  return i < 0 ? order.length : i;
}
