// After tsc has written dist/ (ESM + .d.ts), this script adds what the
// published package needs besides:
// - dist/cjs/index.cjs and dist/cjs/wasm.cjs: CommonJS bundles for require()
//   (VS Code extensions and other CommonJS consumers);
// - dist/cjs/*.d.cts: the declarations again, as CommonJS-flavoured files, so
//   TypeScript resolves `require` types without ESM/CJS mismatch errors;
// - dist/cli/main.js bundled with commander, so the library and its CLI have
//   no runtime dependencies (the library modules stay external).
import { build } from "esbuild";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../dist/", import.meta.url));

for (const name of ["index", "wasm"]) {
  await build({
    entryPoints: [`${dist}${name}.js`],
    outfile: `${dist}cjs/${name}.cjs`,
    bundle: true,
    format: "cjs",
    platform: "neutral",
    target: "es2022",
    logLevel: "warning",
    // wasm.js locates the binary relative to itself (dist/wasm.js).
    ...(name === "wasm" && {
      define: { "import.meta.url": "__suffixWasmModuleUrl" },
      banner: {
        js: 'const __suffixWasmModuleUrl = require("node:url").pathToFileURL(require("node:path").join(__dirname, "..", "wasm.js")).href;',
      },
    }),
  });
}

// Declarations for the require condition: same text, relative specifiers
// pointing at the .cjs siblings (which resolve to these .d.cts files).
mkdirSync(`${dist}cjs/generated`, { recursive: true });
const declarations = (dir) => readdirSync(`${dist}${dir}`).filter((f) => f.endsWith(".d.ts")).map((f) => `${dir}${f}`);
for (const file of [...declarations(""), ...declarations("generated/")]) {
  const text = readFileSync(`${dist}${file}`, "utf8").replace(/(from\s+["']\.{1,2}\/[^"']*?)\.js(["'])/g, "$1.cjs$2");
  writeFileSync(`${dist}cjs/${file.replace(/\.d\.ts$/, ".d.cts")}`, text);
}

// The CLI: commander bundled in, the library's own modules left as imports.
await build({
  entryPoints: [`${dist}cli/main.js`],
  outfile: `${dist}cli/main.js`,
  allowOverwrite: true,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "es2022",
  logLevel: "warning",
  // commander is CommonJS and requires Node built-ins.
  banner: { js: 'import { createRequire as __cliCreateRequire } from "node:module"; const require = __cliCreateRequire(import.meta.url);' },
  plugins: [{
    name: "library-external",
    setup(b) {
      b.onResolve({ filter: /^\.\.\// }, (args) => ({ path: args.path, external: true }));
    },
  }],
});
// tsc's source map no longer matches the bundled file.
rmSync(`${dist}cli/main.js.map`, { force: true });
