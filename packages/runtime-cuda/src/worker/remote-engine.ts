// An Engine in a worker thread, driven from the caller's thread.
//
// onnxruntime-node runs a session synchronously on the thread that calls it
// (its async `run` is a blocking call inside `setImmediate`), so an engine on
// an HTTP server's thread stops the event loop for every decoding step, and
// all per-token server work adds to the step time. RemoteEngine keeps that
// work apart: the engine decodes in its own thread while the caller's thread
// serializes and writes. Requests are checked here first by the same
// function the engine uses (checkRequest), so bad ones still throw at once;
// chunks, results and errors come back as messages.

import { resolve } from "node:path";
import { Worker, type ResourceLimits } from "node:worker_threads";
import { errorFromData, GlimpseConfigError } from "../errors.js";
import { llamaThreadSlot, releaseExitedThread } from "../backend/llama/llama-thread.js";
import { checkConstraint, type OutputConstraint } from "../grammar/constraint.js";
import type { EngineCall, GenerationStream, InferenceEngine } from "../inference-engine.js";
import { emptyMetrics, type SpecMetrics } from "../metrics.js";
import type { EngineOptions } from "../model/loader.js";
import { readModelConfig, type ModelConfig } from "../model/model-config.js";
import type { ProviderChoice } from "../model/session.js";
import { TextTokenizer } from "../model/tokenizer.js";
import type { SpeculativeConfig, SuffixState } from "../proposers/index.js";
import { checkRequest } from "../scheduler/check-request.js";
import { ChunkQueue } from "../scheduler/chunk-queue.js";
import type { GenerateOptions, GenerationResult } from "../scheduler/request.js";
import type { EngineInfo, EngineSnapshot, FromWorker, ToWorker, WorkerInit } from "./protocol.js";
import { describeWorkerDeath, EngineUnavailableError } from "./worker-failure.js";

interface PendingStream {
  queue: ChunkQueue;
  resolve: (r: GenerationResult) => void;
  reject: (e: unknown) => void;
  detach: () => void;
}

export class RemoteEngine implements InferenceEngine {
  readonly modelDir: string;
  readonly provider: ProviderChoice;
  readonly speculative: SpeculativeConfig | null;
  readonly maxModelLen: number;
  readonly hasSuffix: boolean;
  private readonly streams = new Map<number, PendingStream>();
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private nextId = 1;
  private last: EngineSnapshot = { cumulative: emptyMetrics(), suffixMemoryBytes: null };
  private closing: Promise<void> | null = null;
  private closedResolve: (() => void) | null = null;
  private dead: EngineUnavailableError | null = null;
  private readonly failureListeners: ((err: EngineUnavailableError) => void)[] = [];

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
    // Whichever comes first names the cause (an out-of-memory error precedes its exit).
    worker.on("error", (err) => this.die(describeWorkerDeath(err)));
    worker.on("exit", (code) => this.die(`the engine worker exited (code ${code})`));
  }

  /** Loads the model (a folder, or a .gguf file) in a new worker thread (same options as Engine.load, but no custom acceptRule). */
  static async load(modelDir: string, options: EngineOptions = {}, limits: { resourceLimits?: ResourceLimits } = {}): Promise<RemoteEngine> {
    const dir = resolve(modelDir);
    if (options.acceptRule) throw new GlimpseConfigError("acceptRule", "cannot cross to a worker thread; use Engine for a custom rule");
    const { acceptRule: _local, ...rest } = options;
    const init: WorkerInit = { modelDir: dir, options: rest };
    llamaThreadSlot(); // before the worker starts: it inherits the slot, should it run llama.cpp
    const worker = new Worker(new URL("./engine-worker.js", import.meta.url), { workerData: init, resourceLimits: limits.resourceLimits });
    const threadId = worker.threadId; // -1 once it has exited
    worker.once("exit", () => releaseExitedThread(threadId));
    const first = await new Promise<FromWorker>((res, rej) => {
      worker.once("message", (m: FromWorker | FromWorker[]) => res(Array.isArray(m) ? m[0] : m));
      worker.once("error", rej);
      worker.once("exit", (code) => rej(new Error(`the engine worker exited (code ${code}) before loading the model`)));
    });
    if (first.type !== "ready") {
      await worker.terminate();
      throw first.type === "loadError" ? errorFromData(first.error) : new Error(`engine worker sent ${first.type} before ready`);
    }
    // The caller's thread tokenizes and checks requests itself (cheap, and bad options throw at once),
    // from the model folder the engine reads (a GGUF file's description folder).
    const folder = first.info.modelDir;
    return new RemoteEngine(worker, first.info, TextTokenizer.fromDir(folder), readModelConfig(folder));
  }

  /** Set once the worker thread is gone: every call then fails with it. */
  get failure(): EngineUnavailableError | null {
    return this.dead;
  }

  /** Called once, when the worker dies (not when it is closed). */
  onFailure(listener: (err: EngineUnavailableError) => void): void {
    if (this.dead) listener(this.dead);
    else this.failureListeners.push(listener);
  }

  /** Generations sent to the worker that it has not finished yet. */
  get activeRequestCount(): number {
    return this.streams.size;
  }

  get cumulative(): SpecMetrics {
    return this.last.cumulative;
  }

  suffixMemoryBytes(): number | null {
    return this.hasSuffix ? this.last.suffixMemoryBytes ?? 0 : null;
  }

  stream(options: GenerateOptions): GenerationStream {
    if (this.dead) throw this.dead;
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
    })() as GenerationStream;
    gen.result = result;
    return gen;
  }

  async generate(options: GenerateOptions): Promise<GenerationResult> {
    const s = this.stream(options);
    for await (const _chunk of s) {
      // drained for the result
    }
    return s.result;
  }

  /** Checks the constraint's shape here, then compiles it in the worker (XGrammar runs there). */
  async prepareConstraint(constraint: OutputConstraint): Promise<void> {
    checkConstraint(constraint);
    await this.call("prepareConstraint", [constraint]);
  }

  addDocument(name: string, text: string): Promise<number> {
    return this.call("addDocument", [name, text]) as Promise<number>;
  }

  addDocumentTokens(name: string, ids: ArrayLike<number>): Promise<number> {
    // A typed array crosses as one copy; a long number[] would be cloned element by element.
    return this.call("addDocumentTokens", [name, ArrayBuffer.isView(ids) ? ids : Uint32Array.from(ids)]) as Promise<number>;
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
      if (this.dead) res(); // nobody left to answer "closed"
      else this.post({ type: "close" });
    }).then(async () => {
      const threadId = this.worker.threadId;
      await this.worker.terminate();
      releaseExitedThread(threadId); // at once: the next engine of this process may run llama.cpp when close() resolves
    });
    return this.closing;
  }

  private call(method: EngineCall, args: unknown[]): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.closing) return Promise.reject(new Error("engine is closed"));
    const id = this.nextId++;
    return new Promise((res, rej) => {
      this.calls.set(id, { resolve: res, reject: rej });
      this.post({ type: "call", id, method, args });
    });
  }

  private post(m: ToWorker): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case "chunk":
        this.streams.get(m.id)?.queue.push(m.chunk);
        break;
      case "result":
      case "fail": {
        this.last = m.snapshot;
        const s = this.streams.get(m.id);
        if (!s) break;
        this.streams.delete(m.id);
        s.detach();
        if (m.type === "result") {
          s.queue.close();
          s.resolve(m.result);
        } else {
          const err = errorFromData(m.error);
          s.queue.close(err);
          s.reject(err);
        }
        break;
      }
      case "reply": {
        const c = this.calls.get(m.id);
        if (!c) break;
        this.calls.delete(m.id);
        if (m.error) c.reject(errorFromData(m.error));
        else c.resolve(m.value);
        break;
      }
      case "closed":
        this.closedResolve?.();
        break;
    }
  }

  private die(reason: string): void {
    if (this.dead) return;
    const wasClosing = this.closing !== null;
    this.dead = new EngineUnavailableError(reason);
    this.failAll(this.dead);
    if (!wasClosing) for (const l of this.failureListeners.splice(0)) l(this.dead);
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
