// `blaze proto`, `blaze generate` and `blaze check` as a user runs them, in-process (the
// same `main` the bin calls) on scratch projects inside examples/iris, so that
// @blazerpc/runtime resolves from its node_modules: steps and their times, the no-op run,
// field numbers kept by the lock file, and buf's lint and breaking findings.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { main } from "./cli.js";

const repo = path.resolve(__dirname, "..", "..", "..");
const iris = path.join(repo, "examples", "iris");

/** Runs `blaze <args>` in-process; resolves with the exit code and what it printed. */
async function blaze(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  const error = jest.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

function scratch(prefix: string): string {
  return fs.mkdtempSync(path.join(iris, `.tmp-cli-${prefix}-`));
}

/** Every file under `dir` with its modification time. */
function mtimes(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.statSync(p).mtimeMs;
    }
  };
  walk(dir);
  return out;
}

describe("blaze generate", () => {
  let dir: string;
  beforeAll(() => {
    dir = scratch("gen");
    fs.copyFileSync(path.join(iris, "models.ts"), path.join(dir, "models.ts"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("prints each step with its time, then is a no-op that rewrites nothing when nothing changed", async () => {
    const entry = path.join(dir, "models.ts");
    const first = await blaze("generate", entry);
    expect(first.err).toBe("");
    expect(first.code).toBe(0);
    expect(first.out).toMatch(
      /^blaze: extract {2}\S*models\.ts: app "iris", 2 model\(s\) \(ts-morph start-up \d+ ms\) \(\d+ ms\)$/m,
    );
    expect(first.out).toMatch(/^blaze: proto {4}wrote .*iris\.proto.*iris\.lock\.json.* \(\d+ ms\)$/m);
    expect(first.out).toMatch(/^blaze: generate buf generate with the built-in template → \S*gen \(\d+ ms\)$/m);
    expect(first.out).toMatch(/^blaze: app "iris": iris, generate — done in \d+ ms$/m);
    for (const f of [
      "proto/iris/v1/iris.proto",
      "proto/iris/v1/iris.lock.json",
      "gen/iris/v1/iris_pb.ts",
      "gen/iris/v1/iris_blaze.ts",
      "gen/iris/v1/iris_client.ts",
    ]) {
      expect(fs.existsSync(path.join(dir, f))).toBe(true);
    }
    // The same schema and code as the committed example's.
    expect(fs.readFileSync(path.join(dir, "proto/iris/v1/iris.proto"), "utf8")).toBe(
      fs.readFileSync(path.join(iris, "proto/iris/v1/iris.proto"), "utf8"),
    );
    expect(fs.readFileSync(path.join(dir, "gen/iris/v1/iris_client.ts"), "utf8")).toBe(
      fs.readFileSync(path.join(iris, "gen/iris/v1/iris_client.ts"), "utf8"),
    );

    const before = mtimes(dir);
    const second = await blaze("generate", entry);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/^blaze: extract {2}unchanged \(\d+ source files as last run\) \(\d+ ms\)$/m);
    expect(second.out).toMatch(/^blaze: proto {4}unchanged/m);
    expect(second.out).toMatch(/^blaze: generate unchanged/m);
    expect(second.out).toMatch(/— nothing changed in \d+ ms$/m);
    expect(mtimes(dir)).toEqual(before);
  });

  it("does the work again when a source file changes, a generated file is edited, or with --force", async () => {
    const entry = path.join(dir, "models.ts");
    fs.appendFileSync(entry, '\napp.model("shout", async (text: string): Promise<string> => text.toUpperCase());\n');
    const changed = await blaze("generate", entry);
    expect(changed.out).toMatch(/^blaze: proto {4}wrote .*iris\.proto/m);
    expect(changed.out).toMatch(/^blaze: generate buf generate/m);
    expect(fs.readFileSync(path.join(dir, "gen/iris/v1/iris_client.ts"), "utf8")).toContain(
      "  shout(text: string, options?: CallOptions): Promise<string>;",
    );

    const client = path.join(dir, "gen/iris/v1/iris_client.ts");
    const good = fs.readFileSync(client, "utf8");
    fs.writeFileSync(client, "// edited by hand\n");
    const repaired = await blaze("generate", entry);
    expect(repaired.out).toMatch(/^blaze: extract {2}unchanged/m);
    expect(repaired.out).toMatch(/^blaze: generate buf generate/m);
    expect(fs.readFileSync(client, "utf8")).toBe(good);

    const forced = await blaze("proto", entry, "--force");
    expect(forced.out).toMatch(/^blaze: extract {2}\S*models\.ts: app "iris", 3 model\(s\)/m);
    expect(forced.out).toMatch(/^blaze: proto {4}unchanged/m);
  });

  it("exits 1 with the diagnostics, and writes nothing, when a signature is unsupported", async () => {
    const bad = scratch("bad");
    try {
      fs.writeFileSync(
        path.join(bad, "models.ts"),
        'import { createApp } from "@blazerpc/runtime";\nexport const app = createApp({ name: "bad" });\napp.model("f", async (x: string | number): Promise<string> => String(x));\n',
      );
      const r = await blaze("generate", path.join(bad, "models.ts"));
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        /models\.ts:3:26 error: model "f": parameter "x" is a union of unrelated types \("string \| number"\)/,
      );
      expect(fs.readdirSync(bad)).toEqual(["models.ts"]);
    } finally {
      fs.rmSync(bad, { recursive: true, force: true });
    }
  });
});

describe("field numbers and blaze check (a git repository)", () => {
  let dir: string;
  let entry: string;
  const git = (...args: string[]) => {
    const r = spawnSync(
      "git",
      ["-c", "user.name=blaze", "-c", "user.email=blaze@example.com", "-c", "commit.gpgsign=false", ...args],
      { cwd: dir, encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  };
  const proto = () => fs.readFileSync(path.join(dir, "proto/evolve/v1/evolve.proto"), "utf8");
  const request = () => /message PredictGenerateRequest \{\n([^}]*)\}/.exec(proto())![1]!;
  const writeModels = (params: string) =>
    fs.writeFileSync(
      entry,
      `import { createApp } from "@blazerpc/runtime";\nexport const app = createApp({ name: "evolve" });\n\n/** Generates text. */\napp.model("generate", async (${params}): Promise<string> => "");\n`,
    );

  beforeAll(() => {
    dir = scratch("check");
    entry = path.join(dir, "models.ts");
    git("init", "-q", ".");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("checks a new schema: lint passes, nothing to compare with yet", async () => {
    writeModels("prompt: string, maxTokens: number, temperature: number");
    const r = await blaze("check", entry);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^blaze: lint {5}ok \(buf lint, STANDARD rules, \S*proto\)$/m);
    expect(r.out).toMatch(/^blaze: breaking skipped — .* has no commit yet to compare with$/m);
    expect(request()).toBe("  string prompt = 1;\n  double max_tokens = 2;\n  double temperature = 3;\n");
    git("add", "-A");
    git("commit", "-qm", "v1");
  });

  it("keeps every field number when the parameters are reordered, and buf breaking agrees", async () => {
    writeModels("temperature: number, prompt: string, maxTokens: number");
    const r = await blaze("check", entry);
    expect(r.code).toBe(0);
    expect(request()).toBe("  double temperature = 3;\n  string prompt = 1;\n  double max_tokens = 2;\n");
    expect(r.out).toMatch(/^blaze: breaking ok \(buf breaking, FILE rules, against HEAD\)$/m);
    git("commit", "-qam", "reordered");
  });

  it("reserves a removed parameter's number and name, and fails with buf's breaking-change report", async () => {
    writeModels("temperature: number, prompt: string");
    const r = await blaze("check", entry);
    expect(r.code).toBe(1);
    expect(request()).toBe(
      '  double temperature = 3;\n  string prompt = 1;\n  reserved 2;\n  reserved "max_tokens";\n',
    );
    expect(r.out).toContain(
      "blaze: breaking proto/ breaks clients of the schema at HEAD (buf breaking, FILE rules):".replace(
        "proto/",
        `${path.relative(process.cwd(), path.join(dir, "proto"))}/`,
      ),
    );
    expect(r.out).toContain("  evolve/v1/evolve.proto:");
    expect(r.out).toMatch(
      /Previously present field "2" with name "max_tokens" on message "PredictGenerateRequest" was deleted\./,
    );
    expect(r.err).toBe("blaze: check failed — breaking changes (see above)");
    const lock = JSON.parse(fs.readFileSync(path.join(dir, "proto/evolve/v1/evolve.lock.json"), "utf8")) as {
      messages: Record<string, unknown>;
    };
    expect(lock.messages.PredictGenerateRequest).toEqual({
      fields: { prompt: 1, temperature: 3 },
      reserved: { max_tokens: 2 },
    });
  });

  it("compares with any ref (--against), and fails on lint findings too", async () => {
    const older = await blaze("check", entry, "--against", "HEAD~1");
    expect(older.code).toBe(1);
    expect(older.out).toMatch(/against HEAD~1|schema at HEAD~1/);
    fs.mkdirSync(path.join(dir, "proto/extra/v1"), { recursive: true });
    fs.writeFileSync(
      path.join(dir, "proto/extra/v1/extra.proto"),
      'syntax = "proto3";\npackage extra.v1;\nmessage Thing { string badName = 1; }\n',
    );
    writeModels("temperature: number, prompt: string, maxTokens: number");
    const lint = await blaze("check", entry);
    expect(lint.code).toBe(1);
    expect(lint.out).toMatch(
      /blaze: lint {5}buf lint found problems in .*proto\/:\n {2}extra\/v1\/extra\.proto:3:\d+:Field name "badName" should be lower_snake_case/,
    );
    expect(lint.err).toBe("blaze: check failed — lint (see above)");
    // The parameter added back under its old name gets its old number back.
    expect(request()).toBe("  double temperature = 3;\n  string prompt = 1;\n  double max_tokens = 2;\n");
    const bad = await blaze("check", entry, "--against", "no-such-ref");
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^blaze: --against no-such-ref: not a commit, branch or tag of /);
  });
});
