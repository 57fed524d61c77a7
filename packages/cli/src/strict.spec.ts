// The command line refuses what it does not understand before doing anything: an unknown
// flag or a bad value exits 1 with the message (and a "did you mean" for flags users of
// other tools type), and nothing is written, generated or served.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "./cli.js";
import { hintsFor } from "./hints.js";

const repo = path.resolve(__dirname, "..", "..", "..");
const blazeBin = path.join(repo, "packages", "cli", "bin", "blaze.js");

async function blaze(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  const error = jest.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  const write = jest
    .spyOn(process.stdout, "write")
    .mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

describe("unknown flags and bad values", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-strict-"));
    fs.writeFileSync(path.join(dir, "models.ts"), "export const app = 1;\n");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("blaze proto --output-dir: exit 1, points to --out, writes nothing", async () => {
    const r = await blaze("proto", path.join(dir, "models.ts"), "--output-dir", path.join(dir, "out"));
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toContain("blaze: Unknown arguments: output-dir, outputDir");
    expect(r.err).toContain("did you mean --out?");
    expect(fs.readdirSync(dir)).toEqual(["models.ts"]);
  });

  it("blaze serve --reload --processes 4: exit 1 with what to use instead, and no server", async () => {
    const r = await blaze("serve", path.join(dir, "models.ts"), "--reload", "--processes", "4", "--port", "0");
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/^blaze: Unknown arguments: reload, processes$/m);
    expect(r.err).toContain("did you mean `blaze dev <entry>`");
    expect(r.err).toContain("did you mean --workers N (or auto)?");
    expect(r.err).toContain("`blaze serve --help` lists the options");
    expect(fs.readdirSync(dir)).toEqual(["models.ts"]);
  });

  it("blaze dev --reload / --workers: exit 1, the same hints, nothing watched or served", async () => {
    const r = await blaze("dev", path.join(dir, "models.ts"), "--reload", "--workers", "2");
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/^blaze: Unknown arguments: reload, workers$/m);
    expect(r.err).toContain("`blaze dev` always watches and reloads: leave the flag out");
    expect(r.err).toContain(
      "`blaze dev` serves one process (it restarts it on every change): `blaze serve --workers N` runs several",
    );
    expect(r.err).toContain("`blaze dev --help` lists the options");
    expect(fs.readdirSync(dir)).toEqual(["models.ts"]);
  });

  it("a bad value exits 1 naming the flag, before anything runs", async () => {
    const r = await blaze("serve", path.join(dir, "models.ts"), "--port", "http");
    expect(r.code).toBe(1);
    expect(r.err).toBe('blaze: --port must be an integer from 0 to 65535, got "http"');
    expect(fs.readdirSync(dir)).toEqual(["models.ts"]);
  });

  it("blaze init with an unknown template: exit 1, the choices, no folder", async () => {
    const r = await blaze("init", path.join(dir, "svc"), "--template", "vue");
    expect(r.code).toBe(1);
    expect(r.err).toContain('Argument: template, Given: "vue", Choices: "model", "web", "onnx", "service"');
    expect(fs.readdirSync(dir)).toEqual(["models.ts"]);
  });

  it("blaze init scaffolds the template it is given, without asking when there is no terminal", async () => {
    const r = await blaze("init", path.join(dir, "svc"), "--template", "onnx", "--yes");
    expect(r.code).toBe(0);
    expect(r.out).toContain('Scaffolded svc (template "onnx")');
    expect(fs.existsSync(path.join(dir, "svc", "models", "classifier.onnx"))).toBe(true);
    expect(fs.readFileSync(path.join(dir, "svc", "package.json"), "utf8")).toContain('"name": "svc"');
  });

  it("a misspelt command gets a suggestion", async () => {
    const r = await blaze("sreve", "models.ts");
    expect(r.code).toBe(1);
    expect(r.err).toContain("Did you mean serve?");
  });

  it("as a process: exit status 1 and the server never starts (--workers that is not a count)", () => {
    const r = spawnSync(
      process.execPath,
      [blazeBin, "serve", path.join(dir, "models.ts"), "--workers", "many", "--port", "0"],
      { encoding: "utf8", timeout: 20_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('blaze: --workers must be an integer ≥ 1 or "auto", got "many"');
  });
});

describe("hintsFor", () => {
  it("answers per command, and nothing for a message that is not about unknown flags", () => {
    expect(hintsFor("Unknown arguments: output-dir, outputDir", ["generate", "m.ts", "--output-dir", "x"])).toEqual([
      "did you mean --proto (the schema folder) or --gen (the generated code folder)?",
    ]);
    expect(hintsFor("Unknown argument: watch", ["generate", "m.ts", "--watch"])).toEqual([
      "did you mean `blaze dev <entry>`? It serves the same way, watches the entry and what it imports, and on a change regenerates, type-checks and restarts on the same port",
    ]);
    expect(hintsFor("Unknown argument: frobnicate", ["serve", "m.ts", "--frobnicate"])).toEqual([]);
    expect(hintsFor("Not enough non-option arguments", ["serve"])).toEqual([]);
  });
});
