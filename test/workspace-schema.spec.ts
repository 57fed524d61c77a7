// The workspace's schemas, checked with buf as CI would: every proto in the root buf.yaml
// (the tensor wire format, the options, and the iris example's generated schema) passes
// buf lint STANDARD, and the tensor package's generated code is what buf generate gives now.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repo = path.resolve(__dirname, "..");
const buf = path.join(path.dirname(require.resolve("@bufbuild/buf/package.json")), "bin", "buf");

function files(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)).map((f) => path.join(e.name, f)) : [e.name]));
}

describe("workspace schemas", () => {
  it("pass buf lint (STANDARD), the iris example's generated proto included", () => {
    const ls = spawnSync(buf, ["ls-files"], { cwd: repo, encoding: "utf8" });
    expect(ls.stdout.split("\n")).toEqual(
      expect.arrayContaining([
        "examples/iris/proto/iris/v1/iris.proto",
        "packages/tensor/proto/blazerpc/v1/tensor.proto",
      ]),
    );
    const r = spawnSync(buf, ["lint"], { cwd: repo, encoding: "utf8" });
    expect({ code: r.status, out: r.stdout + r.stderr }).toEqual({ code: 0, out: "" });
  });

  it("@blazerpc/tensor's generated code matches buf generate", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-tensor-gen-"));
    try {
      const template = JSON.stringify({
        version: "v2",
        plugins: [
          {
            local: ["node", path.join(repo, "node_modules/@bufbuild/protoc-gen-es/bin/protoc-gen-es")],
            out,
            opt: ["target=ts", "import_extension=js"],
          },
        ],
      });
      const r = spawnSync(buf, ["generate", "packages/tensor/proto", "--template", template], {
        cwd: repo,
        encoding: "utf8",
      });
      expect(r.stderr).toBe("");
      const committed = path.join(repo, "packages/tensor/src/gen");
      expect(files(out).sort()).toEqual(files(committed).sort());
      for (const f of files(out)) {
        expect({ f, text: fs.readFileSync(path.join(committed, f), "utf8") }).toEqual({
          f,
          text: fs.readFileSync(path.join(out, f), "utf8"),
        });
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
