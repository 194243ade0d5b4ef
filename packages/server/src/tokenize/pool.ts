// A few tokenizer threads shared by all requests. Each job goes to the thread
// with the fewest jobs waiting; a job's ApiError (a 400 naming the field) is
// rebuilt here. Threads are unref'd: an app that is never closed does not
// keep the process alive.
//
// Suffix documents go to a thread of their own that runs at the lowest CPU
// priority (worker.ts): a 4 MB upload is seconds of tokenizing, which on a
// machine with few cores would otherwise be taken from decoding and from
// other requests' prompts; at nice 19 it runs on what they leave.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { ApiError, clientClosed, type ErrorType } from "../errors.js";
import type { FromTokenizer, ToTokenizer, TokenizeJob, TokenizeResults } from "./protocol.js";

interface Thread {
  worker: Worker;
  waiting: Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>;
  /** It has answered a job: it loaded the tokenizer. */
  answered: boolean;
  dead: boolean;
}

export class TokenizerPool {
  private readonly threads: Thread[];
  /** The background thread: documents only, lowest priority. */
  private readonly background: Thread[];
  private nextId = 1;
  private closed = false;

  constructor(modelDir: string, size = 2) {
    this.threads = Array.from({ length: Math.max(1, size) }, () => this.spawn(modelDir, false, () => this.threads));
    this.background = [this.spawn(modelDir, true, () => this.background)];
  }

  /**
   * Runs a job on a thread. `signal` (documents: the upload's client went
   * away) rejects it at once and has its thread stop it at its next piece,
   * rather than tokenize megabytes nobody will read.
   */
  run<K extends TokenizeJob["kind"]>(job: Extract<TokenizeJob, { kind: K }>, signal?: AbortSignal): Promise<TokenizeResults[K]> {
    if (this.closed) return Promise.reject(new Error("tokenizer pool is closed"));
    if (signal?.aborted) return Promise.reject(clientClosed());
    const live = (job.kind === "document" ? this.background : this.threads).filter((t) => !t.dead);
    if (live.length === 0) return Promise.reject(new Error("no tokenizer thread is running (they failed to load the tokenizer)"));
    const thread = live.reduce((a, b) => (b.waiting.size < a.waiting.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        thread.worker.postMessage({ cancel: id } satisfies ToTokenizer);
        reject(clientClosed());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const settle = <T>(f: (v: T) => void) => (v: T) => {
        signal?.removeEventListener("abort", onAbort);
        f(v);
      };
      thread.waiting.set(id, { resolve: settle(resolve as (v: unknown) => void), reject: settle(reject) });
      thread.worker.postMessage({ id, job } satisfies ToTokenizer);
    });
  }

  /** Jobs sent to the document thread (`"document"`) or the others that it has not answered yet (a cancelled one counts until it has stopped). */
  pending(kind: "document" | "request"): number {
    return (kind === "document" ? this.background : this.threads).reduce((n, t) => n + t.waiting.size, 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.threads, ...this.background].map((t) => t.worker.terminate()));
  }

  private spawn(modelDir: string, background: boolean, list: () => Thread[]): Thread {
    const worker = new Worker(workerFile(), { workerData: { modelDir, background } });
    worker.unref();
    const thread: Thread = { worker, waiting: new Map(), answered: false, dead: false };
    worker.on("message", (m: FromTokenizer) => {
      thread.answered = true;
      const w = thread.waiting.get(m.id);
      if (!w) return;
      thread.waiting.delete(m.id);
      if ("error" in m) w.reject(new ApiError(m.error.status, m.error.message, m.error.type as ErrorType, m.error.param, m.error.code));
      else w.resolve(m.value);
    });
    const fail = (err: unknown) => {
      for (const w of thread.waiting.values()) w.reject(err);
      thread.waiting.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => {
      thread.dead = true;
      fail(this.closed
        ? new ApiError(503, "the server is shutting down", "service_unavailable_error")
        : new Error(`a tokenizer thread exited (code ${code})`));
      // Replace a thread that died at work (not one closed with the pool, nor one that could not load the tokenizer).
      const threads = list();
      if (!this.closed && thread.answered) threads[threads.indexOf(thread)] = this.spawn(modelDir, background, list);
    });
    return thread;
  }
}

/** The compiled worker beside this module, or, when running from the TypeScript sources (tests), the built one. */
function workerFile(): URL {
  const beside = new URL("./worker.js", import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL("../../dist/tokenize/worker.js", import.meta.url);
}
