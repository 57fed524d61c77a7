import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";
import {
  Node,
  Project,
  SyntaxKind,
  ts,
  type ResolutionHostFactory,
  type CallExpression,
  type ParameterDeclaration,
  type SourceFile,
  type Type,
} from "ts-morph";
import { CodegenError, type Diagnostic } from "../diagnostics.js";
import type { AppSpec, FieldSpec, ModelSpec } from "../model-spec.js";
import {
  MODEL_NAME,
  requestMessageName,
  responseMessageName,
  schemaMethod,
  SERVICE_NAME,
  toSnakeCase,
} from "../names.js";
import { docOfDeclaration, jsDocOf, type JsDoc } from "./jsdoc.js";
import { objectProperties, staticValueOfProperty } from "./static-value.js";
import { arrayElementType, isErrorType, isTensorType, namedObjectKey, TypeMapper, type Site } from "./type-mapper.js";

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
 * Reads an entry file with ts-morph, finds every `app.model(name, options?, fn)` and
 * `app.rpc("Service.Method", options?, fn)` call on a BlazeRPC app (`createApp({ name })`
 * from `@blazerpc/runtime`), and turns each function's parameter and return types into a
 * model spec. A last parameter of type `CallContext` (of @blazerpc/runtime) is left out of
 * the request: the spec says the function takes it (`context: true`).
 *
 * @throws CodegenError with every unsupported type or malformed registration found.
 *
 * @example
 * const spec = extract("models.ts");
 * console.log(spec.models.map((m) => m.name)); // ["iris", "generate", "InferenceDirector.GetHealthStatus"]
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
      return ts.resolveTypeReferenceDirective(name, containingFile, options, host, redirectedReference)
        .resolvedTypeReferenceDirective;
    }),
});

function createProject(tsconfig: string | undefined): Project {
  // Only the signatures matter: no ambient @types packages and no Node built-ins (most of
  // the start-up time), no declaration output, and the files the entry imports are found
  // by the program itself rather than wrapped one by one.
  const overrides: ts.CompilerOptions = {
    types: [],
    noEmit: true,
    declaration: false,
    composite: false,
    declarationMap: false,
    sourceMap: false,
    incremental: false,
  };
  if (tsconfig !== undefined) {
    return new Project({
      tsConfigFilePath: tsconfig,
      skipAddingFilesFromTsConfig: true,
      skipFileDependencyResolution: true,
      compilerOptions: overrides,
      resolutionHost: withoutNodeBuiltins,
    });
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
  /** The `worker` option's value, when it is set and not `false`: the model runs in a worker thread. */
  readonly worker?: Node;
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

/** `app.model(...)` or `app.rpc(...)`. */
type Kind = "model" | "rpc";

/** One registration call, its name read. */
interface Call {
  readonly call: CallExpression;
  readonly kind: Kind;
  /** The model's name, or the RPC's `Service.Method`. */
  readonly name: string;
  /** `kind === "rpc"`, as the naming rules take it. */
  readonly rpc: boolean;
  /** How diagnostics name it: `model "iris"`, `rpc "InferenceDirector.GetHealthStatus"`. */
  readonly label: string;
  /** Where its schema method is: `InferenceService.PredictIris`, `InferenceDirector.GetHealthStatus`. */
  readonly service: string;
  readonly method: string;
}

/** A registration whose function and options were read: what mapping its types needs. */
interface Prepared extends Call {
  readonly fn: FunctionInfo;
  /** The parameters that become the request (the call context left out). */
  readonly params: readonly ParameterDeclaration[];
  readonly context: boolean;
  readonly options: ReadOptions;
  readonly optionsArg: Node | undefined;
  readonly doc: JsDoc;
  readonly listBatched: boolean;
  /** The identity of the named object type the function returns (or streams), if it does. */
  readonly responseKey: string | undefined;
  /** The identity of the named object type of its one destructured parameter, if it has one. */
  readonly requestKey: string | undefined;
}

/** The options an RPC takes (`RpcOptions` of @blazerpc/runtime); the others are a model's. */
const RPC_OPTIONS: ReadonlySet<string> = new Set(["streaming", "pure", "validate"]);

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
    this.types = new TypeMapper(
      (node, message) => this.error(node, message),
      (node) => this.where(node),
      this.reservedNames,
    );
  }

  run(): AppSpec {
    let appName: string | undefined;
    const calls: Call[] = [];
    for (const call of this.sourceFile.getDescendantsOfKind(SyntaxKind.CallExpression)) {
      const receiver = this.appOfCall(call);
      if (receiver === undefined) continue;
      if (receiver.name === undefined) {
        this.error(
          call.getExpression(),
          'cannot tell this app\'s name — pass a string literal: createApp({ name: "iris" })',
        );
        continue;
      }
      if (appName !== undefined && appName !== receiver.name) {
        this.error(
          call,
          `${receiver.kind === "rpc" ? "RPCs" : "models"} of a second app "${receiver.name}" — an entry file serves one app (this one is "${appName}")`,
        );
        continue;
      }
      appName = receiver.name;
      const name = receiver.kind === "rpc" ? this.rpcName(call) : this.modelName(call);
      if (name === undefined) continue;
      const { service, method } = schemaMethod({ name, rpc: receiver.kind === "rpc" });
      calls.push({
        call,
        kind: receiver.kind,
        name,
        rpc: receiver.kind === "rpc",
        label: `${receiver.kind} "${name}"`,
        service,
        method,
      });
    }
    const registered = this.withoutClashes(calls);
    const prepared = registered.flatMap((c) => this.prepare(c) ?? []);
    const named = this.namedTypes(prepared);
    const free = this.reserveNames(registered, named);
    const models: ModelSpec[] = [];
    for (const p of prepared) {
      if (!free.has(p.call)) continue;
      const model = this.model(p, named.get(p.call)!);
      if (model !== undefined) models.push(model);
    }
    if (this.diagnostics.length === 0 && appName === undefined) {
      this.diagnostics.push({
        file: this.displayPath(),
        line: 1,
        column: 1,
        message:
          'no models or RPCs found — register one with app.model(name, fn) or app.rpc("Service.Method", fn) on an app from createApp({ name }) of @blazerpc/runtime',
        code: "no-models",
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

  /**
   * The registrations that have a schema method of their own: a name registered twice, or
   * two names served by the same method (`textEmbed` and `text_embed`, or an RPC
   * `InferenceService.PredictIris` beside model `iris`), are reported at the later one.
   */
  private withoutClashes(calls: readonly Call[]): Call[] {
    const kept: Call[] = [];
    for (const c of calls) {
      const nameNode = c.call.getArguments()[0] ?? c.call;
      const twice = kept.find((k) => k.name === c.name);
      const clash = kept.find((k) => k.service === c.service && k.method === c.method);
      // Within InferenceService, the generated client names a model's method after the model and an RPC's after the method.
      const sameClientMethod =
        c.service === SERVICE_NAME
          ? kept.find((k) => k.service === SERVICE_NAME && k.kind !== c.kind && clientMethodOf(k) === clientMethodOf(c))
          : undefined;
      if (twice !== undefined) {
        this.error(
          nameNode,
          c.kind === "model"
            ? `model "${c.name}" is registered twice (first at line ${this.position(twice.call).line}) — give each model its own name`
            : `rpc "${c.name}" is registered twice (first at ${this.whereExactly(twice.call)}) — give each RPC its own "Service.Method"`,
        );
      } else if (clash !== undefined) {
        this.error(
          nameNode,
          c.kind === "model" && clash.kind === "model"
            ? `models "${clash.name}" (line ${this.position(clash.call).line}) and "${c.name}" both become rpc ${c.method} in the schema — rename one`
            : `${clash.label} (${this.whereExactly(clash.call)}) and ${c.label} both become rpc ${c.service}.${c.method} in the schema — rename one`,
        );
      } else if (sameClientMethod !== undefined) {
        this.error(
          nameNode,
          `${sameClientMethod.label} (${this.whereExactly(sameClientMethod.call)}) and ${c.label} both become method "${clientMethodOf(c)}" of the generated ${SERVICE_NAME}Client — rename one`,
        );
      } else {
        kept.push(c);
      }
    }
    return kept;
  }

  /**
   * Which registrations' messages take the name of the named type they take or return: an
   * RPC's, when no other registration takes (returns) that type.
   */
  private namedTypes(prepared: readonly Prepared[]): Map<CallExpression, { request: boolean; response: boolean }> {
    const count = (key: string | undefined, of: "requestKey" | "responseKey") =>
      key === undefined ? 0 : prepared.filter((p) => p[of] === key).length;
    return new Map(
      prepared.map((p) => [
        p.call,
        {
          request: p.kind === "rpc" && count(p.requestKey, "requestKey") === 1,
          response: p.kind === "rpc" && count(p.responseKey, "responseKey") === 1,
        },
      ]),
    );
  }

  /**
   * Takes every name the schema and the generated code give before any type is named: each
   * registration's request and response (unless they are a type's own), and each RPC
   * service with what protoc-gen-blaze declares for it. Returns the registrations whose
   * names are all free.
   */
  private reserveNames(
    registered: readonly Call[],
    named: ReadonlyMap<CallExpression, { request: boolean; response: boolean }>,
  ): Set<CallExpression> {
    const owners = new Map<string, { what: string; call: CallExpression }>();
    const take = (name: string, what: string, p: Call, shown: string): boolean => {
      const taken = owners.get(name);
      if (taken !== undefined) {
        this.error(
          p.call.getArguments()[0] ?? p.call,
          `${p.label}: its ${what} "${name}" is also ${taken.what} (${this.whereExactly(taken.call)}) — rename one`,
        );
        return false;
      }
      owners.set(name, { what: shown, call: p.call });
      return true;
    };
    const free = new Set<CallExpression>();
    const services = new Set<string>();
    for (const p of registered) {
      let ok = true;
      if (p.kind === "rpc" && p.service !== SERVICE_NAME && !services.has(p.service)) {
        services.add(p.service);
        for (const [suffix, what] of [
          ["", "service"],
          ["Models", "generated models interface"],
          ["Binding", "generated binding"],
          ["Client", "generated client"],
        ] as const) {
          const name = `${p.service}${suffix}`;
          ok = take(name, what, p, `the ${what} of ${p.label}`) && ok;
          this.reservedNames.set(name, `the ${what} of ${p.label} (${this.whereExactly(p.call)})`);
        }
      }
      const { request, response } = named.get(p.call) ?? { request: false, response: false };
      for (const [side, byType] of [
        ["request", request],
        ["response", response],
      ] as const) {
        if (byType) continue;
        const name = side === "request" ? requestMessageName(p) : responseMessageName(p);
        ok = take(name, `${side} message`, p, `the ${side} message of ${p.label}`) && ok;
        // Models keep the wording (and the golden diagnostics) they always had.
        this.reservedNames.set(
          name,
          p.kind === "model"
            ? `the ${side} of model "${p.name}"`
            : `the ${side} of ${p.label} (${this.whereExactly(p.call)})`,
        );
      }
      if (ok) free.add(p.call);
    }
    return free;
  }

  /** If `call` is `<app>.model(...)` or `<app>.rpc(...)` on a BlazeRPC app, which, and the app's name (from its type `App<"name">`). */
  private appOfCall(call: CallExpression): { kind: Kind; name: string | undefined } | undefined {
    const callee = call.getExpression();
    if (!Node.isPropertyAccessExpression(callee)) return undefined;
    const kind = callee.getName();
    if (kind !== "model" && kind !== "rpc") return undefined;
    const type = callee.getExpression().getType();
    const symbol = type.getSymbol() ?? type.getAliasSymbol();
    if (
      symbol?.getName() !== "App" ||
      !isFromBlazeRuntime(symbol.getDeclarations()[0]?.getSourceFile().getFilePath())
    ) {
      return undefined;
    }
    const nameType = type.getTypeArguments()[0];
    return { kind, name: nameType?.isStringLiteral() ? String(nameType.getLiteralValue()) : undefined };
  }

  private modelName(call: CallExpression): string | undefined {
    const [nameArg] = call.getArguments();
    if (nameArg === undefined || !(Node.isStringLiteral(nameArg) || Node.isNoSubstitutionTemplateLiteral(nameArg))) {
      this.error(
        nameArg ?? call,
        'a model\'s name must be a string literal — write it in the call: app.model("iris", fn)',
      );
      return undefined;
    }
    const value = nameArg.getLiteralValue();
    if (!MODEL_NAME.test(value)) {
      this.error(
        nameArg,
        `model name "${value}" is not usable in a schema — use letters, digits, "-", "_" and ".", starting with a letter or digit`,
      );
      return undefined;
    }
    return value;
  }

  private rpcName(call: CallExpression): string | undefined {
    const [nameArg] = call.getArguments();
    if (nameArg === undefined || !(Node.isStringLiteral(nameArg) || Node.isNoSubstitutionTemplateLiteral(nameArg))) {
      this.error(
        nameArg ?? call,
        'an RPC\'s name must be a string literal — write it in the call: app.rpc("InferenceDirector.GetHealthStatus", fn)',
      );
      return undefined;
    }
    const value = nameArg.getLiteralValue();
    if (!/^[A-Z][A-Za-z0-9]*\.[A-Z][A-Za-z0-9]*$/.test(value)) {
      this.error(
        nameArg,
        `rpc name "${value}" is not "Service.Method" — both PascalCase (letters and digits, starting with a capital), e.g. "InferenceDirector.GetHealthStatus"`,
      );
      return undefined;
    }
    return value;
  }

  /** Reads a registration's function, options and call context; undefined after reporting what is wrong with them. */
  private prepare(c: Call): Prepared | undefined {
    const { call, label } = c;
    const args = call.getArguments();
    const fnArg = args.length >= 3 ? args[2] : args[1];
    const optionsArg = args.length >= 3 ? args[1] : undefined;
    const fn = this.functionOf(fnArg, label);
    if (fn === "reported") return undefined;
    if (fn === undefined) {
      this.error(
        fnArg ?? call,
        `${label}: the last argument must be a function — pass an arrow function, a function expression, or a function declared here or imported`,
      );
      return undefined;
    }
    const options = this.options(optionsArg, c);
    // `app.model(...);` or `export const classify = app.model(...);`: the doc is on the statement.
    const statement = call.getFirstAncestor((a) => Node.isExpressionStatement(a) || Node.isVariableStatement(a));
    const callDoc = jsDocOf(statement ?? call);
    const doc = callDoc.text !== undefined || callDoc.tags.length > 0 ? callDoc : fn.doc;
    if (options === undefined) return undefined;
    const context = this.callContext(fn, c, options);
    if (context === "reported") return undefined;
    const params = context ? fn.params.slice(0, -1) : fn.params;
    // The batcher calls a batched model with its tensors stacked when every argument is a
    // tensor, and otherwise with one array per parameter (list batching).
    const tensorsOnly = params.length > 0 && params.every((p) => !p.isOptional() && isTensorType(p.getType()));
    const listBatched = options.batch !== undefined && !tensorsOnly;
    const [first] = params;
    const requestKey =
      params.length === 1 &&
      first !== undefined &&
      Node.isObjectBindingPattern(first.getNameNode()) &&
      !listBatched &&
      this.types.isPlainObject(stripUndefined(first.getType()))
        ? namedObjectKey(stripUndefined(first.getType()))
        : undefined;
    const { type: ret } = unwrapResult(fn.returnType);
    const responseKey = !listBatched && this.types.isPlainObject(ret) ? namedObjectKey(ret) : undefined;
    return { ...c, fn, params, context, options, optionsArg, doc, listBatched, requestKey, responseKey };
  }

  /**
   * Whether the function takes the call context (`ctx: CallContext` of @blazerpc/runtime) as
   * its last parameter; "reported" when it takes it elsewhere, or cannot be given it.
   */
  private callContext(fn: FunctionInfo, c: Prepared | Call, options: ReadOptions): boolean | "reported" {
    const at = fn.params.map((p, i) => ({ p, i })).filter(({ p }) => isCallContextType(stripUndefined(p.getType())));
    if (at.length === 0) return false;
    const misplaced = at.find(({ i }) => i !== fn.params.length - 1);
    if (misplaced !== undefined) {
      this.error(
        misplaced.p,
        `${c.label}: the call context ("${misplaced.p.getText()}") must be the function's last parameter — move it after the others (it is not part of the request: the server passes it)`,
      );
      return "reported";
    }
    const ctx = at[0]!.p;
    if (options.batch !== undefined) {
      this.error(
        ctx,
        `${c.label}: a batch serves many calls, so a batched model gets no call context — remove the "${ctx.getName()}" parameter, or the batch options`,
      );
      return "reported";
    }
    if (options.worker !== undefined) {
      this.error(
        ctx,
        `${c.label}: a model in a worker thread gets no call context (its signal and headers stay on the main thread) — remove the "${ctx.getName()}" parameter, or the worker option`,
      );
      return "reported";
    }
    return true;
  }

  private model(p: Prepared, named: { request: boolean; response: boolean }): ModelSpec | undefined {
    const { call, name, label, options, optionsArg, doc, listBatched } = p;
    const request = this.params(p, named.request);
    const response = this.result(p, named.response);
    if (request === undefined || response === undefined) return undefined;
    if (options.batch !== undefined && response.streaming) {
      this.error(
        options.batch,
        `model "${name}" is a stream and has batch options — batching is for unary models; remove batch, or return a Promise`,
      );
      return undefined;
    }
    if (options.streaming !== undefined && options.streaming !== response.streaming) {
      this.error(
        optionsArg!,
        options.streaming
          ? `${label} has streaming: true but does not return an AsyncIterable — make it an async generator (async function*)`
          : `${label} has streaming: false but returns an AsyncIterable — remove the option or return a Promise`,
      );
      return undefined;
    }
    const pure = options.pure === true || doc.tags.some((t) => t.tag === "pure");
    return {
      name,
      ...(p.kind === "rpc" ? { rpc: true } : {}),
      ...(p.context ? { context: true } : {}),
      ...(request.requestType !== undefined ? { requestType: request.requestType } : {}),
      ...(response.responseType !== undefined ? { responseType: response.responseType } : {}),
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
  private functionOf(node: Node | undefined, label: string): FunctionInfo | "reported" | undefined {
    if (node === undefined) return undefined;
    let target: Node = node;
    while (Node.isParenthesizedExpression(target) || Node.isAsExpression(target) || Node.isSatisfiesExpression(target))
      target = target.getExpression();
    const signatures = target.getType().getCallSignatures();
    if (signatures.length === 0) return undefined;
    if (signatures.length > 1) {
      this.error(
        node,
        `${label}: the function has ${signatures.length} overloads, so its signature is ambiguous — register a function with one signature`,
      );
      return "reported";
    }
    const signature = signatures[0]!;
    const decl = signature.getDeclaration();
    if (signature.getTypeParameters().length > 0) {
      this.error(
        node,
        `${label}: the function is generic (${signature
          .getTypeParameters()
          .map((t) => t.getText())
          .join(
            ", ",
          )}) — a ${label.startsWith("rpc") ? "RPC" : "model"} needs concrete types; wrap it in a function with them`,
      );
      return "reported";
    }
    const params = Node.isParametered(decl) ? decl.getParameters() : [];
    const returnNode =
      (Node.isReturnTyped(decl) ? decl.getReturnTypeNode() : undefined) ??
      (Node.isArrowFunction(target) || Node.isFunctionExpression(target) ? target : node);
    const ownDoc = Node.isFunctionDeclaration(decl) ? jsDocOf(decl) : undefined;
    const holder = decl.getParent();
    const constDoc =
      holder !== undefined && Node.isVariableDeclaration(holder) && holder.getVariableStatement() !== undefined
        ? jsDocOf(holder.getVariableStatement()!)
        : undefined;
    return {
      params,
      returnType: signature.getReturnType(),
      returnNode,
      doc: ownDoc ?? constDoc ?? { text: undefined, tags: [] },
    };
  }

  /** The options code generation needs: version, streaming, pure, and whether `batch` or `worker` is set. */
  private options(node: Node | undefined, c: Call): ReadOptions | undefined {
    if (node === undefined) return {};
    const { label } = c;
    const props = objectProperties(node);
    if (props === undefined) {
      // Options code generation cannot follow: fine, unless they hold what it needs.
      const type = node.getType();
      for (const key of ["version", "streaming", "pure", "batch"]) {
        if (type.getProperty(key) !== undefined) {
          this.error(
            node,
            `${label}: its options may set "${key}", but code generation cannot read them — write them as an object literal, here or in a const (imported or not)`,
          );
          return undefined;
        }
      }
      return {};
    }
    if (c.kind === "rpc") {
      const other = [...props.keys()].find((k) => !RPC_OPTIONS.has(k));
      if (other !== undefined) {
        const value = props.get(other)!;
        const at = Node.isPropertyAssignment(value.getParent()) ? value.getParent()! : value;
        this.error(
          at,
          `${label}: option "${other}" is for models (app.model) — an RPC takes streaming, pure and validate; register a model to use it`,
        );
        return undefined;
      }
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
        this.error(valueNode, `${label}: ${key} must be a ${kind} known at build time — e.g. ${example}`);
        ok = false;
      }
    };
    read("version", "string", 'version: "1.2.0"');
    read("streaming", "boolean", "streaming: true");
    read("pure", "boolean", "pure: true");
    const batch = props.get("batch");
    if (batch !== undefined && staticValueOfProperty(batch) !== undefined) out.batch = batch;
    // `worker: false` (or undefined) runs on the event loop; anything else, even unknown here, in a thread.
    const worker = props.get("worker");
    if (worker !== undefined && ![false, undefined].includes(staticValueOfProperty(worker) as never))
      out.worker = worker;
    return ok ? out : undefined;
  }

  private params(
    p: Prepared,
    byType: boolean,
  ): { fields: FieldSpec[]; objectParams: boolean; requestType?: string } | undefined {
    const { label, listBatched } = p;
    const messageName = requestMessageName(p);
    const [first] = p.params;
    if (first !== undefined && Node.isObjectBindingPattern(first.getNameNode()) && !listBatched) {
      if (p.params.length > 1) {
        this.error(
          first,
          `${label}: a destructured parameter must be the only one (its properties are the request's fields) — name it, or move the other parameters into it`,
        );
        return undefined;
      }
      const type = stripUndefined(first.getType());
      const site: Site = {
        node: first.getTypeNode() ?? first,
        what: "the destructured parameter",
        owner: label,
        typeNode: first.getTypeNode(),
      };
      if (!this.types.isPlainObject(type)) {
        this.error(
          site.node,
          `${label}: the destructured parameter has type "${type.getText(first)}", which has no properties to become the request's fields — give it an interface or object type`,
        );
        return undefined;
      }
      if (byType) {
        const own = this.ownMessage(type, site);
        return own && { fields: [...own.fields], objectParams: true, requestType: own.name };
      }
      const fields = this.types.fields(type, site, messageName);
      return fields && { fields, objectParams: true };
    }
    const fields: FieldSpec[] = [];
    let ok = true;
    for (const param of p.params) {
      const field = this.param(param, p, messageName, fields);
      if (field === undefined) ok = false;
      else fields.push(field);
    }
    return ok ? { fields, objectParams: false } : undefined;
  }

  /** A named type's own message (registered like any message the signatures use), for a request or response that takes its name. */
  private ownMessage(type: Type, site: Site): { name: string; fields: readonly FieldSpec[] } | undefined {
    const mapped = this.types.map(type, site, { parent: "", field: "" });
    if (mapped === undefined || mapped.type.kind !== "message") return undefined;
    const spec = this.types.getMessage(mapped.type.name);
    return spec && { name: spec.name, fields: spec.fields };
  }

  private param(
    p: ParameterDeclaration,
    reg: Prepared,
    messageName: string,
    siblings: readonly FieldSpec[],
  ): FieldSpec | undefined {
    const { label, listBatched, doc } = reg;
    const model = reg.name;
    const nameNode = p.getNameNode();
    if (listBatched && !Node.isIdentifier(nameNode)) {
      this.error(
        p,
        `model "${model}" is list-batched (it has batch options and not every parameter is a tensor): a destructured parameter cannot take one array per parameter — name it, e.g. (queries: Query[])`,
      );
      return undefined;
    }
    if (!Node.isIdentifier(nameNode)) {
      this.error(
        p,
        `${label}: an array-destructured parameter has no name — name it, e.g. (features: Tensor<"float32", ["batch", 4]>)`,
      );
      return undefined;
    }
    const name = nameNode.getText();
    if (p.isRestParameter()) {
      this.error(
        p,
        `${label}: rest parameter "${name}" is not supported — declare one parameter per input, or an array`,
      );
      return undefined;
    }
    let typeNode = p.getTypeNode();
    let type = p.getType();
    if (typeNode === undefined && (type.getFlags() & ts.TypeFlags.Any) !== 0) {
      this.error(p, `${label}: parameter "${name}" has no type annotation — annotate it, e.g. ${name}: string`);
      return undefined;
    }
    const protoName = toSnakeCase(name);
    if (!/^[a-z]/.test(protoName)) {
      this.error(
        p,
        `${label}: parameter "${name}" has no usable schema field name ("${protoName}") — start its name with a letter`,
      );
      return undefined;
    }
    const clash = siblings.find((f) => toSnakeCase(f.name) === protoName);
    if (clash !== undefined) {
      this.error(
        p,
        `${label}: parameters "${clash.name}" and "${name}" both become field "${protoName}" in the schema — rename one`,
      );
      return undefined;
    }
    if (listBatched) {
      const element = arrayElementType(type);
      if (element === undefined || p.isOptional()) {
        this.error(
          typeNode ?? p,
          `model "${model}" is list-batched (it has batch options and not every parameter is a tensor): parameter "${name}" must be an array with one value per request — e.g. ${name}: string[] (or batch only models whose parameters are all tensors)`,
        );
        return undefined;
      }
      type = element;
      typeNode = typeNode !== undefined && Node.isArrayTypeNode(typeNode) ? typeNode.getElementTypeNode() : undefined;
    }
    const mapped = this.types.map(
      type,
      { node: typeNode ?? p, what: `parameter "${name}"`, owner: label, typeNode },
      { parent: messageName, field: name },
    );
    if (mapped === undefined) return undefined;
    const optional = (p.isOptional() && !listBatched) || mapped.optional;
    const paramDoc = doc.tags.find((t) => t.tag === "param" && t.name === name)?.text || docOfDeclaration(p);
    return { name, type: mapped.type, ...(optional ? { optional: true } : {}), ...(paramDoc ? { doc: paramDoc } : {}) };
  }

  private result(
    p: Prepared,
    byType: boolean,
  ): { fields: FieldSpec[]; objectResult: boolean; streaming: boolean; responseType?: string } | undefined {
    const { fn, label, doc, listBatched } = p;
    const model = p.name;
    const messageName = responseMessageName(p);
    const unwrapped = unwrapResult(fn.returnType);
    const { streaming } = unwrapped;
    let ret = unwrapped.type;
    if (ret.isUndefined() || ret.getFlags() & ts.TypeFlags.Void) {
      const noun = p.kind === "rpc" ? "an RPC" : "a model";
      this.error(
        fn.returnNode,
        `${label}: ${streaming ? "the stream yields" : "the function returns"} nothing — ${noun} must ${streaming ? "yield" : "return"} its result`,
      );
      return undefined;
    }
    const what = streaming
      ? "the streamed element type"
      : listBatched
        ? "the result of one request"
        : "the return type";
    const site: Site = { node: fn.returnNode, what, owner: label, typeNode: undefined };
    // A list-batched model returns one result per request, each a value or an Error.
    let parts: Type[] = [ret];
    if (listBatched && !streaming) {
      const element = arrayElementType(ret);
      parts =
        element === undefined
          ? []
          : element.isUnion()
            ? element.getUnionTypes().filter((t) => !isErrorType(t))
            : isErrorType(element)
              ? []
              : [element];
      if (element === undefined || parts.length === 0) {
        this.error(
          fn.returnNode,
          `model "${model}" is list-batched (it has batch options and not every parameter is a tensor): it must return an array with one result per request — e.g. Promise<(string | Error)[]>`,
        );
        return undefined;
      }
      ret = parts.length === 1 ? parts[0]! : element!;
    }
    if (parts.length === 1 && this.types.isPlainObject(ret)) {
      if (byType) {
        const own = this.ownMessage(ret, site);
        return own && { fields: [...own.fields], objectResult: true, streaming, responseType: own.name };
      }
      const fields = this.types.fields(ret, site, messageName);
      return fields && { fields, objectResult: true, streaming };
    }
    const mapped =
      parts.length === 1
        ? this.types.map(ret, site, { parent: messageName, field: "result" })
        : this.types.mapParts(parts, ret, site, { parent: messageName, field: "result" });
    if (mapped === undefined) return undefined;
    const returns = doc.tags.find((t) => t.tag === "returns" || t.tag === "return" || t.tag === "yields")?.text;
    return {
      fields: [
        {
          name: "result",
          type: mapped.type,
          ...(mapped.optional ? { optional: true } : {}),
          ...(returns ? { doc: returns } : {}),
        },
      ],
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

  /** `models.ts:12:5`: where another registration is, in a diagnostic about two. */
  private whereExactly(node: Node): string {
    const { file, line, column } = this.position(node);
    return `${file}:${line}:${column}`;
  }

  private displayPath(sf: SourceFile = this.sourceFile): string {
    const rel = path.relative(this.cwd, sf.getFilePath());
    return rel.startsWith("..") || path.isAbsolute(rel) ? sf.getFilePath() : rel;
  }

  private error(node: Node, message: string): void {
    const sf = node.getSourceFile();
    const { line, column } = sf.getLineAndColumnAtPos(node.getStart());
    const file = this.displayPath(sf);
    if (
      this.diagnostics.some((d) => d.file === file && d.line === line && d.column === column && d.message === message)
    )
      return;
    const sourceLine = sf.getFullText().split(/\r?\n/)[line - 1];
    this.diagnostics.push({ file, line, column, message, ...(sourceLine !== undefined ? { sourceLine } : {}) });
  }
}

/** What a function returns or streams: `Promise<T>` → T; an async iterable of T → T, streaming. */
function unwrapResult(returnType: Type): { type: Type; streaming: boolean } {
  const symbolName = returnType.getSymbol()?.getName();
  if (symbolName === "Promise") return { type: returnType.getTypeArguments()[0] ?? returnType, streaming: false };
  if (symbolName === "AsyncGenerator" || symbolName === "AsyncIterable" || symbolName === "AsyncIterableIterator") {
    return { type: returnType.getTypeArguments()[0] ?? returnType, streaming: true };
  }
  return { type: returnType, streaming: false };
}

/** The name of the generated client's method for a registration: a model's name, an RPC method's lowerCamelCase name. */
function clientMethodOf(c: Call): string {
  return c.kind === "model" ? c.name : c.method[0]!.toLowerCase() + c.method.slice(1);
}

/** `CallContext` of @blazerpc/runtime. */
function isCallContextType(type: Type): boolean {
  const symbol = type.getSymbol() ?? type.getAliasSymbol();
  return (
    symbol?.getName() === "CallContext" &&
    isFromBlazeRuntime(symbol.getDeclarations()[0]?.getSourceFile().getFilePath())
  );
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
