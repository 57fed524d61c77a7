#!/usr/bin/env node
"use strict";
const { runNodeJs } = require("@bufbuild/protoplugin");
const { protocGenBlaze } = require("../dist/plugin/protoc-gen-blaze.js");

runNodeJs(protocGenBlaze);
