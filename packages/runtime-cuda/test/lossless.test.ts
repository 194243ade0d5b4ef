// Speculation must not change a single output token: greedy output with every
// proposer, alone and under concurrent batching, equals plain decoding.
import { beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../src/index.js";
import { EMBEDDED_PROPOSERS } from "./embedded-proposers.js";
import { MODEL_DIR } from "./model-dir.js";
import { prompts } from "./prompts.js";

const PROMPTS = prompts(10); // 50 prompts, 10 of each kind
const MAX_TOKENS = 24;

const PROPOSERS = EMBEDDED_PROPOSERS;

// Both kinds of graph the engine drives: the embedded model's tree graph
// (4-D mask; outputs only the new positions' K/V, written into a cache with
// room) and its Hugging Face layout graph (2-D mask; present = past + new).
const GRAPHS: Record<string, string> = {
  "tree graph (4-D mask, present_append)": "onnx/model_tree.onnx",
  "HF graph (2-D mask, full present)": "onnx/model.onnx",
};

async function plainTokens(graph: string, maxTokens: number, prompts = PROMPTS): Promise<number[][]> {
  const plain = await Engine.load(MODEL_DIR, { graph, maxBatchSize: 1 });
  const out: number[][] = [];
  for (const p of prompts) out.push((await plain.generate({ prompt: p.text, maxTokens })).tokenIds);
  await plain.close();
  return out;
}

it("has 50 prompts of 5 kinds", () => {
  expect(PROMPTS.length).toBe(50);
  expect(new Set(PROMPTS.map((p) => p.kind)).size).toBe(5);
});

for (const [graphName, graph] of Object.entries(GRAPHS)) {
  describe(`greedy output is identical to plain decoding: ${graphName}`, () => {
    let reference: number[][];
    beforeAll(async () => {
      reference = await plainTokens(graph, MAX_TOKENS);
    }, 300_000);

    for (const [name, config] of Object.entries(PROPOSERS)) {
      it(`${name}: alone and batched`, { timeout: 300_000 }, async () => {
        // Alone: one request at a time.
        // Not adaptive: drafts are never cut nor paused, so every proposed token is verified.
        const alone = await Engine.load(MODEL_DIR, { graph, speculativeConfig: config, maxBatchSize: 1, adaptive: false });
        let drafted = 0;
        for (let i = 0; i < PROMPTS.length; i++) {
          const r = await alone.generate({ prompt: PROMPTS[i].text, maxTokens: MAX_TOKENS });
          expect(r.tokenIds, `${PROMPTS[i].kind} prompt ${i}`).toEqual(reference[i]);
          drafted += r.metrics.draftTokens;
        }
        await alone.close();
        // The proposer really drafted (else this test would prove nothing).
        expect(drafted).toBeGreaterThan(0);
        // Batched, adaptive (drafts cut for cost, pauses): all requests in flight, 8 per forward pass, joining and leaving.
        const batched = await Engine.load(MODEL_DIR, { graph, speculativeConfig: config, maxBatchSize: 8 });
        // Measured at load (17 entries, k = 0..16), so drafts here are cut for cost.
        expect(batched.verifyCost.relative).toHaveLength(17);
        const results = await Promise.all(PROMPTS.map((p, i) => batched.generate({ prompt: p.text, maxTokens: MAX_TOKENS - (i % 7) })));
        results.forEach((r, i) => expect(r.tokenIds, `batched ${PROMPTS[i].kind} prompt ${i}`).toEqual(reference[i].slice(0, MAX_TOKENS - (i % 7))));
        await batched.close();
      });
    }
  });
}

describe("the two graphs agree", () => {
  it("plain greedy decoding gives the same tokens through either graph, alone and batched, past the cache's room", { timeout: 300_000 }, async () => {
    // 96 tokens: the tree graph's cache outgrows its free room (32 positions) several times.
    const some = PROMPTS.filter((_, i) => i % 5 === 0);
    const viaHf = await plainTokens("onnx/model.onnx", 96, some);
    expect(await plainTokens("onnx/model_tree.onnx", 96, some)).toEqual(viaHf);
    for (const config of [null, { method: "suffix" }] as const) {
      const batched = await Engine.load(MODEL_DIR, { graph: "onnx/model_tree.onnx", speculativeConfig: config, maxBatchSize: 8 });
      const got = await Promise.all(some.map((p, i) => batched.generate({ prompt: p.text, maxTokens: 96 - 9 * i })));
      got.forEach((r, i) => expect(r.tokenIds, `${config?.method ?? "plain"} batched prompt ${i}`).toEqual(viaHf[i].slice(0, 96 - 9 * i)));
      await batched.close();
    }
  });
});
