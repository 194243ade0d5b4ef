// An obviously-correct reference for the suffix tree: sequences kept as plain
// arrays, suffix counts found by brute-force search. It judges whether a
// draft is one the tree may legally produce, independently of how equally
// frequent continuations are ordered.

const f32 = Math.fround;

export class ReferenceTree {
  readonly seqs = new Map<number, number[]>();
  constructor(readonly maxDepth: number) {}

  extend(seqId: number, tokens: ArrayLike<number>): void {
    // Like the tree, a sequence exists once it has a token.
    if (tokens.length === 0) return;
    const s = this.seqs.get(seqId) ?? [];
    for (let i = 0; i < tokens.length; i++) s.push(tokens[i]);
    this.seqs.set(seqId, s);
  }

  remove(seqId: number): void {
    this.seqs.delete(seqId);
  }

  /** Suffixes (cut to maxDepth tokens) that start with `pattern`. */
  count(pattern: readonly number[]): number {
    if (pattern.length > this.maxDepth) return 0;
    let n = 0;
    for (const s of this.seqs.values()) {
      for (let start = 0; start + pattern.length <= s.length; start++) {
        let k = 0;
        while (k < pattern.length && s[start + k] === pattern[k]) k++;
        if (k === pattern.length) n++;
      }
    }
    return n;
  }

  /** Tokens that continue `pattern`, with their counts. */
  continuations(pattern: readonly number[]): Map<number, number> {
    const out = new Map<number, number>();
    if (pattern.length >= this.maxDepth) return out;
    for (const s of this.seqs.values()) {
      for (let start = 0; start + pattern.length < s.length; start++) {
        let k = 0;
        while (k < pattern.length && s[start + k] === pattern[k]) k++;
        if (k === pattern.length) {
          const c = s[start + pattern.length];
          out.set(c, (out.get(c) ?? 0) + 1);
        }
      }
    }
    return out;
  }

  /** Longest p < context length whose last-p-token pattern occurs (0: none). */
  longestMatch(context: readonly number[]): number {
    let best = 0;
    for (let p = 1; p < context.length; p++) {
      if (this.count(context.slice(context.length - p)) === 0) break;
      best = p;
    }
    return best;
  }
}

export interface DraftLike {
  tokenIds: ArrayLike<number>;
  parents: ArrayLike<number>;
  probs: ArrayLike<number>;
  score: number;
  matchLen: number;
}

export interface DraftRules {
  maxSpecTokens: number;
  maxSpecFactor: number;
  maxSpecOffset: number;
  minTokenProb: number;
  useTreeSpec: boolean;
}

export function draftCap(matchLen: number, r: DraftRules): number {
  const limit = Math.trunc(f32(f32(matchLen * f32(r.maxSpecFactor)) + f32(r.maxSpecOffset)) + 1e-6);
  return Math.max(0, Math.min(r.maxSpecTokens, limit));
}

// Probability of stepping from `pattern` to `pattern + c`: unchanged inside a
// compressed run (the count does not drop), else scaled by the count ratio.
function stepProb(prob: number, from: number, to: number, tree: boolean): number {
  if (from === to) return prob;
  return tree ? f32(f32(prob * f32(to)) / f32(from)) : f32(prob * f32(f32(to) / f32(from)));
}

/** Why `draft` is not a legal draft for `context` in `ref`, or null when it is. */
export function explainIllegalDraft(ref: ReferenceTree, context: readonly number[], draft: DraftLike, r: DraftRules): string | null {
  const n = draft.tokenIds.length;
  const longest = ref.longestMatch(context);
  const m = draft.matchLen;
  if (m > longest) return `matchLen ${m} exceeds the longest match ${longest}`;
  let score = 0;
  for (let i = 0; i < n; i++) score = f32(score + draft.probs[i]);
  if (Math.abs(score - draft.score) > 1e-5) return `score ${draft.score} is not the sum of probs ${score}`;
  if (n === 0) {
    // Every draft was empty (or none existed): the longest match is reported.
    return m === longest ? null : `empty draft reports matchLen ${m}, longest match is ${longest}`;
  }
  if (m < 1) return `non-empty draft with matchLen ${m}`;
  const cap = draftCap(m, r);
  if (n > cap) return `draft of ${n} tokens exceeds the cap ${cap}`;
  const base = context.slice(context.length - m);
  // Pattern and probability at each draft token.
  const paths: number[][] = [];
  for (let i = 0; i < n; i++) {
    const parent = draft.parents[i];
    if (r.useTreeSpec ? parent < -1 || parent >= i : parent !== i - 1) return `token ${i} has parent ${parent}`;
    const from = parent < 0 ? base : paths[parent];
    const parentProb = parent < 0 ? 1 : draft.probs[parent];
    const c = draft.tokenIds[i];
    const conts = ref.continuations(from);
    const count = conts.get(c) ?? 0;
    if (count === 0) return `token ${i} (${c}) never follows its pattern`;
    const expected = stepProb(parentProb, ref.count(from), count, r.useTreeSpec);
    if (draft.probs[i] !== expected) return `token ${i} has prob ${draft.probs[i]}, expected ${expected}`;
    if (expected < f32(r.minTokenProb)) return `token ${i} has prob ${expected} below minTokenProb`;
    if (!r.useTreeSpec && count < Math.max(...conts.values())) return `token ${i} (${c}) is not a most frequent continuation`;
    paths.push([...from, c]);
  }
  if (!r.useTreeSpec) {
    // The path stops only at the cap, a dead end, or a probability cut.
    if (n < cap) {
      const last = paths[n - 1];
      const conts = ref.continuations(last);
      if (conts.size > 0) {
        const best = Math.max(...conts.values());
        const next = stepProb(draft.probs[n - 1], ref.count(last), best, false);
        if (next >= f32(r.minTokenProb)) return `path stopped after ${n} tokens though it could continue with prob ${next}`;
      }
    }
    return null;
  }
  // Tree: best-first, so no excluded candidate beats an included token, and
  // below the cap every candidate above minTokenProb is included.
  for (let i = 1; i < n; i++) {
    if (draft.probs[i] > draft.probs[i - 1]) return `tree tokens are not in best-first order at ${i}`;
  }
  const minIncluded = draft.probs[n - 1];
  const frontier: number[] = [];
  const expand = (from: number[], prob: number, parent: number) => {
    const total = ref.count(from);
    for (const [c, count] of ref.continuations(from)) {
      let included = false;
      for (let j = 0; j < n; j++) if (draft.parents[j] === parent && draft.tokenIds[j] === c) included = true;
      if (!included) frontier.push(stepProb(prob, total, count, true));
    }
  };
  expand(base, 1, -1);
  for (let i = 0; i < n; i++) expand(paths[i], draft.probs[i], i);
  for (const p of frontier) {
    if (p < f32(r.minTokenProb)) continue;
    if (n < cap) return `tree of ${n} < cap ${cap} tokens leaves out a candidate with prob ${p}`;
    if (p > minIncluded) return `tree leaves out a candidate with prob ${p} > included ${minIncluded}`;
  }
  return null;
}
