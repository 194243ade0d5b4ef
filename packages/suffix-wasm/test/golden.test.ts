// Differential test: the simulator's drafts equal those of ArcticInference's
// C++ suffix tree (../shared/golden), step by step, for every configuration.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { simulate, type StepRecord } from "../src/index.js";
import { goldenSimulationConfig, readJsonl, readTrace, sharedPath } from "./shared-data.js";

interface GoldenDraft {
  request_id: number;
  step: number;
  token_ids: number[];
  parents: number[];
  probs: number[];
  score: number;
  match_len: number;
  num_accept_toks: number;
}

const goldenDir = sharedPath("golden");
const names = readdirSync(goldenDir)
  .filter((f) => f.endsWith(".summary.json"))
  .map((f) => f.replace(/\.summary\.json$/, ""))
  .sort();

describe("drafts identical to ArcticInference's suffix tree", () => {
  it("finds the reference configurations", () => {
    expect(names.length).toBeGreaterThanOrEqual(6);
  });

  for (const name of names) {
    it(`${name}: every draft and the summary figures`, { timeout: 120_000 }, () => {
      const summary = JSON.parse(readFileSync(`${goldenDir}/${name}.summary.json`, "utf8"));
      const c = summary.config;
      const trace = String(summary.data).match(/traces\/(\w+)\.jsonl/)![1];
      const rows = readTrace(trace, summary.num_lines);
      const golden = readJsonl<GoldenDraft>(`${goldenDir}/${name}.drafts.jsonl`);
      const config = goldenSimulationConfig(c);
      const mismatches: string[] = [];
      let i = 0;
      const check = (r: StepRecord) => {
        const g = golden[i++];
        const where = `step ${i - 1} (request ${r.requestId}, step ${r.step})`;
        if (!g || g.request_id !== r.requestId || g.step !== r.step) {
          mismatches.push(`${where}: reference has request ${g?.request_id} step ${g?.step}`);
          return;
        }
        const d = r.draft;
        let ok = d.matchLen === g.match_len && r.numAccepted === g.num_accept_toks;
        if (c.use_tree_spec) {
          // Tree mode: equal-probability siblings may come out in another order.
          ok &&= d.tokenIds.length === g.token_ids.length && Math.abs(d.score - g.score) <= 1e-4;
        } else {
          ok &&=
            JSON.stringify(Array.from(d.tokenIds)) === JSON.stringify(g.token_ids) &&
            JSON.stringify(Array.from(d.parents)) === JSON.stringify(g.parents) &&
            d.probs.length === g.probs.length &&
            g.probs.every((p, k) => Math.abs(p - d.probs[k]) <= 1e-6);
        }
        if (!ok && mismatches.length < 5) {
          mismatches.push(`${where}: got ${JSON.stringify({ tokens: Array.from(d.tokenIds), parents: Array.from(d.parents), score: d.score, matchLen: d.matchLen, accepted: r.numAccepted })}, reference ${JSON.stringify(g)}`);
        }
      };
      const result = simulate(rows, config, check);
      expect(mismatches).toEqual([]);
      expect(i).toBe(golden.length);
      expect(result.num_requests).toBe(summary.num_requests);
      expect(result.total_steps).toBe(summary.total_steps);
      expect(result.total_output_tokens).toBe(summary.total_output_tokens);
      expect(result.total_speculated_tokens).toBe(summary.total_speculated_tokens);
      expect(result.total_accepted_tokens).toBe(summary.total_accepted_tokens);
      expect(result.mean_accepted_tokens_per_step).toBeCloseTo(summary.mean_accepted_tokens_per_step, 6);
      expect(result.mean_output_tokens_per_step).toBeCloseTo(summary.mean_output_tokens_per_step, 6);
    });
  }
});
