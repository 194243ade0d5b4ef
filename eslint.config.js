// ESLint flat config (ESLint 9 + typescript-eslint 8). `npm run lint` at the root.
// Rules: eslint recommended + typescript-eslint recommended (syntax only, no type
// information: fast, and tsc already type-checks every package). No stylistic rules.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

const SOURCE_DIRS = ["src", "test", "bench", "scripts", "examples", "e2e", "bin"];
const EXTS = "{ts,mts,cts,js,mjs,cjs}";

export default defineConfig(
  {
    // Build outputs, downloads and generated code. AssemblyScript (suffix-wasm/assembly)
    // is not TypeScript that tsc or typescript-eslint understand.
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "**/dist-check/**",
      "**/build/**",
      "**/coverage/**",
      "**/.turbo/**",
      "**/.cache/**",
      "**/.vscode-test/**",
      "**/artifacts/**",
      "packages/suffix-wasm/src/generated/**",
      "packages/suffix-wasm/assembly/**",
      "tools/train/work/**",
    ],
  },
  {
    files: [
      ...SOURCE_DIRS.map((d) => `packages/*/${d}/**/*.${EXTS}`),
      `packages/*/*.config.${EXTS}`,
      `tools/**/*.${EXTS}`,
      `deploy/**/*.${EXTS}`,
      `scripts/**/*.${EXTS}`,
    ],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: {
      ecmaVersion: "latest",
      sourceType: "module",
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // `_`-prefixed names are deliberately unused (placeholders, required parameters).
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          args: "after-used",
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrors: "all",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // Tests read arbitrary JSON (HTTP responses, fixtures): `any` is fine there.
    files: [`packages/*/test/**/*.${EXTS}`],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // CommonJS files.
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs" },
  },
  {
    // End-to-end scripts run callbacks in the browser page (Playwright page.evaluate).
    files: [`packages/*/e2e/**/*.${EXTS}`],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);
