// A suffix cache that holds token ids outside the vocabulary (a corrupted
// saved cache, say) is refused at import, and if one gets into a tree anyway
// its drafts are cut before the forward pass: no request fails because of it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, GlimpseConfigError } from "../src/index.js";
import { MODEL_DIR } from "./model-dir.js";

const PROMPT = "const first = 1;\nconst second = 2;\nconst third = 3;\n";
let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load(MODEL_DIR, { speculativeConfig: { method: "suffix" }, adaptive: false });
}, 120_000);
afterAll(async () => engine?.close());

describe("token ids outside the vocabulary in the suffix cache", () => {
  it("are refused at import, naming the entry", async () => {
    const V = engine.config.vocabSize;
    const err = await engine.importSuffixState({ documents: [], responses: [[1, 2], [3, V + 5]] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GlimpseConfigError);
    expect((err as GlimpseConfigError).field).toBe("suffix_state.responses[1][1]");
    expect((err as Error).message).toMatch(`must be a token id in [0, ${V - 1}], got ${V + 5}`);
    await expect(engine.importSuffixState({ documents: [{ name: "a", tokens: [-1] }], responses: [] })).rejects.toThrow(/suffix_state.documents\[0\].tokens\[0\]/);
  });

  it("never reach the forward pass: a batch drafting from such a tree decodes as plain decoding does", async () => {
    const ids = engine.tokenizer.encode(PROMPT);
    const V = engine.config.vocabSize;
    const prompts = [PROMPT, PROMPT, "let a = 1;\n" + PROMPT, PROMPT + "const fourth"];
    const plain = await Promise.all(prompts.map((prompt) => engine.generate({ prompt, maxTokens: 24, speculate: false })));
    // Behind the engine's check, as a corrupted tree would hold it: the prompt
    // and the start of its output, then bad ids where the drafts go on.
    const out = plain[0].tokenIds;
    engine.proposer!.documents!.importState({ documents: [], responses: [[...ids, ...out.slice(0, 3), V + 1, 99999, V]] });
    const before = engine.cumulative.draftTokens;
    const drafted = await Promise.all(prompts.map((prompt) => engine.generate({ prompt, maxTokens: 24 })));
    expect(drafted.map((r) => r.tokenIds)).toEqual(plain.map((r) => r.tokenIds));
    expect(engine.cumulative.draftTokens).toBeGreaterThan(before); // valid drafts still ran
  });
});
