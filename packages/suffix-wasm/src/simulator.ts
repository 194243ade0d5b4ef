// Replays prompt/response traces through a SuffixDecodingCache, as
// ArcticInference's simulator does, and measures what speculation would gain.
//
// For each row in order: start the request with its prompt; at each step
// draft from context = prompt + response so far, accept the longest draft
// path matching the true response, then append the accepted tokens plus one
// bonus token (the next true token, when any is left); stop the request.

import { SuffixDecodingCache } from "./cache.js";
import type { Draft, SpeculateOptions } from "./draft.js";
import { SuffixRuntime, defaultRuntime } from "./runtime.js";

export interface TraceRow {
  prompt: Int32Array;
  response: Int32Array;
}

export interface SimulationConfig {
  maxDepth: number;
  maxSpecTokens: number;
  maxSpecFactor: number;
  maxSpecOffset: number;
  minTokenProb: number;
  useTreeSpec: boolean;
  maxCachedRequests: number;
}

export const DEFAULT_SIMULATION_CONFIG: SimulationConfig = {
  maxDepth: 64,
  maxSpecTokens: 64,
  maxSpecFactor: 1,
  maxSpecOffset: 0,
  minTokenProb: 0.1,
  useTreeSpec: false,
  maxCachedRequests: -1,
};

export interface StepRecord {
  requestId: number;
  step: number;
  draft: Draft;
  numAccepted: number;
}

export interface SimulationSummary {
  num_requests: number;
  total_steps: number;
  total_output_tokens: number;
  total_speculated_tokens: number;
  total_accepted_tokens: number;
  mean_accepted_tokens_per_step: number;
  mean_output_tokens_per_step: number;
  mean_speculated_tokens_per_step: number;
  accept_rate: number;
  speculate_time_us_per_step: number;
  update_time_us_per_step: number;
  speculate_time_us_p50: number;
  update_time_us_p50: number;
  start_time_us_per_request: number;
  memory_bytes: number;
  cached_tokens: number;
  memory_bytes_per_cached_token: number;
  wasm_memory_bytes: number;
}

/** Counts draft tokens accepted against `truth[from..]`: the longest matching path. */
export function acceptLongestPath(draft: Draft, truth: ArrayLike<number>, from: number): number {
  const { tokenIds, parents } = draft;
  let current = -1;
  let accepted = 0;
  while (from + accepted < truth.length) {
    const want = truth[from + accepted];
    let next = -1;
    for (let j = 0; j < tokenIds.length; j++) {
      if (parents[j] === current && tokenIds[j] === want) {
        next = j;
        break;
      }
    }
    if (next < 0) break;
    current = next;
    accepted++;
  }
  return accepted;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export function simulate(
  rows: readonly TraceRow[],
  config: SimulationConfig = DEFAULT_SIMULATION_CONFIG,
  onStep?: (record: StepRecord) => void,
  runtime: SuffixRuntime = defaultRuntime(),
): SimulationSummary {
  const { per_replica: _perReplica, replicas: _replicas, shared: _shared, ...summary } =
    simulateReplicas(rows, config, { replicas: 1, shared: false }, onStep, runtime);
  return summary;
}

/** How a cluster's replicas see the trace: rows dealt round-robin, each replica with its own cache. */
export interface ReplicaOptions {
  replicas: number;
  /**
   * Every finished response also goes into every other replica's cache (what a
   * shared cache through Redis does): with nothing evicted, each replica's
   * global tree then holds what one cache serving the whole trace would.
   */
  shared: boolean;
}

/** What one replica's requests accepted. */
export type ReplicaSummary = Pick<SimulationSummary,
  "num_requests" | "total_steps" | "total_output_tokens" | "total_speculated_tokens" | "total_accepted_tokens" |
  "mean_accepted_tokens_per_step" | "mean_output_tokens_per_step" | "accept_rate">;

export interface ReplicaSimulationSummary extends SimulationSummary {
  replicas: number;
  shared: boolean;
  per_replica: ReplicaSummary[];
}

/** Step counters of a set of requests. */
class Tally {
  requests = 0;
  steps = 0;
  outputTokens = 0;
  speculated = 0;
  accepted = 0;

  summary(): ReplicaSummary {
    const perStep = (x: number) => (this.steps === 0 ? 0 : x / this.steps);
    return {
      num_requests: this.requests,
      total_steps: this.steps,
      total_output_tokens: this.outputTokens,
      total_speculated_tokens: this.speculated,
      total_accepted_tokens: this.accepted,
      mean_accepted_tokens_per_step: perStep(this.accepted),
      mean_output_tokens_per_step: perStep(this.outputTokens),
      accept_rate: this.speculated === 0 ? 0 : this.accepted / this.speculated,
    };
  }
}

/**
 * Replays a trace on `replicas` caches: row i is served by replica i mod N;
 * with `shared`, its response is then added to every other replica's cache.
 * Acceptance is reported for all rows together and per replica.
 */
export function simulateReplicas(
  rows: readonly TraceRow[],
  config: SimulationConfig,
  replicaOptions: ReplicaOptions,
  onStep?: (record: StepRecord) => void,
  runtime: SuffixRuntime = defaultRuntime(),
): ReplicaSimulationSummary {
  const n = replicaOptions.replicas;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`replicas must be an integer >= 1, got ${n}`);
  const caches = Array.from({ length: n }, () => new SuffixDecodingCache({
    maxTreeDepth: config.maxDepth,
    maxCachedRequests: config.maxCachedRequests,
    runtime,
  }));
  const options: SpeculateOptions = {
    maxSpecTokens: config.maxSpecTokens,
    maxSpecFactor: config.maxSpecFactor,
    maxSpecOffset: config.maxSpecOffset,
    minTokenProb: config.minTokenProb,
    useTreeSpec: config.useTreeSpec,
  };
  const total = new Tally();
  const perReplica = caches.map(() => new Tally());
  let specTime = 0;
  let updateTime = 0;
  let startTime = 0;
  const specTimes: number[] = [];
  const updateTimes: number[] = [];

  for (const row of rows) {
    const id = total.requests++;
    const r = id % n;
    const cache = caches[r];
    const tally = perReplica[r];
    tally.requests++;
    const { prompt, response } = row;
    // prompt + response in one buffer, so each context is a zero-copy view.
    const full = new Int32Array(prompt.length + response.length);
    full.set(prompt);
    full.set(response, prompt.length);

    let t0 = performance.now();
    cache.startRequest(id, prompt);
    startTime += performance.now() - t0;

    let pos = 0;
    let step = 0;
    while (pos < response.length) {
      t0 = performance.now();
      const draft = cache.speculate(id, full.subarray(0, prompt.length + pos), options);
      const t1 = performance.now();
      const accepted = acceptLongestPath(draft, response, pos);
      const produced = Math.min(accepted + 1, response.length - pos);
      const t2 = performance.now();
      cache.addActiveResponse(id, response.subarray(pos, pos + produced));
      const t3 = performance.now();
      specTime += t1 - t0;
      updateTime += t3 - t2;
      specTimes.push((t1 - t0) * 1000);
      updateTimes.push((t3 - t2) * 1000);
      onStep?.({ requestId: id, step, draft, numAccepted: accepted });
      for (const t of [total, tally]) {
        t.speculated += draft.tokenIds.length;
        t.accepted += accepted;
        t.outputTokens += produced;
        t.steps++;
      }
      pos += produced;
      step++;
    }
    cache.stopRequest(id);
    // The finished response reaches the other replicas as a whole, as an
    // entry read from the shared stream does (same id: one slot per cache).
    if (replicaOptions.shared) {
      for (const other of caches) {
        if (other === cache) continue;
        other.startRequest(id, []);
        other.addActiveResponse(id, response);
        other.stopRequest(id);
      }
    }
  }
  const memory = caches.reduce((sum, c) => sum + c.memoryBytes(), 0);
  // Tokens still held by the global trees: the cached responses.
  const cachedTokens = caches.reduce((sum, c) => sum + countCachedTokens(c, rows), 0);
  for (const c of caches) c.dispose();
  const steps = total.steps;
  const perStep = (x: number) => (steps === 0 ? 0 : x / steps);
  const { num_requests, total_steps, total_output_tokens, total_speculated_tokens, total_accepted_tokens,
    mean_accepted_tokens_per_step, mean_output_tokens_per_step, accept_rate } = total.summary();
  return {
    num_requests, total_steps, total_output_tokens, total_speculated_tokens, total_accepted_tokens,
    mean_accepted_tokens_per_step,
    mean_output_tokens_per_step,
    mean_speculated_tokens_per_step: perStep(total_speculated_tokens),
    accept_rate,
    speculate_time_us_per_step: perStep(specTime * 1000),
    update_time_us_per_step: perStep(updateTime * 1000),
    speculate_time_us_p50: median(specTimes),
    update_time_us_p50: median(updateTimes),
    start_time_us_per_request: num_requests === 0 ? 0 : (startTime * 1000) / num_requests,
    memory_bytes: memory,
    cached_tokens: cachedTokens,
    memory_bytes_per_cached_token: cachedTokens === 0 ? 0 : memory / cachedTokens,
    wasm_memory_bytes: runtime.memoryBytes,
    replicas: n,
    shared: replicaOptions.shared,
    per_replica: perReplica.map((t) => t.summary()),
  };
}

function countCachedTokens(cache: SuffixDecodingCache, rows: readonly TraceRow[]): number {
  const cached = new Set(cache.cachedRequests);
  let total = 0;
  let id = 0;
  for (const row of rows) {
    if (cached.has(id)) total += row.response.length;
    id++;
  }
  return total;
}
