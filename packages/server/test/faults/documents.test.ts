// Finding 4: POST /v1/suffix/documents stalled all generation and had no
// byte cap. A 4 MB document took 25-30 s in the engine's thread (tokenizing
// and inserting into the suffix trees in one go) while every completion
// waited. Now documents are tokenized in a tokenizer thread and inserted in
// slices between decoding steps, within a byte cap (413), a token cap (413),
// a total token budget (oldest evicted) and a bound on what is in flight (429).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startWorkerServer, SUFFIX } from "../helpers.js";

let srv: Awaited<ReturnType<typeof startWorkerServer>>;
beforeAll(async () => {
  srv = await startWorkerServer(
    { speculativeConfig: SUFFIX, documents: { maxDocumentTokens: 400_000, maxTotalTokens: 450_000 } },
    // One document in flight at a time (one alone is always admitted, whatever its size).
    { documents: { maxDocumentBytes: 1_500_000, maxPendingBytes: 100_000, maxDocumentTokens: 400_000 } },
  );
});
afterAll(() => srv?.close());

/** Code-shaped text with few repeats (each line differs): about 480,000 tokens per MB. */
function codeText(bytes: number, seed: number): string {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const line = `function f${seed}_${i}(x, y) { return x * ${(i * 7919) % 1009} + y - ${(i * 104729) % 997}; }\n`;
    lines.push(line);
    n += line.length;
  }
  return lines.join("");
}

/** How long the first test's 700 kB upload took (ms). */
let bigUploadMs = 0;

const list = async () => ((await (await fetch(`${srv.url}/v1/suffix/documents`)).json()) as { data: { name: string; tokens: number }[] }).data;

describe("suffix documents", () => {
  it("a completion finishes while a large document is added, well before the document", async () => {
    const t0 = performance.now();
    let uploaded = 0;
    const upload = post(`${srv.url}/v1/suffix/documents`, { name: "big.ts", text: codeText(700_000, 1) }).then((r) => {
      uploaded = performance.now() - t0;
      return r;
    });
    // 8-token completions every 200 ms for as long as the upload runs (between them the
    // engine is idle and ingestion runs flat out; during them it takes a tenth of the thread).
    const latencies: number[] = [];
    while (uploaded === 0) {
      const c0 = performance.now();
      const r = await post(`${srv.url}/v1/completions`, { prompt: "def main():", max_tokens: 8, temperature: 0 });
      expect(r.status).toBe(200);
      latencies.push(performance.now() - c0);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const r = await upload;
    bigUploadMs = uploaded;
    expect(r.status).toBe(201);
    expect(r.json.tokens).toBeGreaterThan(200_000);
    expect(r.json.tokens).toBeLessThanOrEqual(400_000);
    // The upload took seconds; no completion waited for it.
    expect(uploaded).toBeGreaterThan(2000);
    expect(latencies.length).toBeGreaterThan(3);
    expect(Math.max(...latencies)).toBeLessThan(uploaded / 3);
    expect((await list()).map((d) => d.name)).toEqual(["big.ts"]);
  });

  it("while one is being added, another gets 429", async () => {
    const first = post(`${srv.url}/v1/suffix/documents`, { name: "second.ts", text: codeText(150_000, 2) });
    const gate = srv.running.ctx.documentGate;
    for (let i = 0; i < 500 && gate.pendingBytes === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const busy = await post(`${srv.url}/v1/suffix/documents`, { name: "small.ts", text: "const x = 1;\n" });
    expect(busy.status).toBe(429);
    expect(busy.json.error.code).toBe("documents_busy");
    expect((await first).status).toBe(201);
  });

  it("beyond the total budget the oldest documents are evicted", async () => {
    // big.ts (~335k tokens) + second.ts (~72k) fit 450k; a third ~72k does not: big.ts goes.
    const r = await post(`${srv.url}/v1/suffix/documents`, { name: "third.ts", text: codeText(150_000, 3) });
    expect(r.status).toBe(201);
    const docs = await list();
    expect(docs.map((d) => d.name)).toEqual(["second.ts", "third.ts"]);
    expect(docs.reduce((n, d) => n + d.tokens, 0)).toBeLessThanOrEqual(450_000);
  });

  it("a client that goes away mid-upload leaves no work behind: tokenizing stops and the slot frees", async () => {
    expect(bigUploadMs, "compares with the first test's upload: run the whole file").toBeGreaterThan(0);
    const gate = srv.running.ctx.documentGate;
    const pool = srv.running.ctx.tokenizers;
    const ac = new AbortController();
    // 700 kB: seconds of tokenizing (the first test's upload of this size took over 2 s).
    const upload = fetch(`${srv.url}/v1/suffix/documents`, {
      method: "POST", headers: { "Content-Type": "application/json" }, signal: ac.signal,
      body: JSON.stringify({ name: "gone.ts", text: codeText(700_000, 4) }),
    }).catch((err: Error) => err);
    for (let i = 0; i < 500 && pool.pending("document") === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(pool.pending("document")).toBe(1);
    ac.abort();
    expect(await upload).toBeInstanceOf(Error);
    // The tokenizer thread answers the cancelled job within a piece (64 kB of 700), not at the document's end:
    // in well under half the time the first test's upload of the same size took.
    const t0 = performance.now();
    while (pool.pending("document") > 0 && performance.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 10));
    expect(pool.pending("document")).toBe(0);
    expect(performance.now() - t0).toBeLessThan(bigUploadMs / 2);
    expect(gate.pendingBytes).toBe(0);
    expect((await list()).map((d) => d.name)).not.toContain("gone.ts");
    const next = await post(`${srv.url}/v1/suffix/documents`, { name: "after.ts", text: "const y = 2;\n" });
    expect(next.status).toBe(201);
  });

  it("over the byte cap: 413 naming text, before any work", async () => {
    const r = await post(`${srv.url}/v1/suffix/documents`, { name: "huge.ts", text: "x".repeat(1_600_000) });
    expect(r.status).toBe(413);
    expect(r.json.error.param).toBe("text");
    expect(r.json.error.code).toBe("document_too_large");
  });

  it("over the token cap: 413 naming text (tokenizing stops at the cap)", async () => {
    // 880 kB within the byte cap, but about 440,000 tokens.
    const r = await post(`${srv.url}/v1/suffix/documents`, { name: "many.ts", text: "a b ".repeat(220_000) });
    expect(r.status).toBe(413);
    expect(r.json.error.param).toBe("text");
    expect(r.json.error.message).toMatch(/400000/);
  });
});
