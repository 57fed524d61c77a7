// Scaffolding as `npm create blazerpc` and `blaze init` do it: the files a template gives,
// the renames, the package name and versions, refusals that write nothing, prompts only in
// a terminal. (The generated projects' own tests run through a real registry:
// test/registry/templates.spec.ts.)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { createProject, main, scaffold, TEMPLATES, toDnsLabel, toPackageName } from "./index.js";

const repo = path.resolve(__dirname, "..", "..", "..");
let tmp: string;
beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "create-blazerpc-"))));
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const readJson = (p: string) => JSON.parse(fs.readFileSync(p, "utf8")) as Record<string, Record<string, string>>;

/** Captures what console.log / console.error print while `fn` runs. */
async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  const error = jest.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  const write = jest
    .spyOn(process.stdout, "write")
    .mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  try {
    return { code: await fn(), out: out.join("\n"), err: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

describe("scaffold", () => {
  it.each(TEMPLATES.map((t) => t.name))(
    "%s: a standalone project with the scripts, README and .gitignore, named after its folder",
    (template) => {
      const dir = path.join(tmp, "My Service");
      const r = scaffold({ dir, template, version: "1.2.3" });
      expect(r.packageName).toBe("my-service");
      expect(r.files).toEqual(
        expect.arrayContaining([
          ".gitignore",
          "README.md",
          "package.json",
          "tsconfig.json",
          "buf.gen.yaml",
          template === "service" ? "service.ts" : "models.ts",
          "server.ts",
          "test/service.test.ts",
        ]),
      );
      expect(r.files).not.toContain("_gitignore");
      const pkg = readJson(path.join(dir, "package.json"));
      expect(pkg.name).toBe("my-service");
      expect(Object.keys(pkg.scripts!).sort()).toEqual(
        expect.arrayContaining(["build", "dev", "generate", "start", "test"]),
      );
      // This release's packages, and every package the generated code imports, declared.
      expect(pkg.dependencies!["@blazerpc/runtime"]).toBe("^1.2.3");
      expect(pkg.devDependencies!["@blazerpc/cli"]).toBe("^1.2.3");
      for (const dep of ["@blazerpc/tensor", "@bufbuild/protobuf", "@connectrpc/connect"])
        expect(pkg.dependencies![dep]).toBeDefined();
      expect(fs.readFileSync(path.join(dir, "README.md"), "utf8")).toMatch(/^# my-service\n/);
      // Stands alone: no tsconfig extends anything outside it.
      expect(fs.readFileSync(path.join(dir, "tsconfig.json"), "utf8")).not.toContain("extends");
    },
  );

  it.each(TEMPLATES.map((t) => t.name))(
    "%s: a Dockerfile, .dockerignore and Kubernetes manifests, named after the project",
    (template) => {
      const dir = path.join(tmp, "svc");
      const r = scaffold({ dir, template, packageName: "@acme/iris_v2" });
      expect(r.files).toEqual(
        expect.arrayContaining(["Dockerfile", ".dockerignore", "k8s/service.yaml", "k8s/hpa-queue-depth.yaml"]),
      );
      expect(r.files).not.toContain("_dockerignore");
      expect(new Set(r.files).size).toBe(r.files.length);
      const dockerfile = fs.readFileSync(path.join(dir, "Dockerfile"), "utf8");
      expect(dockerfile).toMatch(/^FROM node:20-slim AS build$/m);
      expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
      expect(dockerfile).toMatch(/^USER node$/m);
      expect(dockerfile).toContain('CMD ["node", "dist/server.js"]');
      expect(dockerfile).toContain("docker build -t acme-iris-v2 .");
      // The onnx template's image carries its model file.
      expect(dockerfile.includes("COPY --from=build /app/models ./models")).toBe(template === "onnx");
      const k8s = fs.readFileSync(path.join(dir, "k8s", "service.yaml"), "utf8");
      expect(k8s).not.toContain("blazerpc-app");
      expect(k8s).toContain("name: acme-iris-v2");
    },
  );

  it("toDnsLabel: a package name as a Kubernetes object name", () => {
    expect(toDnsLabel("@acme/iris.v2")).toBe("acme-iris-v2");
    expect(toDnsLabel("My_Service")).toBe("my-service");
    expect(toDnsLabel("x".repeat(70))).toHaveLength(63);
    expect(toDnsLabel("___")).toBe("blazerpc-service");
  });

  it("web: the page, its Vite config and the browser transport are there", () => {
    const dir = path.join(tmp, "web-app");
    const r = scaffold({ dir, template: "web" });
    expect(r.files).toEqual(
      expect.arrayContaining(["index.html", "vite.config.mts", "web/main.ts", "web/api.ts", "web/tsconfig.json"]),
    );
    expect(readJson(path.join(dir, "package.json")).dependencies!["@connectrpc/connect-web"]).toBeDefined();
  });

  it("third-party versions in the templates are the ones the packages depend on (one copy of each when installed)", () => {
    const pinned: Record<string, string> = {};
    for (const p of ["runtime", "codegen", "cli", "onnx", "tensor"]) {
      const pkg = readJson(path.join(repo, "packages", p, "package.json"));
      for (const [k, v] of Object.entries({ ...pkg.dependencies })) if (!v.startsWith("workspace:")) pinned[k] = v;
    }
    for (const t of TEMPLATES) {
      const pkg = readJson(path.join(repo, "templates", t.name, "package.json"));
      for (const [k, v] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
        if (pinned[k] !== undefined)
          expect({ template: t.name, dep: k, version: v }).toEqual({ template: t.name, dep: k, version: pinned[k] });
      }
    }
  });

  it("refuses, writing nothing: an unknown template, a folder that is not empty, a bad package name", () => {
    const dir = path.join(tmp, "svc");
    expect(() => scaffold({ dir, template: "vue" })).toThrow(
      'unknown template "vue" — choose one of: model, web, onnx, service',
    );
    expect(fs.existsSync(dir)).toBe(false);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "notes.txt"), "mine");
    expect(() => scaffold({ dir })).toThrow(/is not empty — pick another folder, or pass --overwrite/);
    expect(fs.readdirSync(dir)).toEqual(["notes.txt"]);
    expect(() => scaffold({ dir: path.join(tmp, "x"), packageName: "Bad Name" })).toThrow(
      /not a valid npm package name/,
    );
    expect(fs.existsSync(path.join(tmp, "x"))).toBe(false);
  });

  it("--overwrite empties the folder first, keeping .git", () => {
    const dir = path.join(tmp, "svc");
    fs.mkdirSync(path.join(dir, ".git"), { recursive: true });
    fs.writeFileSync(path.join(dir, "old.txt"), "old");
    scaffold({ dir, overwrite: true });
    expect(fs.existsSync(path.join(dir, "old.txt"))).toBe(false);
    expect(fs.existsSync(path.join(dir, ".git"))).toBe(true);
    expect(fs.existsSync(path.join(dir, "models.ts"))).toBe(true);
  });

  it("makes a folder name a package name", () => {
    expect(toPackageName("My Service")).toBe("my-service");
    expect(toPackageName(".hidden")).toBe("hidden");
    expect(toPackageName("a+b")).toBe("a-b");
  });

  it("the ONNX template's model is the one its script builds", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { build } = require("../scripts/onnx-template-model.cjs") as { build(): { bytes: Uint8Array } };
    expect(
      Buffer.from(build().bytes).equals(
        fs.readFileSync(path.join(repo, "templates", "onnx", "models", "classifier.onnx")),
      ),
    ).toBe(true);
  });
});

describe("create-blazerpc (the command npm create runs)", () => {
  const cwd = process.cwd();
  const agent = process.env.npm_config_user_agent;
  beforeEach(() => {
    process.chdir(tmp);
    process.env.npm_config_user_agent = "npm/11.0.0 node/v20.0.0 linux x64";
  });
  afterEach(() => {
    process.chdir(cwd);
    process.env.npm_config_user_agent = agent;
  });

  it("takes every answer from flags when there is no terminal, and prints the next steps", async () => {
    const r = await capture(() => main(["app", "--template", "onnx"]));
    expect(r.code).toBe(0);
    expect(r.out).toContain('Scaffolded app (template "onnx") in app. Next:');
    expect(r.out).toContain("  cd app\n  npm install\n  npm run dev");
    expect(fs.existsSync(path.join(tmp, "app", "models", "classifier.onnx"))).toBe(true);
  });

  it("refuses an unknown flag, a second folder or an unknown template with exit 1 and writes nothing", async () => {
    for (const args of [
      ["app", "--typescript"],
      ["app", "other"],
      ["app", "-t", "vue"],
    ]) {
      const r = await capture(() => main(args));
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^create-blazerpc: /);
      expect(fs.readdirSync(tmp)).toEqual([]);
    }
  });

  it("in a terminal, asks for what the flags did not say", async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const output = new PassThrough();
    let shown = "";
    output.on("data", (d) => (shown += d));
    input.write("svc\n2\n");
    const r = await createProject({ input, output, packageManager: "pnpm" });
    expect(r.template).toBe("web");
    expect(r.dir).toBe(path.join(fs.realpathSync(tmp), "svc"));
    expect(shown).toContain("Project folder (blazerpc-service): ");
    expect(shown).toContain("1) model");
    expect(shown).toContain("  pnpm install\n  pnpm dev");
  });
});
