// @blazerpc/runtime's generated code (gRPC health and reflection, and the descriptor set
// with their comments) is what `buf generate` in packages/runtime gives now.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const runtime = path.resolve(__dirname, "..", "packages", "runtime");
const buf = path.join(path.dirname(require.resolve("@bufbuild/buf/package.json")), "bin", "buf");

function files(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)).map((f) => path.join(e.name, f)) : [e.name]));
}

it("@blazerpc/runtime's src/gen matches buf generate (run it in packages/runtime after changing proto/)", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-runtime-gen-"));
  try {
    const r = spawnSync(buf, ["generate", "-o", out], { cwd: runtime, encoding: "utf8" });
    expect(r.stderr).toBe("");
    const generated = path.join(out, "src", "gen");
    const committed = path.join(runtime, "src", "gen");
    expect(files(generated).sort()).toEqual(files(committed).sort());
    for (const f of files(generated)) {
      expect({ f, text: fs.readFileSync(path.join(committed, f), "utf8") }).toEqual({
        f,
        text: fs.readFileSync(path.join(generated, f), "utf8"),
      });
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
