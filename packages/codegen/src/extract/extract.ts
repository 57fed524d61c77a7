import * as fs from "node:fs";
import * as path from "node:path";
import {
  Node,
  type ArrowFunction,
  type FunctionDeclaration,
  type FunctionExpression,
  Project,
  SyntaxKind,
  ts,
  type CallExpression,
  type ParameterDeclaration,
  type SourceFile,
  type Type,
} from "ts-morph";
import { dtypeNames, isDType } from "@blazerpc/tensor";
import { CodegenError, type Diagnostic } from "../diagnostics.js";
import type { AppSpec, FieldSpec, ModelSpec, TypeSpec } from "../model-spec.js";
import { rpcName, toSnakeCase } from "../names.js";

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

type FunctionLike = ArrowFunction | FunctionExpression | FunctionDeclaration;

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
  const cwd = options.cwd ?? process.cwd();
  const entryPath = path.resolve(cwd, entry);
  if (!fs.existsSync(entryPath)) {
    throw new CodegenError([{ file: entry, line: 1, column: 1, message: `cannot read entry file "${entry}"` }]);
  }
  const project = createProject(entryPath, options.tsConfigFilePath);
  const sourceFile = project.addSourceFileAtPath(entryPath);
  project.resolveSourceFileDependencies();
  return new Extractor(sourceFile, cwd, entry).run();
}

function createProject(entryPath: string, tsConfigFilePath: string | undefined): Project {
  const tsconfig = tsConfigFilePath ?? findUp(path.dirname(entryPath), "tsconfig.json");
  if (tsconfig !== undefined) {
    return new Project({ tsConfigFilePath: tsconfig, skipAddingFilesFromTsConfig: true });
  }
  return new Project({
    compilerOptions: {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      skipLibCheck: true,
    },
  });
}

function findUp(dir: string, name: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    const candidate = path.join(d, name);
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(d) === d) return undefined;
  }
}

class Extractor {
  private readonly diagnostics: Diagnostic[] = [];

  constructor(
    private readonly sourceFile: SourceFile,
    private readonly cwd: string,
    private readonly entry: string,
  ) {}

  run(): AppSpec {
    let appName: string | undefined;
    const models: ModelSpec[] = [];
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
      const model = this.model(call);
      if (model !== undefined) {
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
    }
    if (this.diagnostics.length === 0 && appName === undefined) {
      this.diagnostics.push({
        file: this.displayPath(),
        line: 1,
        column: 1,
        message: "no models found — register one with app.model(name, fn) on an app from createApp({ name }) of @blazerpc/runtime",
      });
    }
    if (this.diagnostics.length > 0) throw new CodegenError(this.diagnostics);
    return { name: appName!, entry: this.entry, models };
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

  private model(call: CallExpression): ModelSpec | undefined {
    const args = call.getArguments();
    const [nameArg] = args;
    if (nameArg === undefined || !Node.isStringLiteral(nameArg) && !Node.isNoSubstitutionTemplateLiteral(nameArg)) {
      this.error(nameArg ?? call, "a model's name must be a string literal: app.model(\"iris\", fn)");
      return undefined;
    }
    const name = nameArg.getLiteralValue();
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
      this.error(nameArg, `model name "${name}" is not usable in a schema — use letters, digits and underscores, starting with a letter`);
      return undefined;
    }
    const fnArg = args.length >= 3 ? args[2] : args[1];
    const optionsArg = args.length >= 3 ? args[1] : undefined;
    const fn = this.functionOf(fnArg);
    if (fn === undefined) {
      this.error(fnArg ?? call, `model "${name}": the last argument must be a function (an arrow function, a function expression, or the name of a function declared in this file)`);
      return undefined;
    }
    const options = this.options(optionsArg, name);

    const params: FieldSpec[] = [];
    let ok = true;
    for (const p of fn.getParameters()) {
      const field = this.param(p, name);
      if (field === undefined) {
        ok = false;
        continue;
      }
      const protoName = toSnakeCase(field.name);
      const clash = params.find((f) => toSnakeCase(f.name) === protoName);
      if (!/^[a-z]/.test(protoName)) {
        this.error(p, `model "${name}": parameter "${field.name}" has no usable schema field name ("${protoName}") — start its name with a letter`);
        ok = false;
      } else if (clash !== undefined) {
        this.error(p, `model "${name}": parameters "${clash.name}" and "${field.name}" both become field "${protoName}" in the schema — rename one`);
        ok = false;
      } else {
        params.push(field);
      }
    }
    const result = this.result(fn, name);
    if (result === undefined || !ok) return undefined;
    if (options.streaming !== undefined && options.streaming !== result.streaming) {
      this.error(optionsArg!, options.streaming
        ? `model "${name}" has streaming: true but does not return an AsyncIterable — make it an async generator (async function*)`
        : `model "${name}" has streaming: false but returns an AsyncIterable — remove the option or return a Promise`);
      return undefined;
    }
    // `app.model(...);` or `export const classify = app.model(...);`: the doc is on the statement.
    const statement = call.getFirstAncestor((a) => Node.isExpressionStatement(a) || Node.isVariableStatement(a));
    const doc = jsDocText(statement ?? call) ?? (Node.isFunctionDeclaration(fn) ? jsDocText(fn) : undefined);
    const pos = this.position(call);
    return {
      name,
      ...(doc !== undefined ? { doc } : {}),
      ...(options.version !== undefined ? { version: options.version } : {}),
      streaming: result.streaming,
      params,
      result: { name: "result", type: result.type },
      position: pos,
    };
  }

  private functionOf(node: Node | undefined): FunctionLike | undefined {
    if (node === undefined) return undefined;
    if (Node.isArrowFunction(node) || Node.isFunctionExpression(node) || Node.isFunctionDeclaration(node)) return node;
    if (Node.isIdentifier(node)) {
      for (const decl of node.getSymbol()?.getDeclarations() ?? []) {
        if (Node.isFunctionDeclaration(decl)) return decl;
        if (Node.isVariableDeclaration(decl)) return this.functionOf(decl.getInitializer());
      }
    }
    return undefined;
  }

  private options(node: Node | undefined, model: string): { version?: string; streaming?: boolean } {
    if (node === undefined || !Node.isObjectLiteralExpression(node)) return {};
    const out: { version?: string; streaming?: boolean } = {};
    const version = node.getProperty("version");
    if (version !== undefined && Node.isPropertyAssignment(version)) {
      const init = version.getInitializer();
      if (init !== undefined && (Node.isStringLiteral(init) || Node.isNoSubstitutionTemplateLiteral(init))) {
        out.version = init.getLiteralValue();
      } else {
        this.error(version, `model "${model}": version must be a string literal, e.g. version: "1.2.0"`);
      }
    }
    const streaming = node.getProperty("streaming");
    if (streaming !== undefined && Node.isPropertyAssignment(streaming)) {
      const init = streaming.getInitializer();
      if (init?.getKind() === SyntaxKind.TrueKeyword) out.streaming = true;
      else if (init?.getKind() === SyntaxKind.FalseKeyword) out.streaming = false;
    }
    return out;
  }

  private param(p: ParameterDeclaration, model: string): FieldSpec | undefined {
    const nameNode = p.getNameNode();
    if (!Node.isIdentifier(nameNode)) {
      this.error(p, `model "${model}": destructured parameters are not supported yet — use named parameters, e.g. (features: Tensor<"float32", ["batch", 4]>)`);
      return undefined;
    }
    const name = nameNode.getText();
    if (p.isRestParameter()) {
      this.error(p, `model "${model}": rest parameter "${name}" is not supported — declare one parameter per input`);
      return undefined;
    }
    if (p.hasQuestionToken() || p.hasInitializer()) {
      this.error(p, `model "${model}": optional parameter "${name}" is not supported yet — make it required`);
      return undefined;
    }
    if (p.getTypeNode() === undefined) {
      this.error(p, `model "${model}": parameter "${name}" has no type annotation — annotate it, e.g. ${name}: string`);
      return undefined;
    }
    const type = this.mapType(p.getType(), p.getTypeNode() ?? p, `parameter "${name}"`, model);
    return type === undefined ? undefined : { name, type };
  }

  private result(fn: FunctionLike, model: string): { type: TypeSpec; streaming: boolean } | undefined {
    const signature = fn.getType().getCallSignatures()[0];
    const returnNode: Node = fn.getReturnTypeNode() ?? fn;
    if (signature === undefined) {
      this.error(fn, `model "${model}": cannot read the function's signature`);
      return undefined;
    }
    let ret = signature.getReturnType();
    let streaming = false;
    const symbolName = ret.getSymbol()?.getName();
    if (symbolName === "Promise") {
      ret = ret.getTypeArguments()[0] ?? ret;
    } else if (symbolName === "AsyncGenerator" || symbolName === "AsyncIterable" || symbolName === "AsyncIterableIterator") {
      streaming = true;
      ret = ret.getTypeArguments()[0] ?? ret;
    }
    if (ret.isUndefined() || ret.getFlags() & ts.TypeFlags.Void) {
      this.error(returnNode, `model "${model}": ${streaming ? "the stream yields" : "the function returns"} nothing — a model must ${streaming ? "yield" : "return"} its result`);
      return undefined;
    }
    const type = this.mapType(ret, returnNode, streaming ? "the streamed element type" : "the return type", model);
    return type === undefined ? undefined : { type, streaming };
  }

  /** `outerArray`: the array type `type` is the element of, when it is one. */
  private mapType(type: Type, node: Node, what: string, model: string, outerArray?: Type): TypeSpec | undefined {
    const flags = type.getFlags();
    if (type.isString() || type.isStringLiteral()) return { kind: "scalar", scalar: "string" };
    if (type.isNumber() || type.isNumberLiteral()) return { kind: "scalar", scalar: "double" };
    if (flags & ts.TypeFlags.BigInt || flags & ts.TypeFlags.BigIntLiteral) return { kind: "scalar", scalar: "int64" };
    if (type.isBoolean() || type.isBooleanLiteral()) return { kind: "scalar", scalar: "bool" };
    const symbolName = type.getSymbol()?.getName();
    if (symbolName === "Uint8Array") return { kind: "scalar", scalar: "bytes" };
    if (symbolName === "Tensor") return this.tensorType(type, node, what, model);
    const element = type.getArrayElementType() ?? (symbolName === "ReadonlyArray" ? type.getTypeArguments()[0] : undefined);
    if (element !== undefined) {
      if (outerArray !== undefined) {
        this.error(node, `model "${model}": ${what} is a nested array (${outerArray.getText(node)}) — use a Tensor for numeric grids`);
        return undefined;
      }
      const inner = this.mapType(element, node, what, model, type);
      return inner === undefined ? undefined : { kind: "repeated", element: inner };
    }
    this.error(
      node,
      `model "${model}": ${what} has unsupported type "${type.getText(node)}" — use string, number, bigint, boolean, Uint8Array, Tensor<dtype, shape> or an array of these`,
    );
    return undefined;
  }

  private tensorType(type: Type, node: Node, what: string, model: string): TypeSpec | undefined {
    const [dtypeArg, shapeArg] = type.getTypeArguments();
    const example = 'Tensor<"float32", ["batch", 4]>';
    if (dtypeArg === undefined || !dtypeArg.isStringLiteral()) {
      this.error(node, `model "${model}": ${what} is a Tensor without a dtype literal — write it as ${example}`);
      return undefined;
    }
    const dtype = String(dtypeArg.getLiteralValue());
    if (!isDType(dtype)) {
      this.error(node, `model "${model}": ${what} has unknown dtype "${dtype}" — use one of ${dtypeNames.join(", ")}`);
      return undefined;
    }
    if (shapeArg === undefined || !shapeArg.isTuple()) {
      this.error(node, `model "${model}": ${what} is a Tensor without a shape tuple — write it as ${example}`);
      return undefined;
    }
    const shape: (number | string)[] = [];
    for (const dim of shapeArg.getTupleElements()) {
      if (dim.isNumberLiteral() && Number.isSafeInteger(dim.getLiteralValue()) && Number(dim.getLiteralValue()) >= 0) {
        shape.push(Number(dim.getLiteralValue()));
      } else if (dim.isStringLiteral() && /^[A-Za-z_][A-Za-z0-9_]*$/.test(String(dim.getLiteralValue()))) {
        shape.push(String(dim.getLiteralValue()));
      } else {
        this.error(node, `model "${model}": ${what} has shape dimension "${dim.getText(node)}" — each dimension is a size literal (4) or a name ("batch")`);
        return undefined;
      }
    }
    return { kind: "tensor", dtype, shape };
  }

  private position(node: Node): { file: string; line: number; column: number } {
    const sf = node.getSourceFile();
    const { line, column } = sf.getLineAndColumnAtPos(node.getStart());
    return { file: this.displayPath(sf), line, column };
  }

  private displayPath(sf: SourceFile = this.sourceFile): string {
    const rel = path.relative(this.cwd, sf.getFilePath());
    return rel.startsWith("..") ? sf.getFilePath() : rel;
  }

  private error(node: Node, message: string): void {
    const sf = node.getSourceFile();
    const { line, column } = sf.getLineAndColumnAtPos(node.getStart());
    const sourceLine = sf.getFullText().split(/\r?\n/)[line - 1];
    this.diagnostics.push({ file: this.displayPath(sf), line, column, message, ...(sourceLine !== undefined ? { sourceLine } : {}) });
  }
}

function isFromBlazeRuntime(filePath: string | undefined): boolean {
  if (filePath === undefined) return false;
  return /[\\/](@blazerpc[\\/]runtime|packages[\\/]runtime)[\\/]/.test(filePath);
}

/** The text of the `/** ... *\/` comment directly before `node`, tags dropped. */
function jsDocText(node: Node): string | undefined {
  const ranges = node.getLeadingCommentRanges();
  const last = ranges[ranges.length - 1];
  if (last === undefined || !last.getText().startsWith("/**")) return undefined;
  const lines = last
    .getText()
    .replace(/^\/\*\*/, "")
    .replace(/\*\/$/, "")
    .split(/\r?\n/)
    .map((l) => l.replace(/^\s*\* ?/, "").trimEnd());
  const body: string[] = [];
  for (const l of lines) {
    if (l.trimStart().startsWith("@")) break;
    body.push(l);
  }
  const text = body.join("\n").trim();
  return text === "" ? undefined : text;
}
