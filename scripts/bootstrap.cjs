#!/usr/bin/env node
// Makes a fresh clone runnable with only Node.js and npm: installs the pinned pnpm into
// .tools/ through npm, then installs the workspace from the committed lockfile when
// node_modules is missing or older than the lockfile.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const PNPM_VERSION = require(path.join(root, "package.json")).packageManager.split("@")[1];
const toolsDir = path.join(root, ".tools");
const pnpmBin = path.join(toolsDir, "node_modules", "pnpm", "bin", "pnpm.cjs");

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
  if (r.status !== 0) {
    console.error(`bootstrap: ${cmd} ${args.join(" ")} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

function installedPnpmVersion() {
  try {
    return JSON.parse(fs.readFileSync(path.join(toolsDir, "node_modules", "pnpm", "package.json"), "utf8")).version;
  } catch {
    return undefined;
  }
}

function ensurePnpm() {
  if (installedPnpmVersion() === PNPM_VERSION) return;
  fs.mkdirSync(toolsDir, { recursive: true });
  fs.writeFileSync(path.join(toolsDir, "package.json"), JSON.stringify({ private: true }) + "\n");
  console.error(`bootstrap: installing pnpm@${PNPM_VERSION} into .tools/`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  run(npm, ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", toolsDir, `pnpm@${PNPM_VERSION}`]);
}

function mtime(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

function ensureInstall() {
  const marker = path.join(root, "node_modules", ".modules.yaml");
  const stale = mtime(marker) === 0 || mtime(marker) < mtime(path.join(root, "pnpm-lock.yaml"));
  if (!stale) return;
  // onnxruntime-node's install script would download CUDA binaries; it never runs
  // (pnpm gates install scripts), and this makes sure of it if it ever does.
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip" };
  run(process.execPath, [pnpmBin, "install", "--frozen-lockfile", "--reporter=append-only"], { env });
}

module.exports = { pnpmBin, ensurePnpm };

if (require.main === module) {
  ensurePnpm();
  ensureInstall();
}
