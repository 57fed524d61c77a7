#!/usr/bin/env node
// Runs the pinned pnpm that scripts/bootstrap.cjs installed under .tools/ (no global pnpm,
// no corepack: its signature check fails against some registry mirrors).
"use strict";
const { spawnSync } = require("node:child_process");
const { pnpmBin, ensurePnpm } = require("./bootstrap.cjs");

ensurePnpm();
const r = spawnSync(process.execPath, [pnpmBin, ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(r.status ?? 1);
