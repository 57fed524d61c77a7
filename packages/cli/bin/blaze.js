#!/usr/bin/env node
"use strict";
// Node 22+ caches compiled code between runs (TypeScript's compiler is most of a cold
// `blaze proto`); older versions have no such switch.
require("node:module").enableCompileCache?.();
require("../dist/cli.js")
  .main(process.argv.slice(2))
  .then((code) => {
    if (code !== 0) process.exitCode = code;
  });
