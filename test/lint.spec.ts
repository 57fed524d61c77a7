// Formatting and lint, checked by `npm test`: Prettier's check (`npm run format:check`) and
// ESLint (`npm run lint`) over the workspace, with the configs at the root (.prettierrc.json,
// .prettierignore, eslint.config.mjs). A failure names each unformatted file (fix:
// `npm run format`) and each lint message as file:line:col rule message.
//
// Both run as child processes, the two at once: each loads its code or config with import(),
// which jest's module sandbox refuses. Their caches (under node_modules/.cache, keyed by file
// content) make a second run fast; CI starts without them.
import { spawn } from "node:child_process";
import * as path from "node:path";

const repo = path.resolve(__dirname, "..");
const prettierBin = path.join(path.dirname(require.resolve("prettier/package.json")), "bin", "prettier.cjs");
const eslintBin = path.join(path.dirname(require.resolve("eslint/package.json")), "bin", "eslint.js");
const TIMEOUT = 120_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT - 5_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface EslintResult {
  filePath: string;
  messages: { ruleId: string | null; fatal?: boolean; line?: number; column?: number; message: string }[];
}

let prettier: Promise<Run>;
let eslint: Promise<Run>;

beforeAll(() => {
  prettier = run([prettierBin, "--list-different", "--cache", "--cache-strategy", "content", "."]);
  eslint = run([
    eslintBin,
    "--cache",
    "--cache-strategy",
    "content",
    "--cache-location",
    "node_modules/.cache/eslint/",
    "--format",
    "json",
    ".",
  ]);
  // Not awaited here: each test awaits its own, so one failing does not hide the other.
  prettier.catch(() => undefined);
  eslint.catch(() => undefined);
});

it(
  "every file Prettier formats is formatted (`npm run format` fixes it)",
  async () => {
    const r = await prettier;
    // 0: all formatted; 1: some are not, one path a line; 2: Prettier failed (a syntax error, a bad config).
    if (r.code !== 0 && r.code !== 1) throw new Error(`prettier exited with ${r.code}:\n${r.stderr}${r.stdout}`);
    const unformatted = r.stdout.split("\n").filter((l) => l.trim() !== "");
    expect(unformatted).toEqual([]);
    expect(r.code).toBe(0);
  },
  TIMEOUT,
);

it(
  "ESLint reports nothing (`npm run lint`)",
  async () => {
    const r = await eslint;
    // 0: no errors; 1: lint errors (in the JSON); 2: ESLint failed (a bad config, a crash).
    if (r.code !== 0 && r.code !== 1) throw new Error(`eslint exited with ${r.code}:\n${r.stderr}${r.stdout}`);
    const results = JSON.parse(r.stdout) as EslintResult[];
    const files = results.map((f) => path.relative(repo, f.filePath).split(path.sep).join("/"));
    // It linted the workspace, and no generated code.
    expect(files).toEqual(
      expect.arrayContaining([
        "packages/cli/src/cli.ts",
        "bench/run.cjs",
        "templates/web/web/main.ts",
        "test/lint.spec.ts",
      ]),
    );
    expect(files.filter((f) => /(^|\/)(gen|dist|node_modules)\//.test(f))).toEqual([]);
    const messages = results.flatMap((f, i) =>
      f.messages.map(
        (m) =>
          `${files[i]}:${m.line ?? 0}:${m.column ?? 0} ${m.ruleId ?? (m.fatal === true ? "(parse error)" : "(eslint)")} ${m.message}`,
      ),
    );
    expect(messages).toEqual([]);
    expect(r.code).toBe(0);
  },
  TIMEOUT,
);
