// The engine: loads a model (a folder on onnxruntime, a .gguf file on
// llama.cpp: backend/) and runs the step loop
//   propose -> verify (one forward pass for the whole batch) -> accept -> stream
// over all active requests, which join and leave between steps. Each stage
// lives in its own module; this file wires them together.

import { AdaptivePolicy } from "./adaptive/policy.js";
import { DocumentIngestor } from "./documents/ingestor.js";
import { StepTimer } from "./adaptive/state.js";
import { GenerationAbortedError, GlimpseConfigError } from "./errors.js";
import type { OutputConstraint } from "./grammar/constraint.js";
import { EngineGrammar } from "./grammar/engine-grammar.js";
import type { GenerationStream, InferenceEngine } from "./inference-engine.js";
import type { DecoderBackend, PassOutput, PrefilledRow } from "./backend/decoder-backend.js";
import { OnnxBackend } from "./backend/onnx-backend.js";
import { MetricsAggregator, type SpecMetrics } from "./metrics.js";
import type { ForwardPass } from "./model/forward.js";
import type { DecoderLayout } from "./model/layout.js";
import { loadModel, type EngineOptions, type LoadedModel } from "./model/loader.js";
import type { ModelConfig } from "./model/model-config.js";
import { macsPerToken, type ProviderChoice } from "./model/session.js";
import type { TextTokenizer } from "./model/tokenizer.js";
import type { Proposer, SpeculativeConfig, SuffixDocuments, SuffixState } from "./proposers/index.js";
import { rejectionSample } from "./sampling/acceptance.js";
import { logitsNeed, RejectionSampler, type TopLogprob } from "./sampling/rejection-sampler.js";
import { checkDocumentName, checkDocumentTokens, checkRequest, checkSuffixState } from "./scheduler/check-request.js";
import { acceptRow, type AcceptHost } from "./output/accept-row.js";
import { appendOutput, generationResult } from "./output/request-output.js";
import { prefillRequests, type PrefillHost } from "./scheduler/prefill-requests.js";
import { RequestState, type GenerateOptions, type GenerationResult } from "./scheduler/request.js";
import { Scheduler } from "./scheduler/scheduler.js";
import { isolateRows, StepFaults, type IsolationHost } from "./scheduler/step-faults.js";
import type { BatchVerifyCost } from "./verify/batch-draft-width.js";
import { layoutStep, type StepLayout } from "./verify/draft-layout.js";
import { planDraft, proposeDrafts, type DraftHost } from "./verify/step-drafts.js";
import { measureBatchCost, profileVerifyCost } from "./verify/verify-cost-profile.js";
import type { VerifyCost } from "./verify/verify-cost.js";
import { initialVerifyCost, type InitialCost } from "./verify/verify-cost-load.js";

export { findModelFile, type EngineOptions } from "./model/loader.js";

export class Engine implements InferenceEngine {
  /** The model folder (for a GGUF file: its description folder, with config.json and the tokenizer). */
  readonly modelDir: string;
  /** The decoder graph, or the GGUF file. */
  readonly modelFile: string;
  readonly config: ModelConfig;
  readonly tokenizer: TextTokenizer;
  readonly provider: ProviderChoice;
  readonly speculative: SpeculativeConfig | null;
  readonly proposer: Proposer | null;
  readonly maxModelLen: number;
  readonly policy: AdaptivePolicy;
  private readonly totals = new MetricsAggregator();
  /** Proposer errors and failed passes survived, and requests they failed (scheduler/step-faults.ts). */
  readonly faults = new StepFaults();
  /** What runs the decoder and keeps the rows' KV state (backend/decoder-backend.ts). */
  private readonly backend: DecoderBackend;
  private readonly sampler: RejectionSampler;
  private readonly scheduler: Scheduler;
  /** What a step's drafts, and accepting a row, need (verify/step-drafts.ts, output/accept-row.ts). */
  private readonly drafting: DraftHost;
  private readonly accepting: AcceptHost;
  private readonly prefilling: PrefillHost;
  /** Structured outputs: constraints compiled for this model (XGrammar loads on the first). */
  private readonly grammars: EngineGrammar;
  private nextId = 1;
  private loopRunning = false;
  private closed = false;
  private finishedRequests = 0;
  /** Adds suffix documents in slices between steps, within a token budget (null without a global suffix tree). */
  private readonly ingestor: DocumentIngestor | null;
  /** Where the verify-cost model came from, and its background measurement if one runs. */
  private costInit: InitialCost | null = null;

  private constructor(m: LoadedModel, options: EngineOptions) {
    this.modelDir = m.dir;
    this.modelFile = m.file;
    this.config = m.config;
    this.tokenizer = m.tokenizer;
    this.provider = m.provider;
    this.speculative = m.speculative;
    this.proposer = m.proposer;
    this.maxModelLen = m.maxModelLen;
    this.backend = m.backend;
    this.sampler = new RejectionSampler(m.config.vocabSize, options.acceptRule ?? rejectionSample);
    this.scheduler = new Scheduler(m.backend, m.maxBatchSize);
    this.ingestor = m.proposer?.documents ? new DocumentIngestor(m.proposer.documents, options.documents, () => this.scheduler.size > 0) : null;
    this.policy = new AdaptivePolicy({
      enabled: options.adaptive ?? true, maxDraft: m.proposer?.maxTokens ?? 0,
      freeSide: m.proposer?.draftsWhilePaused === true,
      freeDraft: m.speculative?.suffixMaxDepth ?? 0,
      freeCalls: m.proposer?.freeDrafts === true,
    });
    // Tree drafts are reduced to their first chain where the backend verifies chains only (a 2-D mask graph, llama.cpp).
    const chainsOnly = m.proposer?.treeDrafts === true && !m.backend.trees;
    this.drafting = { proposer: m.proposer, policy: this.policy, faults: this.faults, vocabSize: m.config.vocabSize, maxModelLen: m.maxModelLen, chainsOnly, paddedRows: m.backend.paddedRows };
    this.accepting = { sampler: this.sampler, clock: this.policy.clock, faults: this.faults, emit: (...a) => this.emit(...a), fail: (r, err) => this.fail(r, err) };
    this.grammars = new EngineGrammar(m.dir, m.config, m.tokenizer);
    this.prefilling = { backend: m.backend, begin: (...a) => this.begin(...a), fail: (r, err) => this.fail(r, err) };
  }

  /** Loads a model folder (onnxruntime) or a .gguf file (llama.cpp, through the optional node-llama-cpp). */
  static async load(modelPath: string, options: EngineOptions = {}): Promise<Engine> {
    const model = await loadModel(modelPath, options);
    const engine = new Engine(model, options);
    if (model.verifyCost) engine.policy.verifyCost = model.verifyCost;
    else if (model.proposer) {
      // Measured now (small graphs), read from the cache, or measured in the background while idle (large graphs).
      engine.costInit = await initialVerifyCost({ ...model, provider: model.provider.provider, vocabSize: model.config.vocabSize, macs: macsPerToken(model.config),
        maxBatch: model.maxBatchSize, idle: () => engine.scheduler.size === 0 && !engine.closed, apply: (cost, plainMs) => {
          engine.policy.batchCost = cost;
          if (plainMs !== undefined) engine.policy.plainStepMs = plainMs;
        } });
    }
    return engine;
  }

  /** Which backend runs the model. */
  get backendName(): DecoderBackend["name"] {
    return this.backend.name;
  }

  /** The ONNX graph's I/O layout (null on llama.cpp). */
  get layout(): DecoderLayout | null {
    return this.backend instanceof OnnxBackend ? this.backend.forward.layout : null;
  }

  /** The onnxruntime backend's forward pass, read at each pass (fault-injection tests wrap its run). @internal */
  get forward(): ForwardPass {
    if (!(this.backend instanceof OnnxBackend)) throw new Error(`the ${this.backend.name} backend has no ONNX forward pass`);
    return this.backend.forward;
  }

  get maxBatchSize(): number {
    return this.scheduler.maxBatchSize;
  }

  /** See EngineOptions.verifyCost. */
  get verifyCost(): VerifyCost {
    return this.policy.verifyCost;
  }

  get cumulative(): SpecMetrics {
    return this.totals.total;
  }

  get activeRequestCount(): number {
    return this.scheduler.size;
  }

  get completedRequestCount(): number {
    return this.finishedRequests;
  }

  /** Where the verify-cost model came from (verify-cost-load.ts), and its background measurement (null: given, or no speculation). */
  get verifyCostInit(): InitialCost | null {
    return this.costInit;
  }

  get hasSuffix(): boolean {
    return this.proposer?.documents !== undefined;
  }

  /** Times verification of 0..16 draft tokens on this model and machine (at 256 tokens of context), at batch 1 and at maxBatchSize. */
  async measureVerifyCost(): Promise<BatchVerifyCost> {
    const { cost, plainMs } = await measureBatchCost(this.backend, this.config.vocabSize, this.maxModelLen, this.maxBatchSize);
    this.policy.plainStepMs = plainMs;
    return cost;
  }

  /** Median milliseconds of one forward pass verifying k = 0..maxDraft draft tokens at a context length (for projections). */
  async profileVerifyCost(contextLength = 512, maxDraft = 16, repeats = 15): Promise<number[]> {
    if (this.scheduler.size > 0) throw new Error("profileVerifyCost needs an idle engine");
    return profileVerifyCost(this.backend, this.config.vocabSize, contextLength, maxDraft, repeats);
  }

  /** Compiles an output constraint for this model (cached); rejects with a GlimpseConfigError naming the field. */
  prepareConstraint(constraint: OutputConstraint): Promise<void> {
    return this.grammars.prepare(constraint);
  }

  stream(options: GenerateOptions): GenerationStream {
    const state = this.admit(options);
    return state.stream(() => this.abort(state));
  }

  generate(options: GenerateOptions): Promise<GenerationResult> {
    return this.admit(options).result;
  }

  private admit(options: GenerateOptions): RequestState {
    if (this.closed) throw new Error("engine is closed");
    const { promptIds, maxTokens, sampling, constraint } = checkRequest(options, this.tokenizer, this.config, this.maxModelLen);
    const speculate = this.proposer !== null && options.speculate !== false;
    const state = new RequestState(this.nextId++, promptIds, options, sampling, maxTokens, this.config.eosTokenIds, this.tokenizer,
      speculate, this.policy.newState(sampling.temperature > 0));
    if (!state.listen(options.signal, () => this.abort(state))) {
      this.finish(state, "abort");
      return state;
    }
    // A constrained request joins the queue once its grammar is compiled (or found cached); a compile error fails it.
    if (constraint) void this.grammars.attach(state, constraint).then(() => this.enqueue(state), (err) => this.fail(state, err));
    else this.enqueue(state);
    return state;
  }

  private enqueue(r: RequestState): void {
    if (r.finishReason) return;
    if (this.closed) return this.finish(r, "abort");
    this.scheduler.enqueue(r);
    void this.runLoop();
  }

  private abort(state: RequestState): void {
    if (state.finishReason) return;
    this.scheduler.remove(state);
    this.finish(state, "abort");
  }

  private async runLoop(): Promise<void> {
    if (this.loopRunning) return;
    this.loopRunning = true;
    try {
      while (!this.closed && this.scheduler.size > 0) {
        this.scheduler.preempt();
        // Requests admitted together are prefilled together (model/prefill.ts); they hold their rows meanwhile.
        const fresh: RequestState[] = [];
        for (let r = this.scheduler.nextToAdmit(); r; r = this.scheduler.nextToAdmit()) {
          if (!r.resumable) fresh.push(r); // else preempted: its cache was kept
          this.scheduler.activate(r);
        }
        if (fresh.length > 0) await prefillRequests(this.prefilling, fresh);
        if (!this.scheduler.prune()) continue;
        await this.step();
        this.scheduler.prune();
      }
    } catch (err) {
      for (const r of this.scheduler.takeAll()) this.fail(r, err);
    } finally {
      this.loopRunning = false;
      this.scheduler.settle();
    }
  }

  /** A prefilled request (scheduler/prefill-requests.ts): its KV state, and its first token (a step with nothing drafted, at the prompt's last position). */
  private begin(r: RequestState, row: PrefilledRow): void {
    r.ownKv = row.state;
    const first = this.sampler.verify(r, layoutStep(r.lastToken, null, 0), row.logits);
    if (row.hidden) r.hidden = row.hidden;
    if (r.speculate) {
      this.proposer!.begin(r.id, r.tokens);
      this.policy.startFromRecent(r.adaptive);
    }
    this.emit(r, first.tokens, first.logprobs, first.top);
  }

  private async step(): Promise<void> {
    const start = this.policy.clock();
    const { rows, cache } = this.scheduler.regroup();
    const timer = new StepTimer(this.policy.clock, rows.length, start);
    // 1. Propose.
    const plans = rows.map((r) => planDraft(this.drafting, r));
    const { drafts, proposeMs, jumped, caps } = await proposeDrafts(this.drafting, rows, plans, timer);
    const layouts: StepLayout[] = rows.map((r, i) => layoutStep(r.lastToken, drafts[i], caps[i]));
    // 2. Verify: one forward pass over every row's step input.
    const stepRows = rows.map((r, i) => ({ layout: layouts[i], cachedLength: r.cachedLength }));
    let out: PassOutput;
    try {
      out = await timer.forward(() => this.backend.run(cache, stepRows, rows.map(logitsNeed)));
    } catch (err) {
      // A failing request fails alone: every row runs its step alone, and rejoins the batch at the next regroup.
      await isolateRows(this.isolation, rows, layouts, cache, err);
      this.scheduler.invalidate();
      return;
    }
    // 3. Accept, row by row, and 4. stream.
    const passCost = this.policy.batchCost.ratio(rows.length, out.width - 1);
    const keep = rows.map((r, i) => acceptRow(this.accepting, r, i, layouts[i], out, (draftLen, accepted, ownMs) =>
      this.policy.judge(r.adaptive, {
        plan: plans[i], proposeMs: proposeMs[i], draftLen, accepted, free: drafts[i]?.free === true, passCost,
        expected: jumped[i] ? undefined : drafts[i]?.probs.slice(0, draftLen).reduce((x, y) => x + y, 0),
        timing: timer.rowTiming(proposeMs[i], ownMs),
      }), timer.verifyMs));
    this.scheduler.update(await this.backend.advance(cache, out, keep));
  }

  /** What isolating a failed pass needs (scheduler/step-faults.ts). */
  private get isolation(): IsolationHost {
    return { backend: this.backend, faults: this.faults, fail: (r, err) => this.fail(r, err), acceptRow: (...a) => acceptRow(this.accepting, ...a) };
  }

  /** Appends verified tokens to a request, streams them, and ends it when a stop condition holds. */
  private emit(r: RequestState, tokens: number[], logprobs: number[], top?: TopLogprob[][]): void {
    if (r.finishReason) return;
    const { taken, reason } = appendOutput(r, tokens, logprobs, this.maxModelLen, top);
    if (r.speculate && taken.length > 0) this.proposer!.append(r.id, taken);
    if (reason) this.finish(r, reason);
  }

  private finish(r: RequestState, reason: "stop" | "length" | "abort"): void {
    if (r.finishReason) return;
    this.release(r, reason);
    this.finishedRequests++;
    this.totals.add(r.metrics);
    if (reason === "abort") {
      r.queue.close(new GenerationAbortedError());
      r.reject(new GenerationAbortedError());
      return;
    }
    const result = generationResult(r, reason);
    r.queue.close();
    r.resolve(result);
  }

  private fail(r: RequestState, err: unknown): void {
    if (r.finishReason) return;
    this.release(r, "abort");
    r.queue.close(err);
    r.reject(err);
  }

  /** What an ended request holds: its KV state (a llama.cpp sequence), signal listener, proposer state and grammar. */
  private release(r: RequestState, reason: "stop" | "length" | "abort"): void {
    const kv = this.scheduler.kvOf(r);
    if (kv) this.backend.release(kv.state, kv.row);
    r.finishReason = reason;
    r.ownKv = null;
    r.detach();
    if (r.speculate) this.proposer!.end(r.id);
    r.grammar?.dispose();
    r.grammar = null;
  }

  // ---- suffix documents (a capability of suffix-backed proposers) ----

  suffixMemoryBytes(): number | null {
    return this.proposer?.documents?.memoryBytes() ?? null;
  }

  private documents(): SuffixDocuments {
    const docs = this.proposer?.documents;
    if (!docs) throw new GlimpseConfigError("speculative_config", "suffix decoding is not enabled (method \"suffix\", or \"arctic\" with enable_suffix_decoding)");
    return docs;
  }

  async addDocument(name: string, text: string): Promise<number> {
    if (typeof text !== "string") throw new GlimpseConfigError("text", "must be a string");
    checkDocumentName(name);
    this.documents();
    return this.addDocumentTokens(name, this.tokenizer.encode(text));
  }

  /** Adds a document already tokenized (a server tokenizes off this thread); inserted in slices between steps. */
  async addDocumentTokens(name: string, ids: ArrayLike<number>): Promise<number> {
    checkDocumentName(name);
    this.documents();
    checkDocumentTokens(ids, this.config.vocabSize);
    return this.ingestor!.add(name, ids);
  }

  async removeDocument(name: string): Promise<boolean> {
    const docs = this.documents();
    this.ingestor!.cancel(name);
    return docs.removeDocument(name);
  }

  async listDocuments(): Promise<{ name: string; tokens: number }[]> {
    return this.documents().listDocuments();
  }

  async clearDocuments(): Promise<void> {
    const docs = this.documents();
    this.ingestor!.cancelAll();
    docs.clearDocuments();
  }

  async exportSuffixState(): Promise<SuffixState> {
    return this.documents().exportState();
  }

  async importSuffixState(state: SuffixState): Promise<void> {
    this.documents();
    checkSuffixState(state, this.config.vocabSize);
    await this.ingestor!.import(state);
  }

  /** Stops accepting work and releases the sessions (after in-flight steps end). */
  async close(): Promise<void> {
    this.closed = true;
    this.ingestor?.close();
    for (const r of this.scheduler.takeAll()) this.finish(r, "abort");
    while (this.loopRunning) await new Promise((res) => setTimeout(res, 5));
    await this.costInit?.stop();
    await this.proposer?.dispose();
    await this.backend.close();
  }
}

