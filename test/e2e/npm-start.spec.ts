// SIGTERM to `npm start` itself — what a supervisor or a container runtime sends — stops the
// server: npm runs the script under `sh -c`, and a signal to npm ended npm and the shell but
// left the server serving as an orphan that kept the port. Tested with the repository's own
// `npm start` (blaze serve) and with a project whose start script is `node server.js` calling
// stopOnSignals, as every template's is. Real npm, real processes, loopback only.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "./support.js";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";

interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs `npm start` in `cwd` and resolves once the server printed its port. */
function npmStart(cwd: string, env: Record<string, string>, ready: RegExp, timeoutMs: number): Promise<Started> {
  const child = spawn(npm, ["start"], { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`npm start printed no port within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), output: () => out, exited });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`npm start exited before serving:\n${out}`));
    });
  });
}

/**
 * Kills every process started with `BLAZE_TEST_MARKER=<marker>` in its environment (Linux:
 * /proc): should the behaviour under test break, the orphan it leaves must not outlive the test.
 */
function killMarked(marker: string): void {
  if (!fs.existsSync("/proc")) return;
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(`BLAZE_TEST_MARKER=${marker}`)) {
        process.kill(Number(pid), "SIGKILL");
      }
    } catch {
      // Gone, or not ours to read.
    }
  }
}

/** Resolves once `text()` matches `re` (false after `ms`). */
async function printed(text: () => string, re: RegExp, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until && !re.test(text())) await new Promise((r) => setTimeout(r, 100));
  return re.test(text());
}

/** Whether something accepts connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Resolves once nothing accepts connections on the port (false when something still does after `ms`). */
async function portFreed(port: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!(await accepts(port))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !(await accepts(port));
}

describe("SIGTERM to npm start", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "blaze-npm-start-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("the repository's npm start (blaze serve): the server drains and exits, the port is freed", async () => {
    const marker = `repo-${process.pid}-${Date.now()}`;
    const s = await npmStart(
      repoRoot,
      { BLAZE_PORT: "0", BLAZE_TEST_MARKER: marker },
      /serving app "iris" on http:\/\/127\.0\.0\.1:(\d+)/,
      240_000,
    );
    try {
      expect(await accepts(s.port)).toBe(true);
      s.child.kill("SIGTERM");
      await s.exited;
      expect(await portFreed(s.port, 10_000)).toBe(true);
      expect(await printed(s.output, /blaze: closed/, 10_000)).toBe(true);
      expect(s.output()).toMatch(/blaze: parent process \d+ exited: shutting down/);
    } finally {
      s.child.kill("SIGKILL");
      killMarked(marker);
    }
  }, 300_000);

  it("a project whose start script is `node server.js` with stopOnSignals (the templates' pattern)", async () => {
    const runtime = path.join(repoRoot, "packages", "runtime", "dist", "index.js");
    fs.writeFileSync(
      path.join(dir, "server.js"),
      `const { createApp, createServer, stopOnSignals } = require(${JSON.stringify(runtime)});
const app = createApp({ name: "demo" });
const server = createServer({ app, services: [], port: 0 });
server.listen().then(() => console.log("listening on " + server.address().port));
stopOnSignals(server, { closed: "closed" });
`,
    );
    fs.writeFileSync(
      path.join(dir, "package.json"),
      JSON.stringify({ name: "demo", private: true, scripts: { start: "node server.js" } }),
    );
    const marker = `project-${process.pid}-${Date.now()}`;
    const s = await npmStart(dir, { BLAZE_TEST_MARKER: marker }, /listening on (\d+)/, 30_000);
    try {
      expect(await accepts(s.port)).toBe(true);
      s.child.kill("SIGTERM");
      await s.exited;
      expect(await portFreed(s.port, 10_000)).toBe(true);
      expect(await printed(s.output, /^closed$/m, 10_000)).toBe(true);
      expect(s.output()).toMatch(/parent process \d+ exited: shutting down/);
    } finally {
      s.child.kill("SIGKILL");
      killMarked(marker);
    }
  }, 60_000);

  it("a parent that goes away while the server is still starting is seen to have gone", async () => {
    // npm's shell, killed before the server calls stopOnSignals (a SIGTERM to `npm start`
    // right after it printed its address, on a busy machine): the server must still stop.
    const runtime = path.join(repoRoot, "packages", "runtime", "dist", "index.js");
    fs.writeFileSync(
      path.join(dir, "slow-start.js"),
      `const { createApp, createServer, stopOnSignals } = require(${JSON.stringify(runtime)});
const server = createServer({ app: createApp({ name: "demo" }), services: [], port: 0 });
console.log("loaded");
setTimeout(() => {
  console.log("starting, parent " + process.ppid);
  server.listen().then(() => console.log("listening on " + server.address().port));
  stopOnSignals(server, { closed: "closed" });
}, 1000);
`,
    );
    const marker = `slow-${process.pid}-${Date.now()}`;
    const shell = spawn("sh", ["-c", "node slow-start.js; true"], {
      cwd: dir,
      env: { ...process.env, npm_lifecycle_event: "start", BLAZE_TEST_MARKER: marker },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    shell.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    shell.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    try {
      // The server's process has loaded the runtime; its parent goes before it calls stopOnSignals.
      expect(await printed(() => out, /^loaded$/m, 20_000)).toBe(true);
      shell.kill("SIGKILL");
      expect(await printed(() => out, /starting, parent \d+/, 10_000)).toBe(true);
      expect(await printed(() => out, /parent process \d+ exited: shutting down/, 10_000)).toBe(true);
      expect(await printed(() => out, /^closed$/m, 10_000)).toBe(true);
    } finally {
      killMarked(marker);
    }
  }, 60_000);
});
