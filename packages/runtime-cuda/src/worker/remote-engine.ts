// An Engine in a worker thread, driven from the caller's thread.
//
// onnxruntime-node runs a session synchronously on the thread that calls it
// (its async `run` is a blocking call inside `setImmediate`), so an engine on
// an HTTP server's thread stops the event loop for every decoding step, and
// all per-token server work adds to the step time. RemoteEngine keeps that
// work apart: the engine decodes in its own thread while the caller's thread
// serializes and writes. Options are checked here first (same checks as the
// engine), so bad ones still throw at once; chunks, results and errors come
// back as messages.

import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import type { EngineOptions } from "../engine.js";
import { GenerationAbortedError, GlimpseConfigError, ModelLoadError } from "../errors.js";
import { readModelConfig, type ModelConfig } from "../model/model-config.js";
import type { ProviderChoice } from "../model/session.js";
import { TextTokenizer } from "../model/tokenizer.js";
import type { SpeculativeConfig } from "../proposers/index.js";
import type { SuffixState } from "../proposers/suffix.js";
import { checkRequest } from "../scheduler/check-request.js";
import { ChunkQueue, type GenerateOptions, type GenerationChunk, type GenerationResult } from "../scheduler/request.js";
import type { CallMethod, EngineInfo, FromWorker, SerializedError, ToWorker, WorkerInit } from "./protocol.js";

function deserialize(e: SerializedError): Error {
  if (e.name === "GlimpseConfigError" && e.field !== undefined) return new GlimpseConfigError(e.field, e.message);
  if (e.name === "ModelLoadError") return new ModelLoadError(e.message);
  if (e.name === "AbortError") return new GenerationAbortedError();
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

interface PendingStream {
  queue: ChunkQueue;
  resolve: (r: GenerationResult) => void;
  reject: (e: unknown) => void;
  detach: () => void;
}

export class RemoteEngine {
  readonly modelDir: string;
  readonly provider: ProviderChoice;
  readonly speculative: SpeculativeConfig | null;
  readonly maxModelLen: number;
  private readonly hasSuffix: boolean;
  private readonly streams = new Map<number, PendingStream>();
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private nextId = 1;
  private lastSuffixBytes = 0;
  private closing: Promise<void> | null = null;
  private closedResolve: (() => void) | null = null;

  private constructor(private readonly worker: Worker, info: EngineInfo, readonly tokenizer: TextTokenizer, readonly config: ModelConfig) {
    this.modelDir = info.modelDir;
    this.provider = info.provider;
    this.speculative = info.speculative;
    this.maxModelLen = info.maxModelLen;
    this.hasSuffix = info.hasSuffix;
    worker.on("message", (m: FromWorker | FromWorker[]) => {
      if (Array.isArray(m)) for (const one of m) this.onMessage(one);
      else this.onMessage(m);
    });
    worker.on("error", (err) => this.failAll(err));
    worker.on("exit", () => this.failAll(new Error("the engine worker exited")));
  }

  /** Loads the model in a new worker thread (same options as Engine.load, but no custom acceptRule). */
  static async load(modelDir: string, options: EngineOptions = {}): Promise<RemoteEngine> {
    const dir = resolve(modelDir);
    if (options.acceptRule) throw new GlimpseConfigError("acceptRule", "cannot cross to a worker thread; use Engine for a custom rule");
    const { acceptRule: _unused, ...rest } = options;
    const init: WorkerInit = { modelDir: dir, options: rest };
    const worker = new Worker(new URL("./engine-worker.js", import.meta.url), { workerData: init });
    const first = await new Promise<FromWorker>((res, rej) => {
      worker.once("message", (m: FromWorker | FromWorker[]) => res(Array.isArray(m) ? m[0] : m));
      worker.once("error", rej);
    });
    if (first.type !== "ready") {
      await worker.terminate();
      throw first.type === "loadError" ? deserialize(first.error) : new Error(`engine worker sent ${first.type} before ready`);
    }
    // The caller's thread tokenizes and checks requests itself (cheap, and bad options throw at once).
    return new RemoteEngine(worker, first.info, TextTokenizer.fromDir(dir), readModelConfig(dir));
  }

  /** Generations sent to the worker that it has not finished yet. */
  get activeRequestCount(): number {
    return this.streams.size;
  }

  /** Bytes held by the suffix trees as of the last finished generation, or null without suffix decoding. */
  suffixMemoryBytes(): number | null {
    return this.hasSuffix ? this.lastSuffixBytes : null;
  }

  /** As Engine.stream: an async iterator of chunks with `.result`; bad options throw here, at once. */
  stream(options: GenerateOptions): AsyncGenerator<GenerationChunk> & { result: Promise<GenerationResult> } {
    if (this.closing) throw new Error("engine is closed");
    const { promptIds } = checkRequest(options, this.tokenizer, this.config, this.maxModelLen);
    const id = this.nextId++;
    let resolveFn!: (r: GenerationResult) => void;
    let rejectFn!: (e: unknown) => void;
    const result = new Promise<GenerationResult>((res, rej) => {
      resolveFn = res;
      rejectFn = rej;
    });
    result.catch(() => {}); // the stream reports errors too
    const { signal, prompt: _prompt, ...rest } = options;
    const abort = () => this.post({ type: "abort", id });
    signal?.addEventListener("abort", abort, { once: true });
    const pending: PendingStream = { queue: new ChunkQueue(), resolve: resolveFn, reject: rejectFn, detach: () => signal?.removeEventListener("abort", abort) };
    this.streams.set(id, pending);
    this.post({ type: "stream", id, options: { ...rest, promptIds } });
    if (signal?.aborted) abort();
    const streams = this.streams;
    // Leaving the loop early (break, return, throw) cancels the generation, as with Engine.
    const gen = (async function* () {
      try {
        yield* pending.queue.drain();
      } finally {
        if (streams.has(id)) abort();
      }
    })() as AsyncGenerator<GenerationChunk> & { result: Promise<GenerationResult> };
    gen.result = result;
    return gen;
  }

  /** As Engine.generate. Bad options throw at once. */
  generate(options: GenerateOptions): Promise<GenerationResult> {
    const s = this.stream(options);
    return (async () => {
      for await (const _chunk of s) {
        // drained for the result
      }
      return s.result;
    })();
  }

  addDocument(name: string, text: string): Promise<number> {
    return this.call("addDocument", [name, text]) as Promise<number>;
  }

  removeDocument(name: string): Promise<boolean> {
    return this.call("removeDocument", [name]) as Promise<boolean>;
  }

  listDocuments(): Promise<{ name: string; tokens: number }[]> {
    return this.call("listDocuments", []) as Promise<{ name: string; tokens: number }[]>;
  }

  clearDocuments(): Promise<void> {
    return this.call("clearDocuments", []) as Promise<void>;
  }

  exportSuffixState(): Promise<SuffixState> {
    return this.call("exportSuffixState", []) as Promise<SuffixState>;
  }

  importSuffixState(state: SuffixState): Promise<void> {
    return this.call("importSuffixState", [state]) as Promise<void>;
  }

  /** Cancels what is running, closes the engine and ends the worker. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((res) => {
      this.closedResolve = res;
      this.post({ type: "close" });
    }).then(() => this.worker.terminate().then(() => {}));
    return this.closing;
  }

  private call(method: CallMethod, args: unknown[]): Promise<unknown> {
    if (this.closing) return Promise.reject(new Error("engine is closed"));
    const id = this.nextId++;
    return new Promise((res, rej) => {
      this.calls.set(id, { resolve: res, reject: rej });
      this.post({ type: "call", id, method, args });
    });
  }

  private post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case "chunk":
        this.streams.get(m.id)?.queue.push(m.chunk);
        break;
      case "result": {
        const s = this.streams.get(m.id);
        if (m.suffixMemoryBytes !== null) this.lastSuffixBytes = m.suffixMemoryBytes;
        if (!s) break;
        this.streams.delete(m.id);
        s.detach();
        s.queue.close();
        s.resolve(m.result);
        break;
      }
      case "fail": {
        const s = this.streams.get(m.id);
        if (!s) break;
        this.streams.delete(m.id);
        s.detach();
        const err = deserialize(m.error);
        s.queue.close(err);
        s.reject(err);
        break;
      }
      case "reply": {
        const c = this.calls.get(m.id);
        if (!c) break;
        this.calls.delete(m.id);
        if (m.error) c.reject(deserialize(m.error));
        else c.resolve(m.value);
        break;
      }
      case "closed":
        this.closedResolve?.();
        break;
    }
  }

  private failAll(err: unknown): void {
    for (const [id, s] of this.streams) {
      this.streams.delete(id);
      s.detach();
      s.queue.close(err);
      s.reject(err);
    }
    for (const [id, c] of this.calls) {
      this.calls.delete(id);
      c.reject(err);
    }
    this.closedResolve?.();
  }
}
