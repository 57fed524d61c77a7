// One jest run for the whole workspace. Type-checking happens once, in `tsc -b`
// (see package.json); here @swc/jest only strips types, file by file.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/packages", "<rootDir>/examples", "<rootDir>/test"],
  testMatch: ["**/src/**/*.spec.ts", "**/test/**/*.spec.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  transform: {
    "^.+\\.ts$": [
      "@swc/jest",
      { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs" } },
    ],
  },
  moduleNameMapper: {
    // Workspace packages from source, so a test and the code it loads share one instance.
    "^@blazerpc/tensor/blazerpc/(.*)\\.js$": "<rootDir>/packages/tensor/src/gen/blazerpc/$1.ts",
    "^@blazerpc/(tensor|runtime|codegen|cli|onnx)$": "<rootDir>/packages/$1/src/index.ts",
    "^@blazerpc/onnx/testing$": "<rootDir>/packages/onnx/src/testing/index.ts",
    "^@blazerpc/runtime/defaults$": "<rootDir>/packages/runtime/src/server/defaults.ts",
    "^@blazerpc/runtime/settings$": "<rootDir>/packages/runtime/src/server/settings.ts",
    // Node16 ESM-style relative imports ("./x.js") to the TypeScript source.
    "^(\\.{1,2}/.*)\\.js$": "$1",
  },
  testTimeout: 30000,
};
