import { getOption, hasOption, ScalarType, type DescField, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { createEcmaScriptPlugin, type GeneratedFile, type Schema } from "@bufbuild/protoplugin";
import { modelOption, tensorOption } from "@blazerpc/tensor";
import { version } from "../version.js";

/**
 * protoc-gen-blaze: for every service whose methods carry the `blazerpc.v1.model` option,
 * emits `<file>_blaze.ts` with
 * - `<Service>Models`: the TypeScript signature of each model, and
 * - `<Service>Binding`: the binding from each method to its registered model, which
 *   decodes requests (TensorProto → Tensor, dtype and shape checked) and encodes results.
 *
 * Run by `buf generate` next to protoc-gen-es (whose `_pb` files it imports).
 */
export const protocGenBlaze = createEcmaScriptPlugin({
  name: "protoc-gen-blaze",
  version: `v${version}`,
  generateTs,
});

function generateTs(schema: Schema): void {
  for (const file of schema.files) {
    const services = file.services.filter((s) => s.methods.some((m) => hasOption(m, modelOption)));
    if (services.length === 0) continue;
    const f = schema.generateFile(`${file.name}_blaze.ts`);
    f.preamble(file);
    for (const service of services) {
      generateModels(f, service);
      f.print();
      generateBinding(f, service);
    }
  }
}

function generateModels(f: GeneratedFile, service: DescService): void {
  f.print(f.jsDoc(`The signature of each model ${service.name} serves, as registered with app.model().\n\n@generated from service ${service.typeName}`));
  f.print(f.export("interface", `${service.name}Models`), " {");
  for (const method of modelMethods(service)) {
    const { name } = getOption(method, modelOption);
    const params = method.input.fields.map((field) => [field.localName, ": ", tsType(f, field)]);
    const joined = params.flatMap((p, i) => (i === 0 ? p : [", ", ...p]));
    const result = resultField(method);
    const ret = method.methodKind === "server_streaming"
      ? ["AsyncIterable<", tsType(f, result), ">"]
      : ["Promise<", tsType(f, result), "> | ", tsType(f, result)];
    f.print(f.jsDoc(method, "  "));
    f.print("  ", safeProperty(name), "(", ...joined, "): ", ...ret, ";");
  }
  f.print("}");
}

function generateBinding(f: GeneratedFile, service: DescService): void {
  const defineModelService = f.import("defineModelService", "@blazerpc/runtime");
  const models = `${service.name}Models`;
  f.print(f.jsDoc(`Binds each method of ${service.name} to its registered model: pass it to the server\n(\`createServer({ app, services: [${service.name}Binding] })\`).\n\n@generated from service ${service.typeName}`));
  f.print(f.export("const", `${service.name}Binding`), " = ", defineModelService, "(", f.importSchema(service), ", {");
  for (const method of modelMethods(service)) {
    const { name } = getOption(method, modelOption);
    const kind = method.methodKind === "server_streaming" ? "server_streaming" : "unary";
    const result = resultField(method);
    f.print(f.jsDoc(`@generated from rpc ${method.parent.typeName}.${method.name}`, "  "));
    f.print("  ", method.localName, ": {");
    f.print("    kind: ", f.string(kind), ",");
    f.print("    model: ", f.string(name), ",");
    f.print("    decode: (req: ", f.importShape(method.input), `): Parameters<${models}[${JSON.stringify(name)}]> => [`);
    for (const field of method.input.fields) {
      f.print("      ", decodeExpr(f, field, `req.${field.localName}`), ",");
    }
    f.print("    ],");
    f.print(`    encode: (result: ${kind === "unary" ? "Awaited<ReturnType<" : "StreamElement<ReturnType<"}${models}[${JSON.stringify(name)}]>>) => ({`);
    f.print("      ", result.localName, ": ", encodeExpr(f, result, "result"), ",");
    f.print("    }),");
    f.print("  },");
  }
  f.print("});");
  if (modelMethods(service).some((m) => m.methodKind === "server_streaming")) {
    f.print();
    f.print("type StreamElement<T> = T extends AsyncIterable<infer E> ? E : never;");
  }
}

function modelMethods(service: DescService): DescMethod[] {
  return service.methods.filter((m) => hasOption(m, modelOption));
}

function resultField(method: DescMethod): DescField {
  const field = method.output.fields[0];
  if (field === undefined || method.output.fields.length !== 1) {
    throw new Error(`${method.output.typeName}: a model's response must have exactly one field, "result"`);
  }
  return field;
}

function tensorSpecOf(field: DescField): { dtype: string; shape: (number | string)[] } | undefined {
  if (!hasOption(field, tensorOption)) return undefined;
  const spec = getOption(field, tensorOption);
  return { dtype: spec.dtype, shape: spec.shape.map((d) => (/^\d+$/.test(d) ? Number(d) : d)) };
}

function tensorTypeText(spec: { dtype: string; shape: (number | string)[] }): string {
  return `Tensor<${JSON.stringify(spec.dtype)}, [${spec.shape.map((d) => JSON.stringify(d)).join(", ")}]>`;
}

/** The spec as a TypeScript object literal: `{ dtype: "float32", shape: ["batch", 4] }`. */
function specLiteral(spec: { dtype: string; shape: (number | string)[] }): string {
  return `{ dtype: ${JSON.stringify(spec.dtype)}, shape: [${spec.shape.map((d) => JSON.stringify(d)).join(", ")}] }`;
}

/** The TypeScript type a model sees for a field. */
function tsType(f: GeneratedFile, field: DescField): (string | ReturnType<GeneratedFile["import"]>)[] {
  const spec = tensorSpecOf(field);
  let base: (string | ReturnType<GeneratedFile["import"]>)[];
  if (spec !== undefined) {
    base = [f.import("Tensor", "@blazerpc/tensor", true), tensorTypeText(spec).slice("Tensor".length)];
  } else if (field.fieldKind === "scalar" || (field.fieldKind === "list" && field.listKind === "scalar")) {
    base = [scalarTs(field.scalar!)];
  } else {
    throw new Error(`${field.parent.typeName}.${field.name}: unsupported field type for a model signature`);
  }
  return field.fieldKind === "list" ? [...base, "[]"] : base;
}

function scalarTs(t: ScalarType): string {
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
      return "bigint";
    default:
      return "number";
  }
}

function decodeExpr(f: GeneratedFile, field: DescField, access: string): (string | ReturnType<GeneratedFile["import"]>)[] {
  const spec = tensorSpecOf(field);
  if (spec === undefined) return [access];
  const fromTensorProto = f.import("fromTensorProto", "@blazerpc/tensor");
  const Tensor = f.import("Tensor", "@blazerpc/tensor", true);
  const specText = specLiteral(spec);
  const cast = [" as ", Tensor, tensorTypeText(spec).slice("Tensor".length)];
  if (field.fieldKind === "list") {
    return [access, ".map((t, i) => ", fromTensorProto, `(t, ${specText}, \`${field.name}[\${i}]\`)`, ...cast, ")"];
  }
  return [fromTensorProto, `(${access}, ${specText}, ${JSON.stringify(field.name)})`, ...cast];
}

function encodeExpr(f: GeneratedFile, field: DescField, access: string): (string | ReturnType<GeneratedFile["import"]>)[] {
  const spec = tensorSpecOf(field);
  if (spec === undefined) return [access];
  const toTensorProto = f.import("toTensorProto", "@blazerpc/tensor");
  const specText = specLiteral(spec);
  if (field.fieldKind === "list") {
    return [access, ".map((t, i) => ", toTensorProto, `(t, ${specText}, \`${field.name}[\${i}]\`))`];
  }
  return [toTensorProto, `(${access}, ${specText}, ${JSON.stringify(field.name)})`];
}

function safeProperty(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

