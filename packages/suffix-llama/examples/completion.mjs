// Run: node examples/completion.mjs MODEL.gguf   (after `npm run build:llama` in this package)
// Two context sequences share one suffix cache: the second request drafts from the first one's response.
import { getLlama, LlamaCompletion } from "node-llama-cpp";
import { SuffixDecodingCache, SuffixTokenPredictor } from "@glimpse/suffix-llama";

const modelPath = process.argv[2];
if (!modelPath) throw new Error("usage: node examples/completion.mjs MODEL.gguf");

const llama = await getLlama({ gpu: "auto", build: "never" });
const model = await llama.loadModel({ modelPath });
// One core is left to JavaScript: llama.cpp's threads spin, and on a small machine more threads than cores crawl.
const context = await model.createContext({ contextSize: 2048, sequences: 2, threads: Math.max(1, llama.cpuMathCores - 1) });

// One cache for the whole process: every finished generation teaches every sequence's predictor.
const cache = new SuffixDecodingCache({ maxCachedRequests: 1000 });
const prompt = "[\n  {\"id\": 1, \"name\": \"alice\", \"email\": \"alice@example.com\"},\n  {\"id\": 2, \"name\": \"";

for (const round of [1, 2]) {
  const sequence = context.getSequence({ tokenPredictor: new SuffixTokenPredictor({ cache }) });
  const completion = new LlamaCompletion({ contextSequence: sequence });
  const text = await completion.generateCompletion(prompt, { maxTokens: 64, temperature: 0 });
  const { validated, refuted } = sequence.tokenPredictions;
  console.log(`request ${round}: ${JSON.stringify(text.slice(0, 60))}...`);
  console.log(`  predictions validated ${validated}, refuted ${refuted}`);
  completion.dispose(); // disposes the sequence, and the predictor with it; the shared cache stays
}

console.log(`responses cached: ${cache.cachedRequests.length}`);
cache.dispose();
await context.dispose();
await model.dispose();
await llama.dispose();
