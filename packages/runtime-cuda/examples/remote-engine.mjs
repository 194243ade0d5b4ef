// Run: node examples/remote-engine.mjs [MODEL_DIR]   (after `npm run build`)
// The engine decodes in a worker thread; this thread only checks the request,
// then receives chunks as messages, so its own work runs beside the decoding.
import { RemoteEngine } from "@glimpse/runtime-cuda";

const modelDir = process.argv[2] ?? new URL("../../../models/glimpse-coder-tiny", import.meta.url).pathname;
const engine = await RemoteEngine.load(modelDir, { speculativeConfig: { method: "suffix" } });
const stream = engine.stream({ prompt: "function add(a, b) {", maxTokens: 200, ignoreEos: true, streamCoalesceMs: 5 });
for await (const chunk of stream) process.stdout.write(chunk.text);
const { completionTokens, metrics } = await stream.result;
console.log(`\n${completionTokens} tokens in ${metrics.totalMs.toFixed(0)} ms in the worker thread`);
await engine.close();
