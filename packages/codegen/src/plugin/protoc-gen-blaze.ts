import type { DescEnum, DescFile, DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import { createEcmaScriptPlugin, type GeneratedFile, type Printable, type Schema } from "@bufbuild/protoplugin";
import { version } from "../version.js";
import {
  clientMethodName,
  enumValues,
  isOptional,
  localName,
  modelMethods,
  SignatureEmitter,
  signatureTypes,
  tsName,
  type ModelMethod,
} from "./signature.js";

/**
 * protoc-gen-blaze: for every file with a service whose methods carry the
 * `blazerpc.v1.model` option (models, and code-first RPCs: `blazerpc.v1.call` says `rpc`),
 * emits two files next to protoc-gen-es's `_pb.ts`:
 *
 * - `<file>_client.ts` (browser-safe: imports only @bufbuild/protobuf, @connectrpc/connect,
 *   @blazerpc/tensor and the `_pb` file): the TypeScript types of the models' signatures
 *   (interfaces for messages, literal unions for enums), their conversions from and to
 *   messages, and `create<Service>Client(transport)`, a client whose methods take and
 *   return those types;
 * - `<file>_blaze.ts` (server): `<Service>Models`, the signature of each model, and
 *   `<Service>Binding`, which decodes requests into the models' arguments (tensors'
 *   dtype and shape checked) and encodes their results.
 *
 * Run by `buf generate` next to protoc-gen-es.
 */
export const protocGenBlaze = createEcmaScriptPlugin({
  name: "protoc-gen-blaze",
  version: `v${version}`,
  generateTs,
});

function generateTs(schema: Schema): void {
  for (const file of schema.files) {
    const services = file.services.filter((s) => modelMethods(s).length > 0);
    if (services.length === 0) continue;
    const methods = services.flatMap(modelMethods);
    const types = signatureTypes(file, methods);
    generateClientFile(schema.generateFile(`${file.name}_client.ts`), file, services, types);
    generateBindingFile(schema.generateFile(`${file.name}_blaze.ts`), file, services);
  }
}

/** The import path of a file's client module, relative to the output root. */
function clientModule(file: DescFile): string {
  return `./${file.name}_client.js`;
}

function generateClientFile(
  f: GeneratedFile,
  file: DescFile,
  services: readonly DescService[],
  types: { messages: DescMessage[]; enums: DescEnum[] },
): void {
  f.preamble(file);
  const emit = new SignatureEmitter(f, (name) => name);
  for (const e of types.enums) {
    generateEnumType(f, e);
    f.print();
  }
  for (const m of types.messages) {
    generateMessageType(f, emit, m);
    f.print();
  }
  for (const e of types.enums) {
    generateEnumConversions(f, e);
    f.print();
  }
  for (const m of types.messages) {
    generateMessageConversions(f, emit, m);
    f.print();
  }
  services.forEach((service, i) => {
    if (i > 0) f.print();
    generateClient(f, emit, service);
  });
}

function generateEnumType(f: GeneratedFile, e: DescEnum): void {
  const values = enumValues(e).map((v) => (typeof v.value === "string" ? JSON.stringify(v.value) : String(v.value)));
  f.print(f.jsDoc(e));
  f.print(f.export("type", localName(e)), " = ", values.length === 0 ? "never" : values.join(" | "), ";");
}

function generateMessageType(f: GeneratedFile, emit: SignatureEmitter, m: DescMessage): void {
  f.print(f.jsDoc(m));
  f.print(f.export("interface", localName(m)), " {");
  for (const field of m.fields) {
    f.print(f.jsDoc(field, "  "));
    f.print("  ", safeProperty(tsName(field)), isOptional(field) ? "?: " : ": ", ...emit.fieldType(field), ";");
  }
  f.print("}");
}

function generateEnumConversions(f: GeneratedFile, e: DescEnum): void {
  const name = localName(e);
  const values = enumValues(e);
  const show = (v: string | number) => (typeof v === "string" ? JSON.stringify(v) : String(v));
  f.print(
    f.jsDoc(
      `The model's value of a ${e.typeName} number.\n\n@throws Error naming \`path\` for the zero value (not sent) or an unknown number.`,
    ),
  );
  f.print(f.export("function", `decode${name}`), "(value: number, path: string): ", name, " {");
  f.print("  switch (value) {");
  for (const v of values) f.print("    case ", v.number, ": return ", show(v.value), "; // ", v.name);
  f.print("  }");
  f.print(
    "  throw new Error(value === 0 ? `${path}: missing: no value was sent` : `${path}: unknown value ${value} of ",
    e.typeName,
    "`);",
  );
  f.print("}");
  f.print();
  f.print(
    f.jsDoc(
      `The ${e.typeName} number of a model's value.\n\n@throws Error naming \`path\` for a value that is not one of the enum's.`,
    ),
  );
  f.print(f.export("function", `encode${name}`), "(value: ", name, ", path: string): number {");
  f.print("  switch (value) {");
  for (const v of values) f.print("    case ", show(v.value), ": return ", v.number, "; // ", v.name);
  f.print("  }");
  const allowed = values.map((v) => show(v.value)).join(", ");
  f.print(
    "  throw new Error(`${path}: ${JSON.stringify(value)} is not one of ",
    allowed.replace(/[`$\\]/g, "\\$&"),
    "`);",
  );
  f.print("}");
}

function generateMessageConversions(f: GeneratedFile, emit: SignatureEmitter, m: DescMessage): void {
  const name = localName(m);
  const shape = f.importShape(m);
  const schema = f.importSchema(m, true);
  const base = [{ expr: "path" }];

  const decoded = m.fields.map((field) => ({ field, built: emit.decodeField(field, "v", base) }));
  const decodeUsesPath = decoded.some((d) => d.built.usesPath);
  f.print(
    f.jsDoc(`A ${m.typeName} message as the model's value; an absent message (undefined) as the message's defaults.`),
  );
  f.print(
    f.export("function", `decode${name}`),
    "(m: ",
    shape,
    " | undefined, ",
    decodeUsesPath ? "path" : "_path",
    ": string): ",
    name,
    " {",
  );
  if (m.fields.length === 0) {
    f.print("  return {};");
  } else {
    f.print("  const v = m ?? ", f.runtime.create, "(", f.importSchema(m), ");");
    f.print("  return {");
    for (const { field, built } of decoded) {
      const key = safeProperty(tsName(field));
      if (isOptional(field))
        f.print("    ...(v.", field.localName, " !== undefined ? { ", key, ": ", ...built.code, " } : {}),");
      else f.print("    ", key, ": ", ...built.code, ",");
    }
    f.print("  };");
  }
  f.print("}");
  f.print();

  const encoded = m.fields.map((field) => ({
    field,
    built: emit.encodeField(field, `v${access(tsName(field))}`, base),
  }));
  const encodeUsesPath = encoded.some((d) => d.built.usesPath);
  f.print(f.jsDoc(`A model's value as a ${m.typeName} message.`));
  f.print(
    f.export("function", `encode${name}`),
    "(v: ",
    name,
    ", ",
    encodeUsesPath ? "path" : "_path",
    ": string): ",
    f.import("MessageInitShape", "@bufbuild/protobuf", true),
    "<typeof ",
    schema,
    "> {",
  );
  f.print("  return {");
  for (const { field, built } of encoded) {
    const value = `v${access(tsName(field))}`;
    if (isOptional(field))
      f.print("    ...(", value, " !== undefined ? { ", field.localName, ": ", ...built.code, " } : {}),");
    else f.print("    ", field.localName, ": ", ...built.code, ",");
  }
  f.print("  };");
  f.print("}");
}

/** What a service serves, as its generated docs say it: `models`, `RPCs`, or `models and RPCs`. */
function served(methods: readonly ModelMethod[]): { what: string; registered: string } {
  const rpcs = methods.filter((m) => m.rpc).length;
  if (rpcs === 0) return { what: "models", registered: "app.model()" };
  if (rpcs === methods.length) return { what: "RPCs", registered: "app.rpc()" };
  return { what: "models and RPCs", registered: "app.model() and app.rpc()" };
}

function generateClient(f: GeneratedFile, emit: SignatureEmitter, service: DescService): void {
  const methods = modelMethods(service);
  const CallOptions = f.import("CallOptions", "@connectrpc/connect", true);
  const Transport = f.import("Transport", "@connectrpc/connect", true);
  const createClient = f.import("createClient", "@connectrpc/connect");
  const iface = `${service.name}Client`;
  const { what } = served(methods);
  f.print(
    f.jsDoc(`A client of ${service.name} whose methods take and return the ${what === "models" ? "models'" : `${what}'`} own types
(typed arrays in Tensors, plain objects), over any Connect transport:
\`createConnectTransport\` / \`createGrpcWebTransport\` of @connectrpc/connect-web in a browser,
or those of @connectrpc/connect-node.

@generated from service ${service.typeName}`),
  );
  f.print(f.export("interface", iface), " {");
  for (const m of methods) {
    const params = emit.parameters(m);
    const optionsName = params.some((p) => p.name === "options") ? "callOptions" : "options";
    const list: Printable[] = [];
    for (const p of params) list.push(p.name, p.optional ? "?: " : ": ", ...p.type, ", ");
    list.push(optionsName, "?: ", CallOptions);
    f.print(methodDoc(f, m.method, "  "));
    f.print(
      "  ",
      safeProperty(clientMethodName(m)),
      "(",
      ...list,
      "): ",
      m.streaming ? "AsyncIterable<" : "Promise<",
      ...emit.resultType(m),
      ">;",
    );
  }
  f.print("}");
  f.print();
  const perMethod =
    what === "models"
      ? "one method per model, named after it"
      : what === "RPCs"
        ? "one method per RPC, named after it"
        : "one method per model, named after it, and per RPC, named after its method";
  f.print(
    f.jsDoc(`Creates the ${iface} of a transport: ${perMethod}.

@example
const client = create${service.name}Client(createConnectTransport({ baseUrl: "http://127.0.0.1:50051" }));`),
  );
  f.print(f.export("function", `create${service.name}Client`), "(transport: ", Transport, "): ", iface, " {");
  f.print("  const $client = ", createClient, "(", f.importSchema(service), ", transport);");
  f.print("  return {");
  for (const m of methods) {
    const params = emit.parameters(m).map((p) => p.name);
    const args = [...params, "$options"].join(", ");
    const request = emit.encodeArguments(m, params);
    if (m.streaming) {
      f.print("    async *", safeProperty(clientMethodName(m)), "(", args, ") {");
      f.print(
        "      for await (const $res of $client.",
        m.method.localName,
        "(",
        ...request,
        ", $options)) yield ",
        ...emit.decodeResult(m, "$res"),
        ";",
      );
    } else {
      f.print("    async ", safeProperty(clientMethodName(m)), "(", args, ") {");
      f.print("      const $res = await $client.", m.method.localName, "(", ...request, ", $options);");
      f.print("      return ", ...emit.decodeResult(m, "$res"), ";");
    }
    f.print("    },");
  }
  f.print("  };");
  f.print("}");
}

function generateBindingFile(f: GeneratedFile, file: DescFile, services: readonly DescService[]): void {
  f.preamble(file);
  const emit = new SignatureEmitter(f, (name, typeOnly) => f.import(name, clientModule(file), typeOnly));
  services.forEach((service, i) => {
    if (i > 0) f.print();
    generateModels(f, emit, service);
    f.print();
    generateBinding(f, emit, service);
  });
  if (services.some((s) => modelMethods(s).some((m) => m.streaming))) {
    f.print();
    f.print("type StreamElement<T> = T extends AsyncIterable<infer E> ? E : never;");
  }
}

function generateModels(f: GeneratedFile, emit: SignatureEmitter, service: DescService): void {
  const methods = modelMethods(service);
  const { what, registered } = served(methods);
  const example = methods.find((m) => m.rpc === (what === "RPCs"))!;
  const [call, key] = example.rpc ? ["app.rpc", example.model] : ["app.model", "name"];
  f.print(
    f.jsDoc(`The signature of each ${what === "models" ? "model" : what === "RPCs" ? "RPC" : "model and RPC"} ${service.name} serves, as registered with ${registered}.
An implementation checked against it fails to compile when it no longer matches the schema:
\`${call}("${key}", (async (…) => …) satisfies ${service.name}Models["${key}"])\`.

@generated from service ${service.typeName}`),
  );
  f.print(f.export("interface", `${service.name}Models`), " {");
  for (const m of methods) {
    const params = emit.parameters(m);
    // A list-batched model takes each parameter's values for a whole batch, and answers each request.
    const batch = (t: Printable[]) => (m.listBatched ? [...t, "[]"] : t);
    const list = params.flatMap((p, i) => [i > 0 ? ", " : "", p.name, p.optional ? "?: " : ": ", ...batch(p.type)]);
    // The call context comes last, after the request's fields: the server passes it.
    if (m.context)
      list.push(
        params.length > 0 ? ", " : "",
        contextParam(params),
        ": ",
        f.import("CallContext", "@blazerpc/runtime", true),
      );
    const one = emit.resultType(m);
    const result = m.listBatched ? ["(", ...one, " | Error)[]"] : one;
    const ret = m.streaming ? ["AsyncIterable<", ...result, ">"] : ["Promise<", ...result, "> | ", ...result];
    f.print(methodDoc(f, m.method, "  "));
    f.print("  ", safeProperty(m.model), "(", ...list, "): ", ...ret, ";");
  }
  f.print("}");
}

function generateBinding(f: GeneratedFile, emit: SignatureEmitter, service: DescService): void {
  const defineModelService = f.import("defineModelService", "@blazerpc/runtime");
  const models = `${service.name}Models`;
  f.print(
    f.jsDoc(`Binds each method of ${service.name} to its registered model: pass it to the server
(\`createServer({ app, services: [${service.name}Binding] })\`).

@generated from service ${service.typeName}`),
  );
  f.print(f.export("const", `${service.name}Binding`), " = ", defineModelService, "(", f.importSchema(service), ", {");
  for (const m of modelMethods(service)) {
    const key = `${models}[${JSON.stringify(m.model)}]`;
    f.print(f.jsDoc(`@generated from rpc ${m.method.parent.typeName}.${m.method.name}`, "  "));
    f.print("  ", m.method.localName, ": {");
    f.print("    kind: ", f.string(m.streaming ? "server_streaming" : "unary"), ",");
    f.print("    model: ", f.string(m.model), ",");
    if (m.context) f.print("    context: true,");
    if (m.listBatched || m.context) {
      // List batching: typed per request (the batcher gathers the arguments into arrays, and
      // splits the results). A call context: the model's parameters less the last.
      const optional = (p: { optional: boolean }) => p.optional && !m.listBatched;
      const tuple = emit
        .parameters(m)
        .flatMap((p, i) => [
          i > 0 ? ", " : "",
          p.name,
          optional(p) ? "?: " : ": ",
          ...p.type,
          optional(p) ? " | undefined" : "",
        ]);
      f.print("    decode: (req: ", f.importShape(m.method.input), "): [", ...tuple, "] => [");
    } else {
      f.print("    decode: (req: ", f.importShape(m.method.input), `): Parameters<${key}> => [`);
    }
    for (const arg of emit.decodeArguments(m, "req")) f.print("      ", ...arg, ",");
    f.print("    ],");
    const resultType: Printable[] = m.listBatched
      ? emit.resultType(m)
      : [`${m.streaming ? "StreamElement" : "Awaited"}<ReturnType<${key}>>`];
    const encode: Printable[] = ["    encode: (result: ", ...resultType, ") => "];
    const result = emit.encodeResult(m, "result");
    if ("expr" in result) {
      f.print(...encode, ...result.expr, ",");
    } else {
      f.print(...encode, "({");
      f.print("      ", ...result.property, ",");
      f.print("    }),");
    }
    f.print("  },");
  }
  f.print("});");
}

/**
 * A method's JSDoc from its comments, less the `buf:lint:ignore` lines blaze proto writes
 * for buf (on an RPC whose messages take a type's own name), which say nothing to a reader.
 */
function methodDoc(f: GeneratedFile, method: DescMethod, indent: string): Printable {
  const doc = f.jsDoc(method, indent);
  const text = (doc as { text?: unknown }).text;
  if (typeof text !== "string" || !/^buf:lint:ignore /m.test(text)) return doc;
  return f.jsDoc(text.replace(/^buf:lint:ignore .*\n/gm, "").replace(/^\n+/, ""), indent);
}

/** The name of the call context parameter: `ctx`, unless a request field took it. */
function contextParam(params: readonly { name: string }[]): string {
  return params.some((p) => p.name === "ctx") ? "callContext" : "ctx";
}

function safeProperty(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

/** `.name`, or `["name"]` for a name that is not an identifier. */
function access(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}
