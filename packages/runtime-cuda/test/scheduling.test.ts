// Head-of-line waits: with every row of the batch taken by long requests, a
// short one gets a row within a time slice (a long request gives its row up
// and keeps its KV cache), and every output stays token for token what the
// request decodes alone.
import { afterAll, beforeAll, expect, it } from "vitest";
import { Engine, type GenerationResult } from "../src/index.js";
import { MODEL_DIR } from "./model-dir.js";

const LONG = ["export function parseArgs(argv) {\n", "class Queue {\n  constructor() {\n"];
let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load(MODEL_DIR, { speculativeConfig: { method: "suffix" }, maxBatchSize: 2, intraOpThreads: 1 });
}, 120_000);
afterAll(async () => engine?.close());

it("a short request passes long ones that hold every row, and outputs are unchanged", { timeout: 180_000 }, async () => {
  const finished: string[] = [];
  const track = (name: string, p: Promise<GenerationResult>) => p.then((r) => (finished.push(name), r));
  // Decoded plainly: one token per step, so they outlast a time slice whatever the suffix tree accepts.
  const streams = LONG.map((prompt) => engine.stream({ prompt, maxTokens: 200, ignoreEos: true, speculate: false }));
  // Both long requests hold their rows (their first tokens came).
  await Promise.all(streams.map(async (s) => (await s.next()).value));
  const longs = streams.map((s, i) => {
    void (async () => { for await (const _ of s); })();
    return track(`long${i}`, s.result);
  });
  const short = track("short", engine.generate({ prompt: "const x = ", maxTokens: 8, ignoreEos: true }));
  const [a, b, s] = await Promise.all([...longs, short]);
  expect(finished[0]).toBe("short");
  expect(s.completionTokens).toBe(8);
  expect(engine["scheduler"].preemptions).toBeGreaterThan(0);
  // Same tokens as each request decoded alone, without drafts.
  for (const [r, prompt] of [[a, LONG[0]], [b, LONG[1]]] as const) {
    expect(r.tokenIds).toEqual((await engine.generate({ prompt, maxTokens: 200, ignoreEos: true, speculate: false })).tokenIds);
  }
  expect(s.tokenIds).toEqual((await engine.generate({ prompt: "const x = ", maxTokens: 8, ignoreEos: true, speculate: false })).tokenIds);
});

it("preempted requests that draft resume where they stopped: every output equals decoding alone", { timeout: 180_000 }, async () => {
  const long = ["function sum(xs) {\n", "const config = {\n", "export class Cache {\n", "def main():\n"];
  const short = ["let a = ", "// TODO: ", "import ", "x = "];
  const before = engine["scheduler"].preemptions;
  // Long enough to hold their rows past a time slice even when the suffix tree accepts many tokens per step.
  const longs = long.map((prompt) => engine.generate({ prompt, maxTokens: 400, ignoreEos: true }));
  await new Promise((r) => setTimeout(r, 300));
  const shorts = short.map((prompt) => engine.generate({ prompt, maxTokens: 6, ignoreEos: true }));
  const got = await Promise.all([...longs, ...shorts]);
  expect(engine["scheduler"].preemptions).toBeGreaterThan(before);
  expect(got.slice(0, long.length).some((r) => r.metrics.draftTokens > 0)).toBe(true); // they did draft
  const prompts = [...long.map((p) => [p, 400] as const), ...short.map((p) => [p, 6] as const)];
  for (const [i, [prompt, maxTokens]] of prompts.entries()) {
    expect(got[i].tokenIds, prompt).toEqual((await engine.generate({ prompt, maxTokens, ignoreEos: true, speculate: false })).tokenIds);
  }
});
