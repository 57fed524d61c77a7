// A jest environment for tests that run onnxruntime-node.
//
// jest runs each test file in its own V8 context, whose Float32Array, Uint8Array, ... are
// not the ones of the Node.js process. onnxruntime-node's native binding creates its
// outputs' typed arrays in the process's context, and onnxruntime-common (loaded inside
// the test's context) then refuses them: "A float32 tensor's data must be type of
// function Float32Array()". Outside jest there is one context and no such problem.
// This environment gives the test's context the process's typed arrays, so both sides
// agree. Use it with a docblock at the top of the test file:
//
//   /** @jest-environment ./packages/onnx/jest-environment.cjs */
"use strict";
const { TestEnvironment } = require("jest-environment-node");

const SHARED = [
  "ArrayBuffer",
  "SharedArrayBuffer",
  "DataView",
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
  "Float16Array",
];

class OnnxTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) {
      if (globalThis[name] !== undefined) this.global[name] = globalThis[name];
    }
  }
}

module.exports = OnnxTestEnvironment;
