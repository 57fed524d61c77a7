import { clone, fromBinary, toBinary, type DescFile } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";

/**
 * Every .proto file a server's schema is made of (its services' files and everything they
 * import), as FileDescriptorProtos, indexed by file name, by the symbols they declare and
 * by the extensions they declare: what server reflection answers from, and where the
 * OpenAPI document and the docs page find comments.
 */
export interface FileIndex {
  /** File names, each after the files it imports. */
  readonly names: readonly string[];
  /** The file of that name, or undefined. */
  getFile(name: string): FileDescriptorProto | undefined;
  /** The file, serialized (cached), or undefined. */
  getSerialized(name: string): Uint8Array | undefined;
  /** The file and every file it imports, transitively: the file first, then its imports in order. */
  withDependencies(name: string): string[];
  /** The file declaring a fully-qualified symbol (package, message, field, enum, enum value, service, method, extension). */
  fileOfSymbol(symbol: string): string | undefined;
  /** The file declaring extension `number` of message type `extendee` (fully qualified). */
  fileOfExtension(extendee: string, number: number): string | undefined;
  /** Every known extension number of a message type; undefined when the type is unknown. */
  extensionNumbers(extendee: string): number[] | undefined;
  /** The leading comment of a fully-qualified element (message, field, enum, value, service, method), if the file had source info. */
  getComment(symbol: string): string | undefined;
  /** True when a file came with source info (comments). */
  hasSourceInfo(name: string): boolean;
}

/** Options of {@link createFileIndex}. */
export interface FileIndexOptions {
  /**
   * Serialized google.protobuf.FileDescriptorSets whose files carry source info (e.g.
   * `buf build -o set.binpb`), or their base64. A file in them replaces the embedded file of
   * the same name — only when both describe the same schema, so that a stale set never
   * changes what is served; files of a set that no served file imports are ignored.
   */
  sourceInfo?: readonly (Uint8Array | string)[];
}

/**
 * Builds the index of `files` and everything they import.
 *
 * @example
 * const index = createFileIndex([InferenceService.file], { sourceInfo: [fs.readFileSync("set.binpb")] });
 * index.withDependencies("iris/v1/iris.proto"); // ["iris/v1/iris.proto", "blazerpc/v1/options.proto", …]
 */
export function createFileIndex(files: readonly DescFile[], options: FileIndexOptions = {}): FileIndex {
  const byName = new Map<string, FileDescriptorProto>();
  const visiting = new Set<string>();
  const visit = (f: DescFile) => {
    const name = f.proto.name;
    if (byName.has(name) || visiting.has(name)) return;
    visiting.add(name);
    for (const d of f.dependencies) visit(d);
    byName.set(name, f.proto);
  };
  for (const f of files) visit(f);

  const withInfo = new Set<string>();
  for (const set of options.sourceInfo ?? []) {
    const bytes = typeof set === "string" ? base64Decode(set) : set;
    for (const candidate of fromBinary(FileDescriptorSetSchema, bytes).file) {
      const served = byName.get(candidate.name);
      if (served === undefined || withInfo.has(candidate.name) || candidate.sourceCodeInfo === undefined) continue;
      // A buf image's files carry buf's own extension field; clients need none of it.
      candidate.$unknown = undefined;
      if (sameSchema(served, candidate)) {
        byName.set(candidate.name, candidate);
        withInfo.add(candidate.name);
      }
    }
  }

  const symbols = new Map<string, string>();
  const extensions = new Map<string, Map<number, string>>();
  const comments = new Map<string, string>();
  for (const [name, file] of byName) {
    const pkg = file.package;
    const q = (n: string, scope = pkg) => (scope === "" ? n : `${scope}.${n}`);
    // A package and its parents are symbols too (grpcurl asks for them).
    for (let p = pkg; p !== ""; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
      if (!symbols.has(p)) symbols.set(p, name);
    }
    const locs = new Map<string, string>();
    for (const loc of file.sourceCodeInfo?.location ?? []) {
      const text = loc.leadingComments.trim() || loc.trailingComments.trim();
      if (text !== "")
        locs.set(
          loc.path.join("."),
          text
            .split("\n")
            .map((l) => l.replace(/^ /, ""))
            .join("\n"),
        );
    }
    const note = (path: number[], symbol: string) => {
      const c = locs.get(path.join("."));
      if (c !== undefined) comments.set(symbol, c);
    };
    const addExtensions = (exts: readonly { extendee: string; number: number; name: string }[], scope: string) => {
      for (const e of exts) {
        const extendee = e.extendee.replace(/^\./, "");
        let m = extensions.get(extendee);
        if (m === undefined) extensions.set(extendee, (m = new Map()));
        m.set(e.number, name);
        symbols.set(q(e.name, scope), name);
      }
    };
    const addEnum = (e: EnumDescriptorProto, scope: string, path: number[]) => {
      const full = q(e.name, scope);
      symbols.set(full, name);
      note(path, full);
      e.value.forEach((v, i) => {
        // Enum values are siblings of their enum (C++ scoping rules); the enum-qualified
        // name is accepted too.
        symbols.set(q(v.name, scope), name);
        symbols.set(`${full}.${v.name}`, name);
        note([...path, 2, i], `${full}.${v.name}`);
      });
    };
    const addMessage = (m: DescriptorProto, scope: string, path: number[]) => {
      const full = q(m.name, scope);
      symbols.set(full, name);
      note(path, full);
      m.field.forEach((f, i) => {
        symbols.set(`${full}.${f.name}`, name);
        note([...path, 2, i], `${full}.${f.name}`);
      });
      m.oneofDecl.forEach((o) => symbols.set(`${full}.${o.name}`, name));
      m.nestedType.forEach((n, i) => addMessage(n, full, [...path, 3, i]));
      m.enumType.forEach((e, i) => addEnum(e, full, [...path, 4, i]));
      addExtensions(m.extension, full);
    };
    file.messageType.forEach((m, i) => addMessage(m, pkg, [4, i]));
    file.enumType.forEach((e, i) => addEnum(e, pkg, [5, i]));
    file.service.forEach((s, i) => {
      const full = q(s.name);
      symbols.set(full, name);
      note([6, i], full);
      s.method.forEach((m, j) => {
        symbols.set(`${full}.${m.name}`, name);
        note([6, i, 2, j], `${full}.${m.name}`);
      });
    });
    addExtensions(file.extension, pkg);
  }

  const serialized = new Map<string, Uint8Array>();
  return {
    names: [...byName.keys()],
    getFile: (name) => byName.get(name),
    getSerialized(name) {
      let bytes = serialized.get(name);
      if (bytes === undefined) {
        const file = byName.get(name);
        if (file === undefined) return undefined;
        serialized.set(name, (bytes = toBinary(FileDescriptorProtoSchema, file)));
      }
      return bytes;
    },
    withDependencies(name) {
      const out: string[] = [];
      const seen = new Set<string>();
      const walk = (n: string) => {
        if (seen.has(n)) return;
        const file = byName.get(n);
        if (file === undefined) return;
        seen.add(n);
        out.push(n);
        for (const d of file.dependency) walk(d);
      };
      walk(name);
      return out;
    },
    fileOfSymbol: (symbol) => symbols.get(symbol.replace(/^\./, "")),
    fileOfExtension: (extendee, number) => extensions.get(extendee.replace(/^\./, ""))?.get(number),
    extensionNumbers(extendee) {
      const t = extendee.replace(/^\./, "");
      const m = extensions.get(t);
      if (m !== undefined) return [...m.keys()].sort((a, b) => a - b);
      return symbols.has(t) ? [] : undefined;
    },
    getComment: (symbol) => comments.get(symbol),
    hasSourceInfo: (name) => withInfo.has(name),
  };
}

/**
 * True when two descriptors of a file describe the same schema: equal once source info and
 * JSON names (which embedded descriptors leave out when they are the default) are removed.
 */
export function sameSchema(a: FileDescriptorProto, b: FileDescriptorProto): boolean {
  const strip = (f: FileDescriptorProto) => {
    const c = clone(FileDescriptorProtoSchema, f);
    c.sourceCodeInfo = undefined;
    const clearJson = (m: DescriptorProto) => {
      for (const field of m.field) field.jsonName = "";
      m.nestedType.forEach(clearJson);
    };
    c.messageType.forEach(clearJson);
    return toBinary(FileDescriptorProtoSchema, c);
  };
  const x = strip(a);
  const y = strip(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
