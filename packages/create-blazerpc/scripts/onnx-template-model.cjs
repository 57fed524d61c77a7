#!/usr/bin/env node
// Writes templates/onnx/models/classifier.onnx: a small MLP (4 → 16 → 3, MatMul + Add + Relu,
// seeded weights, dynamic batch dim) built by @blazerpc/onnx/testing, so the template ships a
// real ONNX file of under 1 KB. The same options give the same bytes (a test checks the
// committed file against them).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const OPTIONS = { sizes: [4, 16, 3], seed: 7, inputName: "features", outputName: "logits", batchDim: "batch" };

function build() {
  const { buildMlp } = require(path.resolve(__dirname, "..", "..", "onnx", "dist", "testing", "index.js"));
  return buildMlp(OPTIONS);
}

module.exports = { OPTIONS, build };

if (require.main === module) {
  const file = path.resolve(__dirname, "..", "..", "..", "templates", "onnx", "models", "classifier.onnx");
  fs.writeFileSync(file, build().bytes);
  console.log(`wrote ${file} (${fs.statSync(file).size} bytes)`);
}
