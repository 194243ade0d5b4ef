// Run: node examples/generate.mjs [MODEL_DIR]   (after `npm run build`)
// Streams a completion with suffix decoding and prints what speculation did.
import { Engine } from "@glimpse/runtime-cuda";

const modelDir = process.argv[2] ?? new URL("../../../models/glimpse-coder-tiny", import.meta.url).pathname;
const engine = await Engine.load(modelDir, { speculativeConfig: { method: "suffix" } });
console.log(`provider: ${engine.provider.provider} (${engine.provider.reason})`);

const prompt = "<|file|>const total = items.reduce((sum, item) => sum + item.price, 0);\nconsole.log(total);\n" +
  "<|edit|>Rename `total` to `sum`.<|rewrite|>";
const stream = engine.stream({ prompt, maxTokens: 64 });
for await (const chunk of stream) process.stdout.write(chunk.text);
const { metrics, completionTokens } = await stream.result;
console.log(`\n${completionTokens} tokens in ${metrics.steps + 1} forward passes; ` +
  `${metrics.acceptedTokens}/${metrics.draftTokens} draft tokens accepted; ${metrics.tokensPerSecond.toFixed(0)} tokens/s`);
await engine.close();
