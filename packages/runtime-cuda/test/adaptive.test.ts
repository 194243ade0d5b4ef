// The adaptive logic: a proposer whose drafts keep failing costs almost
// nothing because it stops being asked, while one that pays keeps drafting.
// Outcomes only (shares of steps), never timings: which steps draft depends
// on measured step times, but the share does not swing across this line.
import { describe, expect, it } from "vitest";
import { Engine, type SpeculativeConfigInput } from "../src/index.js";
import { MODEL_DIR } from "./model-dir.js";
import { prompts } from "./prompts.js";

// File rewrites: the speculators accept little there (docs/BENCHMARKS.md), suffix decoding most tokens.
const REWRITES = prompts(8).filter((p) => p.kind === "rewrite").map((p) => p.text);
const MAX_TOKENS = 160;

/** Share of steps that verified a draft, share of draft tokens accepted, output tokens per step. */
async function draftingShare(config: SpeculativeConfigInput, adaptive = true): Promise<{ drafted: number; accepted: number; perStep: number }> {
  const engine = await Engine.load(MODEL_DIR, { speculativeConfig: config, adaptive });
  let steps = 0;
  let drafts = 0;
  let draftTokens = 0;
  let accepted = 0;
  let tokens = 0;
  for (const prompt of REWRITES) {
    const r = await engine.generate({ prompt, maxTokens: MAX_TOKENS });
    steps += r.metrics.steps;
    drafts += r.metrics.drafts;
    draftTokens += r.metrics.draftTokens;
    accepted += r.metrics.acceptedTokens;
    tokens += r.completionTokens;
  }
  await engine.close();
  const share = { drafted: drafts / steps, accepted: draftTokens ? accepted / draftTokens : 0, perStep: tokens / steps };
  return share;
}

describe("adaptive drafting", () => {
  it("a speculator whose drafts fail is asked on few steps", { timeout: 120_000 }, async () => {
    // The premise, measured where every draft is verified at full length (no timing involved): its drafts
    // do fail here. (With the adaptive logic on, the few drafts left are cut short, and short drafts are
    // accepted more often, so their share says little about the speculator.)
    const everyStep = await draftingShare({ method: "arctic", model: "speculator-mlp" }, false);
    expect(everyStep.accepted).toBeLessThan(0.3);
    const mlp = await draftingShare({ method: "arctic", model: "speculator-mlp" });
    expect(mlp.drafted).toBeLessThan(0.1);
  });

  it("the same logic keeps a proposer that pays drafting", { timeout: 120_000 }, async () => {
    const suffix = await draftingShare({ method: "suffix" });
    expect(suffix.accepted).toBeGreaterThan(0.5);
    expect(suffix.drafted).toBeGreaterThan(0.25);
    expect(suffix.perStep).toBeGreaterThan(1.5); // 1 without drafting
  });

  it("without it, every step drafts", { timeout: 120_000 }, async () => {
    const engine = await Engine.load(MODEL_DIR, { speculativeConfig: { method: "arctic", model: "speculator-mlp" }, adaptive: false });
    const r = await engine.generate({ prompt: REWRITES[0], maxTokens: 64 });
    await engine.close();
    // (The last step has no room left to draft into.)
    expect(r.metrics.drafts).toBeGreaterThanOrEqual(r.metrics.steps - 1);
  });
});
