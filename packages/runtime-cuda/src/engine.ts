// The engine: loads a model folder and runs the step loop
//   propose -> verify (one forward pass for the whole batch) -> accept -> stream
// over all active requests, which join and leave between steps.

import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import * as ort from "onnxruntime-node";
import { GenerationAbortedError, GlimpseConfigError, ModelLoadError } from "./errors.js";
import { BatchKvCache, type KvShape } from "./kv/batch-kv-cache.js";
import { addMetrics, emptyMetrics, type SpecMetrics } from "./metrics.js";
import { detectLayout, type DecoderLayout } from "./model/layout.js";
import { readModelConfig, type ModelConfig } from "./model/model-config.js";
import { chooseProvider, createSession, type Device, type ProviderChoice } from "./model/session.js";
import { TextTokenizer } from "./model/tokenizer.js";
import {
  createProposer, parseSpeculativeConfig, HybridProposer, SuffixProposer,
  type Draft, type Proposer, type SpeculativeConfig, type SpeculativeConfigInput,
} from "./proposers/index.js";
import type { SuffixState } from "./proposers/suffix.js";
import { rejectionSample, type AcceptRule } from "./sampling/acceptance.js";
import { argmax, isGreedy, probabilities } from "./sampling/distribution.js";
import { uniformAt } from "./sampling/rng.js";
import {
  RequestState, type GenerateOptions, type GenerationChunk, type GenerationResult,
} from "./scheduler/request.js";
import { checkRequest } from "./scheduler/check-request.js";
import { cutByCost, firstChain, layoutStep, type StepLayout } from "./verify/draft-layout.js";
import { VerifyCost } from "./verify/verify-cost.js";

export interface EngineOptions {
  device?: Device;
  /**
   * The decoder graph, relative to the model folder (or absolute). Default:
   * the tree graph (onnx/model_tree.onnx) when the folder has one, since a
   * 4-D mask verifies plain steps, chains and trees alike; else
   * onnx/model.onnx, model.onnx or the first onnx/model*.onnx.
   */
  graph?: string;
  /** Threads per operator (default: cores - 1, at most 4; see defaultIntraOpThreads). */
  intraOpThreads?: number;
  interOpThreads?: number;
  /** vLLM-style speculative config (object or JSON string); none decodes plainly. */
  speculativeConfig?: SpeculativeConfigInput | string | null;
  /** Most requests decoded together in one forward pass (default 8). */
  maxBatchSize?: number;
  /** Longest prompt + output (default: the model's max_position_embeddings). */
  maxModelLen?: number;
  /** Shrink or pause drafts that keep failing (default true). */
  adaptive?: boolean;
  /** Acceptance rule for sampled requests (tests swap it to prove they catch a wrong one). */
  acceptRule?: AcceptRule;
  /**
   * Cost of verifying k draft tokens relative to a plain step: a table
   * (entry k for k tokens; normalized by entry 0) or a slope (1 + slope * k).
   * Drafts are cut where their expected gain no longer pays for it. Measured
   * on the model at load when speculation is on (about 0.3 s) unless given;
   * 0 verifies every drafted token.
   */
  verifyCost?: number | readonly number[];
}

const MASKED = -1e9;

/**
 * Drafting must beat plain decoding by this factor to go on. A smaller edge
 * is within timer noise, and the probing it takes to keep it costs about as
 * much as it earns.
 */
const SPEC_MARGIN = 1.05;

/**
 * Longest pause of a losing proposer, in steps. Each pause ends with a probe,
 * and a speculator called after sitting idle for a while costs about a whole
 * decode step (its weights are no longer in cache): at 64 steps the probes
 * alone cost a proposer that never wins 2-3%. Longer pauses starve a
 * proposer that wins on some requests and not on others.
 */
const MAX_PAUSE_STEPS = 128;

/** A proposer call cheaper than this share of a plain step is free when it finds nothing. */
const CHEAP_CALL = 0.1;

/** Steps without drafting after a streak of rejected drafts. */
const SHORT_REST_STEPS = 2;

/** A request that starts paused (drafting lost lately) probes within this many steps. */
const FIRST_PROBE_AFTER = 8;

/** Gather the batch cache when holes make up this share of its length. */
const SQUEEZE_AT = 0.04;

/**
 * Free positions left at the end of the cache for graphs that output only
 * the new positions' K/V: the graph attends over them (masked), so more room
 * costs a little on every step; less means regrowing (one copy) more often.
 */
const KV_ROOM = 32;

function parseVerifyCost(value: number | readonly number[]): VerifyCost {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw new GlimpseConfigError("verifyCost", `a slope must be a finite number >= 0, got ${value}`);
    return VerifyCost.linear(value);
  }
  if (!Array.isArray(value) || value.length < 2 || !value.every((x) => typeof x === "number" && Number.isFinite(x) && x > 0)) {
    throw new GlimpseConfigError("verifyCost", `must be a slope >= 0 or an array of at least 2 positive costs (entry k: k draft tokens), got ${JSON.stringify(value)}`);
  }
  return VerifyCost.fromTimings(value);
}

/** Finds a decoder graph: the tree graph (onnx/model_tree.onnx, model_tree.onnx), or onnx/model.onnx, model.onnx, onnx/model*.onnx. */
export function findModelFile(dir: string, tree: boolean): string | null {
  const name = tree ? "model_tree.onnx" : "model.onnx";
  for (const p of [join(dir, "onnx", name), join(dir, name)]) if (existsSync(p)) return p;
  if (tree) return null;
  const onnxDir = join(dir, "onnx");
  if (!existsSync(onnxDir)) return null;
  const candidates = readdirSync(onnxDir).filter((f) => /^model.*\.onnx$/.test(f) && !f.includes("tree")).sort();
  return candidates.length > 0 ? join(onnxDir, candidates[0]) : null;
}

function chosenGraph(dir: string, graph: string): string {
  if (typeof graph !== "string" || graph.length === 0) throw new GlimpseConfigError("graph", `must be an ONNX file path relative to the model folder, got ${JSON.stringify(graph)}`);
  const file = resolve(dir, graph);
  if (!existsSync(file)) throw new ModelLoadError(`graph ${graph}: missing ONNX file ${file}`);
  return file;
}

export class Engine {
  readonly cumulative: SpecMetrics = emptyMetrics();
  private readonly waiting: RequestState[] = [];
  private active: RequestState[] = [];
  private batch: BatchKvCache;
  private batchMembers: RequestState[] = [];
  private nextId = 1;
  private loopRunning = false;
  private closed = false;
  private finishedRequests = 0;

  private constructor(
    readonly modelDir: string,
    readonly config: ModelConfig,
    readonly tokenizer: TextTokenizer,
    readonly layout: DecoderLayout,
    private readonly session: ort.InferenceSession,
    readonly provider: ProviderChoice,
    readonly proposer: Proposer | null,
    readonly speculative: SpeculativeConfig | null,
    readonly maxBatchSize: number,
    readonly maxModelLen: number,
    private readonly adaptive: boolean,
    private readonly acceptRule: AcceptRule,
    readonly modelFile: string,
  ) {
    this.batch = BatchKvCache.empty(this.kvShape, 0);
  }

  /** See EngineOptions.verifyCost. */
  verifyCost: VerifyCost = VerifyCost.linear(0);

  static async load(modelDir: string, options: EngineOptions = {}): Promise<Engine> {
    const dir = resolve(modelDir);
    if (!existsSync(dir)) throw new ModelLoadError(`model folder ${dir} does not exist`);
    const config = readModelConfig(dir);
    const tokenizer = TextTokenizer.fromDir(dir);
    const spec = options.speculativeConfig == null ? null : parseSpeculativeConfig(options.speculativeConfig);
    const maxBatchSize = options.maxBatchSize ?? 8;
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > 256) {
      throw new GlimpseConfigError("maxBatchSize", `must be an integer in [1, 256], got ${maxBatchSize}`);
    }
    const maxModelLen = options.maxModelLen ?? config.maxPositions;
    if (!Number.isInteger(maxModelLen) || maxModelLen < 2 || maxModelLen > config.maxPositions) {
      throw new GlimpseConfigError("maxModelLen", `must be an integer in [2, ${config.maxPositions}] (max_position_embeddings), got ${maxModelLen}`);
    }
    const provider = chooseProvider(options.device ?? "auto");
    const sessionOptions = { intraOpThreads: options.intraOpThreads, interOpThreads: options.interOpThreads };
    const file = options.graph !== undefined ? chosenGraph(dir, options.graph) : findModelFile(dir, true) ?? findModelFile(dir, false);
    if (!file) throw new ModelLoadError(`model folder ${dir} has no onnx/model.onnx (nor model.onnx, nor onnx/model*.onnx)`);
    const session = await createSession(file, provider, sessionOptions);
    const layout = detectLayout(session, config, file);
    const proposer = spec
      ? await createProposer(spec, { modelDir: dir, model: config, hasHidden: layout.hasHiddenState, provider, session: sessionOptions })
      : null;
    const engine = new Engine(dir, config, tokenizer, layout, session, provider, proposer, spec, maxBatchSize, maxModelLen,
      options.adaptive ?? true, options.acceptRule ?? rejectionSample, file);
    if (options.verifyCost !== undefined) {
      engine.verifyCost = parseVerifyCost(options.verifyCost);
    } else if (proposer) {
      engine.verifyCost = await engine.measureVerifyCost();
    }
    return engine;
  }

  /** Times verification of 0..16 draft tokens on this model and machine (at 256 tokens of context). */
  async measureVerifyCost(): Promise<VerifyCost> {
    const context = Math.min(256, Math.max(16, this.maxModelLen - 40));
    const ms = await this.profileVerifyCost(context, 16, 9);
    this.plainStepMs = ms[0];
    return VerifyCost.fromTimings(ms);
  }

  /** Free room kept at the end of the batch cache (only graphs that output new positions alone can use it). */
  private get kvRoom(): number {
    return this.layout.kvOutputs === "append" ? KV_ROOM : 0;
  }

  private get kvShape(): KvShape {
    return { numLayers: this.layout.numLayers, numKvHeads: this.layout.numKvHeads, headDim: this.layout.headDim };
  }

  /** Requests admitted or running (for tests and the server's health). */
  get activeRequestCount(): number {
    return this.active.length + this.waiting.length;
  }

  get completedRequestCount(): number {
    return this.finishedRequests;
  }

  private maxDraft(): number {
    if (!this.speculative) return 0;
    return this.speculative.numSpeculativeTokens ?? (this.speculative.method === "suffix" ? this.speculative.suffixMaxDepth : 5);
  }

  /** Streams a generation: text and token ids as they are verified. */
  stream(options: GenerateOptions): AsyncGenerator<GenerationChunk> & { result: Promise<GenerationResult> } {
    const state = this.admit(options);
    // Leaving the loop early (break, return, throw) cancels the generation.
    const abortOnExit = async function* (engine: Engine) {
      try {
        yield* state.queue.drain();
      } finally {
        if (!state.finishReason) engine.abort(state);
      }
    };
    const gen = abortOnExit(this) as AsyncGenerator<GenerationChunk> & { result: Promise<GenerationResult> };
    gen.result = state.resultPromise;
    return gen;
  }

  /** Generates to the end and returns the whole result. Bad options throw at once. */
  generate(options: GenerateOptions): Promise<GenerationResult> {
    const state = this.admit(options);
    return state.resultPromise;
  }

  private admit(options: GenerateOptions): RequestState & { resultPromise: Promise<GenerationResult> } {
    if (this.closed) throw new Error("engine is closed");
    const { promptIds, maxTokens, sampling } = checkRequest(options, this.tokenizer, this.config, this.maxModelLen);
    let resolveFn!: (r: GenerationResult) => void;
    let rejectFn!: (e: unknown) => void;
    const resultPromise = new Promise<GenerationResult>((res, rej) => {
      resolveFn = res;
      rejectFn = rej;
    });
    resultPromise.catch(() => {}); // the stream reports errors too; avoid unhandled rejections
    const speculate = this.proposer !== null && options.speculate !== false;
    const state = Object.assign(
      new RequestState(this.nextId++, promptIds, options, sampling, maxTokens, this.config.eosTokenIds, this.tokenizer,
        speculate, this.maxDraft(), resolveFn, rejectFn),
      { resultPromise },
    );
    if (options.signal?.aborted) {
      this.finish(state, "abort");
      return state;
    }
    const signal = options.signal;
    if (signal) {
      // Removed when the request ends: long-lived signals must not keep requests alive.
      const onAbort = () => this.abort(state);
      signal.addEventListener("abort", onAbort, { once: true });
      state.detach = () => signal.removeEventListener("abort", onAbort);
    }
    this.waiting.push(state);
    void this.runLoop();
    return state;
  }

  private abort(state: RequestState): void {
    if (state.finishReason) return;
    // Free it now if it is not in the middle of a step; else at the step's end.
    const w = this.waiting.indexOf(state);
    if (w >= 0) this.waiting.splice(w, 1);
    // A step in flight keeps its own row list; the batch cache row is
    // dropped at the next regroup.
    this.active = this.active.filter((r) => r !== state);
    this.finish(state, "abort");
  }

  private async runLoop(): Promise<void> {
    if (this.loopRunning) return;
    this.loopRunning = true;
    try {
      while (!this.closed && (this.waiting.length > 0 || this.active.length > 0)) {
        await this.admitWaiting();
        this.active = this.active.filter((r) => !r.finishReason);
        if (this.active.length === 0) continue;
        await this.step();
        this.active = this.active.filter((r) => !r.finishReason);
      }
    } catch (err) {
      for (const r of [...this.active, ...this.waiting]) this.fail(r, err);
      this.active = [];
      this.waiting.length = 0;
    } finally {
      this.loopRunning = false;
      this.batchMembers = this.batchMembers.filter((r) => !r.finishReason);
    }
  }

  private async admitWaiting(): Promise<void> {
    while (this.waiting.length > 0 && this.active.length < this.maxBatchSize) {
      const r = this.waiting.shift()!;
      if (r.finishReason) continue;
      try {
        await this.prefill(r);
      } catch (err) {
        this.fail(r, err);
        continue;
      }
      if (!r.finishReason) this.active.push(r);
    }
  }

  // ---- forward passes ----

  private feeds(inputIds: BigInt64Array, positions: BigInt64Array, mask: BigInt64Array | Float32Array, rows: number, s: number, cache: BatchKvCache): Record<string, ort.Tensor> {
    const L = this.layout;
    const total = cache.width + s;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", inputIds, [rows, s]),
      attention_mask: L.maskRank === 2
        ? new ort.Tensor("int64", mask as BigInt64Array, [rows, total])
        : new ort.Tensor("float32", mask as Float32Array, [rows, 1, s, total]),
    };
    if (L.hasPositionIds) feeds.position_ids = new ort.Tensor("int64", positions, [rows, s]);
    const dims = [rows, L.numKvHeads, cache.width, L.headDim];
    for (let l = 0; l < L.numLayers; l++) {
      feeds[L.pastKeyNames[l]] = new ort.Tensor("float32", cache.keys[l], dims);
      feeds[L.pastValueNames[l]] = new ort.Tensor("float32", cache.values[l], dims);
    }
    return feeds;
  }

  private async run(feeds: Record<string, ort.Tensor>) {
    const out = await this.session.run(feeds);
    const L = this.layout;
    return {
      logits: out.logits.data as Float32Array,
      hidden: L.hasHiddenState ? (out.last_hidden_state.data as Float32Array) : null,
      keys: L.presentKeyNames.map((n) => out[n].data as Float32Array),
      values: L.presentValueNames.map((n) => out[n].data as Float32Array),
    };
  }

  private async prefill(r: RequestState): Promise<void> {
    const n = r.tokens.length;
    const ids = BigInt64Array.from(r.tokens, (t) => BigInt(t));
    const pos = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
    let mask: BigInt64Array | Float32Array;
    if (this.layout.maskRank === 2) {
      mask = new BigInt64Array(n).fill(1n);
    } else {
      mask = new Float32Array(n * n);
      for (let q = 0; q < n; q++) for (let k = q + 1; k < n; k++) mask[q * n + k] = MASKED;
    }
    const empty = BatchKvCache.empty(this.kvShape, 1);
    const t0 = performance.now();
    const out = await this.run(this.feeds(ids, pos, mask, 1, n, empty));
    r.metrics.verifyMs += performance.now() - t0;
    if (r.finishReason) return; // aborted while the prompt ran
    r.prefillCache = empty.advance(this.layout.kvOutputs, out.keys, out.values, [new Uint8Array(n).fill(1)], 0);
    const V = this.config.vocabSize;
    const d = this.config.hiddenSize;
    const token = this.pick(r, out.logits, (n - 1) * V, []);
    if (out.hidden) r.hidden = out.hidden.slice((n - 1) * d, n * d);
    if (r.speculate) {
      this.proposer!.begin(r.id, r.tokens);
      this.startFromRecent(r);
    }
    this.emit(r, [token.token], [token.logprob]);
  }

  /** Samples (or takes the argmax of) the target's next token at one position, trying draft candidates. */
  private pick(r: RequestState, logits: Float32Array, offset: number, candidates: number[], pending = 0): { token: number; accepted: number; logprob: number } {
    const V = this.config.vocabSize;
    let token: number;
    let accepted: number;
    if (isGreedy(r.sampling)) {
      token = argmax(logits, offset, V);
      accepted = candidates.indexOf(token);
    } else {
      // Output position of the token chosen here: one uniform number per position.
      const position = r.output.length + pending;
      const res = this.acceptRule(probabilities(logits, offset, V, r.sampling), candidates, uniformAt(r.seed, position));
      token = res.token;
      accepted = res.accepted;
    }
    return { token, accepted, logprob: r.options.logprobs ? logSoftmaxAt(logits, offset, V, token) : 0 };
  }

  // ---- the step ----

  private regroup(): void {
    const same = this.batchMembers.length === this.active.length && this.active.every((r, i) => this.batchMembers[i] === r);
    // Every step pays for every cached position (attention, and the graph's
    // present = concat(past, new) copy), so holes left by rejected drafts
    // are squeezed out once they make up a few percent of the length: one
    // copy then saves a little on each of the following steps.
    if (same && this.batch.squeezableRatio() < SQUEEZE_AT) return;
    const sources = this.active.map((r) =>
      r.prefillCache ? { cache: r.prefillCache, row: 0 } : { cache: this.batch, row: r.row },
    );
    this.batch = BatchKvCache.gather(this.kvShape, sources, this.kvRoom);
    this.active.forEach((r, i) => {
      r.row = i;
      r.prefillCache = null;
    });
    this.batchMembers = [...this.active];
  }

  /** Draft tokens to ask for this step (0: none), and whether only free drafts may be made. */
  private draftBudget(r: RequestState): { tokens: number; paused: boolean } {
    if (!r.speculate) return { tokens: 0, paused: false };
    // Never draft past the model's length or the request's remaining tokens.
    const room = Math.max(0, Math.min(this.maxModelLen - r.tokens.length - 1, r.maxTokens - r.output.length - 1));
    const free = this.proposer!.draftsWhilePaused === true;
    // A free side drafts at full length; the costly side caps its own drafts.
    const full = Math.min(this.speculative!.suffixMaxDepth, room);
    if (r.pauseSteps > 0) {
      r.pauseSteps--;
      return free ? { tokens: full, paused: true } : { tokens: 0, paused: true };
    }
    return { tokens: free ? full : Math.min(r.budget, room), paused: false };
  }

  private async step(): Promise<void> {
    const stepStart = performance.now();
    this.regroup();
    const rows = this.active;
    const R = rows.length;
    // 1. Propose.
    const plan = rows.map((r) => this.draftBudget(r));
    const budgets = plan.map((p) => p.tokens);
    const asking = rows.map((r, i) => ({ r, i })).filter(({ i }) => budgets[i] > 0);
    const drafts: (Draft | null)[] = rows.map(() => null);
    const proposeShare = rows.map(() => 0);
    let proposeMs = 0;
    if (asking.length > 0) {
      const t0 = performance.now();
      const got = await this.proposer!.propose(asking.map(({ r, i }) => ({ requestId: r.id, tokens: r.tokens, hidden: r.hidden, maxTokens: budgets[i], paused: plan[i].paused })));
      proposeMs = performance.now() - t0;
      const ms = proposeMs / asking.length;
      asking.forEach(({ r, i }, k) => {
        r.metrics.proposeMs += ms;
        proposeShare[i] = ms;
        let d = got[k];
        if (d && this.layout.maskRank === 2) d = firstChain(d);
        if (d && this.adaptive) d = cutByCost(d, this.verifyCost);
        drafts[i] = d;
      });
    }
    const layouts: StepLayout[] = rows.map((r, i) => layoutStep(r.lastToken, drafts[i], budgets[i]));
    const s = Math.max(...layouts.map((l) => l.tokens.length));
    // 2. Verify: one forward pass over every row's step input.
    const cache = this.batch;
    const P = cache.width;
    const total = P + s;
    // int64 tensors are filled through 32-bit views (low words; values are
    // small and non-negative): far cheaper than creating BigInts one by one.
    const ids = new BigInt64Array(R * s);
    const pos = new BigInt64Array(R * s);
    const ids32 = new Int32Array(ids.buffer);
    const pos32 = new Int32Array(pos.buffer);
    const mask2 = this.layout.maskRank === 2 ? new BigInt64Array(R * total) : null;
    const mask32 = mask2 ? new Int32Array(mask2.buffer) : null;
    const mask4 = this.layout.maskRank === 4 ? new Float32Array(R * s * total).fill(MASKED) : null;
    rows.forEach((r, i) => {
      const lay = layouts[i];
      const base = r.cachedLength;
      for (let j = 0; j < s; j++) {
        const real = j < lay.tokens.length;
        ids32[2 * (i * s + j)] = real ? lay.tokens[j] : this.config.padTokenId;
        pos32[2 * (i * s + j)] = base + (real ? lay.depth[j] : 0);
      }
      const valid = cache.valid[i];
      if (mask32) {
        const rowBase = i * total;
        for (let p = 0; p < P; p++) mask32[2 * (rowBase + p)] = valid[p];
        for (let j = 0; j < lay.tokens.length; j++) mask32[2 * (rowBase + P + j)] = 1;
      } else {
        for (let j = 0; j < s; j++) {
          const rowBase = (i * s + j) * total;
          for (let p = 0; p < P; p++) if (valid[p]) mask4![rowBase + p] = 0;
          if (j >= lay.tokens.length) {
            mask4![rowBase + P + j] = 0; // padding attends to itself, never to nothing
            continue;
          }
          for (let a = j; a >= 0; a = lay.parent[a]) mask4![rowBase + P + a] = 0;
        }
      }
    });
    const t0 = performance.now();
    const out = await this.run(this.feeds(ids, pos, (mask2 ?? mask4)!, R, s, cache));
    const ranAt = performance.now();
    const verifyMs = (ranAt - t0) / R;
    // Each row's share of the step's common work (regrouping, laying out, masks, the forward pass).
    const sharedMs = (ranAt - stepStart - proposeMs) / R;
    // 3. Accept, row by row.
    const V = this.config.vocabSize;
    const d = this.config.hiddenSize;
    const flags: Uint8Array[] = [];
    rows.forEach((r, i) => {
      const t1 = performance.now();
      const lay = layouts[i];
      const keep = new Uint8Array(s);
      keep[0] = 1;
      let at = 0;
      const newTokens: number[] = [];
      const logprobs: number[] = [];
      for (;;) {
        const kids = lay.children[at];
        const pick = this.pick(r, out.logits, (i * s + at) * V, kids.map((c) => lay.tokens[c]), newTokens.length);
        newTokens.push(pick.token);
        logprobs.push(pick.logprob);
        if (pick.accepted < 0) break;
        at = kids[pick.accepted];
        keep[at] = 1;
      }
      flags.push(keep);
      if (out.hidden) r.hidden = out.hidden.slice((i * s + at) * d, (i * s + at + 1) * d);
      const draftLen = lay.tokens.length - 1;
      const accepted = newTokens.length - 1;
      const m = r.metrics;
      m.steps++;
      m.verifyMs += verifyMs;
      if (draftLen > 0) {
        m.drafts++;
        m.draftTokens += draftLen;
        m.acceptedTokens += accepted;
        for (let k = 0; k < accepted; k++) m.acceptedPerPosition[k] = (m.acceptedPerPosition[k] ?? 0) + 1;
      }
      m.sampleMs += performance.now() - t1;
      this.emit(r, newTokens, logprobs);
      // The adaptive logic compares whole steps, as the caller sees them: the
      // JavaScript around a forward pass (masks, one argmax per verified
      // position, streaming) is a tenth of a plain step on a small model, and
      // leaving it out favoured drafting.
      const rowMs = proposeShare[i] + sharedMs + (performance.now() - t1);
      // Steps the adaptive logic does not judge: free drafts (the hybrid's
      // suffix side), and a call that found nothing and cost next to nothing
      // (a suffix or n-gram lookup without a match): pausing those saves
      // nothing, and counting them as steps that gained nothing would pause
      // the drafts that do win. A costly call counts even if its draft was
      // cut to nothing.
      const freeCall = drafts[i]?.free === true || (draftLen === 0 && proposeShare[i] < CHEAP_CALL * this.plainStepMs);
      if (proposeShare[i] === 0 && draftLen === 0) {
        // A plain step (paused or not): the yardstick speculation must beat.
        this.plainStepMs = ema(this.plainStepMs, rowMs);
        this.plainOverheadMs = ema(this.plainOverheadMs, rowMs - verifyMs);
      } else if (!freeCall && !plan[i].paused) {
        this.adapt(r, draftLen, accepted, rowMs, verifyMs / this.verifyCost.at(draftLen) + this.plainOverheadMs);
      }
    });
    this.batch = cache.advance(this.layout.kvOutputs, out.keys, out.values, flags, this.kvRoom);
  }

  /** Recent time of a whole step without drafts (forward pass and the JavaScript around it), per request (ms). */
  private plainStepMs = 0;

  /** The part of plainStepMs outside the forward pass (ms). */
  private plainOverheadMs = 0;

  /** What drafting earned lately on this engine, over all requests (moving averages, as in adapt), and the last pause. */
  private readonly recent = { tokens: 0, ms: 0, plainMs: 0, pauseLength: 2 };

  /**
   * A new request starts from what drafting earned on recent requests: where
   * it has been losing, the request starts paused, instead of paying a
   * warm-up of losing steps on every request, and probes once early; its
   * first drafting step then weighs half of the estimate.
   */
  private startFromRecent(r: RequestState): void {
    const e = this.recent;
    if (!this.adaptive || e.ms === 0) return;
    r.specTokens = e.tokens;
    r.specMs = e.ms;
    r.plainMs = e.plainMs;
    r.specSteps = 4;
    r.probing = true;
    if (this.draftingLoses(r)) {
      r.pauseLength = e.pauseLength;
      this.pause(r);
      // What lost on earlier requests may win on this one: probe it early,
      // then pause as long as the last pause if the probe loses.
      r.pauseSteps = Math.min(r.pauseSteps, FIRST_PROBE_AFTER);
    }
  }

  /**
   * `plainMs` is what this step would have cost without a draft: its verify
   * time scaled down by the cost table, so it follows the request's current
   * context length.
   */
  private adapt(r: RequestState, draftLen: number, accepted: number, stepMs: number, plainMs: number): void {
    if (!this.adaptive) return;
    // Throughput check: tokens per millisecond with drafting (proposing
    // included) against one token per plain step. A proposer that costs more
    // than it yields pauses, twice as long each time, until it pays again.
    // The first step after a pause weighs half the estimate, so one probe
    // decides whether to resume or pause longer: a useless proposer costs one
    // step per pause, not several.
    // A call that gave nothing to verify (no match, or a draft cut to
    // nothing) still counts its cost, but is no probe: the next real draft is.
    const probe = r.probing && draftLen > 0;
    const w = probe ? 0.5 : 0.2;
    if (probe) r.probing = false;
    r.specTokens = (1 - w) * r.specTokens + w * (accepted + 1);
    r.specMs = (1 - w) * r.specMs + w * stepMs;
    r.plainMs = (1 - w) * r.plainMs + w * plainMs;
    r.specSteps++;
    const e = this.recent;
    e.tokens = 0.9 * e.tokens + 0.1 * (accepted + 1);
    e.ms = 0.9 * e.ms + 0.1 * stepMs;
    e.plainMs = 0.9 * e.plainMs + 0.1 * plainMs;
    if (r.specSteps >= 4) {
      if (this.draftingLoses(r)) {
        this.pause(r);
        return;
      }
      // One good probe halves the next pause rather than forgetting them all:
      // a proposer that wins now and then but loses on the whole stays mostly paused.
      r.pauseLength = Math.max(2, r.pauseLength / 2);
      this.recent.pauseLength = r.pauseLength;
    }
    if (draftLen === 0) return; // nothing was verified: the budget stays
    if (accepted === 0) {
      r.budget = Math.floor(r.budget / 2);
      if (r.budget === 0) {
        // Drafts keep failing though drafting pays on the whole (else the
        // throughput check above would have paused it): rest a couple of
        // steps. Not a pause: those grow, and a proposer that wins on
        // average would end up starved by its losing streaks.
        r.pauseSteps = SHORT_REST_STEPS;
        r.budget = 1;
      }
    } else {
      r.budget = Math.min(this.maxDraft(), Math.max(r.budget, 2 * (accepted + 1)));
    }
  }

  /** Whether a request's recent drafting yields fewer tokens per millisecond than plain decoding, by the margin. */
  private draftingLoses(r: RequestState): boolean {
    // The cost model's estimate, or recent plain steps if they were cheaper.
    const plain = this.plainStepMs > 0 ? Math.min(this.plainStepMs, r.plainMs) : r.plainMs;
    return r.specTokens / r.specMs < SPEC_MARGIN / plain;
  }

  private pause(r: RequestState): void {
    r.pauseSteps = r.pauseLength;
    this.recent.pauseLength = r.pauseLength;
    r.pauseLength = Math.min(r.pauseLength * 2, MAX_PAUSE_STEPS);
    r.probing = true;
  }

  // ---- output ----

  /** Appends verified tokens to a request, streams them, and ends it when a stop condition holds. */
  private emit(r: RequestState, tokens: number[], logprobs: number[]): void {
    if (r.finishReason) return;
    if (r.firstTokenAt === 0) r.firstTokenAt = performance.now();
    const out: number[] = [];
    const outLogprobs: number[] = [];
    let reason: "stop" | "length" | null = null;
    for (let k = 0; k < tokens.length; k++) {
      const t = tokens[k];
      if (r.stopIds.has(t)) {
        reason = "stop";
        break;
      }
      out.push(t);
      outLogprobs.push(logprobs[k]);
      if (r.output.length + out.length >= r.maxTokens || r.tokens.length + out.length >= this.maxModelLen) {
        reason = "length";
        break;
      }
    }
    for (const t of out) {
      r.tokens.push(t);
      r.output.push(t);
    }
    r.outputLogprobs.push(...outLogprobs);
    r.metrics.outputTokens += out.length;
    if (r.speculate && out.length > 0) this.proposer!.append(r.id, out);
    let text = r.detokenizer.push(out);
    if (reason) text += r.detokenizer.flush();
    const matched = r.stopStrings.push(text);
    let emitted = matched.emit;
    if (matched.stopped) reason = "stop";
    else if (reason) emitted += r.stopStrings.flush();
    r.text += emitted;
    if (out.length > 0 || emitted.length > 0) {
      r.queue.push({ tokenIds: out, text: emitted, ...(r.options.logprobs ? { logprobs: outLogprobs } : {}) });
    }
    if (reason) this.finish(r, reason);
  }

  private finish(r: RequestState, reason: "stop" | "length" | "abort"): void {
    if (r.finishReason) return;
    r.finishReason = reason;
    r.prefillCache = null;
    r.detach();
    if (r.speculate) this.proposer!.end(r.id);
    this.finishedRequests++;
    addMetrics(this.cumulative, r.metrics);
    const totalMs = performance.now() - r.startedAt;
    const genMs = r.firstTokenAt ? performance.now() - r.firstTokenAt : 0;
    const result: GenerationResult = {
      text: r.text,
      tokenIds: [...r.output],
      ...(r.options.logprobs ? { logprobs: [...r.outputLogprobs] } : {}),
      finishReason: reason,
      promptTokens: r.promptLength,
      completionTokens: r.output.length,
      metrics: {
        ...r.metrics,
        acceptedPerPosition: [...r.metrics.acceptedPerPosition],
        timeToFirstTokenMs: r.firstTokenAt ? r.firstTokenAt - r.startedAt : totalMs,
        totalMs,
        tokensPerSecond: genMs > 0 ? (r.output.length - 1) / (genMs / 1000) : 0,
      },
    };
    if (reason === "abort") {
      r.queue.close(new GenerationAbortedError());
      r.reject(new GenerationAbortedError());
    } else {
      r.queue.close();
      r.resolve(result);
    }
  }

  private fail(r: RequestState, err: unknown): void {
    if (r.finishReason) return;
    r.finishReason = "abort";
    r.detach();
    if (r.speculate) this.proposer!.end(r.id);
    r.queue.close(err);
    r.reject(err);
  }

  /**
   * Times one forward pass that verifies k draft tokens (k = 0..maxDraft) at a
   * given context length: median milliseconds per k. For projecting speedups.
   */
  async profileVerifyCost(contextLength = 512, maxDraft = 16, repeats = 15): Promise<number[]> {
    if (this.active.length > 0 || this.waiting.length > 0) throw new Error("profileVerifyCost needs an idle engine");
    const V = this.config.vocabSize;
    const tokens = Array.from({ length: contextLength }, (_, i) => (i * 7919) % V);
    const r = new RequestState(0, tokens, {}, { temperature: 0, topK: 0, topP: 1 }, 2, [], this.tokenizer, false, 0, () => {}, () => {});
    await this.prefill(r);
    const cache = r.prefillCache!;
    const inputs = Array.from({ length: maxDraft + 1 }, (_, k) => {
      const s = k + 1;
      const total = cache.width + s;
      return () => this.feeds(
        BigInt64Array.from({ length: s }, (_, j) => BigInt(tokens[j])),
        BigInt64Array.from({ length: s }, (_, j) => BigInt(contextLength + j)),
        this.layout.maskRank === 2 ? new BigInt64Array(total).fill(1n) : new Float32Array(s * total),
        1, s, cache);
    });
    for (const feeds of inputs) await this.run(feeds()); // warm-up
    // Rounds over every k, so a burst of load on the machine hits all sizes alike.
    const times: number[][] = inputs.map(() => []);
    for (let i = 0; i < repeats; i++) {
      for (let k = 0; k < inputs.length; k++) {
        const feeds = inputs[k]();
        const t0 = performance.now();
        await this.run(feeds);
        times[k].push(performance.now() - t0);
      }
    }
    return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
  }


  /** The suffix proposer (alone or inside the hybrid), if speculation uses one. */
  get suffix(): SuffixProposer | null {
    if (this.proposer instanceof SuffixProposer) return this.proposer;
    if (this.proposer instanceof HybridProposer) return this.proposer.suffix;
    return null;
  }

  /** Bytes held by the suffix trees, or null without suffix decoding (for metrics). */
  suffixMemoryBytes(): number | null {
    return this.suffix?.cache.memoryBytes() ?? null;
  }

  private requireSuffix(): SuffixProposer {
    const s = this.suffix;
    if (!s) throw new GlimpseConfigError("speculative_config", "suffix decoding is not enabled (method \"suffix\", or \"arctic\" with enable_suffix_decoding)");
    return s;
  }

  /** Adds a named document's text to the global suffix tree; returns its token count. */
  addDocument(name: string, text: string): number {
    if (typeof name !== "string" || name.length === 0 || name.length > 256) throw new GlimpseConfigError("name", "must be a non-empty string of at most 256 characters");
    if (typeof text !== "string") throw new GlimpseConfigError("text", "must be a string");
    const ids = this.tokenizer.encode(text);
    this.requireSuffix().addDocument(name, ids);
    return ids.length;
  }

  removeDocument(name: string): boolean {
    return this.requireSuffix().removeDocument(name);
  }

  listDocuments(): { name: string; tokens: number }[] {
    return this.requireSuffix().listDocuments();
  }

  clearDocuments(): void {
    this.requireSuffix().clearDocuments();
  }

  /** The global suffix tree's documents and responses, to save across restarts. */
  exportSuffixState(): SuffixState {
    return this.requireSuffix().exportState();
  }

  importSuffixState(state: SuffixState): void {
    this.requireSuffix().importState(state);
  }

  /** Stops accepting work and releases the sessions (after in-flight steps end). */
  async close(): Promise<void> {
    this.closed = true;
    for (const r of [...this.waiting, ...this.active]) this.finish(r, "abort");
    while (this.loopRunning) await new Promise((res) => setTimeout(res, 5));
    await this.proposer?.dispose();
    await this.session.release();
  }
}

/** Moving average over about ten samples; the first sample starts it. */
function ema(avg: number, sample: number): number {
  return avg === 0 ? sample : 0.9 * avg + 0.1 * sample;
}

function logSoftmaxAt(logits: Float32Array, offset: number, size: number, index: number): number {
  let max = -Infinity;
  for (let i = 0; i < size; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < size; i++) sum += Math.exp(logits[offset + i] - max);
  return logits[offset + index] - max - Math.log(sum);
}
