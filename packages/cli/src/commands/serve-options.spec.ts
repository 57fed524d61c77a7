import * as fs from "node:fs";
import * as path from "node:path";
import { resolveServeOptions, SERVE_OPTIONS } from "./serve-options.js";

describe("resolveServeOptions", () => {
  it("takes each option from its flag, else its BLAZE_* variable, else its default", () => {
    const env = {
      BLAZE_PORT: "8080",
      BLAZE_HOST: "0.0.0.0",
      BLAZE_CORS_ORIGINS: "https://a.example, https://b.example",
      BLAZE_METRICS: "false",
      BLAZE_MAX_MESSAGE_BYTES: "1024",
    };
    const o = resolveServeOptions({ host: "127.0.0.2" }, env);
    expect(o).toMatchObject({
      host: "127.0.0.2",
      port: 8080,
      corsOrigins: ["https://a.example", "https://b.example"],
      metrics: false,
      maxMessageBytes: 1024,
      shutdownGraceMs: 5000,
      authExempt: ["health"],
      logRequests: false,
    });
    expect(resolveServeOptions({ metrics: true, port: "0" }, env)).toMatchObject({ metrics: true, port: 0 });
    expect(resolveServeOptions({}, {})).toMatchObject({
      host: "127.0.0.1",
      port: 50051,
      maxMessageBytes: 67108864,
      docs: true,
    });
  });

  it("refuses values that are not valid, naming the flag or the variable", () => {
    expect(() => resolveServeOptions({ port: "http" }, {})).toThrow(
      '--port must be an integer from 0 to 65535, got "http"',
    );
    expect(() => resolveServeOptions({}, { BLAZE_PORT: "70000" })).toThrow(
      'BLAZE_PORT must be an integer from 0 to 65535, got "70000"',
    );
    expect(() => resolveServeOptions({}, { BLAZE_SHUTDOWN_GRACE_MS: "-1" })).toThrow(
      "BLAZE_SHUTDOWN_GRACE_MS must be an integer ≥ 0",
    );
    expect(() => resolveServeOptions({}, { BLAZE_LOG_REQUESTS: "maybe" })).toThrow(
      'BLAZE_LOG_REQUESTS must be true or false, got "maybe"',
    );
  });

  it("documents every option in docs/operations.md, with its variable and default", () => {
    const doc = fs.readFileSync(path.resolve(__dirname, "../../../../docs/operations.md"), "utf8");
    for (const o of SERVE_OPTIONS) {
      expect({ flag: o.flag, documented: new RegExp(`\\| \`--${o.flag}\` \\| \`${o.env}\` \\|`).test(doc) }).toEqual({
        flag: o.flag,
        documented: true,
      });
    }
  });
});
