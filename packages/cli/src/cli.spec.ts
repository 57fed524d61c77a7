// The blaze command as a user runs it: a real process, a real port, real requests.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const repo = path.resolve(__dirname, "..", "..", "..");
const blaze = path.join(repo, "packages", "cli", "bin", "blaze.js");
const iris = path.join(repo, "examples", "iris");

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts `blaze serve ...` and resolves once its banner shows the URL it listens on. */
function startServe(args: string[], cwd = repo): Promise<Running> {
  const child = spawn(process.execPath, [blaze, "serve", ...args, "--port", "0"], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`blaze serve did not start in time:\n${out}`));
    }, 45_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /serving app "\w+" on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, output: () => out });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`blaze serve exited with ${code}:\n${out}`));
    });
  });
}

/** Sends SIGTERM and resolves with the exit code. */
function stop(r: Running): Promise<number | null> {
  return new Promise((resolve) => {
    r.child.removeAllListeners("exit");
    r.child.once("exit", (code) => resolve(code));
    r.child.kill("SIGTERM");
  });
}

describe("blaze serve", () => {
  it("serves a TypeScript entry, prints where it listens and each model's RPC, and exits 0 on SIGTERM", async () => {
    // File times do not count, only content: a proto newer than gen/ is not "stale".
    const now = new Date();
    fs.utimesSync(path.join(iris, "proto", "iris", "v1", "iris.proto"), now, now);
    const r = await startServe([path.join("examples", "iris", "models.ts")]);
    try {
      expect(r.output()).not.toContain("regenerated");
      const res = await fetch(`${r.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "SERVING", models: { iris: "SERVING", generate: "SERVING" } });
      expect(r.output()).toMatch(/unary\s+POST \/iris\.v1\.InferenceService\/PredictIris\s+model "iris"/);
      expect(r.output()).toMatch(/stream\s+POST \/iris\.v1\.InferenceService\/PredictGenerate\s+model "generate"/);
    } finally {
      expect(await stop(r)).toBe(0);
    }
  });

  it("serves the compiled entry with plain node, without regenerating anything", async () => {
    const r = await startServe([path.join(iris, "dist", "models.js")]);
    try {
      const res = await fetch(`${r.url}/iris.v1.InferenceService/PredictIris`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          features: {
            shape: ["1", "4"],
            dtype: "float32",
            data: Buffer.from(new Float32Array([5.1, 3.5, 1.4, 0.2]).buffer).toString("base64"),
          },
        }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { result: { shape: string[]; dtype: string } };
      expect(body.result.shape).toEqual(["1", "3"]);
      expect(r.output()).not.toContain("regenerated");
    } finally {
      await stop(r);
    }
  });

  it("generates the schema and code of a project that has none, with the built-in template, then serves it", async () => {
    // Inside examples/iris so that @blazerpc/runtime resolves from its node_modules.
    const dir = fs.mkdtempSync(path.join(iris, ".tmp-cli-"));
    try {
      fs.copyFileSync(path.join(iris, "models.ts"), path.join(dir, "models.ts"));
      const r = await startServe([path.join(dir, "models.ts")]);
      try {
        expect(r.output()).toContain("blaze: regenerated");
        expect(fs.readFileSync(path.join(dir, "proto", "iris", "v1", "iris.proto"), "utf8")).toBe(
          fs.readFileSync(path.join(iris, "proto", "iris", "v1", "iris.proto"), "utf8"),
        );
        expect(fs.existsSync(path.join(dir, "gen", "iris", "v1", "iris_blaze.ts"))).toBe(true);
        expect((await fetch(`${r.url}/readyz`)).status).toBe(200);
      } finally {
        await stop(r);
      }
      // A changed signature regenerates on the next start, and the new model is served.
      fs.appendFileSync(
        path.join(dir, "models.ts"),
        '\napp.model("shout", async (text: string): Promise<string> => text.toUpperCase());\n',
      );
      const again = await startServe([path.join(dir, "models.ts")]);
      try {
        expect(again.output()).toContain("blaze: regenerated");
        expect(again.output()).toMatch(/POST \/iris\.v1\.InferenceService\/PredictShout\s+model "shout"/);
        const res = await fetch(`${again.url}/iris.v1.InferenceService/PredictShout`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ text: "hi" }),
        });
        expect(await res.json()).toEqual({ result: "HI" });
      } finally {
        await stop(again);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails with a clear message when the entry does not exist", async () => {
    await expect(startServe(["nope/models.ts"])).rejects.toThrow(
      /exited with 1:\nblaze: entry file not found: nope\/models.ts/,
    );
  });
});
