#!/usr/bin/env node
// The templates live at the repository's root (templates/); `pnpm pack` / `pnpm publish`
// run `copy` before packing so that the package carries them, and `clean` after.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const pkg = path.resolve(__dirname, "..");
const source = path.resolve(pkg, "..", "..", "templates");
const target = path.join(pkg, "templates");
const skip = new Set(["node_modules", "dist", "gen", "proto", "package-lock.json"]);

const mode = process.argv[2];
fs.rmSync(target, { recursive: true, force: true });
if (mode === "copy") {
  fs.cpSync(source, target, {
    recursive: true,
    filter: (src) => !skip.has(path.basename(src)) || path.dirname(src) === source,
  });
} else if (mode !== "clean") {
  console.error("usage: templates.cjs copy|clean");
  process.exit(1);
}
