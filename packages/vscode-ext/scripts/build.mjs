#!/usr/bin/env node
// Bundles the extension and the language server with esbuild into dist/:
// the .vsix is packaged with --no-dependencies, so everything they import
// (vscode-languageclient, vscode-languageserver) must be inside the bundles.
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  sourcemap: true,
  logLevel: "warning",
  absWorkingDir: root,
};
await Promise.all([
  // The extension host provides `vscode`; everything else is bundled.
  build({ ...common, entryPoints: ["src/extension/extension.ts"], outfile: "dist/extension.cjs", external: ["vscode"] }),
  // The language server runs as a plain Node process (any LSP editor can start it).
  build({ ...common, entryPoints: ["src/server/main.ts"], outfile: "dist/server.cjs", banner: { js: "#!/usr/bin/env node" } }),
]);
