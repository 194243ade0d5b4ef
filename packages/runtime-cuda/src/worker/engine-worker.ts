// The engine worker: loads an Engine in its own thread and serves a
// RemoteEngine's messages. onnxruntime-node runs a session synchronously on
// the thread that calls it, so an engine here leaves the caller's event loop
// (an HTTP server's) free while it decodes.

import { parentPort, workerData } from "node:worker_threads";
import { Engine } from "../engine.js";
import { GlimpseConfigError } from "../errors.js";
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from "./protocol.js";

const port = parentPort!;

// Messages made during one decoding step (a chunk per stream) leave together:
// one postMessage per step instead of one per stream.
let batch: FromWorker[] = [];
const post = (m: FromWorker) => {
  if (batch.push(m) === 1) setImmediate(flush);
};
function flush(): void {
  if (batch.length === 0) return;
  const out = batch;
  batch = [];
  port.postMessage(out.length === 1 ? out[0] : out);
}

function serialize(err: unknown): SerializedError {
  const e = err instanceof Error ? err : new Error(String(err));
  return { name: e.name, message: e instanceof GlimpseConfigError ? e.message.slice(e.field.length + 2) : e.message, ...(e instanceof GlimpseConfigError ? { field: e.field } : {}) };
}

const init = workerData as WorkerInit;
let engine: Engine;
try {
  engine = await Engine.load(init.modelDir, init.options);
  port.postMessage({ type: "ready", info: { modelDir: engine.modelDir, provider: engine.provider, speculative: engine.speculative, maxModelLen: engine.maxModelLen, hasSuffix: engine.suffix !== null } });
} catch (err) {
  port.postMessage({ type: "loadError", error: serialize(err) } satisfies FromWorker);
  process.exit(0);
}

const running = new Map<number, AbortController>();

async function stream(id: number, options: Extract<ToWorker, { type: "stream" }>["options"]): Promise<void> {
  const ac = new AbortController();
  running.set(id, ac);
  try {
    const s = engine.stream({ ...options, signal: ac.signal });
    for await (const chunk of s) post({ type: "chunk", id, chunk });
    post({ type: "result", id, result: await s.result, suffixMemoryBytes: engine.suffixMemoryBytes() });
  } catch (err) {
    post({ type: "fail", id, error: serialize(err) });
  } finally {
    running.delete(id);
  }
}

port.on("message", (m: ToWorker) => {
  switch (m.type) {
    case "stream":
      void stream(m.id, m.options);
      break;
    case "abort":
      running.get(m.id)?.abort();
      break;
    case "call":
      try {
        const fn = engine[m.method] as (...args: unknown[]) => unknown;
        post({ type: "reply", id: m.id, value: fn.apply(engine, m.args) });
      } catch (err) {
        post({ type: "reply", id: m.id, error: serialize(err) });
      }
      break;
    case "close":
      void engine.close().then(() => {
        flush();
        port.postMessage({ type: "closed" } satisfies FromWorker);
        port.close();
      });
      break;
  }
});
