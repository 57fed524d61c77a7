// @blazerpc/tensor runs in browsers (generated clients use it): no Node built-ins, no
// Node globals. Its tsconfig compiles it with "types": [] so Node's types are not even
// visible; this test also catches what types cannot (a require, a global reached by name).
import * as fs from "node:fs";
import * as path from "node:path";

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".spec.ts") ? [p] : [];
  });
}

describe("@blazerpc/tensor is browser-safe", () => {
  const files = sources(__dirname);

  it("has sources to check", () => {
    expect(files.map((f) => path.relative(__dirname, f))).toEqual(
      expect.arrayContaining(["convert.ts", "dtype.ts", "index.ts"]),
    );
  });

  it.each(files.map((f) => [path.relative(__dirname, f), f]))(
    "%s imports no Node built-in and uses no Node global",
    (_name, file) => {
      const text = fs.readFileSync(file, "utf8").replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, "");
      expect(text).not.toMatch(
        /from\s+["']node:|require\(["'](node:)?(fs|path|os|crypto|buffer|stream|http2?|net|child_process)["']\)/,
      );
      expect(text).not.toMatch(/\b(Buffer|process|__dirname|__filename|global)\b\s*[.(]/);
    },
  );

  it("its tsconfig compiles it without Node types", () => {
    const tsconfig = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "tsconfig.json"), "utf8")) as {
      compilerOptions: { types: string[] };
    };
    expect(tsconfig.compilerOptions.types).toEqual([]);
  });
});
