// From logits to the distribution a request samples from: temperature,
// top-k and top-p (nucleus), as in transformers' logits warpers.

export interface SamplingParams {
  /** 0 means greedy (argmax). */
  temperature: number;
  /** Keep the k most likely tokens (0: all). */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches p (1: all). */
  topP: number;
}

export const GREEDY: SamplingParams = { temperature: 0, topK: 0, topP: 1 };

export function isGreedy(p: SamplingParams): boolean {
  return p.temperature === 0;
}

export function argmax(logits: Float32Array, offset: number, size: number): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < size; i++) {
    const v = logits[offset + i];
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/** Probabilities (float64) over the vocabulary for logits[offset .. offset+size). */
export function probabilities(logits: Float32Array, offset: number, size: number, p: SamplingParams): Float64Array {
  const probs = new Float64Array(size);
  const t = p.temperature;
  let max = -Infinity;
  for (let i = 0; i < size; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const e = Math.exp((logits[offset + i] - max) / t);
    probs[i] = e;
    sum += e;
  }
  for (let i = 0; i < size; i++) probs[i] /= sum;
  if ((p.topK > 0 && p.topK < size) || p.topP < 1) {
    const order = Array.from({ length: size }, (_, i) => i).sort((a, b) => probs[b] - probs[a]);
    let keep = p.topK > 0 ? Math.min(p.topK, size) : size;
    if (p.topP < 1) {
      let cumulative = 0;
      for (let i = 0; i < keep; i++) {
        cumulative += probs[order[i]];
        if (cumulative >= p.topP) {
          keep = i + 1;
          break;
        }
      }
    }
    let kept = 0;
    for (let i = keep; i < size; i++) probs[order[i]] = 0;
    for (let i = 0; i < keep; i++) kept += probs[order[i]];
    for (let i = 0; i < size; i++) probs[i] /= kept;
  }
  return probs;
}

export function sample(probs: Float64Array, u: number): number {
  let cumulative = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    cumulative += probs[i];
    last = i;
    if (u < cumulative) return i;
  }
  return last;
}
