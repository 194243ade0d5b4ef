// Shared by the benches: flags, a `glimpse serve` child on loopback, an SSE
// client that times a streamed completion, percentiles.

import { spawn } from "node:child_process";
import http from "node:http";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

export const BIN = fileURLToPath(new URL("../bin/glimpse.js", import.meta.url));
export const DEFAULT_MODEL = process.env.GLIMPSE_MODEL_DIR ?? fileURLToPath(new URL("../../../models/glimpse-coder-tiny", import.meta.url));

// Code-shaped prompts: what the embedded model was trained on.
export const PROMPTS = [
  "def fibonacci(n):\n",
  "import os\nimport sys\n\ndef main():\n",
  "class Stack:\n    def __init__(self):\n",
  "function debounce(fn, ms) {\n",
  "SELECT name, COUNT(*) FROM orders\n",
  "export async function fetchJson(url: string) {\n",
  "fn parse_args() -> Config {\n",
  "# Read a CSV file and print the total of the second column\n",
];

export function flags(spec, help) {
  const { values } = parseArgs({ options: { ...spec, help: { type: "boolean" } } });
  if (values.help) {
    console.log(help);
    process.exit(0);
  }
  return values;
}

async function freePort() {
  const s = createServer();
  await new Promise((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Starts `glimpse serve` on 127.0.0.1 and waits for /health. */
export async function startServer({ model, speculativeConfig, extra = [] }) {
  const port = await freePort();
  const args = [BIN, "serve", "--model", model, "--port", String(port), "--log-level", "warn", ...extra];
  if (speculativeConfig && speculativeConfig !== "none") args.push("--speculative-config", speculativeConfig);
  const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("server did not start in 60 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      return exited;
    },
  };
}

// node:http rather than fetch: undici's web streams cost more CPU per chunk
// than the server spends on one, which would measure the client, not the server.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** Streams one completion; returns time to first token, token count and wall time (ms). */
export function streamCompletion(url, body) {
  const t0 = performance.now();
  const payload = JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } });
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/v1/completions`, {
      method: "POST",
      agent,
      headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) },
    }, (res) => {
      res.setEncoding("utf8");
      let buffer = "";
      let ttft = null;
      let usage = null;
      let done = false;
      let failed = null;
      res.on("data", (text) => {
        buffer += text;
        let nl;
        while ((nl = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 2);
          if (!event.startsWith("data: ")) continue;
          const data = event.slice(6);
          if (data === "[DONE]") {
            done = true;
            continue;
          }
          const chunk = JSON.parse(data);
          if (chunk.error) failed ??= new Error(`stream error: ${chunk.error.message}`);
          if (ttft === null && chunk.choices?.[0]?.text) ttft = performance.now() - t0;
          if (chunk.usage) usage = chunk.usage;
        }
      });
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${buffer}`));
        if (failed) return reject(failed);
        if (!done || !usage) return reject(new Error("stream ended without usage and [DONE]"));
        resolve({ ttftMs: ttft ?? performance.now() - t0, tokens: usage.completion_tokens, ms: performance.now() - t0 });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}

/** The server's resident set and V8 heap in use, from its Prometheus metrics (bytes). */
export async function memory(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1]);
  return { rss: read("process_resident_memory_bytes"), heapUsed: read("nodejs_heap_size_used_bytes") };
}

export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The middle value; with an even count, the mean of the two middle ones. */
export function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}
