// The glimpse-suffix CLI as users run it: a real process on a real trace.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readJsonl, sharedPath } from "./shared-data.js";

const run = promisify(execFile);
const bin = fileURLToPath(new URL("../bin/glimpse-suffix.js", import.meta.url));

describe("glimpse-suffix simulate", () => {
  it("reproduces the reference summary and drafts for sql.evict", { timeout: 60_000 }, async () => {
    const golden = JSON.parse(readFileSync(sharedPath("golden/sql.evict.summary.json"), "utf8"));
    const out = join(mkdtempSync(join(tmpdir(), "glimpse-suffix-")), "drafts.jsonl");
    const { stdout } = await run(process.execPath, [
      bin, "simulate", "--data", sharedPath("traces/sql.jsonl"), "--limit", "150",
      "--max-depth", "32", "--max-spec-tokens", "16", "--max-spec-factor", "2", "--max-spec-offset", "-1",
      "--min-token-prob", "0.2", "--max-cached-requests", "20", "--dump-drafts", out, "--json",
    ]);
    const summary = JSON.parse(stdout);
    for (const key of ["num_requests", "total_steps", "total_output_tokens", "total_speculated_tokens", "total_accepted_tokens"]) {
      expect(summary[key], key).toBe(golden[key]);
    }
    expect(summary.mean_accepted_tokens_per_step).toBeCloseTo(golden.mean_accepted_tokens_per_step, 6);
    for (const key of ["speculate_time_us_per_step", "update_time_us_per_step", "memory_bytes"]) {
      expect(summary[key], key).toBeGreaterThan(0);
    }
    const ours = readJsonl<Record<string, unknown>>(out);
    const theirs = readJsonl<Record<string, unknown>>(sharedPath("golden/sql.evict.drafts.jsonl"));
    expect(ours.length).toBe(theirs.length);
    expect(ours).toEqual(theirs);
  });

  it("explains bad options and bad data instead of crashing", async () => {
    const fail = async (args: string[]) => {
      try {
        await run(process.execPath, [bin, ...args]);
      } catch (err) {
        return (err as { stderr: string; code: number });
      }
      throw new Error(`expected failure for ${args.join(" ")}`);
    };
    expect((await fail(["simulate", "--data", "x.jsonl", "--max-depth", "0"])).stderr).toMatch(/--max-depth.*expected an integer >= 1/);
    expect((await fail(["simulate", "--data", "x.jsonl", "--min-token-prob", "2"])).stderr).toMatch(/--min-token-prob.*\[0, 1\]/);
    expect((await fail(["simulate"])).stderr).toMatch(/--data/);
    expect((await fail(["simulate", "--data", "/nonexistent/trace.jsonl"])).stderr).toMatch(/no such file/);
    const badKey = await fail(["simulate", "--data", sharedPath("traces/sql.jsonl"), "--prompt-key", "nope"]);
    expect(badKey.stderr).toMatch(/missing key "nope"/);
    expect(badKey.code).toBe(1);
  });
});

describe("README example", () => {
  it("runs and prints the documented draft", async () => {
    const example = fileURLToPath(new URL("../examples/quickstart.mjs", import.meta.url));
    const { stdout } = await run(process.execPath, [example]);
    expect(stdout).toContain("draft tokens: [ 10, 11, 12 ]");
    expect(stdout).toContain("score: 1.5 match length: 3");
  });
});
