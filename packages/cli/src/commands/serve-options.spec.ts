import * as fs from "node:fs";
import * as path from "node:path";
import { resolveServeOptions, SERVE_OPTIONS } from "./serve-options.js";

describe("resolveServeOptions", () => {
  it("the server's settings and --proto / --gen, each from its flag, else its BLAZE_* variable", () => {
    const o = resolveServeOptions({ proto: "schema" }, { BLAZE_GEN: "out", BLAZE_PORT: "8080" });
    expect(o).toMatchObject({ proto: "schema", gen: "out", port: 8080, host: "127.0.0.1", drainDelayMs: 0 });
  });

  it("documents every option in docs/operations.md, with its variable", () => {
    const doc = fs.readFileSync(path.resolve(__dirname, "../../../../docs/operations.md"), "utf8");
    for (const o of SERVE_OPTIONS) {
      expect({ flag: o.flag, documented: new RegExp(`\\| \`--${o.flag}\` \\| \`${o.env}\` \\|`).test(doc) }).toEqual({
        flag: o.flag,
        documented: true,
      });
    }
  });
});
