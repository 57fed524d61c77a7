import * as fs from "node:fs";
import * as path from "node:path";
import {
  DEFAULT_TEMPLATE,
  isTemplateName,
  ownVersion,
  TEMPLATES,
  templatesDir,
  type TemplateName,
} from "./templates.js";

/** Options of {@link scaffold}. */
export interface ScaffoldOptions {
  /** Where the project goes; created when missing. */
  dir: string;
  /** Default `model`. */
  template?: string;
  /** The package name; default: the folder's name, made a valid npm name. */
  packageName?: string;
  /** Empty a folder that is not empty (keeping `.git`) instead of refusing. */
  overwrite?: boolean;
  /** The version of `@blazerpc/*` the project depends on; default: this package's own. */
  version?: string;
}

/** What {@link scaffold} wrote. */
export interface ScaffoldResult {
  /** Absolute path of the project. */
  readonly dir: string;
  readonly template: TemplateName;
  readonly packageName: string;
  /** The files written, relative to `dir`, sorted. */
  readonly files: readonly string[];
}

/** Template files whose names npm or git would not keep as they are. */
const RENAMES: Readonly<Record<string, string>> = {
  _gitignore: ".gitignore",
  _npmrc: ".npmrc",
  _dockerignore: ".dockerignore",
};
/**
 * What every project gets besides its template (`templates/_deploy/`): the Dockerfile and
 * the Kubernetes manifests. A template's own file of the same name wins.
 */
const DEPLOY = "_deploy";
/** The name the deploy files give the app, replaced by the project's (a DNS label). */
const DEPLOY_NAME = "blazerpc-app";
/** Never copied, should a template folder hold them (an install or a build run inside it). */
const SKIP = new Set(["node_modules", "dist", "gen", "proto", "package-lock.json"]);

/**
 * Copies a template into `dir` (create-vite's way: a plain folder, a few renames, the
 * package name set), after checking everything it can first, so that a refused call
 * writes nothing.
 *
 * @example
 * scaffold({ dir: "my-service", template: "web" });
 * // my-service/{package.json, models.ts, server.ts, web/, test/, README.md, .gitignore, ...}
 */
export function scaffold(options: ScaffoldOptions): ScaffoldResult {
  const { template = DEFAULT_TEMPLATE, overwrite = false, version = ownVersion() } = options;
  if (!isTemplateName(template)) {
    throw new Error(`unknown template "${template}" — choose one of: ${TEMPLATES.map((t) => t.name).join(", ")}`);
  }
  const dir = path.resolve(options.dir);
  const packageName = options.packageName ?? toPackageName(path.basename(dir));
  if (!isValidPackageName(packageName)) {
    throw new Error(
      `"${packageName}" is not a valid npm package name (lowercase letters, digits, "-", "_", ".", optionally @scope/)`,
    );
  }
  const source = path.join(templatesDir(), template);
  if (!fs.existsSync(path.join(source, "package.json")))
    throw new Error(`the template "${template}" is missing from ${path.dirname(source)}`);
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new Error(`${options.dir} exists and is not a folder`);
    if (!isEmptyDir(dir)) {
      if (!overwrite)
        throw new Error(
          `${options.dir} is not empty — pick another folder, or pass --overwrite to remove its files first`,
        );
      emptyDir(dir);
    }
  }
  const files: string[] = [];
  const copy = (from: string, rel: string) => {
    for (const e of fs.readdirSync(from, { withFileTypes: true })) {
      if (SKIP.has(e.name)) continue;
      const name = RENAMES[e.name] ?? e.name;
      const relOut = rel === "" ? name : `${rel}/${name}`;
      const to = path.join(dir, relOut);
      if (e.isDirectory()) {
        fs.mkdirSync(to, { recursive: true });
        copy(path.join(from, e.name), relOut);
      } else if (e.isFile()) {
        fs.writeFileSync(to, rewrite(relOut, fs.readFileSync(path.join(from, e.name)), { packageName, version }));
        if (!files.includes(relOut)) files.push(relOut);
      }
    }
  };
  const templatePackageName = (
    JSON.parse(fs.readFileSync(path.join(source, "package.json"), "utf8")) as { name: string }
  ).name;
  fs.mkdirSync(dir, { recursive: true });
  const deploy = path.join(path.dirname(source), DEPLOY);
  if (fs.existsSync(deploy)) copy(deploy, "");
  copy(source, "");
  // The README names the project by its package name.
  const readme = path.join(dir, "README.md");
  if (fs.existsSync(readme))
    fs.writeFileSync(readme, fs.readFileSync(readme, "utf8").split(templatePackageName).join(packageName));
  return { dir, template, packageName, files: files.sort() };
}

/**
 * package.json gets the project's name and this release's `@blazerpc/*` versions; the
 * Dockerfile and the Kubernetes manifests name the app after the project; other files are
 * copied as they are.
 */
function rewrite(rel: string, content: Buffer, p: { packageName: string; version: string }): Buffer | string {
  if (rel === "Dockerfile" || rel.startsWith("k8s/"))
    return content.toString("utf8").split(DEPLOY_NAME).join(toDnsLabel(p.packageName));
  if (rel !== "package.json") return content;
  const pkg = JSON.parse(content.toString("utf8")) as Record<string, unknown>;
  pkg.name = p.packageName;
  for (const key of ["dependencies", "devDependencies"]) {
    const deps = pkg[key] as Record<string, string> | undefined;
    if (deps === undefined) continue;
    for (const dep of Object.keys(deps)) {
      if (dep.startsWith("@blazerpc/") || dep === "create-blazerpc") deps[dep] = `^${p.version}`;
    }
  }
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/** True for a folder with nothing in it but possibly `.git`. */
export function isEmptyDir(dir: string): boolean {
  return fs.readdirSync(dir).every((f) => f === ".git");
}

function emptyDir(dir: string): void {
  for (const f of fs.readdirSync(dir)) {
    if (f !== ".git") fs.rmSync(path.join(dir, f), { recursive: true, force: true });
  }
}

/** npm's rules for a new package's name (the ones that matter here). */
export function isValidPackageName(name: string): boolean {
  return name.length <= 214 && /^(?:@[a-z\d\-*~][a-z\d\-*._~]*\/)?[a-z\d\-~][a-z\d\-._~]*$/.test(name);
}

/**
 * A folder's name as a package name: `My Service` → `my-service`.
 *
 * @example
 * toPackageName("My Service") // "my-service"
 */
export function toPackageName(dirName: string): string {
  const name = dirName
    .trim()
    .toLowerCase()
    .replace(/\s+/g, "-")
    .replace(/^[._]+/, "")
    .replace(/[^a-z\d\-~._]+/g, "-");
  return name === "" ? "blazerpc-service" : name;
}

/**
 * A package name as a Kubernetes object name (an RFC 1123 DNS label): `@acme/My_Service` →
 * `acme-my-service`.
 *
 * @example
 * toDnsLabel("@acme/iris.v2") // "acme-iris-v2"
 */
export function toDnsLabel(packageName: string): string {
  const label = packageName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return label === "" ? "blazerpc-service" : label;
}
