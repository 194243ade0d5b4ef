// Resolves onnxruntime-node / @huggingface/tokenizers for the tools' Node scripts: from the repo's
// node_modules (after `npm ci`), else from tools/train/work/node (filled by setup_node.sh), so the
// tools also run before the workspace is installed.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const bases = [import.meta.url, pathToFileURL(path.join(here, "..", "work", "node", "package.json")).href];

export async function load(name) {
  for (const base of bases) {
    try {
      const resolved = createRequire(base).resolve(name);
      return await import(pathToFileURL(resolved).href);
    } catch {
      // try the next base
    }
  }
  throw new Error(`${name} not found: run npm ci at the repo root or tools/train/setup_node.sh`);
}

export async function ort() {
  const m = await load("onnxruntime-node");
  return m.default ?? m;
}

// Session options used for every measurement: 2 intra-op threads, no spinning (two sessions in one
// process otherwise steal each other's cores on a 2-core machine).
export const sessionOptions = {
  intraOpNumThreads: 2,
  interOpNumThreads: 1,
  graphOptimizationLevel: "all",
  extra: { session: { intra_op: { allow_spinning: "0" } } },
};
