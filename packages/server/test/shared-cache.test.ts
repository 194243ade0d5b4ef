// --shared-cache with a real redis-server on 127.0.0.1 and in-process
// replicas: what one replica learns, another drafts from; Redis absent at
// start is not an error. (Child-process replicas behind nginx:
// shared-cache-cluster.test.ts.)

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startRedis, type LocalRedis } from "../../../deploy/local-cluster.mjs";
import { decodeEntry, encodeEntry, MAX_ENTRY_TOKENS, type CacheOp } from "../src/shared-cache/entries.js";
import { post, startServer, SUFFIX, waitFor, type TestServer } from "./helpers.js";

// Drafting must depend on the trees alone: no timing-driven pauses, no cost cuts.
const DETERMINISTIC = { speculativeConfig: SUFFIX, adaptive: false, verifyCost: 0 } as const;
const BODY = { prompt: "def fibonacci(n):", max_tokens: 64, temperature: 0 };

let dir: string;
let redis: LocalRedis;
const servers: TestServer[] = [];
const stopAll: (() => Promise<void>)[] = [];

async function replica(stream: string, url = redis.url): Promise<TestServer> {
  const s = await startServer(DETERMINISTIC, { sharedCache: { url, stream, bootstrapTimeoutMs: 1000 } });
  servers.push(s);
  return s;
}
const shared = (s: TestServer) => s.running.ctx.sharedCache!;
const getJson = async (url: string): Promise<any> => (await fetch(url)).json();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "glimpse-shared-cache-"));
  redis = await startRedis({ dir });
});

afterAll(async () => {
  for (const s of servers) await s.close();
  for (const stop of stopAll) await stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("stream entries", () => {
  it("round-trip, and foreign or damaged entries are refused", () => {
    const op: CacheOp = { kind: "response", tokens: [1, 2, 3] };
    expect(decodeEntry(encodeEntry("a", op), 100)).toEqual(op);
    expect(decodeEntry(encodeEntry("a", { kind: "document", name: "f.py", tokens: [5] }), 100)).toEqual({ kind: "document", name: "f.py", tokens: [5] });
    expect(decodeEntry(encodeEntry("a", { kind: "remove", name: "f.py" }), 100)).toEqual({ kind: "remove", name: "f.py" });
    expect(decodeEntry(encodeEntry("a", { kind: "clear" }), 100)).toEqual({ kind: "clear" });
    expect(decodeEntry({ r: "a", k: "r", t: "1,200" }, 100)).toHaveProperty("error"); // another model's vocabulary
    expect(decodeEntry({ r: "a", k: "r", t: "1,x" }, 100)).toHaveProperty("error");
    expect(decodeEntry({ r: "a", k: "r", t: "" }, 100)).toHaveProperty("error");
    expect(decodeEntry({ r: "a", k: "d", t: "1" }, 100)).toHaveProperty("error"); // no name
    expect(decodeEntry({ r: "a", k: "?" }, 100)).toHaveProperty("error");
    const long = encodeEntry("a", { kind: "response", tokens: new Array(MAX_ENTRY_TOKENS + 10).fill(7) });
    expect(long.t.split(",")).toHaveLength(MAX_ENTRY_TOKENS);
  });
});

describe("shared suffix cache through Redis", () => {
  it("drafts on replica B a response served by replica A exactly as a single instance drafts its own", async () => {
    const single = await startServer(DETERMINISTIC);
    servers.push(single);
    const firstSingle = await post(`${single.url}/v1/completions`, BODY);
    const repeatSingle = await post(`${single.url}/v1/completions`, BODY);

    const a = await replica("test:drafted");
    const b = await replica("test:drafted");
    const onA = await post(`${a.url}/v1/completions`, BODY);
    expect(onA.json.choices[0].text).toBe(firstSingle.json.choices[0].text);
    expect(await waitFor(() => shared(b).status().consumed >= 1, 5000)).toBe(true);
    const onB = await post(`${b.url}/v1/completions`, BODY);

    expect(onB.json.choices[0].text).toBe(repeatSingle.json.choices[0].text);
    const spec = onB.json.metrics.speculative_decoding;
    expect(spec).toEqual(repeatSingle.json.metrics.speculative_decoding);
    // ... and the repeat gains from the cache (else the comparison proves nothing).
    expect(spec.num_accepted_tokens).toBeGreaterThan(firstSingle.json.metrics.speculative_decoding.num_accepted_tokens + 20);
    // Each replica wrote its one response and applied the other's.
    expect(await waitFor(() => shared(a).status().consumed === 1, 5000)).toBe(true);
    for (const s of [a, b]) expect(shared(s).status()).toMatchObject({ state: "connected", published: 1, consumed: 1, rejected: 0 });
  });

  it("bootstraps a replica that starts later from the stream, and shares documents, their removal included", async () => {
    const a = await replica("test:docs");
    await post(`${a.url}/v1/completions`, { ...BODY, prompt: "class Stack:" });
    expect((await post(`${a.url}/v1/suffix/documents`, { name: "clamp.py", text: "def clamp(x, lo, hi):\n    return min(hi, max(lo, x))\n" })).status).toBe(201);
    expect(await waitFor(() => shared(a).status().published === 2, 5000)).toBe(true);

    const late = await replica("test:docs");
    expect(shared(late).status()).toMatchObject({ bootstrapped: true, consumed: 2 });
    const docs = async (s: TestServer) => (await getJson(`${s.url}/v1/suffix/documents`)).data.map((d: { name: string }) => d.name);
    expect(await docs(late)).toEqual(["clamp.py"]);
    expect((await fetch(`${a.url}/v1/suffix/documents/clamp.py`, { method: "DELETE" })).status).toBe(200);
    expect(await waitFor(() => shared(late).status().consumed === 3, 5000)).toBe(true);
    expect(await docs(late)).toEqual([]);
  });

  it("shows its state on /health and /metrics; without --shared-cache, 'disabled'", async () => {
    const a = await replica("test:health");
    const health = await getJson(`${a.url}/health`);
    expect(health.shared_cache).toMatchObject({ state: "connected", stream: "test:health", bootstrapped: true, pending: 0 });
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toMatch(/^glimpse:shared_cache_connected\{model_name="glimpse-test"\} 1$/m);
    expect(metrics).toMatch(/^glimpse:shared_cache_entries_consumed_total\{model_name="glimpse-test"\} 0$/m);
    const plain = await startServer(DETERMINISTIC);
    servers.push(plain);
    expect((await getJson(`${plain.url}/health`)).shared_cache).toEqual({ state: "disabled" });
    expect(await (await fetch(`${plain.url}/metrics`)).text()).not.toContain("shared_cache");
  });

  it("serves while Redis is unreachable, then connects and writes what it queued", async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}/0`;
    const a = await replica("test:late-redis", url);
    expect(shared(a).status()).toMatchObject({ state: "connecting", bootstrapped: false });
    const r = await post(`${a.url}/v1/completions`, BODY);
    expect(r.status).toBe(200);
    expect(shared(a).status().pending).toBe(1);
    expect((await getJson(`${a.url}/health`)).status).toBe("ok");
    expect(await (await fetch(`${a.url}/metrics`)).text()).toMatch(/^glimpse:shared_cache_connected\{model_name="glimpse-test"\} 0$/m);

    const late = await startRedis({ dir, port });
    stopAll.push(() => late.stop());
    expect(await waitFor(() => shared(a).status().state === "connected" && shared(a).status().pending === 0, 15_000)).toBe(true);
    const client = createClient({ url });
    await client.connect();
    expect(await client.xLen("test:late-redis")).toBe(1);
    await client.close();
  });

  it("is refused without suffix decoding or with a URL that is not redis://", async () => {
    await expect(startServer({}, { sharedCache: { url: redis.url } })).rejects.toThrow(/--shared-cache needs suffix decoding/);
    await expect(startServer(DETERMINISTIC, { sharedCache: { url: "http://127.0.0.1:1" } })).rejects.toThrow(/expected redis:\/\//);
  });
});
