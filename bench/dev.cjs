#!/usr/bin/env node
// What `blaze dev` costs per change, on the `model` template's models.ts (a batched tensor
// model and a streaming model), in a scratch folder inside examples/iris (so that the
// workspace's packages resolve):
//
//   node scripts/pnpm.cjs exec tsc -b && node bench/dev.cjs [--runs 5] [--write]
//
// --write puts the table in docs/new-project.md (between its dev-bench markers; nothing else).
//
// Measured as a user meets it, from the moment a file is written to the line `blaze dev`
// prints (so the 100 ms debounce is in it), median of --runs edits each:
// - a body edit (schema unchanged): rebuild check + restart;
// - a signature edit (a parameter added or removed): extract, proto, buf generate, type
//   check, restart;
// - a type error: the diagnostics printed (nothing restarted);
// and the figures blaze dev reports itself ("schema unchanged (x s), restarted in y s").
// Then calls during restarts: 8 restarts back to back while 4 HTTP/1.1 callers (a new
// connection per call, GET /healthz) and 4 gRPC callers (one HTTP/2 connection, @grpc/grpc-js,
// grpc.health.v1.Health/Check) call without pause; each outcome counted.
// Edits are 1.5 s apart (a person's pace: by then the spare server process that the next
// restart uses has loaded the runtime; back to back, a restart also waits for that).
// Prints a Markdown table.
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const BLAZE = path.join(ROOT, "packages", "cli", "bin", "blaze.js");
const DOC = path.join(ROOT, "docs", "new-project.md");
const START = "<!-- dev-bench:start -->";
const END = "<!-- dev-bench:end -->";
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)];
};
const fmt = (ms) => (Number.isNaN(ms) ? "—" : `${(ms / 1000).toFixed(2)} s`);

async function main() {
  const dir = fs.mkdtempSync(path.join(ROOT, "examples", "iris", ".tmp-bench-dev-"));
  const models = path.join(dir, "models.ts");
  fs.copyFileSync(path.join(ROOT, "templates", "model", "models.ts"), models);
  fs.copyFileSync(path.join(ROOT, "templates", "model", "tsconfig.json"), path.join(dir, "tsconfig.json"));
  const child = spawn(process.execPath, [BLAZE, "dev", models, "--port", "0", "--shutdown-grace-ms", "1000"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let wake = () => {};
  child.stdout.on("data", (d) => ((out += d), wake()));
  child.stderr.on("data", (d) => ((out += d), wake()));
  child.once("exit", () => wake());
  const waitFor = (re, from, ms = 60_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${re} in ${ms} ms:\n${out}`)), ms);
      const check = () => {
        const m = re.exec(out.slice(from));
        if (m !== null) {
          clearTimeout(timer);
          wake = () => {};
          resolve({ m, at: performance.now() });
        } else if (child.exitCode !== null) {
          clearTimeout(timer);
          reject(new Error(`blaze dev exited:\n${out}`));
        }
      };
      wake = check;
      check();
    });
  const seconds = (s) => Number(s) * 1000;
  const rows = {
    body: { wall: [], restart: [], build: [] },
    signature: { wall: [], restart: [], build: [] },
    typeError: { wall: [] },
  };
  try {
    const t0 = performance.now();
    const ready = await waitFor(/ready in ([\d.]+) s/, 0);
    const startMs = ready.at - t0;
    // The first change waits for the first type check (all of @types/node), which runs
    // after the first start: one edit not counted.
    let from = out.length;
    fs.writeFileSync(models, `${fs.readFileSync(models, "utf8")}\n`);
    await waitFor(/models\.ts changed → schema unchanged/, from);
    let withParam = false;
    const pause = () => new Promise((r) => setTimeout(r, 1500));
    for (let i = 0; i < RUNS; i++) {
      await pause();
      let text = fs
        .readFileSync(models, "utf8")
        .replace(/const BIAS = \[[^\]]*\];/, `const BIAS = [${(0.26 + (i + 1) / 1000).toFixed(3)}, 1.08, -1.34];`);
      from = out.length;
      let t = performance.now();
      fs.writeFileSync(models, text);
      let r = await waitFor(/models\.ts changed → schema unchanged \(([\d.]+) s\), restarted in ([\d.]+) s/, from);
      rows.body.wall.push(r.at - t);
      rows.body.build.push(seconds(r.m[1]));
      rows.body.restart.push(seconds(r.m[2]));

      await pause();
      withParam = !withParam;
      text = fs.readFileSync(models, "utf8");
      text = withParam
        ? text.replace(
            "maxTokens: number): AsyncGenerator<string>",
            "maxTokens: number, temperature?: number): AsyncGenerator<string>",
          )
        : text.replace(
            "maxTokens: number, temperature?: number): AsyncGenerator<string>",
            "maxTokens: number): AsyncGenerator<string>",
          );
      from = out.length;
      t = performance.now();
      fs.writeFileSync(models, text);
      r = await waitFor(
        /models\.ts changed → PredictGenerate signature changed: regenerated proto \+ code in ([\d.]+) s, type-checked in ([\d.]+) s, restarted in ([\d.]+) s/,
        from,
      );
      rows.signature.wall.push(r.at - t);
      rows.signature.build.push(seconds(r.m[1]) + seconds(r.m[2]));
      rows.signature.restart.push(seconds(r.m[3]));

      await pause();
      from = out.length;
      t = performance.now();
      fs.writeFileSync(models, `${text}\nconst oops: number = "x";\n`);
      r = await waitFor(/models\.ts changed → 1 type error/, from);
      rows.typeError.wall.push(r.at - t);
      from = out.length;
      fs.writeFileSync(models, text);
      await waitFor(/models\.ts changed → fixed/, from);
    }
    // Calls during restarts.
    const url = /serving app "\w+" on (http:\/\/[^\s]+)/.exec(out)[1];
    const grpc = require("@grpc/grpc-js");
    const client = new grpc.Client(new URL(url).host, grpc.credentials.createInsecure());
    const outcomes = { http1: {}, grpc: {} };
    const count = (kind, r) => (outcomes[kind][r] = (outcomes[kind][r] ?? 0) + 1);
    const http1 = () =>
      new Promise((resolve) => {
        const req = http.request(
          `${url}/healthz`,
          { agent: false },
          (res) => (res.resume(), res.on("end", () => resolve(String(res.statusCode)))),
        );
        req.on("error", (e) => resolve(e.code ?? e.message));
        req.end();
      });
    const check = () =>
      new Promise((resolve) =>
        client.makeUnaryRequest(
          "/grpc.health.v1.Health/Check",
          (x) => x,
          (b) => b,
          Buffer.alloc(0),
          { deadline: Date.now() + 5000 },
          (err) => resolve(err ? `${grpc.status[err.code]} ${err.details}` : "OK"),
        ),
      );
    let stop = false;
    const loop = async (kind, fn) => {
      while (!stop) count(kind, await fn());
    };
    const callers = [0, 1, 2, 3].flatMap(() => [loop("http1", http1), loop("grpc", check)]);
    for (let i = 0; i < 8; i++) {
      const from = out.length;
      fs.writeFileSync(models, `${fs.readFileSync(models, "utf8")}\n`);
      await waitFor(/models\.ts changed → schema unchanged/, from);
    }
    stop = true;
    await Promise.all(callers);
    client.close();
    const list = (o) =>
      Object.entries(o)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");

    const table = [
      "| change | written → printed | build (extract, proto, buf, type check) | restart (the new server answers) |",
      "|---|---|---|---|",
      `| body edit (schema unchanged) | ${fmt(median(rows.body.wall))} | ${fmt(median(rows.body.build))} | ${fmt(median(rows.body.restart))} |`,
      `| signature edit (a parameter added or removed) | ${fmt(median(rows.signature.wall))} | ${fmt(median(rows.signature.build))} | ${fmt(median(rows.signature.restart))} |`,
      `| type error (diagnostics printed, nothing restarted) | ${fmt(median(rows.typeError.wall))} | | |`,
      "",
      `First start, from spawn to "ready" in a folder with no generated code yet (ts-morph and \`buf generate\` cold): ${fmt(startMs)}.`,
      `Calls during 8 restarts back to back — HTTP/1.1, a connection per call: ${list(outcomes.http1)}; gRPC on one HTTP/2 connection: ${list(outcomes.grpc)}.`,
    ].join("\n");
    console.log(`blaze dev on templates/model/models.ts, ${RUNS} edits each 1.5 s apart, median\n\n${table}`);
    if (process.argv.includes("--write")) {
      const doc = fs.readFileSync(DOC, "utf8");
      const a = doc.indexOf(START);
      const b = doc.indexOf(END);
      if (a < 0 || b < a) throw new Error(`${DOC} has no ${START} … ${END} section`);
      fs.writeFileSync(DOC, `${doc.slice(0, a + START.length)}\n${table}\n${doc.slice(b)}`);
      console.log(`\nwrote ${path.relative(ROOT, DOC)}`);
    }
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
