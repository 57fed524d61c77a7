import * as path from "node:path";

/** Where a project's files are, derived from its entry file and the flags. */
export interface ProjectPaths {
  /** Absolute path of the entry file. */
  readonly entry: string;
  /** The folder of the entry file: where buf.gen.yaml is looked for. */
  readonly projectDir: string;
  /** The proto folder (`--proto`, default `<entry dir>/proto`). */
  readonly protoDir: string;
  /** The generated-code folder (`--gen`, default `<entry dir>/gen`). */
  readonly genDir: string;
}

export function projectPaths(entry: string, flags: { proto?: string; gen?: string }): ProjectPaths {
  const abs = path.resolve(entry);
  const projectDir = path.dirname(abs);
  return {
    entry: abs,
    projectDir,
    protoDir: path.resolve(flags.proto ?? path.join(projectDir, "proto")),
    genDir: path.resolve(flags.gen ?? path.join(projectDir, "gen")),
  };
}

/** Splits `models.ts:app` into the file and the export name (default: undefined). */
export function splitEntry(spec: string): { file: string; exportName?: string } {
  const m = /^(.*\.[cm]?[jt]s):([A-Za-z_$][\w$]*)$/.exec(spec);
  return m === null ? { file: spec } : { file: m[1]!, exportName: m[2]! };
}

export function isTypeScript(file: string): boolean {
  return /\.[cm]?ts$/.test(file) && !file.endsWith(".d.ts");
}
