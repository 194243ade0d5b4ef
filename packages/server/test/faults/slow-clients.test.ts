// Finding 3: clients that never read held their slots forever. A streaming
// request with many choices whose client never reads fills the socket's
// buffers; the stream then waits for a drain that never comes, holding its
// admission slots after the engine has finished. Now a stream not drained
// for --write-timeout is closed, which cancels its generations and frees its slots.

import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startWorkerServer, waitFor } from "../helpers.js";

const WRITE_TIMEOUT_MS = 1500;
let srv: Awaited<ReturnType<typeof startWorkerServer>>;
beforeAll(async () => {
  srv = await startWorkerServer({}, { streamCoalesceMs: 0, maxConcurrency: 64, writeTimeoutMs: WRITE_TIMEOUT_MS });
});
afterAll(() => srv?.close());

// One of the vocabulary's longest tokens (67 bytes, a space and 66 dashes):
// a prompt of 1,600 of them is 1,600 tokens and 107 kB, echoed in every
// choice's first event. 48 choices write 5 MB before any token: more than
// loopback's socket buffers hold (about 4 MB), so the stream waits for a drain.
const PROMPT = (" " + "-".repeat(66)).repeat(1600);

/** Sends a streaming request and never reads the response. */
function neverReader(body: object): Socket {
  const payload = JSON.stringify({ ...body, stream: true });
  const s = connect(Number(new URL(srv.url).port), "127.0.0.1", () => {
    s.pause();
    s.write(`POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`);
  });
  s.on("error", () => {});
  return s;
}

describe("clients that never read", () => {
  it("hold their slots only until the write timeout; others are served meanwhile", async () => {
    const limiter = srv.running.ctx.limiter;
    const sockets = [neverReader({ prompt: [PROMPT, PROMPT, PROMPT], n: 16, echo: true, max_tokens: 8, temperature: 0 })];
    try {
      expect(await waitFor(() => limiter.inFlight === 48, 60_000)).toBe(true);
      // A well-behaved client is served while the slots are held.
      const ok = await post(`${srv.url}/v1/completions`, { prompt: "def main():", max_tokens: 8 });
      expect(ok.status).toBe(200);
      // The engine finishes the 48 generations; the stream is stuck on the unread socket.
      expect(await waitFor(() => srv.engine.activeRequestCount === 0, 60_000)).toBe(true);
      const engineDone = performance.now();
      // Freed within the timeout (plus scheduling slack on a busy machine), not held forever.
      expect(await waitFor(() => limiter.inFlight === 0, WRITE_TIMEOUT_MS + 8000)).toBe(true);
      expect(performance.now() - engineDone).toBeLessThan(WRITE_TIMEOUT_MS + 8000);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it("serves normally afterwards, with every slot free", async () => {
    const r = await post(`${srv.url}/v1/completions`, { prompt: "x", max_tokens: 4, n: 16 });
    expect(r.status).toBe(200);
    expect(r.json.choices).toHaveLength(16);
    expect(srv.running.ctx.limiter.inFlight).toBe(0);
  });
});
