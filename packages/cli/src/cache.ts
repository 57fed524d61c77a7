import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * What `blaze proto` / `blaze generate` remember of their last run of one project, so that a
 * run with nothing changed is a fast no-op: no ts-morph, no `buf generate`, nothing
 * rewritten. Kept in `node_modules/.cache/blazerpc/` (like other tools' caches), never
 * committed; deleting it only makes the next run do the work again.
 */
export interface Manifest {
  readonly version: 1;
  /** The settings the outputs were made with (tool versions, folders, template). */
  readonly key: string;
  /** The app's name, from the last extract. */
  readonly app: string;
  /** The model names, for the summary line. */
  readonly models: readonly string[];
  /** Every source file the last extract read (absolute path → content hash). */
  readonly sources: Readonly<Record<string, string>>;
  /** The schema files written (absolute path → content hash). */
  readonly proto: Readonly<Record<string, string>>;
  /** What the generated code was made from (hash of the schema files, the template and the plugins), if it was. */
  readonly genInput?: string;
  /** The schema the generated code was made from (hash of the schema files alone). */
  readonly genProto?: string;
  /** The generated files (absolute path → content hash). */
  readonly gen?: Readonly<Record<string, string>>;
}

export function hashText(text: string | Buffer): string {
  return createHash("sha1").update(text).digest("hex");
}

/** The content hash of a file, or undefined when it does not exist. */
export function hashFile(file: string): string | undefined {
  try {
    return hashText(fs.readFileSync(file));
  } catch {
    return undefined;
  }
}

/** Every file hashed as recorded still has that hash. */
export function unchanged(files: Readonly<Record<string, string>> | undefined): boolean {
  if (files === undefined) return false;
  return Object.entries(files).every(([f, h]) => hashFile(f) === h);
}

/** Hashes a list of files (path → hash; missing files left out). */
export function hashFiles(files: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of [...files].sort()) {
    const h = hashFile(f);
    if (h !== undefined) out[f] = h;
  }
  return out;
}

/** Every file under `dir`, absolute, sorted; [] when it does not exist. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/**
 * A cheap stamp of an installed package's code (file sizes and times of its dist/ and
 * bin/), so that a changed generator invalidates the cache even without a version bump.
 */
export function packageStamp(packageJson: string): string {
  const dir = path.dirname(packageJson);
  const parts = [fs.readFileSync(packageJson, "utf8")];
  for (const sub of ["dist", "bin"]) {
    for (const f of listFiles(path.join(dir, sub))) {
      if (!/\.(c?js|json)$/.test(f)) continue;
      const st = fs.statSync(f);
      parts.push(`${path.relative(dir, f)}:${st.size}:${st.mtimeMs}`);
    }
  }
  return hashText(parts.join("\n"));
}

/** Where the manifest of a project lives. */
export function manifestPath(projectDir: string, id: string): string {
  let base: string | undefined;
  for (let d = projectDir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, "node_modules"))) {
      base = path.join(d, "node_modules", ".cache", "blazerpc");
      break;
    }
    if (path.dirname(d) === d) break;
  }
  return path.join(base ?? path.join(os.tmpdir(), "blazerpc-cache"), `${hashText(id).slice(0, 16)}.json`);
}

export function readManifest(file: string): Manifest | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(file, "utf8")) as Manifest;
    return m.version === 1 ? m : undefined;
  } catch {
    return undefined;
  }
}

export function writeManifest(file: string, manifest: Manifest): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(manifest)}\n`);
  } catch {
    // A cache that cannot be written only costs the next run its shortcut.
  }
}
