// Constrained decoding stays lossless under speculation: with every proposer
// the embedded model has (suffix chains and trees, n-gram, the Arctic MLP and
// LSTM speculators, the hybrid), with and without jump-forward, alone and
// batched, greedy output is token for token what constrained plain decoding
// gives. Drafts are cut where the grammar rejects them, and each verified
// position is masked (trees included), so nothing else can change.
import { beforeAll, describe, expect, it } from "vitest";
import { Engine, type GenerateOptions } from "../src/index.js";
import { PROMPTS, SCHEMAS } from "./grammar-fixtures.js";
import { EMBEDDED_PROPOSERS } from "./embedded-proposers.js";
import { MODEL_DIR } from "./model-dir.js";

const MAX_TOKENS = 100;

const PROPOSERS = EMBEDDED_PROPOSERS;

const CASES: GenerateOptions[] = Object.values(SCHEMAS).flatMap((schema) =>
  PROMPTS.map((prompt) => ({ prompt, maxTokens: MAX_TOKENS, constraint: { type: "json_schema" as const, schema } })),
);
// A grammar and a regex too: not JSON, where suffix drafts from the prompt fare differently.
CASES.push(
  { prompt: PROMPTS[0], maxTokens: 40, constraint: { type: "grammar", grammar: 'root ::= "export function " [a-z]{1,12} "(" [a-z]{0,6} ") {}"' } },
  { prompt: PROMPTS[1], maxTokens: 40, constraint: { type: "regex", pattern: '\\{"id": [0-9]{1,3}, "name": "[a-z]{1,8}"\\}' } },
);

async function run(engine: Engine, cases: GenerateOptions[], extra: Partial<GenerateOptions> = {}): Promise<{ tokens: number[][]; drafted: number }> {
  const tokens: number[][] = [];
  let drafted = 0;
  for (const c of cases) {
    const r = await engine.generate({ ...c, ...extra });
    tokens.push(r.tokenIds);
    drafted += r.metrics.draftTokens;
  }
  return { tokens, drafted };
}

for (const [graphName, graph] of Object.entries({ "tree graph (4-D mask)": "onnx/model_tree.onnx", "HF graph (2-D mask: chains only)": "onnx/model.onnx" })) {
  describe(`constrained greedy output equals constrained plain decoding: ${graphName}`, () => {
    let reference: number[][];
    beforeAll(async () => {
      const plain = await Engine.load(MODEL_DIR, { graph, maxBatchSize: 1 });
      reference = (await run(plain, CASES, { jumpForward: false })).tokens;
      await plain.close();
    }, 300_000);

    // The HF graph runs two proposers (a tree one reduced to chains, and a speculator): the rest is the same code.
    const proposers = graph === "onnx/model.onnx" ? ["suffix (tree)", "lstm"] : Object.keys(PROPOSERS);
    for (const name of proposers) {
      it(`${name}: alone (jump-forward off and on) and batched`, { timeout: 300_000 }, async () => {
        // Not adaptive: every draft the proposer makes (cut by the grammar) is verified.
        const alone = await Engine.load(MODEL_DIR, { graph, speculativeConfig: PROPOSERS[name], maxBatchSize: 1, adaptive: false });
        const off = await run(alone, CASES, { jumpForward: false });
        off.tokens.forEach((t, i) => expect(t, `case ${i}, jump-forward off`).toEqual(reference[i]));
        expect(off.drafted).toBeGreaterThan(0); // the proposer's own drafts were verified
        const on = await run(alone, CASES);
        on.tokens.forEach((t, i) => expect(t, `case ${i}, jump-forward on`).toEqual(reference[i]));
        await alone.close();
        // Batched and adaptive, beside unconstrained requests.
        const batched = await Engine.load(MODEL_DIR, { graph, speculativeConfig: PROPOSERS[name], maxBatchSize: 8 });
        const results = await Promise.all([...CASES, ...PROMPTS.map((prompt) => ({ prompt, maxTokens: 24 }))].map((c) => batched.generate(c)));
        CASES.forEach((_, i) => expect(results[i].tokenIds, `batched case ${i}`).toEqual(reference[i]));
        await batched.close();
      });
    }
  });
}
