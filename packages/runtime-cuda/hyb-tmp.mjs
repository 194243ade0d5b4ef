import { Engine } from "./dist/index.js";
process.env.GLIMPSE_CACHE_DIR = "/tmp/repro/cache";
const M = "/work/main/models/glimpse-coder-tiny";
const prompts = ["function add(a, b) {", "SELECT name FROM users WHERE", "[1, 2, 3, 1, 2, 3, 1, 2,", "The quick brown fox", "const x = { a: 1, b: 2,"];
for (const spec of [{ method: "arctic", model: M + "/speculator-mlp", num_speculative_tokens: 3 }, { method: "arctic", model: M + "/speculator-lstm", num_speculative_tokens: 3, enable_suffix_decoding: true }]) {
  const res = {};
  for (const path of [M, "/tmp/repro/tiny.gguf"]) {
    const plain = await Engine.load(path, { maxBatchSize: 1, intraOpThreads: 1 });
    const e = await Engine.load(path, { speculativeConfig: spec, maxBatchSize: 1, adaptive: false, intraOpThreads: 1 });
    let d = 0, a = 0, same = 0;
    for (const p of prompts) {
      const want = (await plain.generate({ prompt: p, maxTokens: 32 })).tokenIds;
      const r = await e.generate({ prompt: p, maxTokens: 32 });
      if (JSON.stringify(r.tokenIds) === JSON.stringify(want)) same++;
      d += r.metrics.draftTokens; a += r.metrics.acceptedTokens;
    }
    res[path.endsWith("gguf") ? "llama" : "onnx"] = { same, d, a, backend: e.backendName };
    await plain.close(); await e.close();
  }
  console.log(spec.model.split("/").pop(), spec.enable_suffix_decoding ? "hybrid" : "", JSON.stringify(res));
}
