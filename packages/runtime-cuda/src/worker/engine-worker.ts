// The engine worker: loads an Engine in its own thread and serves a
// RemoteEngine's messages. onnxruntime-node runs a session synchronously on
// the thread that calls it, so an engine here leaves the caller's event loop
// (an HTTP server's) free while it decodes.

import { parentPort, workerData } from "node:worker_threads";
import { Engine } from "../engine.js";
import { errorToData } from "../errors.js";
import { ENGINE_CALLS } from "../inference-engine.js";
import { LOAD_FAILED_EXIT_CODE, type EngineSnapshot, type FromWorker, type ToWorker, type WorkerInit } from "./protocol.js";

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

const init = workerData as WorkerInit;
let engine: Engine;
try {
  engine = await Engine.load(init.modelDir, init.options);
  port.postMessage({
    type: "ready",
    info: { modelDir: engine.modelDir, provider: engine.provider, speculative: engine.speculative, maxModelLen: engine.maxModelLen, hasSuffix: engine.hasSuffix },
  } satisfies FromWorker);
} catch (err) {
  port.postMessage({ type: "loadError", error: errorToData(err) } satisfies FromWorker);
  process.exit(LOAD_FAILED_EXIT_CODE);
}

// Measuring the suffix trees walks every node: at most once a second, not at
// every request's end (it took 3% of the thread under 16 clients).
const MEMORY_EVERY_MS = 1000;
const memory = { bytes: null as number | null, at: -Infinity };
const suffixMemoryBytes = (): number | null => {
  const now = performance.now();
  if (now - memory.at >= MEMORY_EVERY_MS) Object.assign(memory, { bytes: engine.suffixMemoryBytes(), at: now });
  return memory.bytes;
};
const snapshot = (): EngineSnapshot => ({
  cumulative: { ...engine.cumulative, acceptedPerPosition: [...engine.cumulative.acceptedPerPosition] },
  suffixMemoryBytes: suffixMemoryBytes(),
});
const running = new Map<number, AbortController>();

async function stream(id: number, options: Extract<ToWorker, { type: "stream" }>["options"]): Promise<void> {
  const ac = new AbortController();
  running.set(id, ac);
  try {
    const s = engine.stream({ ...options, signal: ac.signal });
    for await (const chunk of s) post({ type: "chunk", id, chunk });
    post({ type: "result", id, result: await s.result, snapshot: snapshot() });
  } catch (err) {
    post({ type: "fail", id, error: errorToData(err), snapshot: snapshot() });
  } finally {
    running.delete(id);
  }
}

async function call(id: number, method: string, args: unknown[]): Promise<void> {
  try {
    if (!(ENGINE_CALLS as readonly string[]).includes(method)) throw new Error(`unknown engine method ${method}`);
    const fn = engine[method as (typeof ENGINE_CALLS)[number]] as (...a: unknown[]) => Promise<unknown>;
    post({ type: "reply", id, value: await fn.apply(engine, args) });
  } catch (err) {
    post({ type: "reply", id, error: errorToData(err) });
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
      void call(m.id, m.method, m.args);
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
