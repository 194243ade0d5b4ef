// A real cluster on 127.0.0.1 (deploy/local-cluster.mjs): redis-server, two
// `glimpse serve --shared-cache` child processes, nginx in front. Under load:
// Redis restarts without failing a request; a replica killed with SIGKILL
// loses no cache entry and nginx sends new requests to the other one.

import { TextTokenizer } from "@glimpse/runtime-cuda";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findBinary, startCluster, type LocalCluster } from "../../../deploy/local-cluster.mjs";
import { MODEL_DIR, waitFor } from "./helpers.js";

const STREAM = "glimpse:suffix-cache:glimpse-coder-tiny";
const PROMPTS = ["def fibonacci(n):\n", "class Stack:\n    def __init__(self):\n", "function debounce(fn, ms) {\n", "SELECT name, COUNT(*) FROM orders\n"];

interface Result { i: number; start: number; end: number; status: number; text: string }

/** One completion through nginx, streamed for odd i; status 200 only if the body is complete. */
async function complete(url: string, i: number): Promise<Result> {
  const start = Date.now();
  const stream = i % 2 === 1;
  const body = { prompt: `${PROMPTS[i % PROMPTS.length]}# request ${i}\n`, max_tokens: 24, temperature: 0, stream };
  let status = 0;
  let text = "";
  try {
    const res = await fetch(`${url}/v1/completions`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    status = res.status;
    const raw = await res.text();
    if (status === 200 && stream) {
      const events = raw.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
      if (events.at(-1) !== "[DONE]" || raw.includes('"error"')) status = -1; // cut mid-stream
      for (const e of events.slice(0, -1)) text += (JSON.parse(e) as any).choices[0]?.text ?? "";
    } else if (status === 200) {
      text = JSON.parse(raw).choices[0].text;
    }
  } catch {
    status = -2; // connection failed
  }
  return { i, start, end: Date.now(), status, text };
}

/** `clients` closed loops of distinct requests until `done()`; bounded by `maxRequests`. */
async function load(url: string, clients: number, done: (results: Result[]) => boolean, maxRequests = 400): Promise<Result[]> {
  const results: Result[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (!done(results) && next < maxRequests) results.push(await complete(url, next++));
  }));
  return results;
}

const health = async (url: string): Promise<any> => ((await (await fetch(`${url}/health`)).json()) as any).shared_cache;

let cluster: LocalCluster;

beforeAll(async () => {
  findBinary("redis-server"); // a clear error when the packages are missing
  findBinary("nginx");
  cluster = await startCluster({ replicas: 2 });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
});

describe("replicas behind nginx sharing one suffix cache", () => {
  it("keep serving while Redis restarts, reconnect, and share again", { timeout: 120_000 }, async () => {
    const [a, b] = cluster.replicas;
    let phase: "before" | "down" | "after" = "before";
    let afterCount = 0;
    const seen = new Set<string>();
    const outage = (async () => {
      await waitFor(() => false, 1500); // some load first
      await cluster.redis.stop();
      phase = "down";
      // Both replicas notice (bounded wait), while requests keep coming.
      const end = Date.now() + 10_000;
      while (Date.now() < end && seen.size < 2) {
        for (const r of [a, b]) if ((await health(r.url)).state === "reconnecting") seen.add(r.name);
        await new Promise((res) => setTimeout(res, 100));
      }
      await cluster.redis.start();
      const up = Date.now() + 30_000;
      while (Date.now() < up) {
        const states = await Promise.all([a, b].map((r) => health(r.url)));
        if (states.every((s) => s.state === "connected" && s.pending === 0)) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      phase = "after";
    })();
    const results = await load(cluster.url, 2, () => phase === "after" && ++afterCount > 8);
    await outage;

    expect(seen).toEqual(new Set([a.name, b.name]));
    expect(results.length).toBeGreaterThan(8);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    // The restarted Redis (no persistence) got what was served during and after the outage; each replica applied the other's.
    // The last responses of the load may still be queued for a moment: wait (bounded) for them to be written.
    let states = await Promise.all([a, b].map((r) => health(r.url)));
    for (const end = Date.now() + 10_000; Date.now() < end && states.some((s) => s.pending > 0); ) {
      await new Promise((res) => setTimeout(res, 100));
      states = await Promise.all([a, b].map((r) => health(r.url)));
    }
    for (const s of states) expect(s).toMatchObject({ state: "connected", pending: 0, dropped: 0 });
    const client = createClient({ url: cluster.redis.url });
    await client.connect();
    const entries = await client.xRange(STREAM, "-", "+");
    await client.close();
    expect(entries.length).toBeGreaterThan(0);
    const byReplica = (id: string) => entries.filter((e) => e.message.r === id).length;
    expect(await waitFor(() => false, 300)).toBe(false); // let the last entries be applied
    const final = await Promise.all([a, b].map((r) => health(r.url)));
    expect(final[0].consumed).toBeGreaterThanOrEqual(byReplica(final[1].replica_id));
    expect(final[1].consumed).toBeGreaterThanOrEqual(byReplica(final[0].replica_id));
  });

  it("lose no cache entry when a replica is killed under load, and nginx sends new requests to the other", { timeout: 120_000 }, async () => {
    const [a, b] = cluster.replicas;
    const bId = (await health(b.url)).replica_id;
    let killAt = Infinity;
    const killer = (async () => {
      await waitFor(() => false, 1500);
      await a.kill(); // SIGKILL: no shutdown, no flush; resolves once the process has exited
      // Requests sent between the signal and the exit were in flight on A when it died.
      killAt = Date.now();
    })();
    const results = await load(cluster.url, 2, (rs) => rs.filter((r) => r.start > killAt).length >= 10);
    await killer;

    const before = results.filter((r) => r.start < killAt);
    const after = results.filter((r) => r.start > killAt);
    expect(before.filter((r) => r.status === 200).length).toBeGreaterThan(2);
    // Every request sent after the kill succeeded (nginx tried A, found it dead, used B).
    expect(after.length).toBeGreaterThanOrEqual(10);
    expect(after.filter((r) => r.status !== 200)).toEqual([]);
    // Requests in flight on A when it died may fail (nginx does not resend a POST it already sent).
    for (const r of results.filter((x) => x.status !== 200)) expect(r.start).toBeLessThan(killAt);

    // Every answer a client received is in the shared stream, and B applied all of A's entries.
    const client = createClient({ url: cluster.redis.url });
    await client.connect();
    const entries = await client.xRange(STREAM, "-", "+");
    await client.close();
    const tokenizer = TextTokenizer.fromDir(MODEL_DIR);
    const cached = new Set(entries.map((e) => tokenizer.decode(e.message.t.split(",").map(Number))));
    const answered = results.filter((r) => r.status === 200);
    expect(answered.filter((r) => !cached.has(r.text)).map((r) => r.i)).toEqual([]);
    const fromOthers = entries.filter((e) => e.message.r !== bId).length;
    expect(await waitFor(() => false, 300)).toBe(false);
    expect((await health(b.url)).consumed).toBeGreaterThanOrEqual(fromOthers);
  });
});
