import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { formatDiagnostic } from "../diagnostics.js";
import { createTypeCheck } from "./typecheck.js";

describe("createTypeCheck", () => {
  let dir: string;
  const write = (file: string, text: string) => fs.writeFileSync(path.join(dir, file), text);
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-typecheck-"));
    write(
      "tsconfig.json",
      JSON.stringify({
        compilerOptions: { strict: true, target: "ES2022", module: "Node16", moduleResolution: "Node16", types: [] },
      }),
    );
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reports the entry's and its imports' errors compiler style, and what changed on disk since", () => {
    write(
      "models.ts",
      'import { greeting } from "./greeting.js";\nexport const hello = (name: string): string => `${greeting}, ${name}`;\n',
    );
    write("greeting.ts", "export const greeting: string = 42;\n");
    const tc = createTypeCheck(path.join(dir, "models.ts"), { cwd: dir });

    const first = tc.check();
    expect(first.diagnostics.map(formatDiagnostic)).toEqual([
      "greeting.ts:1:14 error: Type 'number' is not assignable to type 'string'. (TS2322)\n1 | export const greeting: string = 42;\n                 ^",
    ]);
    expect(first.files).toEqual([
      path.join(dir, "greeting.ts"),
      path.join(dir, "models.ts"),
      path.join(dir, "tsconfig.json"),
    ]);

    write("greeting.ts", 'export const greeting = "hello";\n');
    expect(tc.check().diagnostics).toEqual([]);

    // A file imported since the last run is read, and checked, from then on.
    write("extra.ts", "export const n: number = 'one';\n");
    write(
      "models.ts",
      'import { greeting } from "./greeting.js";\nimport { n } from "./extra.js";\nexport const hello = (name: string): string => `${greeting}, ${name} ${n}`;\n',
    );
    const third = tc.check();
    expect(third.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}`)).toEqual(["extra.ts:1:14"]);
    expect(third.files).toContain(path.join(dir, "extra.ts"));

    write("extra.ts", "export const n = 1;\n");
    expect(tc.check().diagnostics).toEqual([]);
  });

  it("lists the entry's errors first, and follows a change of tsconfig.json", () => {
    write("models.ts", 'import "./helper.js";\nexport function f(x) { return x; }\n');
    write("helper.ts", "export const h: number = 'h';\n");
    const tc = createTypeCheck(path.join(dir, "models.ts"), { cwd: dir });
    expect(tc.check().diagnostics.map((d) => `${d.file}:${d.line} ${d.message}`)).toEqual([
      "models.ts:2 Parameter 'x' implicitly has an 'any' type. (TS7006)",
      "helper.ts:1 Type 'string' is not assignable to type 'number'. (TS2322)",
    ]);
    write(
      "tsconfig.json",
      JSON.stringify({
        compilerOptions: { strict: false, target: "ES2022", module: "Node16", moduleResolution: "Node16", types: [] },
      }),
    );
    expect(tc.check().diagnostics.map((d) => d.file)).toEqual(["helper.ts"]);
  });
});
