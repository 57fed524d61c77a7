import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { resolveSettings, serverOptionsFromEnv, serverOptionsFromSettings, SETTINGS } from "./settings.js";

describe("resolveSettings", () => {
  it("takes each option from its flag, else its BLAZE_* variable, else its default", () => {
    const env = {
      BLAZE_PORT: "8080",
      BLAZE_HOST: "0.0.0.0",
      BLAZE_CORS_ORIGINS: "https://a.example, https://b.example",
      BLAZE_METRICS: "false",
      BLAZE_MAX_MESSAGE_BYTES: "1024",
    };
    const o = resolveSettings({ host: "127.0.0.2" }, env);
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
    expect(resolveSettings({ metrics: true, port: "0" }, env)).toMatchObject({ metrics: true, port: 0 });
    expect(resolveSettings({}, {})).toMatchObject({
      host: "127.0.0.1",
      port: 50051,
      maxMessageBytes: 67108864,
      docs: true,
    });
  });

  it("refuses values that are not valid, naming the flag or the variable", () => {
    expect(() => resolveSettings({ port: "http" }, {})).toThrow(
      '--port must be an integer from 0 to 65535, got "http"',
    );
    expect(() => resolveSettings({}, { BLAZE_PORT: "70000" })).toThrow(
      'BLAZE_PORT must be an integer from 0 to 65535, got "70000"',
    );
    expect(() => resolveSettings({}, { BLAZE_SHUTDOWN_GRACE_MS: "-1" })).toThrow(
      "BLAZE_SHUTDOWN_GRACE_MS must be an integer ≥ 0",
    );
    expect(() => resolveSettings({}, { BLAZE_LOG_REQUESTS: "maybe" })).toThrow(
      'BLAZE_LOG_REQUESTS must be true or false, got "maybe"',
    );
  });

  it("documents every setting in docs/operations.md, with its variable and default", () => {
    const doc = fs.readFileSync(path.resolve(__dirname, "../../../../docs/operations.md"), "utf8");
    for (const o of SETTINGS) {
      expect({ flag: o.flag, documented: new RegExp(`\\| \`--${o.flag}\` \\| \`${o.env}\` \\|`).test(doc) }).toEqual({
        flag: o.flag,
        documented: true,
      });
    }
  });
});

describe("serverOptionsFromEnv / serverOptionsFromSettings", () => {
  it("maps each BLAZE_* variable onto the server option it sets, and leaves the rest at their defaults", () => {
    const o = serverOptionsFromEnv({
      BLAZE_DRAIN_DELAY_MS: "6000",
      BLAZE_SHUTDOWN_GRACE_MS: "20000",
      BLAZE_METRICS: "false",
      BLAZE_LOG_REQUESTS: "true",
      BLAZE_MAX_MESSAGE_BYTES: "1024",
      BLAZE_OIP: "false",
      BLAZE_CORS_ORIGINS: "https://a.example",
      BLAZE_AUTH_TOKENS: "t1,t2",
    });
    expect(o).toMatchObject({
      drainDelayMs: 6000,
      closeGraceMs: 20000,
      prometheus: false,
      log: true,
      readMaxBytes: 1024,
      oip: false,
      cors: { origins: ["https://a.example"] },
      auth: { tokens: ["t1", "t2"], exempt: ["health"] },
      host: "127.0.0.1",
      port: 50051,
      docs: true,
    });
    expect(o.tls).toBeUndefined();
    expect(serverOptionsFromEnv({})).not.toHaveProperty("auth");
  });

  it("reads the files a setting names, and refuses what cannot be used, naming it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "settings-"));
    try {
      fs.writeFileSync(path.join(dir, "tokens"), "# ops\nalpha\n\nbeta\n");
      fs.writeFileSync(path.join(dir, "empty"), "# none\n");
      expect(serverOptionsFromSettings({ authTokenFile: path.join(dir, "tokens") }).auth?.tokens).toEqual([
        "alpha",
        "beta",
      ]);
      expect(() => serverOptionsFromSettings({ authTokenFile: path.join(dir, "empty") })).toThrow(
        /--auth-token-file .*empty holds no token/,
      );
      expect(() => serverOptionsFromSettings({ tlsCert: path.join(dir, "tokens") })).toThrow(
        "TLS needs both --tls-cert and --tls-key",
      );
      expect(() => serverOptionsFromEnv({ BLAZE_DRAIN_DELAY_MS: "soon" })).toThrow(
        'BLAZE_DRAIN_DELAY_MS must be an integer ≥ 0, got "soon"',
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
