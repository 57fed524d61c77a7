import * as fs from "node:fs";
import * as path from "node:path";

/** A project template: a plain folder under `templates/`. */
export interface TemplateInfo {
  readonly name: TemplateName;
  /** One line, as the prompt and `--help` show it. */
  readonly description: string;
}

export type TemplateName = "model" | "web" | "onnx" | "service";

/** The templates, the default first. */
export const TEMPLATES: readonly TemplateInfo[] = [
  { name: "model", description: "a batched tensor model and a streaming model, served on one port (default)" },
  {
    name: "web",
    description: "the model server plus a Vite page calling it with the generated typed client (Connect, gRPC-Web)",
  },
  {
    name: "onnx",
    description: "an ONNX model (a small MLP classifier) loaded with app.loader and served with batching",
  },
  {
    name: "service",
    description: "code-first RPCs and an HTTP route over one state, with start/stop hooks and health from your code",
  },
];

export const DEFAULT_TEMPLATE: TemplateName = "model";

/** Whether `name` is one of {@link TEMPLATES}. */
export function isTemplateName(name: string): name is TemplateName {
  return TEMPLATES.some((t) => t.name === name);
}

/**
 * The folder holding the templates: the package's own `templates/` (a published package,
 * copied there by `pnpm pack`), else, in the BlazeRPC repository, the root `templates/`.
 */
export function templatesDir(): string {
  const pkg = path.resolve(__dirname, "..");
  const own = path.join(pkg, "templates");
  if (fs.existsSync(path.join(own, DEFAULT_TEMPLATE))) return own;
  const repo = path.resolve(pkg, "..", "..");
  if (
    fs.existsSync(path.join(repo, "pnpm-workspace.yaml")) &&
    fs.existsSync(path.join(repo, "templates", DEFAULT_TEMPLATE))
  ) {
    return path.join(repo, "templates");
  }
  throw new Error(`create-blazerpc: its templates are missing (looked in ${own})`);
}

/** The version of this package: the version of @blazerpc/* a new project depends on. */
export function ownVersion(): string {
  return (JSON.parse(fs.readFileSync(path.resolve(__dirname, "..", "package.json"), "utf8")) as { version: string })
    .version;
}
