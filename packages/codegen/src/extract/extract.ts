import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";
import { Node, Project, SyntaxKind, ts, type ResolutionHostFactory, type CallExpression, type ParameterDeclaration, type SourceFile, type Type } from "ts-morph";
import { CodegenError, type Diagnostic } from "../diagnostics.js";
import type { AppSpec, FieldSpec, ModelSpec } from "../model-spec.js";
import { requestName, responseName, rpcName, toSnakeCase } from "../names.js";
import { SERVICE_NAME } from "../proto-printer/print-proto.js";
import { docOfDeclaration, jsDocOf, type JsDoc } from "./jsdoc.js";
import { objectProperties, staticValueOfProperty } from "./static-value.js";
import { arrayElementType, isErrorType, isTensorType, TypeMapper, type Site } from "./type-mapper.js";

/** Options for {@link extract}. */
export interface ExtractOptions {
  /**
   * The tsconfig.json to resolve imports with. Default: the nearest one at or above the
   * entry's folder, or strict defaults when there is none.
   */
  tsConfigFilePath?: string;
  /** Folder that diagnostics' paths are relative to. Default: `process.cwd()`. */
  cwd?: string;
}

/** What {@link extractWithSources} returns: the spec, and every source file it read. */
export interface ExtractResult {
  readonly app: AppSpec;
  /**
   * Absolute paths of the files the TypeScript program read outside node_modules and the
   * TypeScript library (the entry, the files it imports, their declarations), and the
   * tsconfig.json it used: what a cache must watch to know the spec is unchanged.
   */
  readonly sources: readonly string[];
  /** Milliseconds spent loading ts-morph and building the program (start-up), and the rest. */
  readonly timings: { readonly startup: number; readonly extract: number };
}

/**
 * Reads an entry file with ts-morph, finds every `app.model(name, options?, fn)` call on a
 * BlazeRPC app (`createApp({ name })` from `@blazerpc/runtime`), and turns each function's
 * parameter and return types into a model spec.
 *
 * @throws CodegenError with every unsupported type or malformed registration found.
 *
 * @example
 * const spec = extract("models.ts");
 * console.log(spec.models.map((m) => m.name)); // ["iris", "generate"]
 */
export function extract(entry: string, options: ExtractOptions = {}): AppSpec {
  return extractWithSources(entry, options).app;
}

/** {@link extract}, also returning the files it read and where the time went. */
export function extractWithSources(entry: string, options: ExtractOptions = {}): ExtractResult {
  const started = performance.now();
  const cwd = options.cwd ?? process.cwd();
  const entryPath = path.resolve(cwd, entry);
  if (!fs.existsSync(entryPath)) {
    throw new CodegenError([{ file: entry, line: 1, column: 1, message: `cannot read entry file "${entry}"` }]);
  }
  const tsconfig = options.tsConfigFilePath ?? findUp(path.dirname(entryPath), "tsconfig.json");
  const project = createProject(tsconfig);
  const sourceFile = project.addSourceFileAtPath(entryPath);
  // Building the program and its type checker is the start-up cost; the rest is ours.
  const program = project.getProgram().compilerObject;
  program.getTypeChecker();
  const startup = performance.now() - started;
  const app = new Extractor(sourceFile, cwd, entry).run();
  const sources = program
    .getSourceFiles()
    .map((f) => path.resolve(f.fileName))
    .filter((f) => !/[\\/]node_modules[\\/]/.test(f) && !program.isSourceFileDefaultLibrary(program.getSourceFile(f)!))
    .concat(tsconfig !== undefined ? [path.resolve(tsconfig)] : [])
    .sort();
  return { app, sources, timings: { startup, extract: performance.now() - started - startup } };
}

/** Node's built-in modules (`fs`, `node:fs`, `fs/promises` …), which model signatures never need. */
const NODE_BUILTIN = new RegExp(`^(node:|(${builtinModules.filter((m) => !m.startsWith("_")).join("|")})(/|$))`);

/**
 * BlazeRPC's own declarations. What signatures use of them (App, Tensor, the exact number
 * types) is declared in them alone, so their imports of other packages (protobuf-es,
 * connect, the server's dependencies: a hundred files) are not followed.
 */
const BLAZE_DECLARATIONS = /[\\/](packages|@blazerpc)[\\/](runtime|tensor)[\\/]dist[\\/].*\.d\.ts$/;

/**
 * Resolves modules as TypeScript does, except the imports of BlazeRPC's declarations
 * above, Node's built-in modules and
 * `/// <reference types="node" />`, which resolve to nothing: their declarations
 * (@types/node, about a hundred files pulled in by any declaration that imports
 * `node:http2` or references Node's types) would double the program's start-up time, and
 * model signatures do not use them — one that does is reported (`cannot be resolved`).
 */
const withoutNodeBuiltins: ResolutionHostFactory = (host, getCompilerOptions) => ({
  resolveModuleNames: (moduleNames, containingFile) =>
    moduleNames.map((name) =>
      NODE_BUILTIN.test(name) || (BLAZE_DECLARATIONS.test(containingFile) && !/^(\.|@blazerpc\/)/.test(name))
        ? undefined
        : ts.resolveModuleName(name, containingFile, getCompilerOptions(), host).resolvedModule,
    ),
  resolveTypeReferenceDirectives: (names, containingFile, redirectedReference, options) =>
    names.map((ref) => {
      const name = typeof ref === "string" ? ref : ref.fileName;
      if (name === "node") return undefined;
      return ts.resolveTypeReferenceDirective(name, containingFile, options, host, redirectedReference).resolvedTypeReferenceDirective;
    }),
});

function createProject(tsconfig: string | undefined): Project {
  // Only the signatures matter: no ambient @types packages and no Node built-ins (most of
  // the start-up time), no declaration output, and the files the entry imports are found
  // by the program itself rather than wrapped one by one.
  const overrides: ts.CompilerOptions = { types: [], noEmit: true, declaration: false, composite: false, declarationMap: false, sourceMap: false, incremental: false };
  if (tsconfig !== undefined) {
    return new Project({ tsConfigFilePath: tsconfig, skipAddingFilesFromTsConfig: true, skipFileDependencyResolution: true, compilerOptions: overrides, resolutionHost: withoutNodeBuiltins });
  }
  return new Project({
    skipFileDependencyResolution: true,
    resolutionHost: withoutNodeBuiltins,
    compilerOptions: { ...DEFAULT_COMPILER_OPTIONS, ...overrides },
  });
}

/** The compiler options a project without a tsconfig.json is read with (extract and the type check alike). */
export const DEFAULT_COMPILER_OPTIONS: Readonly<ts.CompilerOptions> = {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.Node16,
  moduleResolution: ts.ModuleResolutionKind.Node16,
  skipLibCheck: true,
};

/** The nearest `name` at or above `dir`. @internal */
export function findUp(dir: string, name: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    const candidate = path.join(d, name);
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(d) === d) return undefined;
  }
}

/** What code generation reads of a model's options. */
interface ReadOptions {
  readonly version?: string;
  readonly streaming?: boolean;
  readonly pure?: boolean;
  /** The `batch` option's value, when it is set: the model is batched. */
  readonly batch?: Node;
}

/** A model function's signature, however it was passed to app.model. */
interface FunctionInfo {
  readonly params: readonly ParameterDeclaration[];
  readonly returnType: Type;
  /** Where return-type diagnostics point. */
  readonly returnNode: Node;
  /** The function's own JSDoc (a function declaration, or the statement of a const holding it). */
  readonly doc: JsDoc;
}

class Extractor {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly types: TypeMapper;
  private readonly reservedNames = new Map<string, string>([
    [SERVICE_NAME, "the service"],
    // What protoc-gen-blaze declares beside the models' types.
    [`${SERVICE_NAME}Models`, "the generated models interface"],
    [`${SERVICE_NAME}Binding`, "the generated binding"],
    [`${SERVICE_NAME}Client`, "the generated client"],
  ]);

  constructor(
    private readonly sourceFile: SourceFile,
    private readonly cwd: string,
    private readonly entry: string,
  ) {
    this.types = new TypeMapper((node, message) => this.error(node, message), (node) => this.where(node), this.reservedNames);
  }

  run(): AppSpec {
    let appName: string | undefined;
    const calls: { call: CallExpression; name: string }[] = [];
    for (const call of this.sourceFile.getDescendantsOfKind(SyntaxKind.CallExpression)) {
      const receiverApp = this.appOfModelCall(call);
      if (receiverApp === undefined) continue;
      if (receiverApp.name === undefined) {
        this.error(call.getExpression(), "cannot tell this app's name — pass a string literal: createApp({ name: \"iris\" })");
        continue;
      }
      if (appName !== undefined && appName !== receiverApp.name) {
        this.error(call, `models of a second app "${receiverApp.name}" — an entry file serves one app (this one is "${appName}")`);
        continue;
      }
      appName = receiverApp.name;
      const name = this.modelName(call);
      if (name !== undefined) calls.push({ call, name });
    }
    // The request and response names of every model are taken before any type is named.
    for (const { name } of calls) {
      this.reservedNames.set(requestName(name), `the request of model "${name}"`);
      this.reservedNames.set(responseName(name), `the response of model "${name}"`);
    }
    const models: ModelSpec[] = [];
    for (const { call, name } of calls) {
      const model = this.model(call, name);
      if (model === undefined) continue;
      const twice = models.find((m) => m.name === model.name);
      const clash = models.find((m) => rpcName(m.name) === rpcName(model.name));
      if (twice !== undefined) {
        this.error(call.getArguments()[0] ?? call, `model "${model.name}" is registered twice (first at line ${twice.position.line}) — give each model its own name`);
      } else if (clash !== undefined) {
        this.error(
          call.getArguments()[0] ?? call,
          `models "${clash.name}" (line ${clash.position.line}) and "${model.name}" both become rpc ${rpcName(model.name)} in the schema — rename one`,
        );
      } else {
        models.push(model);
      }
    }
    if (this.diagnostics.length === 0 && appName === undefined) {
      this.diagnostics.push({
        file: this.displayPath(),
        line: 1,
        column: 1,
        message: "no models found — register one with app.model(name, fn) on an app from createApp({ name }) of @blazerpc/runtime",
      });
    }
    if (this.diagnostics.length > 0) throw new CodegenError(sortDiagnostics(this.diagnostics, this.displayPath()));
    const messages = this.types.getMessages();
    const enums = this.types.getEnums();
    return {
      name: appName!,
      entry: this.entry,
      models,
      ...(messages.length > 0 ? { messages } : {}),
      ...(enums.length > 0 ? { enums } : {}),
    };
  }

  /** If `call` is `<app>.model(...)` on a BlazeRPC app, the app's name (from its type `App<"name">`). */
  private appOfModelCall(call: CallExpression): { name: string | undefined } | undefined {
    const callee = call.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== "model") return undefined;
    const type = callee.getExpression().getType();
    const symbol = type.getSymbol() ?? type.getAliasSymbol();
    if (symbol?.getName() !== "App" || !isFromBlazeRuntime(symbol.getDeclarations()[0]?.getSourceFile().getFilePath())) {
      return undefined;
    }
    const nameType = type.getTypeArguments()[0];
    return { name: nameType?.isStringLiteral() ? String(nameType.getLiteralValue()) : undefined };
  }

  private modelName(call: CallExpression): string | undefined {
    const [nameArg] = call.getArguments();
    if (nameArg === undefined || !(Node.isStringLiteral(nameArg) || Node.isNoSubstitutionTemplateLiteral(nameArg))) {
      this.error(nameArg ?? call, "a model's name must be a string literal — write it in the call: app.model(\"iris\", fn)");
      return undefined;
    }
    const value = nameArg.getLiteralValue();
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(value)) {
      this.error(nameArg, `model name "${value}" is not usable in a schema — use letters, digits and underscores, starting with a letter`);
      return undefined;
    }
    return value;
  }

  private model(call: CallExpression, name: string): ModelSpec | undefined {
    const args = call.getArguments();
    const fnArg = args.length >= 3 ? args[2] : args[1];
    const optionsArg = args.length >= 3 ? args[1] : undefined;
    const fn = this.functionOf(fnArg, name);
    if (fn === "reported") return undefined;
    if (fn === undefined) {
      this.error(fnArg ?? call, `model "${name}": the last argument must be a function — pass an arrow function, a function expression, or a function declared here or imported`);
      return undefined;
    }
    const options = this.options(optionsArg, name);
    // `app.model(...);` or `export const classify = app.model(...);`: the doc is on the statement.
    const statement = call.getFirstAncestor((a) => Node.isExpressionStatement(a) || Node.isVariableStatement(a));
    const callDoc = jsDocOf(statement ?? call);
    const doc = callDoc.text !== undefined || callDoc.tags.length > 0 ? callDoc : fn.doc;

    if (options === undefined) return undefined;
    // The batcher calls a batched model with its tensors stacked when every argument is a
    // tensor, and otherwise with one array per parameter (list batching).
    const tensorsOnly = fn.params.length > 0 && fn.params.every((p) => !p.isOptional() && isTensorType(p.getType()));
    const listBatched = options.batch !== undefined && !tensorsOnly;
    const request = this.params(fn, name, doc, listBatched);
    const response = this.result(fn, name, doc, listBatched);
    if (request === undefined || response === undefined) return undefined;
    if (options.batch !== undefined && response.streaming) {
      this.error(options.batch, `model "${name}" is a stream and has batch options — batching is for unary models; remove batch, or return a Promise`);
      return undefined;
    }
    if (options.streaming !== undefined && options.streaming !== response.streaming) {
      this.error(optionsArg!, options.streaming
        ? `model "${name}" has streaming: true but does not return an AsyncIterable — make it an async generator (async function*)`
        : `model "${name}" has streaming: false but returns an AsyncIterable — remove the option or return a Promise`);
      return undefined;
    }
    const pure = options.pure === true || doc.tags.some((t) => t.tag === "pure");
    return {
      name,
      ...(doc.text !== undefined ? { doc: doc.text } : {}),
      ...(options.version !== undefined ? { version: options.version } : {}),
      streaming: response.streaming,
      ...(pure ? { pure: true } : {}),
      params: request.fields,
      ...(request.objectParams ? { objectParams: true } : {}),
      results: response.fields,
      ...(response.objectResult ? { objectResult: true } : {}),
      ...(listBatched ? { listBatched: true } : {}),
      position: this.position(call),
    };
  }

  /** The signature of the function passed to app.model: inline, declared, imported, or typed. */
  private functionOf(node: Node | undefined, model: string): FunctionInfo | "reported" | undefined {
    if (node === undefined) return undefined;
    let target: Node = node;
    while (Node.isParenthesizedExpression(target) || Node.isAsExpression(target) || Node.isSatisfiesExpression(target)) target = target.getExpression();
    const signatures = target.getType().getCallSignatures();
    if (signatures.length === 0) return undefined;
    if (signatures.length > 1) {
      this.error(node, `model "${model}": the function has ${signatures.length} overloads, so its signature is ambiguous — register a function with one signature`);
      return "reported";
    }
    const signature = signatures[0]!;
    const decl = signature.getDeclaration();
    if (signature.getTypeParameters().length > 0) {
      this.error(node, `model "${model}": the function is generic (${signature.getTypeParameters().map((t) => t.getText()).join(", ")}) — a model needs concrete types; wrap it in a function with them`);
      return "reported";
    }
    const params = Node.isParametered(decl) ? decl.getParameters() : [];
    const returnNode = (Node.isReturnTyped(decl) ? decl.getReturnTypeNode() : undefined) ?? (Node.isArrowFunction(target) || Node.isFunctionExpression(target) ? target : node);
    const ownDoc = Node.isFunctionDeclaration(decl) ? jsDocOf(decl) : undefined;
    const holder = decl.getParent();
    const constDoc = holder !== undefined && Node.isVariableDeclaration(holder) && holder.getVariableStatement() !== undefined ? jsDocOf(holder.getVariableStatement()!) : undefined;
    return { params, returnType: signature.getReturnType(), returnNode, doc: ownDoc ?? constDoc ?? { text: undefined, tags: [] } };
  }

  /** The options code generation needs: version, streaming, pure, and whether `batch` is set. */
  private options(node: Node | undefined, model: string): ReadOptions | undefined {
    if (node === undefined) return {};
    const props = objectProperties(node);
    if (props === undefined) {
      // Options code generation cannot follow: fine, unless they hold what it needs.
      const type = node.getType();
      for (const key of ["version", "streaming", "pure", "batch"]) {
        if (type.getProperty(key) !== undefined) {
          this.error(node, `model "${model}": its options may set "${key}", but code generation cannot read them — write them as an object literal, here or in a const (imported or not)`);
          return undefined;
        }
      }
      return {};
    }
    const out: { -readonly [K in keyof ReadOptions]: ReadOptions[K] } = {};
    let ok = true;
    const read = (key: "version" | "streaming" | "pure", kind: "string" | "boolean", example: string) => {
      const valueNode = props.get(key);
      if (valueNode === undefined) return;
      const value = staticValueOfProperty(valueNode);
      if (value === undefined) return;
      if (typeof value === kind) (out as Record<string, unknown>)[key] = value;
      else {
        this.error(valueNode, `model "${model}": ${key} must be a ${kind} known at build time — e.g. ${example}`);
        ok = false;
      }
    };
    read("version", "string", 'version: "1.2.0"');
    read("streaming", "boolean", "streaming: true");
    read("pure", "boolean", "pure: true");
    const batch = props.get("batch");
    if (batch !== undefined && staticValueOfProperty(batch) !== undefined) out.batch = batch;
    return ok ? out : undefined;
  }

  private params(fn: FunctionInfo, model: string, doc: JsDoc, listBatched: boolean): { fields: FieldSpec[]; objectParams: boolean } | undefined {
    const messageName = requestName(model);
    const [first] = fn.params;
    if (first !== undefined && Node.isObjectBindingPattern(first.getNameNode()) && !listBatched) {
      if (fn.params.length > 1) {
        this.error(first, `model "${model}": a destructured parameter must be the only one (its properties are the request's fields) — name it, or move the other parameters into it`);
        return undefined;
      }
      const type = stripUndefined(first.getType());
      const site: Site = { node: first.getTypeNode() ?? first, what: "the destructured parameter", model, typeNode: first.getTypeNode() };
      if (!this.types.isPlainObject(type)) {
        this.error(site.node, `model "${model}": the destructured parameter has type "${type.getText(first)}", which has no properties to become the request's fields — give it an interface or object type`);
        return undefined;
      }
      const fields = this.types.fields(type, site, messageName);
      return fields && { fields, objectParams: true };
    }
    const fields: FieldSpec[] = [];
    let ok = true;
    for (const p of fn.params) {
      const field = this.param(p, model, messageName, doc, fields, listBatched);
      if (field === undefined) ok = false;
      else fields.push(field);
    }
    return ok ? { fields, objectParams: false } : undefined;
  }

  private param(p: ParameterDeclaration, model: string, messageName: string, doc: JsDoc, siblings: readonly FieldSpec[], listBatched: boolean): FieldSpec | undefined {
    const nameNode = p.getNameNode();
    if (listBatched && !Node.isIdentifier(nameNode)) {
      this.error(p, `model "${model}" is list-batched (it has batch options and not every parameter is a tensor): a destructured parameter cannot take one array per parameter — name it, e.g. (queries: Query[])`);
      return undefined;
    }
    if (!Node.isIdentifier(nameNode)) {
      this.error(p, `model "${model}": an array-destructured parameter has no name — name it, e.g. (features: Tensor<"float32", ["batch", 4]>)`);
      return undefined;
    }
    const name = nameNode.getText();
    if (p.isRestParameter()) {
      this.error(p, `model "${model}": rest parameter "${name}" is not supported — declare one parameter per input, or an array`);
      return undefined;
    }
    let typeNode = p.getTypeNode();
    let type = p.getType();
    if (typeNode === undefined && (type.getFlags() & ts.TypeFlags.Any) !== 0) {
      this.error(p, `model "${model}": parameter "${name}" has no type annotation — annotate it, e.g. ${name}: string`);
      return undefined;
    }
    const protoName = toSnakeCase(name);
    if (!/^[a-z]/.test(protoName)) {
      this.error(p, `model "${model}": parameter "${name}" has no usable schema field name ("${protoName}") — start its name with a letter`);
      return undefined;
    }
    const clash = siblings.find((f) => toSnakeCase(f.name) === protoName);
    if (clash !== undefined) {
      this.error(p, `model "${model}": parameters "${clash.name}" and "${name}" both become field "${protoName}" in the schema — rename one`);
      return undefined;
    }
    if (listBatched) {
      const element = arrayElementType(type);
      if (element === undefined || p.isOptional()) {
        this.error(typeNode ?? p, `model "${model}" is list-batched (it has batch options and not every parameter is a tensor): parameter "${name}" must be an array with one value per request — e.g. ${name}: string[] (or batch only models whose parameters are all tensors)`);
        return undefined;
      }
      type = element;
      typeNode = typeNode !== undefined && Node.isArrayTypeNode(typeNode) ? typeNode.getElementTypeNode() : undefined;
    }
    const mapped = this.types.map(type, { node: typeNode ?? p, what: `parameter "${name}"`, model, typeNode }, { parent: messageName, field: name });
    if (mapped === undefined) return undefined;
    const optional = (p.isOptional() && !listBatched) || mapped.optional;
    const paramDoc = doc.tags.find((t) => t.tag === "param" && t.name === name)?.text || docOfDeclaration(p);
    return { name, type: mapped.type, ...(optional ? { optional: true } : {}), ...(paramDoc ? { doc: paramDoc } : {}) };
  }

  private result(fn: FunctionInfo, model: string, doc: JsDoc, listBatched: boolean): { fields: FieldSpec[]; objectResult: boolean; streaming: boolean } | undefined {
    let ret = fn.returnType;
    let streaming = false;
    const symbolName = ret.getSymbol()?.getName();
    if (symbolName === "Promise") {
      ret = ret.getTypeArguments()[0] ?? ret;
    } else if (symbolName === "AsyncGenerator" || symbolName === "AsyncIterable" || symbolName === "AsyncIterableIterator") {
      streaming = true;
      ret = ret.getTypeArguments()[0] ?? ret;
    }
    if (ret.isUndefined() || ret.getFlags() & ts.TypeFlags.Void) {
      this.error(fn.returnNode, `model "${model}": ${streaming ? "the stream yields" : "the function returns"} nothing — a model must ${streaming ? "yield" : "return"} its result`);
      return undefined;
    }
    const what = streaming ? "the streamed element type" : listBatched ? "the result of one request" : "the return type";
    const site: Site = { node: fn.returnNode, what, model, typeNode: undefined };
    // A list-batched model returns one result per request, each a value or an Error.
    let parts: Type[] = [ret];
    if (listBatched && !streaming) {
      const element = arrayElementType(ret);
      parts = element === undefined ? [] : element.isUnion() ? element.getUnionTypes().filter((t) => !isErrorType(t)) : isErrorType(element) ? [] : [element];
      if (element === undefined || parts.length === 0) {
        this.error(fn.returnNode, `model "${model}" is list-batched (it has batch options and not every parameter is a tensor): it must return an array with one result per request — e.g. Promise<(string | Error)[]>`);
        return undefined;
      }
      ret = parts.length === 1 ? parts[0]! : element!;
    }
    if (parts.length === 1 && this.types.isPlainObject(ret)) {
      const fields = this.types.fields(ret, site, responseName(model));
      return fields && { fields, objectResult: true, streaming };
    }
    const mapped = parts.length === 1 ? this.types.map(ret, site, { parent: responseName(model), field: "result" }) : this.types.mapParts(parts, ret, site, { parent: responseName(model), field: "result" });
    if (mapped === undefined) return undefined;
    const returns = doc.tags.find((t) => t.tag === "returns" || t.tag === "return" || t.tag === "yields")?.text;
    return {
      fields: [{ name: "result", type: mapped.type, ...(mapped.optional ? { optional: true } : {}), ...(returns ? { doc: returns } : {}) }],
      objectResult: false,
      streaming,
    };
  }

  private position(node: Node): { file: string; line: number; column: number } {
    const sf = node.getSourceFile();
    const { line, column } = sf.getLineAndColumnAtPos(node.getStart());
    return { file: this.displayPath(sf), line, column };
  }

  private where(node: Node): string {
    const { file, line } = this.position(node);
    return `${file}:${line}`;
  }

  private displayPath(sf: SourceFile = this.sourceFile): string {
    const rel = path.relative(this.cwd, sf.getFilePath());
    return rel.startsWith("..") || path.isAbsolute(rel) ? sf.getFilePath() : rel;
  }

  private error(node: Node, message: string): void {
    const sf = node.getSourceFile();
    const { line, column } = sf.getLineAndColumnAtPos(node.getStart());
    const file = this.displayPath(sf);
    if (this.diagnostics.some((d) => d.file === file && d.line === line && d.column === column && d.message === message)) return;
    const sourceLine = sf.getFullText().split(/\r?\n/)[line - 1];
    this.diagnostics.push({ file, line, column, message, ...(sourceLine !== undefined ? { sourceLine } : {}) });
  }
}

/** `T | undefined` → `T` (for an optional destructured parameter). */
function stripUndefined(type: Type): Type {
  if (!type.isUnion()) return type;
  const rest = type.getUnionTypes().filter((t) => !t.isUndefined());
  return rest.length === 1 ? rest[0]! : type;
}

/** The entry's diagnostics in source order first, then other files' by path and position. */
function sortDiagnostics(diagnostics: Diagnostic[], entry: string): Diagnostic[] {
  return diagnostics
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      const fa = a.d.file === entry ? "" : a.d.file;
      const fb = b.d.file === entry ? "" : b.d.file;
      return fa < fb ? -1 : fa > fb ? 1 : a.d.line - b.d.line || a.d.column - b.d.column || a.i - b.i;
    })
    .map(({ d }) => d);
}

function isFromBlazeRuntime(filePath: string | undefined): boolean {
  if (filePath === undefined) return false;
  return /[\\/](@blazerpc[\\/]runtime|packages[\\/]runtime)[\\/]/.test(filePath);
}
