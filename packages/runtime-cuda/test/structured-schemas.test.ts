// Structured outputs on the embedded model: every response to every schema of
// the corpus (test/fixtures/structured) validates against its schema (ajv, an
// independent validator), greedy and sampled, plain and with each proposer,
// with and without jump-forward; responses to schemas that bound every value
// end by themselves ("stop"). Speculation changes no token: greedy outputs equal
// constrained plain decoding, and seeded sampled outputs equal plain sampling
// with the same seed (the engine draws one uniform number per seed and position).
import { Ajv, type ValidateFunction } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, type GenerateOptions, type GenerationResult, type SpeculativeConfigInput } from "../src/index.js";
import { MODEL_DIR } from "./model-dir.js";
import { features, isBounded, loadCorpus, type CorpusEntry } from "./fixtures/structured/corpus.js";

const CORPUS = loadCorpus();
// Generous: the largest bounded response of the corpus is ~250 tokens even written a character per token.
const MAX_TOKENS = 400;

const PROPOSERS: Record<string, SpeculativeConfigInput> = {
  suffix: { method: "suffix" },
  "suffix tree": { method: "suffix", suffix_use_tree_spec: true },
  ngram: { method: "ngram", num_speculative_tokens: 5 },
  mlp: { method: "arctic", model: "speculator-mlp", num_speculative_tokens: 3 },
  lstm: { method: "arctic", model: "speculator-lstm", num_speculative_tokens: 3 },
  hybrid: { method: "arctic", model: "speculator-lstm", num_speculative_tokens: 3, enable_suffix_decoding: true },
};

interface Combination {
  name: string;
  proposer: keyof typeof PROPOSERS;
  speculate: boolean;
  jumpForward: boolean;
  sampling?: { temperature: number; topP?: number };
}

// Each runs on a rotating share of the corpus (>= 12 schemas); greedy plain runs on all of it.
const SAMPLED = { temperature: 1 };
const NUCLEUS = { temperature: 0.7, topP: 0.9 };
const COMBINATIONS: Combination[] = [
  { name: "greedy, jump-forward alone", proposer: "suffix", speculate: false, jumpForward: true },
  { name: "greedy, suffix", proposer: "suffix", speculate: true, jumpForward: false },
  { name: "greedy, suffix + jump-forward", proposer: "suffix", speculate: true, jumpForward: true },
  { name: "greedy, suffix tree + jump-forward", proposer: "suffix tree", speculate: true, jumpForward: true },
  { name: "greedy, ngram + jump-forward", proposer: "ngram", speculate: true, jumpForward: true },
  { name: "greedy, arctic mlp + jump-forward", proposer: "mlp", speculate: true, jumpForward: true },
  { name: "greedy, arctic lstm", proposer: "lstm", speculate: true, jumpForward: false },
  { name: "greedy, hybrid + jump-forward", proposer: "hybrid", speculate: true, jumpForward: true },
  { name: "sampled, plain", proposer: "suffix", speculate: false, jumpForward: false, sampling: SAMPLED },
  { name: "sampled, suffix + jump-forward", proposer: "suffix", speculate: true, jumpForward: true, sampling: SAMPLED },
  { name: "sampled (top-p), suffix tree", proposer: "suffix tree", speculate: true, jumpForward: false, sampling: NUCLEUS },
  { name: "sampled, ngram + jump-forward", proposer: "ngram", speculate: true, jumpForward: true, sampling: SAMPLED },
  { name: "sampled (top-p), arctic mlp + jump-forward", proposer: "mlp", speculate: true, jumpForward: true, sampling: NUCLEUS },
  { name: "sampled, hybrid + jump-forward", proposer: "hybrid", speculate: true, jumpForward: true, sampling: SAMPLED },
];

/** Schema i goes to 3 combinations, spread evenly (57 schemas x 3 / 14 combinations: 12 or 13 each). */
function share(c: number): CorpusEntry[] {
  const out: CorpusEntry[] = [];
  for (let r = 0; r < 3; r++) {
    CORPUS.forEach((e, i) => {
      if ((r * CORPUS.length + i) % COMBINATIONS.length === c) out.push(e);
    });
  }
  return out;
}

const ajv = new Ajv({ strict: true, allowUnionTypes: true });
const validators = new Map<string, ValidateFunction>(CORPUS.map((e) => [e.name, ajv.compile(e.schema)]));
const engines = new Map<string, Engine>();

async function engineFor(proposer: string): Promise<Engine> {
  let e = engines.get(proposer);
  if (!e) {
    // Not adaptive: drafts are never cut for cost nor paused, so every draft is verified under the constraint.
    e = await Engine.load(MODEL_DIR, { speculativeConfig: PROPOSERS[proposer], maxBatchSize: 8, adaptive: false });
    engines.set(proposer, e);
  }
  return e;
}

function request(e: CorpusEntry, o: Partial<GenerateOptions>): GenerateOptions {
  return { prompt: e.prompt, maxTokens: MAX_TOKENS, constraint: { type: "json_schema", schema: e.schema }, ...o };
}

/** The response is JSON that the schema accepts, and ends by itself when the schema bounds every value. */
function checkResponse(e: CorpusEntry, r: GenerationResult, label: string): void {
  const where = `${label}: schema ${e.name}, output ${JSON.stringify(r.text)}`;
  if (isBounded(e.schema)) expect(r.finishReason, where).toBe("stop");
  // An unbounded schema may run out of tokens (a free string); whatever ends by itself must validate.
  if (r.finishReason === "length") return;
  let value: unknown;
  expect(() => (value = JSON.parse(r.text)), where).not.toThrow();
  const validate = validators.get(e.name)!;
  expect(validate(value), `${where}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

let plainGreedy: Map<string, GenerationResult>;

beforeAll(async () => {
  // Constrained plain decoding of the whole corpus: the reference for every greedy combination.
  const engine = await engineFor("suffix");
  const results = await Promise.all(CORPUS.map((e) => engine.generate(request(e, { speculate: false, jumpForward: false }))));
  plainGreedy = new Map(CORPUS.map((e, i) => [e.name, results[i]]));
}, 120_000);

afterAll(async () => {
  await Promise.all([...engines.values()].map((e) => e.close()));
});

describe("the schema corpus", () => {
  it("has >= 50 schemas covering the JSON Schema features of the issue", () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(50);
    const seen = new Set<string>();
    for (const e of CORPUS) for (const f of features(e.schema)) seen.add(f);
    for (const f of ["nested object", "array", "minItems", "maxItems", "enum", "required", "optional", "minimum", "maximum", "integer", "pattern", "anyOf", "maxLength"]) {
      expect(seen, f).toContain(f);
    }
    // Most schemas bound every value, so most responses must end with "stop".
    expect(CORPUS.filter((e) => isBounded(e.schema)).length).toBeGreaterThanOrEqual(45);
  });

  it("gives every combination >= 12 schemas", () => {
    COMBINATIONS.forEach((_, c) => expect(share(c).length, COMBINATIONS[c].name).toBeGreaterThanOrEqual(12));
  });
});

describe("every response validates against its schema", () => {
  it("greedy, plain: the whole corpus", () => {
    for (const e of CORPUS) checkResponse(e, plainGreedy.get(e.name)!, "greedy plain");
    const stops = CORPUS.filter((e) => plainGreedy.get(e.name)!.finishReason === "stop").length;
    console.log(`greedy plain: ${stops}/${CORPUS.length} responses ended with "stop"`);
  });

  it("control: without the constraint the same prompts give text the validator rejects", { timeout: 60_000 }, async () => {
    // The check above can fail: the model alone writes code here, not the schema's JSON.
    const engine = await engineFor("suffix");
    const free = await Promise.all(CORPUS.map((e) => engine.generate({ prompt: e.prompt, maxTokens: 128, stop: ["\n"] })));
    const valid = free.filter((r, i) => {
      try {
        return validators.get(CORPUS[i].name)!(JSON.parse(r.text.replace(/;\s*$/, "")));
      } catch {
        return false;
      }
    }).length;
    console.log(`unconstrained: ${valid}/${CORPUS.length} responses validate`);
    expect(valid).toBeLessThan(CORPUS.length / 4);
  });

  COMBINATIONS.forEach((c, index) => {
    it(c.name, { timeout: 120_000 }, async () => {
      const engine = await engineFor(c.proposer);
      const entries = share(index);
      const seeds = entries.map((_, i) => 1000 * index + i);
      const options = (i: number): Partial<GenerateOptions> => ({ ...(c.sampling ? { ...c.sampling, seed: seeds[i] } : {}) });
      const before = engine.cumulative.draftTokens;
      const got = await Promise.all(entries.map((e, i) => engine.generate(request(e, { ...options(i), speculate: c.speculate, jumpForward: c.jumpForward }))));
      const drafted = engine.cumulative.draftTokens - before;
      entries.forEach((e, i) => checkResponse(e, got[i], c.name));
      // Speculation (proposer drafts, grammar-forced drafts) changes no token.
      const reference = !c.sampling
        ? entries.map((e) => plainGreedy.get(e.name)!)
        : c.speculate || c.jumpForward
          ? await Promise.all(entries.map((e, i) => engine.generate(request(e, { ...options(i), speculate: false, jumpForward: false }))))
          : got;
      entries.forEach((e, i) => expect(got[i].tokenIds, `${c.name}: schema ${e.name} vs constrained plain decoding`).toEqual(reference[i].tokenIds));
      // Drafts were really verified (else the identity would prove nothing).
      if (c.speculate || c.jumpForward) expect(drafted).toBeGreaterThan(0);
    });
  });
});

describe("batches that mix constrained and unconstrained requests", () => {
  it("leave the unconstrained requests' output unchanged", { timeout: 120_000 }, async () => {
    const engine = await engineFor("suffix");
    const free = CORPUS.slice(0, 8).map((e) => ({ prompt: e.prompt, maxTokens: 48 }));
    const alone: number[][] = [];
    for (const f of free) alone.push((await engine.generate(f)).tokenIds);
    // Interleaved with constrained requests of other schemas, all in flight at once (8 per forward pass).
    const mixed = await Promise.all(free.flatMap((f, i) => [engine.generate(f), engine.generate(request(CORPUS[20 + i], {}))]));
    free.forEach((_, i) => expect(mixed[2 * i].tokenIds, `unconstrained prompt ${i}`).toEqual(alone[i]));
    free.forEach((_, i) => checkResponse(CORPUS[20 + i], mixed[2 * i + 1], "mixed batch"));
  });
});
