// The simulator's replica mode: requests dealt round-robin to N caches,
// separate or shared (every response broadcast to every cache).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readTraceRows } from "../src/cli/traces.js";
import { readTrace } from "./shared-data.js";
import { DEFAULT_SIMULATION_CONFIG, simulate, simulateReplicas, type SimulationConfig } from "../src/simulator.js";

const run = promisify(execFile);
const bin = fileURLToPath(new URL("../bin/glimpse-suffix.js", import.meta.url));
const sample = fileURLToPath(new URL("../fixtures/sql-sample.jsonl", import.meta.url));
const rows = () => readTraceRows(sample, { promptKey: "prompt_ids", responseKey: "response_ids" });
const config: SimulationConfig = { ...DEFAULT_SIMULATION_CONFIG, maxSpecTokens: DEFAULT_SIMULATION_CONFIG.maxDepth };

const acceptance = (s: { total_steps: number; total_accepted_tokens: number; total_speculated_tokens: number }) =>
  ({ steps: s.total_steps, accepted: s.total_accepted_tokens, speculated: s.total_speculated_tokens });

describe("simulateReplicas", () => {
  it("with shared caches accepts exactly what one cache accepts; separate caches accept less", async () => {
    const trace = await rows();
    const one = simulate(trace, config);
    for (const n of [2, 4]) {
      const shared = simulateReplicas(trace, config, { replicas: n, shared: true });
      const separate = simulateReplicas(trace, config, { replicas: n, shared: false });
      expect(acceptance(shared), `${n} shared`).toEqual(acceptance(one));
      expect(separate.total_accepted_tokens, `${n} separate`).toBeLessThan(shared.total_accepted_tokens);
      expect(separate.mean_output_tokens_per_step).toBeLessThan(shared.mean_output_tokens_per_step);
      // Round-robin: replica r serves rows r, r + n, ...; the per-replica counts add up to the whole.
      expect(shared.per_replica.map((r) => r.num_requests)).toEqual(Array.from({ length: n }, (_, r) => Math.ceil((trace.length - r) / n)));
      expect(shared.per_replica.reduce((s, r) => s + r.total_accepted_tokens, 0)).toBe(shared.total_accepted_tokens);
    }
  });

  it("on the shared sql trace, 4 shared caches keep one cache's acceptance (within 2%: here exactly)", { timeout: 60_000 }, () => {
    const trace = readTrace("sql");
    const one = simulate(trace, config);
    const shared = simulateReplicas(trace, config, { replicas: 4, shared: true });
    const separate = simulateReplicas(trace, config, { replicas: 4, shared: false });
    expect(Math.abs(shared.mean_accepted_tokens_per_step / one.mean_accepted_tokens_per_step - 1)).toBeLessThan(0.02);
    expect(acceptance(shared)).toEqual(acceptance(one));
    // Separate caches lose: each sees a quarter of the responses (measured: accepted/step 1.233 -> 0.677).
    expect(separate.mean_accepted_tokens_per_step).toBeLessThan(0.8 * one.mean_accepted_tokens_per_step);
  });

  it("with one replica is the plain simulation", async () => {
    const trace = await rows();
    const plain = simulate(trace, config);
    const single = simulateReplicas(trace, config, { replicas: 1, shared: false });
    expect(acceptance(single)).toEqual(acceptance(plain));
    expect(() => simulateReplicas(trace, config, { replicas: 0, shared: true })).toThrow(/replicas/);
  });
});

describe("glimpse-suffix simulate --replicas", () => {
  it("prints each replica's acceptance, and the shared figure equals one cache's", { timeout: 60_000 }, async () => {
    const json = async (...extra: string[]) => JSON.parse((await run(process.execPath, [bin, "simulate", "--data", sample, "--json", ...extra])).stdout);
    const one = await json();
    const shared = await json("--replicas", "3", "--shared");
    const separate = await json("--replicas", "3");
    expect(one.per_replica).toBeUndefined();
    expect(shared).toMatchObject({ replicas: 3, shared: true, total_accepted_tokens: one.total_accepted_tokens, total_steps: one.total_steps });
    expect(shared.per_replica).toHaveLength(3);
    expect(separate).toMatchObject({ replicas: 3, shared: false });
    expect(separate.total_accepted_tokens).toBeLessThan(one.total_accepted_tokens);
    const text = (await run(process.execPath, [bin, "simulate", "--data", sample, "--replicas", "2", "--shared"])).stdout;
    expect(text).toMatch(/replicas\s+2, requests dealt round-robin, one shared cache/);
    expect(text).toMatch(/replica 1\s+accepted\/step \d+\.\d{3}, output\/step \d+\.\d{3} \(75 requests\)/);
    await expect(run(process.execPath, [bin, "simulate", "--data", sample, "--shared"])).rejects.toMatchObject({ stderr: expect.stringMatching(/--shared needs --replicas/) });
  });
});
