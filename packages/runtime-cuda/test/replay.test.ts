// Trace replay on the embedded model: responses forced as the output, drafts
// judged against them, and what must (and must not) be accepted, known from
// how the synthetic trace is built.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, GlimpseConfigError, parseTrace, replayRows, replayTrace, type GenerationResult, type TraceRow } from "../src/index.js";
import { MODEL_DIR } from "./model-dir.js";

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load(MODEL_DIR, { speculativeConfig: { method: "suffix" }, maxBatchSize: 1 });
}, 120_000);
afterAll(async () => engine?.close());

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
// Distinct ids of the embedded vocabulary (4096), none a stop token (EOS is 0).
const P = range(300, 40);
const FRESH = range(1000, 30);
const trace = (rows: [number[], number[]][]): string => rows.map(([p, r]) => JSON.stringify({ prompt_ids: p, response_ids: r })).join("\n");

describe("trace replay", () => {
  it("forces each response exactly, and accepts drafts exactly where they equal the response", async () => {
    const rows = parseTrace(trace([
      [P, P], // the response repeats the prompt: every suffix draft is the response's next tokens
      [range(500, 20), FRESH], // ids seen nowhere before: nothing can be drafted right
      [range(600, 20), P], // the first row's response again: drafted from the earlier response
    ]));
    const seen: { plain: GenerationResult; spec: GenerationResult | null }[] = [];
    const s = await replayTrace(engine, rows, { name: "synthetic", onRow: (_i, _n, plain, spec) => seen.push({ plain, spec }) });

    expect(s.rows).toBe(3);
    expect(s.mismatches).toBe(0);
    seen.forEach(({ plain, spec }, i) => {
      expect(plain.tokenIds).toEqual(rows[i].responseIds);
      expect(spec!.tokenIds).toEqual(rows[i].responseIds);
      expect(plain.finishReason).toBe("length");
      expect(plain.metrics.drafts).toBe(0);
      // One token from the prompt's pass, then per step the accepted drafts plus the target's own.
      expect(1 + spec!.metrics.steps + spec!.metrics.acceptedTokens).toBe(rows[i].responseIds.length);
    });
    const [repeat, fresh, again] = seen.map((x) => x.spec!.metrics);
    expect(repeat.drafts).toBeGreaterThan(0);
    expect(repeat.acceptedTokens).toBe(repeat.draftTokens);
    expect(fresh.acceptedTokens).toBe(0);
    expect(again.drafts).toBeGreaterThan(0);
    expect(again.acceptedTokens).toBe(again.draftTokens);

    expect(s.plain.tokens).toBe(40 + 30 + 40);
    expect(s.speculative!.tokens).toBe(s.plain.tokens);
    expect(s.speculative!.accepted).toBe(repeat.acceptedTokens + again.acceptedTokens);
    expect(s.speculative!.meanTokensPerStep).toBeGreaterThan(1);
    expect(s.plain.decodeTokensPerSecond).toBeGreaterThan(0);
    expect(s.speedup).toBeGreaterThan(0);
  });

  it("forcing overrides the model's own choice (the greedy output differs)", async () => {
    const greedy = await engine.generate({ promptIds: P, maxTokens: 8, ignoreEos: true, speculate: false });
    const forced = await engine.generate({ promptIds: P, forcedOutput: FRESH.slice(0, 8), ignoreEos: true, speculate: false });
    expect(greedy.tokenIds).not.toEqual(FRESH.slice(0, 8));
    expect(forced.tokenIds).toEqual(FRESH.slice(0, 8));
    expect(() => engine.generate({ promptIds: P, forcedOutput: [5000] })).toThrow(GlimpseConfigError);
    expect(() => engine.generate({ promptIds: P, forcedOutput: [1, 2], maxTokens: 3 })).toThrow(/forced output's 2 tokens/);
  });

  it("names a trace tokenized for another vocabulary", async () => {
    const rows = parseTrace(trace([[P, P], [[151643, 9707], P]]), "qwen.jsonl");
    await expect(replayTrace(engine, rows, { name: "qwen.jsonl" })).rejects.toThrow(/qwen\.jsonl line 2: prompt_ids has token id 151643, outside this model's vocabulary of 4096 tokens/);
  });

  it("limits rows, cuts responses and leaves out rows longer than the model", () => {
    const rows: TraceRow[] = parseTrace(trace([[P, P], [range(1, 2040), P], [P, FRESH]]));
    const { rows: kept, skipped } = replayRows(engine, rows, { maxTokens: 10 });
    expect(skipped).toBe(1); // 2040 + 10 > 2048
    expect(kept.map((r) => r.line)).toEqual([1, 3]);
    expect(kept.every((r) => r.responseIds.length === 10)).toBe(true);
    expect(replayRows(engine, rows, { limit: 1 }).rows).toHaveLength(1);
    expect(() => parseTrace("{\"prompt_ids\": [1]}\n")).toThrow(/line 1: needs non-empty arrays/);
  });
});
