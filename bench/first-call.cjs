#!/usr/bin/env node
// The first five minutes, measured: from `npm create blazerpc` to a served first call, the
// `npm install` size of a new project per template, and the browser bundle of the README's
// client snippet (minified and gzipped, with the count of @bufbuild/protobuf copies in it).
// Through a real registry, as test/registry does: verdaccio on 127.0.0.1 with every package
// published, third-party packages proxied from npm's configured registry.
//
//   node bench/first-call.cjs            # after `npm run build` (tsc -b); prints a markdown table
//   node bench/first-call.cjs --cold     # the timed run with an empty npm cache too (downloads everything)
//
// Writes .bench-out/first-call.json. docs/new-project.md holds the figures.
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const zlib = require("node:zlib");
const reg = require("../test/registry/registry.cjs");

const cold = process.argv.includes("--cold");
const TEMPLATES = ["model", "web", "onnx", "service"];

/** Each template's first call (Connect JSON): the path and the request. */
const FIRST_CALL = {
  classify: {
    path: "/demo.v1.InferenceService/PredictClassify",
    body: {
      features: {
        shape: ["1", "4"],
        dtype: "float32",
        data: Buffer.from(new Float32Array([5.1, 3.5, 1.4, 0.2]).buffer).toString("base64"),
      },
    },
  },
  service: { path: "/demo.v1.InferenceDirector/GetHealthStatus", body: {} },
};

/** The README's browser snippet, with the template's names (app "demo", model "classify"). */
const SNIPPET = `import { createConnectTransport } from "@connectrpc/connect-web";
import { createInferenceServiceClient } from "../gen/demo/v1/demo_client.js";

const client = createInferenceServiceClient(createConnectTransport({ baseUrl: "http://127.0.0.1:50051" }));
const probabilities = await client.classify({ dtype: "float32", shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) });
for await (const word of client.generate("hi", 3)) console.log(word);
console.log(probabilities);
`;

/** `npm run dev -- --port 0` until it serves, then the first call (Connect JSON); ms from spawn to the answer. */
async function devFirstCall(app, env, template) {
  const started = Date.now();
  const child = spawn("npm", ["run", "dev", "--", "--port", "0"], {
    cwd: app,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm run dev did not serve:\n${out}`)), 120_000);
      const onData = (d) => {
        out += d;
        const m = /serving app "\w+" on (http:\/\/[^\s]+)/.exec(out);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.once("exit", (code) => reject(new Error(`npm run dev exited with ${code}:\n${out}`)));
    });
    const served = Date.now() - started;
    const call = FIRST_CALL[template === "service" ? "service" : "classify"];
    const res = await fetch(`${url}${call.path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(call.body),
    });
    if (res.status !== 200) throw new Error(`first call: HTTP ${res.status} ${await res.text()}`);
    await res.json();
    return { servedMs: served, firstCallMs: Date.now() - started };
  } finally {
    try {
      process.kill(-child.pid, "SIGTERM"); // npm, sh and blaze: the whole group
    } catch {
      // the group has exited already
    }
  }
}

/** vite build of the snippet inside the (installed, built) web project. */
async function snippetBundle(app, env) {
  const dir = path.join(app, "snippet");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "main.ts"), SNIPPET);
  fs.writeFileSync(path.join(dir, "index.html"), '<!doctype html><script type="module" src="./main.ts"></script>\n');
  await reg.run(
    process.execPath,
    [
      path.join(app, "node_modules", "vite", "bin", "vite.js"),
      "build",
      "snippet",
      "--outDir",
      "../dist/snippet",
      "--emptyOutDir",
      "--logLevel",
      "warn",
    ],
    { cwd: app, env },
  );
  const assets = path.join(app, "dist", "snippet", "assets");
  const js = Buffer.concat(
    fs
      .readdirSync(assets)
      .filter((f) => f.endsWith(".js"))
      .map((f) => fs.readFileSync(path.join(assets, f))),
  );
  return {
    minifiedBytes: js.length,
    gzipBytes: zlib.gzipSync(js, { level: 9 }).length,
    // protobuf's binary reader says "premature EOF" once per copy of the package.
    protobufCopies: js.toString("utf8").split("premature EOF").length - 1,
  };
}

async function main() {
  const registryDir = reg.tempDir("blazerpc-bench-registry-");
  const work = reg.tempDir("blazerpc-bench-");
  const registry = await reg.startRegistry({ dir: registryDir });
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    upstream: reg.upstreamRegistry(),
    runs: [],
    sizes: {},
    snippet: undefined,
  };
  try {
    const npmrc = await reg.login(registry.url, registryDir);
    const { version } = reg.publishAll(registry.url, npmrc);
    const caches = [["warm", reg.sharedNpmCache()]];
    if (cold) caches.unshift(["cold", fs.mkdtempSync(path.join(os.tmpdir(), "blazerpc-bench-npm-cache-"))]);
    // Warm the shared cache once (a no-op when a test run did already), so that "warm" means warm.
    for (const [label, cache] of caches) {
      const env = reg.registryEnv(registry.url, { npm_config_cache: cache });
      for (const template of label === "warm" ? TEMPLATES : ["model"]) {
        const dir = path.join(work, `${label}-${template}`);
        fs.mkdirSync(dir);
        const create = await reg.run(
          "npm",
          ["create", `blazerpc@${version}`, "my-service", "--", "--template", template],
          { cwd: dir, env },
        );
        const app = path.join(dir, "my-service");
        const install = await reg.run("npm", ["install"], { cwd: app, env, timeoutMs: 15 * 60_000 });
        const packages = Number(/added (\d+) packages/.exec(install.out)?.[1] ?? NaN);
        // (web's `npm run dev` is Vite plus blaze dev on the fixed port 50051: not timed here.)
        const dev = template === "web" ? { servedMs: NaN, firstCallMs: NaN } : await devFirstCall(app, env, template);
        const run = {
          cache: label,
          template,
          createMs: create.ms,
          installMs: install.ms,
          devServedMs: dev.servedMs,
          devFirstCallMs: dev.firstCallMs,
          totalMs: create.ms + install.ms + dev.firstCallMs,
        };
        result.runs.push(run);
        console.error(`${label} ${template}: ${JSON.stringify(run)}`);
        if (label === "warm") {
          result.sizes[template] = { packages, nodeModulesBytes: reg.du(path.join(app, "node_modules")) };
          if (template === "web") {
            await reg.run("npm", ["run", "build"], { cwd: app, env });
            result.snippet = await snippetBundle(app, env);
          }
        }
      }
      if (label === "cold") fs.rmSync(cache, { recursive: true, force: true });
    }
  } finally {
    await registry.close();
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(registryDir, { recursive: true, force: true });
  }
  const out = path.join(reg.repo, ".bench-out");
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, "first-call.json"), JSON.stringify(result, null, 2));
  const s = (ms) => (Number.isNaN(ms) ? "—" : `${(ms / 1000).toFixed(1)} s`);
  console.log(
    "| npm cache | template | npm create | npm install | npm run dev → serving | → first call answered | total |",
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const r of result.runs)
    console.log(
      `| ${r.cache} | ${r.template} | ${s(r.createMs)} | ${s(r.installMs)} | ${s(r.devServedMs)} | ${s(r.devFirstCallMs)} | ${s(r.totalMs)} |`,
    );
  console.log("\n| template | packages installed | node_modules |");
  console.log("|---|---|---|");
  for (const [t, z] of Object.entries(result.sizes))
    console.log(`| ${t} | ${z.packages} | ${(z.nodeModulesBytes / 1e6).toFixed(0)} MB |`);
  if (result.snippet !== undefined) {
    const k = (b) => `${(b / 1024).toFixed(1)} KiB`;
    console.log(
      `\nREADME browser snippet: ${k(result.snippet.minifiedBytes)} minified, ${k(result.snippet.gzipBytes)} gzip, ${result.snippet.protobufCopies} copy of @bufbuild/protobuf`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
