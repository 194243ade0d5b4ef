// Imports modules of the language server's TypeScript sources into a plain
// Node script (the E2E test and the benches), bundled by esbuild into .cache/.
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const pkgDir = fileURLToPath(new URL("..", import.meta.url));

/** `exports`: module path (relative to the package) -> names to export. */
export async function importSources(cacheName, exports) {
  const out = join(pkgDir, ".cache", `${cacheName}.mjs`);
  const contents = Object.entries(exports).map(([path, names]) => `export { ${names.join(", ")} } from "./${path}";`).join(" ");
  await build({ stdin: { contents, resolveDir: pkgDir, loader: "ts" }, bundle: true, format: "esm", platform: "node", outfile: out, logLevel: "warning" });
  return import(pathToFileURL(out).href);
}
