// `blaze dev` as a user runs it: a real process on port 0, files edited on disk, calls over
// Connect JSON (a fresh connection each, so an answer comes from whichever server the port
// hands it to). The scratch project lives inside examples/iris so that @blazerpc/runtime
// resolves from its node_modules; `tsc -b` must have run (the bin loads dist/).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";

const repo = path.resolve(__dirname, "..", "..", "..", "..");
const blaze = path.join(repo, "packages", "cli", "bin", "blaze.js");
const iris = path.join(repo, "examples", "iris");

const MODELS = `import { createApp } from "@blazerpc/runtime";
import { greeting } from "./greeting.js";

export const app = createApp({ name: "devtest" });

/** Greets someone. */
app.model("hello", async (name: string): Promise<string> => \`\${greeting}, \${name}\`);
`;

/** POST a Connect JSON call on a connection of its own; resolves with the parsed answer. */
function call(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/devtest.v1.InferenceService/PredictHello`,
      { method: "POST", agent: false, headers: { "content-type": "application/json" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as unknown }));
      },
    );
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error("no answer in 5 s")));
    req.end(JSON.stringify(body));
  });
}

/** What a process printed (stdout and stderr together), and a way to wait for a line. */
class Output {
  private text = "";
  private waiters: (() => void)[] = [];
  private exited: number | null | undefined;

  constructor(readonly child: ChildProcess) {
    const onData = (d: Buffer) => {
      this.text += d.toString();
      for (const w of this.waiters) w();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      this.exited = code;
      for (const w of this.waiters) w();
    });
  }

  /** Where the output ends now: wait for what comes after it. */
  mark(): number {
    return this.text.length;
  }

  all(): string {
    return this.text;
  }

  /** Resolves with the first match of `re` in the output after `from`; fails on exit or after `ms`. */
  waitFor(re: RegExp, from: number, ms = 30_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = re.exec(this.text.slice(from));
        if (m !== null) {
          done();
          resolve(m);
        } else if (this.exited !== undefined) {
          done();
          reject(new Error(`blaze dev exited (${this.exited}) before printing ${re}:\n${this.text}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`blaze dev did not print ${re} within ${ms} ms:\n${this.text}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
      check();
    });
  }
}

/** The pids of a process's children (Linux `ps`); undefined where ps cannot tell. */
function childPids(pid: number): number[] | undefined {
  const r = spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" });
  if (r.status === null || r.error !== undefined) return undefined;
  return r.stdout
    .split("\n")
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The start of the line blaze dev prints for a change of `file` (other files may have changed
 * with it: in this repository the workspace's own declaration files are watched too).
 */
const changed = (file: string) =>
  `^blaze: (?:\\S+, )*\\S*${file.replace(/\./g, "\\.")}(?:, \\S+)*(?: and \\d+ more files)? changed → `;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

describe("blaze dev refuses", () => {
  it("an entry that does not exist, or compiled JavaScript, with exit 1 and nothing started", () => {
    const run = (entry: string) =>
      spawnSync(process.execPath, [blaze, "dev", entry, "--port", "0"], {
        cwd: repo,
        encoding: "utf8",
        timeout: 20_000,
      });
    const missing = run("nope/models.ts");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe("blaze: entry file not found: nope/models.ts\n");
    const js = run(path.join("examples", "iris", "dist", "models.js"));
    expect(js.status).toBe(1);
    expect(js.stderr).toBe(
      "blaze: blaze dev watches a TypeScript entry (models.ts); serve compiled JavaScript with `blaze serve examples/iris/dist/models.js`\n",
    );
  });
});

describe("blaze dev", () => {
  let dir: string;
  let dev: ChildProcess | undefined;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(iris, ".tmp-dev-"));
    fs.writeFileSync(path.join(dir, "models.ts"), MODELS);
    fs.writeFileSync(path.join(dir, "greeting.ts"), 'export const greeting = "hello";\n');
  });
  afterAll(() => {
    if (dev?.exitCode === null) dev.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("restarts on the same port after an edit, regenerates after a signature change, keeps the last good server through a type error and a server that throws as it starts, and exits 0 on SIGTERM leaving no process and a free port", async () => {
    const models = path.join(dir, "models.ts");
    /** Replaces each [from, to] pair in models.ts, in one write. */
    const edit = (...pairs: [string, string][]) => {
      let text = fs.readFileSync(models, "utf8");
      for (const [from, to] of pairs) {
        expect(text).toContain(from);
        text = text.replace(from, to);
      }
      fs.writeFileSync(models, text);
    };
    dev = spawn(process.execPath, [blaze, "dev", models, "--port", "0", "--shutdown-grace-ms", "1000"], {
      cwd: repo,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out = new Output(dev);

    // Started: the banner with the port it picked, then what it watches.
    const [, url] = await out.waitFor(/serving app "devtest" on (http:\/\/127\.0\.0\.1:\d+)/, 0, 45_000);
    await out.waitFor(
      /^blaze: watching \S*models\.ts and \d+ more files it reads; ready in [\d.]+ s \(Ctrl-C stops\)$/m,
      0,
    );
    expect(await call(url!, { name: "ada" })).toEqual({ status: 200, json: { result: "hello, ada" } });

    // The model's body: restarted on the same port, the new code answers.
    let from = out.mark();
    edit(["`${greeting}, ${name}`", "`${greeting}, ${name}.`"]);
    await out.waitFor(
      new RegExp(`${changed("models.ts")}schema unchanged \\([\\d.]+ s\\), restarted in [\\d.]+ s$`, "m"),
      from,
    );
    expect(await call(url!, { name: "ada" })).toEqual({ status: 200, json: { result: "hello, ada." } });

    // A file the entry imports is watched too.
    from = out.mark();
    fs.writeFileSync(path.join(dir, "greeting.ts"), 'export const greeting = "hi";\n');
    await out.waitFor(new RegExp(`${changed("greeting.ts")}schema unchanged`, "m"), from);
    expect(await call(url!, { name: "ada" })).toEqual({ status: 200, json: { result: "hi, ada." } });

    // A new parameter: schema and code regenerated, the new field answered.
    from = out.mark();
    edit([
      "async (name: string): Promise<string> => `${greeting}, ${name}.`",
      "async (name: string, punct: string): Promise<string> => `${greeting}, ${name}${punct}`",
    ]);
    await out.waitFor(
      new RegExp(
        `${changed("models.ts")}PredictHello signature changed: regenerated proto \\+ code in [\\d.]+ s, type-checked in [\\d.]+ s, restarted in [\\d.]+ s$`,
        "m",
      ),
      from,
    );
    expect(fs.readFileSync(path.join(dir, "proto", "devtest", "v1", "devtest.proto"), "utf8")).toMatch(
      /string punct = 2;/,
    );
    expect(await call(url!, { name: "ada", punct: "!" })).toEqual({ status: 200, json: { result: "hi, ada!" } });

    // A type error: the diagnostics, compiler style, and the last good server still answers.
    from = out.mark();
    edit(["export const app", 'const count: number = "three";\n\nexport const app']);
    await out.waitFor(
      new RegExp(
        `${changed("models.ts")}1 type error; the last good server keeps answering on ${url!.replace(/\./g, "\\.")}$`,
        "m",
      ),
      from,
    );
    await out.waitFor(
      /^\S*models\.ts:4:7 error: Type 'string' is not assignable to type 'number'\. \(TS2322\)\n4 \| const count: number = "three";\n {10}\^$/m,
      from,
    );
    expect(await call(url!, { name: "ada", punct: "!" })).toEqual({ status: 200, json: { result: "hi, ada!" } });

    // Fixed: served again, the fix's behaviour too.
    from = out.mark();
    edit(
      ['const count: number = "three";', "const count = 3;"],
      ["${name}${punct}`", "${name}${punct.repeat(count)}`"],
    );
    await out.waitFor(
      new RegExp(`${changed("models.ts")}fixed: schema unchanged \\([\\d.]+ s\\), restarted in [\\d.]+ s$`, "m"),
      from,
    );
    expect(await call(url!, { name: "ada", punct: "!" })).toEqual({ status: 200, json: { result: "hi, ada!!!" } });

    // Code that type-checks but throws as it loads: why, with the user's frame, and the last
    // good server still answers.
    from = out.mark();
    edit(["export const app", 'if (count === 3) throw new Error("no models today");\n\nexport const app']);
    await out.waitFor(
      new RegExp(
        `${changed("models.ts")}schema unchanged \\([\\d.]+ s\\), but the new server did not start; the last good server keeps answering on ${url!.replace(/\./g, "\\.")}:\nno models today\n +at .*models\\.ts:6:`,
        "m",
      ),
      from,
    );
    expect(await call(url!, { name: "ada", punct: "!" })).toEqual({ status: 200, json: { result: "hi, ada!!!" } });
    from = out.mark();
    edit(['if (count === 3) throw new Error("no models today");\n\n', ""]);
    await out.waitFor(new RegExp(`${changed("models.ts")}fixed: schema unchanged`, "m"), from);

    // SIGTERM: the servers stop with it, exit 0, the port is free.
    const servers = childPids(dev.pid!);
    if (servers !== undefined) expect(servers.length).toBeGreaterThan(0);
    const exited = new Promise<number | null>((resolve) => dev!.once("exit", (code) => resolve(code)));
    dev.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(out.all()).toMatch(/^blaze: closed$/m);
    for (const pid of servers ?? []) expect(alive(pid)).toBe(false);
    expect(await portIsFree(Number(new URL(url!).port))).toBe(true);
  }, 90_000);
});
