// Every package of packages/ is ready to publish: lockstep versions, an exports map with
// types, the files it ships, engines and a license; @blazerpc/tensor also ships ES modules
// for bundlers. (test/registry/templates.spec.ts publishes them and installs from there.)
import * as fs from "node:fs";
import * as path from "node:path";

const repo = path.resolve(__dirname, "..");
const dirs = fs
  .readdirSync(path.join(repo, "packages"))
  .filter((d) => fs.existsSync(path.join(repo, "packages", d, "package.json")));
const read = (d: string) =>
  JSON.parse(fs.readFileSync(path.join(repo, "packages", d, "package.json"), "utf8")) as Record<string, unknown>;

describe("packages/*/package.json", () => {
  it("covers the six published packages, all at one version", () => {
    expect(dirs.map((d) => read(d).name).sort()).toEqual([
      "@blazerpc/cli",
      "@blazerpc/codegen",
      "@blazerpc/onnx",
      "@blazerpc/runtime",
      "@blazerpc/tensor",
      "create-blazerpc",
    ]);
    expect(new Set(dirs.map((d) => read(d).version)).size).toBe(1);
  });

  it.each(dirs)("%s: public, exports with types, files, engines node >=20, license", (d) => {
    const pkg = read(d) as {
      private?: boolean;
      exports: Record<string, unknown>;
      files: string[];
      engines: { node: string };
      license: string;
      publishConfig?: { access: string };
    };
    expect(pkg.private).toBeUndefined();
    expect(pkg.engines).toEqual({ node: ">=20" });
    expect(pkg.license).toBe("Apache-2.0");
    expect(pkg.files).toContain("dist");
    expect(pkg.exports["./package.json"]).toBe("./package.json");
    // Every export that is not a plain file names its types, and what it names exists after tsc -b.
    const targets: string[] = [];
    const walk = (v: unknown) => {
      if (typeof v === "string") targets.push(v);
      else if (v !== null && typeof v === "object") {
        if ("default" in v && typeof (v as { default: unknown }).default === "string")
          expect((v as { types?: string }).types).toBeDefined();
        Object.values(v).forEach(walk);
      }
    };
    walk(pkg.exports["."]);
    for (const t of targets)
      expect({ target: t, exists: fs.existsSync(path.join(repo, "packages", d, t)) }).toEqual({
        target: t,
        exists: true,
      });
  });

  it("@blazerpc/tensor: Node loads the CommonJS build for import and require alike, bundlers the ES modules", () => {
    const tensor = path.join(repo, "packages", "tensor");
    const exp = (read("tensor").exports as Record<string, Record<string, { default: string }>>)["."]!;
    expect(Object.keys(exp)).toEqual(["node", "import", "default"]);
    expect(exp.node!.default).toBe("./dist/index.js");
    expect(exp.import!.default).toBe("./dist/esm/index.js");
    const esm = fs.readFileSync(path.join(tensor, "dist", "esm", "index.js"), "utf8");
    expect(esm).toMatch(/^export \{/m);
    expect(esm).not.toContain("require(");
    expect(
      fs.readFileSync(path.join(tensor, "dist", "esm", "gen", "blazerpc", "v1", "tensor_pb.js"), "utf8"),
    ).toContain('from "@bufbuild/protobuf/codegenv2"');
  });
});
