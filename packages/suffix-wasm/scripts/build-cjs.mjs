// CommonJS build for consumers such as VS Code extensions: one bundled file.
import { build } from "esbuild";

await build({
  entryPoints: [new URL("../dist/index.js", import.meta.url).pathname],
  outfile: new URL("../dist/cjs/index.cjs", import.meta.url).pathname,
  bundle: true,
  format: "cjs",
  platform: "neutral",
  target: "es2022",
  logLevel: "warning",
});
