// Health, Prometheus metrics, suffix documents, the suffix cache file across
// restarts, and graceful shutdown.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startServer, SUFFIX, type TestServer } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "glimpse-server-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("health and metrics", () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer({ speculativeConfig: SUFFIX });
  });
  afterAll(() => srv?.close());

  it("GET /health", async () => {
    const r = await fetch(srv.url + "/health");
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: "ok", model: "glimpse-test", speculative: "suffix" });
  });

  it("GET /metrics has vLLM's names and counts what was served", async () => {
    // Repetitive text so that suffix decoding drafts and gets accepted.
    const prompt = "a = 1\nb = 2\na = 1\nb = 2\na = 1\nb = 2\n";
    const r = await post(srv.url + "/v1/completions", { prompt, max_tokens: 24, temperature: 0 });
    expect(r.status).toBe(200);
    const spec = r.json.metrics.speculative_decoding;
    const text = await (await fetch(srv.url + "/metrics")).text();
    const value = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "m").exec(text)?.[1]);
    expect(value("vllm:spec_decode_num_drafts_total")).toBe(spec.num_drafts);
    expect(value("vllm:spec_decode_num_draft_tokens_total")).toBe(spec.num_draft_tokens);
    expect(value("vllm:spec_decode_num_accepted_tokens_total")).toBe(spec.num_accepted_tokens);
    if (spec.num_accepted_tokens > 0) expect(text).toMatch(/vllm:spec_decode_num_accepted_tokens_per_pos_total\{position="0",model_name="glimpse-test"\} \d+/);
    expect(value("vllm:prompt_tokens_total")).toBe(r.json.usage.prompt_tokens);
    expect(value("vllm:generation_tokens_total")).toBe(r.json.usage.completion_tokens);
    expect(text).toMatch(/vllm:request_success_total\{finished_reason="(stop|length)",model_name="glimpse-test"\} 1/);
    expect(text).toContain("vllm:time_to_first_token_seconds_bucket");
    expect(text).toContain("vllm:time_per_output_token_seconds_bucket");
    expect(text).toContain("process_resident_memory_bytes");
    expect(text).toContain("glimpse:suffix_cache_memory_bytes");
  });

  it("speculative: false decodes one request without drafts, to the same greedy text", async () => {
    const body = { prompt: "a = 1\nb = 2\na = 1\nb = 2\na = 1\n", max_tokens: 24, temperature: 0 };
    const spec = await post(srv.url + "/v1/completions", body);
    const plain = await post(srv.url + "/v1/completions", { ...body, speculative: false });
    expect(plain.json.metrics.speculative_decoding.num_drafts).toBe(0);
    expect(plain.json.choices[0].text).toBe(spec.json.choices[0].text);
  });
});

describe("suffix documents and the suffix cache file", () => {
  const file = join(dir, "suffix-cache.json");
  const docs = "/v1/suffix/documents";
  const source = "export function clamp(x: number, lo: number, hi: number): number {\n  return Math.min(hi, Math.max(lo, x));\n}\n";

  it("adds, lists, replaces, removes and clears documents", async () => {
    const srv = await startServer({ speculativeConfig: SUFFIX });
    try {
      const added = await post(srv.url + docs, { name: "src/clamp.ts", text: source });
      expect(added.status).toBe(201);
      expect(added.json).toMatchObject({ name: "src/clamp.ts", tokens: srv.engine.tokenizer.encode(source).length });
      expect((await post(srv.url + docs, { name: "src/clamp.ts", text: source })).status).toBe(200);
      await post(srv.url + docs, { name: "b", text: "bbb" });
      const list: any = await (await fetch(srv.url + docs)).json();
      expect(list.data.map((d: { name: string }) => d.name).sort()).toEqual(["b", "src/clamp.ts"]);
      const del = await fetch(srv.url + docs + "/b", { method: "DELETE" });
      expect(del.status).toBe(200);
      expect((await fetch(srv.url + docs + "/b", { method: "DELETE" })).status).toBe(404);
      expect(((await (await fetch(srv.url + docs, { method: "DELETE" })).json()) as any).deleted).toBe(1);
      expect(((await (await fetch(srv.url + docs)).json()) as any).data).toEqual([]);
    } finally {
      await srv.close();
    }
  });

  it("400 naming speculative_config when suffix decoding is off", async () => {
    const plain = await startServer();
    try {
      const r = await post(plain.url + docs, { name: "a", text: "x" });
      expect(r.status).toBe(400);
      expect(r.json.error.param).toBe("speculative_config");
    } finally {
      await plain.close();
    }
  });

  it("persists documents across a restart with --suffix-cache-file", async () => {
    const first = await startServer({ speculativeConfig: SUFFIX }, { suffixCacheFile: file });
    await post(first.url + docs, { name: "src/clamp.ts", text: source });
    await post(first.url + "/v1/completions", { prompt: "x = 1", max_tokens: 8, temperature: 0 });
    await first.close();
    const saved = JSON.parse(readFileSync(file, "utf8"));
    expect(saved.documents.map((d: { name: string }) => d.name)).toEqual(["src/clamp.ts"]);
    expect(saved.responses.length).toBeGreaterThan(0);

    const second = await startServer({ speculativeConfig: SUFFIX }, { suffixCacheFile: file });
    try {
      const list: any = await (await fetch(second.url + docs)).json();
      expect(list.data).toEqual([{ object: "suffix.document", name: "src/clamp.ts", tokens: tokenCount(second, source) }]);
    } finally {
      await second.close();
    }
  });
});

const tokenCount = (s: TestServer, text: string) => s.engine.tokenizer.encode(text).length;

describe("graceful shutdown", () => {
  it("lets an in-flight stream finish, refuses new work, then stops", async () => {
    const srv = await startServer({}, { shutdownTimeoutMs: 20_000 });
    const res = await fetch(srv.url + "/v1/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ prompt: "x", max_tokens: 300, ignore_eos: true, stream: true, stream_options: { include_usage: true } }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    const closing = srv.running.close();
    expect(srv.running.ctx.draining).toBe(true);
    let body = "";
    const dec = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      body += dec.decode(value);
    }
    await closing;
    expect(body.trimEnd().endsWith("data: [DONE]")).toBe(true);
    const usage = body.split("\n").filter((l) => l.startsWith("data: {")).map((l) => JSON.parse(l.slice(6))).find((c) => c.usage)?.usage;
    expect(usage.completion_tokens).toBe(300);
    await expect(fetch(srv.url + "/health")).rejects.toThrow();
    await srv.engine.close();
  });
});
