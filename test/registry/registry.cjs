// A real npm registry for the install path (test/registry/templates.spec.ts and
// bench/first-call.cjs): verdaccio on 127.0.0.1 (a free port), storage in a temp folder,
// the registry npm is configured with as its uplink for third-party packages; every
// package of packages/ published to it with `pnpm publish`, which replaces `workspace:`
// ranges and runs create-blazerpc's prepack (it copies templates/ into the package).
"use strict";
const { spawn, spawnSync, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const repo = path.resolve(__dirname, "..", "..");
const pnpm = path.join(repo, "scripts", "pnpm.cjs");

/** The packages published, in packages/ (all of them: lockstep versions). */
function packageDirs() {
  return fs
    .readdirSync(path.join(repo, "packages"))
    .map((d) => path.join(repo, "packages", d))
    .filter((d) => fs.existsSync(path.join(d, "package.json")));
}

/** The version every package has (they move in lockstep). */
function releaseVersion() {
  const versions = new Set(
    packageDirs().map((d) => JSON.parse(fs.readFileSync(path.join(d, "package.json"), "utf8")).version),
  );
  if (versions.size !== 1) throw new Error(`packages/ versions are not in lockstep: ${[...versions].join(", ")}`);
  return [...versions][0];
}

/** The registry npm itself is configured with (what verdaccio proxies third-party packages from). */
function upstreamRegistry() {
  return execFileSync("npm", ["config", "get", "registry"], { encoding: "utf8" }).trim();
}

/**
 * Starts verdaccio in a child process; resolves once it listens.
 * @param {{ dir: string }} options dir: a temp folder for its config, storage and htpasswd
 * @returns {Promise<{ url: string, close: () => Promise<void>, log: () => string }>}
 */
async function startRegistry({ dir }) {
  fs.mkdirSync(path.join(dir, "storage"), { recursive: true });
  const config = path.join(dir, "config.yaml");
  const own = { access: "$all", publish: "$authenticated", unpublish: "$authenticated" };
  const yaml = [
    `storage: ${JSON.stringify(path.join(dir, "storage"))}`,
    "auth:",
    "  htpasswd:",
    `    file: ${JSON.stringify(path.join(dir, "htpasswd"))}`,
    "    max_users: 100",
    "uplinks:",
    "  upstream:",
    `    url: ${JSON.stringify(upstreamRegistry())}`,
    "    timeout: 60s",
    "    max_fails: 5",
    "    cache: false",
    "packages:",
    // Ours come only from here: never proxied, whatever the upstream holds under these names.
    ...["'@blazerpc/*'", "'create-blazerpc'"].flatMap((p) => [
      `  ${p}:`,
      ...Object.entries(own).map(([k, v]) => `    ${k}: ${v}`),
    ]),
    "  '**':",
    "    access: $all",
    "    publish: $authenticated",
    "    proxy: upstream",
    "max_body_size: 200mb",
    "log: { type: stdout, format: pretty, level: warn }",
    "",
  ].join("\n");
  fs.writeFileSync(config, yaml);
  const child = spawn(process.execPath, [path.join(__dirname, "verdaccio-child.cjs"), config], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`verdaccio did not start:\n${out}`)), 60_000);
    const onData = (d) => {
      out += d.toString();
      const m = /^LISTENING (\d+)$/m.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${m[1]}/`);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`verdaccio exited with ${code}:\n${out}`));
    });
  });
  child.removeAllListeners("exit");
  return {
    url,
    log: () => out,
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/**
 * Creates a user on the registry; returns a userconfig (.npmrc) file holding its token.
 * @returns {Promise<string>}
 */
async function login(url, dir) {
  const name = "blazerpc-ci";
  const res = await fetch(new URL(`-/user/org.couchdb.user:${name}`, url), {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, password: "blazerpc-ci-password" }),
  });
  if (!res.ok) throw new Error(`registry login: HTTP ${res.status} ${await res.text()}`);
  const { token } = await res.json();
  const npmrc = path.join(dir, "npmrc");
  const hostPath = url.replace(/^https?:/, "");
  fs.writeFileSync(npmrc, `registry=${url}\n${hostPath}:_authToken=${token}\n`);
  return npmrc;
}

/** Environment for npm and pnpm pointed at the registry (and nowhere else). */
function registryEnv(url, extra = {}) {
  // A user's shell, not the environment of the `pnpm exec` / `npm run` that started the test.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_|^PNPM_|^pnpm_/i.test(k)));
  return {
    ...inherited,
    npm_config_registry: url,
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
    // npm create / npx: install create-blazerpc without asking (there is no terminal).
    npm_config_yes: "true",
    // onnxruntime-node's install script only downloads CUDA binaries; it never runs here.
    ONNXRUNTIME_NODE_INSTALL: "skip",
    ...extra,
  };
}

/**
 * Publishes every package of packages/ (built beforehand by `tsc -b`) with `pnpm publish`.
 * @returns {{ version: string, ms: number, output: string }}
 */
function publishAll(url, npmrc) {
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    [pnpm, "-r", "--filter", "./packages/*", "publish", "--no-git-checks", "--registry", url, "--reporter=append-only"],
    { cwd: repo, encoding: "utf8", env: registryEnv(url, { npm_config_userconfig: npmrc }) },
  );
  const output = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`pnpm publish failed (exit ${r.status}):\n${output}`);
  return { version: releaseVersion(), ms: Date.now() - started, output };
}

/** A temp folder outside the repository. */
function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Runs a command (npm ...) in a folder; resolves with its output, rejects with it on a
 * non-zero exit or after `timeoutMs`.
 * @returns {Promise<{ out: string, ms: number }>}
 */
function run(cmd, args, { cwd, env, timeoutMs = 300_000 }) {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} in ${cwd}: no exit after ${timeoutMs} ms\n${out}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ out, ms: Date.now() - started });
      else reject(new Error(`${cmd} ${args.join(" ")} in ${cwd} exited with ${code}\n${out}`));
    });
  });
}

/**
 * Starts `node <entry>` in a folder and resolves once it prints `listening on <url>`.
 * @returns {Promise<{ url: string, stop: () => Promise<number | null>, output: () => string }>}
 */
function startServer(cwd, entry, env) {
  const child = spawn(process.execPath, [entry], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${entry} did not start:\n${out}`));
    }, 60_000);
    let started = false;
    const onData = (d) => {
      out += d;
      // Once: what the server prints later (a stop hook's line at shutdown) must not start it again.
      if (started) return;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m !== null) {
        started = true;
        clearTimeout(timer);
        child.removeAllListeners("exit");
        resolve({
          url: m[1],
          output: () => out,
          stop: () =>
            new Promise((res) => {
              if (child.exitCode !== null || child.signalCode !== null) return res(child.exitCode ?? child.signalCode);
              child.once("exit", (code) => res(code));
              child.kill("SIGTERM");
            }),
        });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code}:\n${out}`));
    });
  });
}

/** Total size in bytes of the files under `dir`. */
function du(dir) {
  let total = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += fs.statSync(p).size;
    }
  };
  walk(dir);
  return total;
}

/**
 * The npm cache the registry runs share: kept between runs under node_modules/.cache (the
 * tarballs, found again by their integrity), without npx's folder, which keys packages by
 * name and version only and would hand a later run the previous run's create-blazerpc.
 */
function sharedNpmCache() {
  const dir = path.join(repo, "node_modules", ".cache", "blazerpc-registry-npm");
  fs.rmSync(path.join(dir, "_npx"), { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

module.exports = {
  du,
  login,
  packageDirs,
  publishAll,
  registryEnv,
  releaseVersion,
  repo,
  run,
  sharedNpmCache,
  startRegistry,
  startServer,
  tempDir,
  upstreamRegistry,
};
