// ESLint for the whole workspace: @eslint/js and typescript-eslint "recommended", the
// syntactic rules only. The type-checked variants need a TypeScript program per project
// and take minutes here; `tsc -b` already type-checks everything before jest runs.
// `npm run lint` runs it; test/lint.spec.ts runs it (and Prettier's check) under `npm test`.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig(
  {
    // Generated code (`buf generate`, `blaze generate`, tsc), the pinned pnpm under .tools/,
    // scratch output, and the codegen fixtures: test inputs whose bytes and line:column
    // positions are asserted (errors.golden.txt), some of them wrong on purpose.
    ignores: [
      "**/node_modules/",
      "**/dist/",
      "**/gen/",
      "**/*_pb.ts",
      "**/*_blaze.ts",
      ".tools/",
      ".bench-out/",
      "coverage/",
      "examples/*/.tmp-*/",
      "packages/codegen/src/extract/__fixtures__/",
      "packages/create-blazerpc/templates/",
    ],
  },
  {
    files: ["**/*.{ts,mts,cts,js,mjs,cjs}"],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: { ecmaVersion: 2022, globals: { ...globals.node } },
    // A disable comment that no longer disables anything fails like a finding.
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // The codebase's convention for a deliberately unused name: a leading underscore (a
      // parameter a signature needs, `for await (const _ of …)`, a key destructured away).
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
        },
      ],
    },
  },
  {
    // Plain CommonJS scripts (bench/, scripts/, bins, test helpers run with `node`): require() is
    // how they load things.
    files: ["**/*.{js,cjs}"],
    languageOptions: { sourceType: "commonjs" },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // The web template's page runs in a browser.
    files: ["templates/web/web/**"],
    languageOptions: { globals: { ...globals.browser } },
  },
);
