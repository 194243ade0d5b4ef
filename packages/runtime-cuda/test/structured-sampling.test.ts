// Constrained sampling, with speculation, is distributed as constrained plain
// sampling: the masked, renormalised distribution. Over many seeds, the whole
// outputs of a small regex constraint (16 possible records) are compared by a
// two-sample chi-square test. The same statistic must reject deliberately wrong
// samplers, run here on the real model:
// - an acceptance rule that keeps every draft (EngineOptions.acceptRule);
// - a constrained sampler that masks without renormalising, and one that
//   samples the unmasked distribution and repairs what the grammar refuses.
// Those two are written here, as acceptance rules of an unconstrained engine
// that apply the mask themselves. The mask comes from this file's own
// reading of the vocabulary, not from XGrammar; with renormalisation the same
// rule is an independent reference for the engine's constrained sampling.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, sample, uniformAt, type AcceptRule, type GenerateOptions } from "../src/index.js";
import { MODEL_DIR } from "./model-dir.js";
import { twoSample } from "./stats.js";

const COLORS = ["red", "green", "blue", "black"];
const SIZES = [1, 2, 3, 4];
const PATTERN = `\\{"color": "(${COLORS.join("|")})", "size": [1-4]\\}`;
const VALID = COLORS.flatMap((c) => SIZES.map((s) => `{"color": "${c}", "size": ${s}}`));
const EOS = 0;
// Records the model continues: allowed colors and sizes, and others the constraint refuses
// (so the unmasked distribution puts real mass outside the grammar).
const PROMPT = `const shapes = [
  {"color": "red", "size": 3},
  {"color": "white", "size": 7},
  {"color": "blue", "size": 1},
  {"color": "orange", "size": 9},
  {"color": "red", "size": 2},
  {"color": "green", "size": 6},
  {"color": "black", "size": 4},
  {"color": "red", "size": 3},
  {"color": "purple", "size": 5},
];
const next = `;
const N = 240;
const P_OK = 0.001; // a correct sampler fails this 1 time in 1000 (the seeds are fixed, so the outcome is too)
const P_WRONG = 1e-6;

// --- the vocabulary as text, from tokenizer.json (byte-level BPE) -------------------------------

/** GPT-2's byte <-> printable character map (bytes_to_unicode). */
function byteDecoder(): Map<string, number> {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return new Map(bs.map((b, i) => [String.fromCharCode(cs[i]), b]));
}

/** Each token's text when it is plain ASCII; null for special tokens and tokens with other bytes. */
function asciiVocabulary(): (string | null)[] {
  const tok = JSON.parse(readFileSync(join(MODEL_DIR, "tokenizer.json"), "utf8")) as {
    model: { vocab: Record<string, number> };
    added_tokens: { id: number }[];
  };
  const decoder = byteDecoder();
  const special = new Set(tok.added_tokens.map((t) => t.id));
  const out: (string | null)[] = [];
  for (const [piece, id] of Object.entries(tok.model.vocab)) {
    const bytes = [...piece].map((ch) => decoder.get(ch) ?? 256);
    out[id] = special.has(id) || bytes.some((b) => b > 127) ? null : String.fromCharCode(...bytes);
  }
  return out;
}

const VOCAB = asciiVocabulary();

const masks = new Map<string, Uint8Array>();
/** The grammar's mask after `text`: tokens that keep it a prefix of a valid record; EOS once it is one. */
function allowedAfter(text: string): Uint8Array {
  const known = masks.get(text);
  if (known) return known;
  const mask = new Uint8Array(VOCAB.length);
  masks.set(text, mask);
  if (VALID.includes(text)) {
    mask[EOS] = 1;
    return mask;
  }
  VOCAB.forEach((piece, id) => {
    if (piece && VALID.some((v) => v.startsWith(text + piece))) mask[id] = 1;
  });
  return mask;
}

// --- constrained samplers written as acceptance rules of an unconstrained, non-speculative engine ---
// The engine calls the rule once per output position of each request (plain decoding), with the
// uniform number uniformAt(seed, position): that number tells the rule which request and position
// it serves, so the rule can track each request's text while 16 requests share a forward pass.

type Sampler = (p: Float64Array, mask: Uint8Array, u: number) => number;

/** Right: mask, renormalise, sample (the reference). */
const renormalised: Sampler = (p, mask, u) => {
  const q = p.map((x, i) => (mask[i] ? x : 0));
  const z = q.reduce((a, b) => a + b, 0);
  return sample(q.map((x) => x / z), u);
};
/** Wrong: masks but does not renormalise (the mass the grammar refuses falls on the last allowed token). */
const unnormalised: Sampler = (p, mask, u) => sample(p.map((x, i) => (mask[i] ? x : 0)), u);
/** Wrong: samples the unmasked distribution; a refused token is repaired to the most likely allowed one. */
const unmaskedRepaired: Sampler = (p, mask, u) => {
  const x = sample(p, u);
  if (mask[x]) return x;
  let best = -1;
  for (let i = 0; i < p.length; i++) if (mask[i] && (best < 0 || p[i] > p[best])) best = i;
  return best;
};

const MAX_TOKENS = 40;

class RuleSampler {
  /** Request (seed - first) and position of each uniform number the engine will draw. */
  private readonly at = new Map<number, { request: number; position: number }>();
  private readonly texts: string[];
  private readonly lengths: number[];
  constructor(private readonly sampler: Sampler, first: number) {
    for (let request = 0; request < N; request++) {
      for (let position = 0; position < MAX_TOKENS; position++) {
        const u = uniformAt(first + request, position);
        if (this.at.has(u)) throw new Error(`seeds ${first}.. share a uniform number: choose other seeds`);
        this.at.set(u, { request, position });
      }
    }
    this.texts = new Array<string>(N).fill("");
    this.lengths = new Array<number>(N).fill(0);
  }
  readonly rule: AcceptRule = (p, candidates, u) => {
    const where = this.at.get(u);
    if (!where || candidates.length > 0) throw new Error("the rule serves plain decoding of its own seeds");
    const { request, position } = where;
    if (position !== this.lengths[request]++) throw new Error(`request ${request}: position ${position} out of order`);
    const token = this.sampler(p, allowedAfter(this.texts[request]), u);
    if (token !== EOS) this.texts[request] += VOCAB[token];
    return { accepted: -1, token };
  };
}

/** N outputs of a rule-driven sampler, seeds first..first+N-1, 16 requests per forward pass. */
async function ruleOutputs(sampler: Sampler, first: number): Promise<string[]> {
  const s = new RuleSampler(sampler, first);
  const engine = await Engine.load(MODEL_DIR, { maxBatchSize: 16, acceptRule: s.rule });
  const out: string[] = [];
  try {
    for (let start = 0; start < N; start += 16) {
      const batch = Array.from({ length: Math.min(16, N - start) }, (_, k) =>
        engine.generate({ prompt: PROMPT, maxTokens: MAX_TOKENS, temperature: 1, seed: first + start + k, speculate: false }),
      );
      for (const r of await Promise.all(batch)) out.push(r.text);
    }
  } finally {
    await engine.close();
  }
  return out;
}

// --- the engine's constrained sampling ----------------------------------------------------------

async function engineOutputs(engine: Engine, o: Partial<GenerateOptions>, first: number): Promise<{ texts: string[]; drafted: number }> {
  const before = engine.cumulative.draftTokens;
  const texts: string[] = [];
  for (let start = 0; start < N; start += 16) {
    const batch = Array.from({ length: Math.min(16, N - start) }, (_, k) =>
      engine.generate({ prompt: PROMPT, maxTokens: MAX_TOKENS, temperature: 1, seed: first + start + k, constraint: { type: "regex", pattern: PATTERN }, ...o }),
    );
    for (const r of await Promise.all(batch)) {
      expect(r.finishReason, r.text).toBe("stop");
      texts.push(r.text);
    }
  }
  return { texts, drafted: engine.cumulative.draftTokens - before };
}

/** Keeps every draft (a classic bug: the draft, not the target, decides). */
const alwaysAccept: AcceptRule = (p, candidates, u) =>
  candidates.length > 0 ? { accepted: 0, token: candidates[0] } : { accepted: -1, token: sample(p, u) };

const index = (texts: string[]) => texts.map((t) => (VALID.includes(t) ? VALID.indexOf(t) : VALID.length));

function totalVariation(a: string[], b: string[]): number {
  let tv = 0;
  for (const v of [...VALID, "other"]) {
    const fa = a.filter((t) => (VALID.includes(t) ? t : "other") === v).length / a.length;
    const fb = b.filter((t) => (VALID.includes(t) ? t : "other") === v).length / b.length;
    tv += Math.abs(fa - fb) / 2;
  }
  return tv;
}

function compare(label: string, a: string[], b: string[]): number {
  const p = twoSample(index(a), index(b));
  console.log(`${label}: chi-square p = ${p.toExponential(2)}, total variation ${totalVariation(a, b).toFixed(3)}`);
  return p;
}

describe("constrained sampling is exact with speculation", () => {
  const spec = { method: "suffix" as const };
  let good: Engine;
  let bad: Engine;
  beforeAll(async () => {
    // Not adaptive: every step drafts, so the positions that choose a color and a size are decided by verification.
    good = await Engine.load(MODEL_DIR, { speculativeConfig: spec, maxBatchSize: 16, adaptive: false });
    bad = await Engine.load(MODEL_DIR, { speculativeConfig: spec, maxBatchSize: 16, adaptive: false, acceptRule: alwaysAccept });
  }, 60_000);
  afterAll(async () => {
    await Promise.all([good?.close(), bad?.close()]);
  });

  it("the records: 16, and the mask read from the vocabulary allows each of them, and nothing else", () => {
    expect(VALID).toHaveLength(16);
    const single = (ch: string) => VOCAB.indexOf(ch);
    for (const v of VALID) {
      for (let k = 0; k < v.length; k++) expect(allowedAfter(v.slice(0, k))[single(v[k])], `${v} at ${k}`).toBe(1);
      expect(allowedAfter(v)[EOS]).toBe(1);
      expect(allowedAfter(v).reduce((a, b) => a + b, 0)).toBe(1);
    }
    expect(allowedAfter("")[EOS]).toBe(0);
    expect(allowedAfter('{"color": "')[single("w")]).toBe(0); // white: in the prompt, not in the grammar
    expect(allowedAfter('{"color": "red", "size": ')[single("7")]).toBe(0);
    expect(allowedAfter('{"color": "').reduce((a, b) => a + b, 0)).toBeGreaterThan(3);
  });

  it("matches constrained plain sampling; the statistic rejects a wrong acceptance rule and a sampler that ignores the mask's renormalisation", { timeout: 600_000 }, async () => {
    // Disjoint seeds for every sample: the comparisons are statistical, not seed for seed.
    const reference = await ruleOutputs(renormalised, 0);
    const plain = (await engineOutputs(good, { speculate: false, jumpForward: false }, N)).texts;
    const suffix = await engineOutputs(good, { speculate: true, jumpForward: false }, 2 * N);
    const both = await engineOutputs(good, { speculate: true, jumpForward: true }, 3 * N);
    const jump = await engineOutputs(good, { speculate: false, jumpForward: true }, 4 * N);
    const wrongRule = (await engineOutputs(bad, { speculate: true, jumpForward: true }, 5 * N)).texts;
    const noRenorm = await ruleOutputs(unnormalised, 6 * N);
    const unmasked = await ruleOutputs(unmaskedRepaired, 7 * N);

    for (const texts of [plain, suffix.texts, both.texts, jump.texts]) for (const t of texts) expect(VALID).toContain(t);
    // Drafts were verified at the positions that branch (else the comparison would prove nothing).
    expect(suffix.drafted).toBeGreaterThan(N);
    expect(both.drafted).toBeGreaterThan(N);
    expect(jump.drafted).toBeGreaterThan(N);

    // The engine's mask gives the masked, renormalised distribution (against the independent reference)...
    expect(compare("engine plain vs reference", plain, reference)).toBeGreaterThan(P_OK);
    // ...and speculation keeps it.
    expect(compare("suffix vs plain", suffix.texts, plain)).toBeGreaterThan(P_OK);
    expect(compare("suffix + jump-forward vs plain", both.texts, plain)).toBeGreaterThan(P_OK);
    expect(compare("jump-forward vs plain", jump.texts, plain)).toBeGreaterThan(P_OK);

    // The same statistic, the same sample size, rejects each wrong sampler.
    expect(compare("keep-every-draft rule vs plain", wrongRule, plain)).toBeLessThan(P_WRONG);
    expect(compare("no renormalisation vs plain", noRenorm, plain)).toBeLessThan(P_WRONG);
    expect(compare("no renormalisation vs reference", noRenorm, reference)).toBeLessThan(P_WRONG);
    expect(compare("unmasked + repair vs plain", unmasked, plain)).toBeLessThan(P_WRONG);
  });
});
