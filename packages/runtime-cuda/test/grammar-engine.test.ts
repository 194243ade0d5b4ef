// Structured outputs through the Engine on the embedded model: each kind of
// constraint gives output that matches it (checked by ajv, JSON.parse and
// JavaScript regular expressions written here), bad constraints fail naming
// the field with XGrammar's message, the grammar's end ends the output,
// jump-forward changes no token and saves steps, and constrained requests
// leave unconstrained ones in the same batch untouched.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, GlimpseConfigError, type GenerateOptions, type OutputConstraint } from "../src/index.js";
import { PROMPTS, SCHEMAS } from "./grammar-fixtures.js";
import { MODEL_DIR, REPO_ROOT } from "./model-dir.js";

const ajv = new Ajv({ strict: true });

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load(MODEL_DIR, { speculativeConfig: { method: "suffix" } });
}, 120_000);
afterAll(async () => engine?.close());

async function configError(p: Promise<unknown>): Promise<GlimpseConfigError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(GlimpseConfigError);
  return err as GlimpseConfigError;
}

describe("each kind of constraint", () => {
  it("json_schema, greedy: every output parses, validates with ajv, and ends by itself", { timeout: 120_000 }, async () => {
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      const validate = ajv.compile(schema);
      for (const prompt of PROMPTS) {
        const r = await engine.generate({ prompt, maxTokens: 120, constraint: { type: "json_schema", schema } });
        const value = JSON.parse(r.text);
        expect(validate(value), `${name} on ${JSON.stringify(prompt)}: ${r.text} ${JSON.stringify(validate.errors)}`).toBe(true);
        expect(r.finishReason, `${name}: ${r.text}`).toBe("stop");
        expect(r.text).toBe(JSON.stringify(value, null, 1).replace(/\n */g, (m) => (m.length > 1 ? " " : "")).replace(/\[ /g, "[").replace(/ \]/g, "]").replace(/\{ /g, "{").replace(/ \}/g, "}"));
      }
    }
  });

  it("json_schema given as text is the same constraint; json_object gives an object", async () => {
    const asObject = await engine.generate({ prompt: PROMPTS[0], maxTokens: 80, constraint: { type: "json_schema", schema: SCHEMAS.person } });
    const asText = await engine.generate({ prompt: PROMPTS[0], maxTokens: 80, constraint: { type: "json_schema", schema: JSON.stringify(SCHEMAS.person, null, 2) } });
    expect(asText.tokenIds).toEqual(asObject.tokenIds);
    const obj = await engine.generate({ prompt: PROMPTS[1], maxTokens: 120, constraint: { type: "json_object" } });
    if (obj.finishReason === "stop") expect(typeof JSON.parse(obj.text)).toBe("object");
    expect(obj.text.startsWith("{")).toBe(true);
    expect(Array.isArray(JSON.parse(obj.finishReason === "stop" ? obj.text : "{}"))).toBe(false);
  });

  it("regex: the output matches the same pattern as a JavaScript RegExp", async () => {
    const cases = [
      { pattern: "[a-z]{3}-[0-9]{2,4}", re: /^[a-z]{3}-[0-9]{2,4}$/ },
      { pattern: "(GET|POST) /[a-z]+(/[a-z0-9]+){0,2}", re: /^(GET|POST) \/[a-z]+(\/[a-z0-9]+){0,2}$/ },
      { pattern: "\\d{4}-\\d{2}-\\d{2}", re: /^\d{4}-\d{2}-\d{2}$/ },
    ];
    for (const { pattern, re } of cases) {
      for (const prompt of PROMPTS.slice(0, 2)) {
        const r = await engine.generate({ prompt, maxTokens: 40, constraint: { type: "regex", pattern } });
        if (r.finishReason === "stop") expect(r.text, pattern).toMatch(re);
        else expect(`${r.text}`.length).toBeGreaterThan(0);
        // Whatever was written is a prefix some full match starts with: checked on the bounded ones.
        if (!pattern.includes("+")) expect(r.finishReason, `${pattern}: ${r.text}`).toBe("stop");
      }
    }
  });

  it("choice: the output is one of the choices", async () => {
    const choices = ["yes", "no", "maybe later", 'a "quoted" \\ choice'];
    for (const prompt of [...PROMPTS, "Answer: "]) {
      const r = await engine.generate({ prompt, maxTokens: 20, constraint: { type: "choice", choices } });
      expect(choices).toContain(r.text);
      expect(r.finishReason).toBe("stop");
    }
    const sampled = await Promise.all([1, 2, 3, 4, 5, 6].map((seed) => engine.generate({ prompt: "Answer: ", maxTokens: 20, temperature: 1.5, seed, constraint: { type: "choice", choices } })));
    for (const r of sampled) expect(choices).toContain(r.text);
  });

  it("grammar: the output is a sentence of the EBNF grammar (checked by a RegExp of the same language)", async () => {
    const grammar = 'root ::= "let " name " = " value ";"\nname ::= [a-z] [a-z0-9_]{0,7}\nvalue ::= [0-9]{1,4} | "\\"" [a-z ]{0,8} "\\""';
    const re = /^let [a-z][a-z0-9_]{0,7} = ([0-9]{1,4}|"[a-z ]{0,8}");$/;
    for (const prompt of PROMPTS) {
      const r = await engine.generate({ prompt, maxTokens: 40, constraint: { type: "grammar", grammar } });
      expect(r.text).toMatch(re);
      expect(r.finishReason).toBe("stop");
    }
  });

  it("json_prefix: the document's text before the cursor plus the output stays a JSON prefix, and closes it when it ends", { timeout: 60_000 }, async () => {
    const befores = ['{\r\n  "name": "glimpse",\r\n  "version": ', '{"items": [1, 2, ', '[{"id": 1, "tags": ["a"', ""];
    for (const before of befores) {
      const r = await engine.generate({ prompt: `// file.json\n${before}`, maxTokens: 60, constraint: { type: "json_prefix", before } });
      // The oracle: JSON.parse of the text with the fewest closing characters added (or, ended: as it is).
      if (r.finishReason === "stop") expect(() => JSON.parse(before + r.text)).not.toThrow();
      else expect(isJsonPrefix(before + r.text), JSON.stringify(before + r.text)).toBe(true);
    }
  });
});

/** Whether `text` can be completed to JSON: some completion from a small set of closers parses (the output was cut at a length limit). */
function isJsonPrefix(text: string): boolean {
  const stack: string[] = [];
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{" || ch === "[") stack.push(ch === "{" ? "}" : "]");
    else if (ch === "}" || ch === "]") stack.pop();
  }
  const closers = stack.reverse().join("");
  for (const mid of ["", '"', "0", '"x"', '": 0', '":0', "e0", "ue", "e", "alse", "ull", "ll", "l", "rue"]) {
    for (const tail of [mid + closers, (inString ? '"' : "") + mid + closers, mid + (inString ? '"' : "") + ': 0' + closers]) {
      try {
        JSON.parse(text + tail);
        return true;
      } catch {
        // next
      }
    }
  }
  return false;
}

describe("bad constraints", () => {
  it("fail with a GlimpseConfigError naming the field and carrying XGrammar's message, from prepareConstraint and from generate", async () => {
    const cases: [OutputConstraint, string, RegExp][] = [
      [{ type: "json_schema", schema: { type: "objectx" } }, "constraint.schema", /not accepted by XGrammar: Unsupported type "objectx"/],
      [{ type: "json_schema", schema: { type: "object", properties: { a: { $ref: "#/$defs/missing" } } } }, "constraint.schema", /not accepted by XGrammar: .*missing/],
      [{ type: "regex", pattern: "[a-z+(" }, "constraint.pattern", /not accepted by XGrammar: Regex parsing error/],
      [{ type: "grammar", grammar: "root ::= item\n" }, "constraint.grammar", /not accepted by XGrammar: .*Rule "item" is not defined/],
      [{ type: "grammar", grammar: 'start ::= "a"' }, "constraint.grammar", /not accepted by XGrammar: .*root/],
      [{ type: "json_prefix", before: '{"a": }' }, "constraint.before", /is not the start of a JSON document: "}" at offset 6/],
    ];
    for (const [c, field, message] of cases) {
      for (const p of [engine.prepareConstraint(c), engine.generate({ prompt: "x", maxTokens: 8, constraint: c })]) {
        const err = await configError(p);
        expect(err.field, JSON.stringify(c)).toBe(field);
        expect(err.reason, JSON.stringify(c)).toMatch(message);
      }
    }
    // The engine works on: a good constraint after all those errors.
    const ok = await engine.generate({ prompt: PROMPTS[0], maxTokens: 60, constraint: { type: "json_schema", schema: SCHEMAS.person } });
    expect(ajv.validate(SCHEMAS.person, JSON.parse(ok.text))).toBe(true);
  });

  it("bad shapes throw at once; a constraint with forced output is refused", async () => {
    const bad = { type: "toml" } as unknown as OutputConstraint;
    expect(() => engine.stream({ prompt: "x", constraint: bad })).toThrow(/constraint\.type: must be one of/);
    await expect(engine.prepareConstraint(bad)).rejects.toThrow(GlimpseConfigError);
    expect(() => engine.generate({ prompt: "x", constraint: { type: "choice", choices: [] } })).toThrow(/constraint\.choices: must be a non-empty array/);
    expect(() => engine.generate({ prompt: "x", forcedOutput: [5, 6], constraint: { type: "json_object" } })).toThrow(/constraint: cannot be combined with forcedOutput/);
    expect(() => engine.generate({ prompt: "x", jumpForward: "yes" as unknown as boolean })).toThrow(/jumpForward: must be a boolean/);
    expect(engine.activeRequestCount).toBe(0);
  });
});

describe("the grammar's end, jump-forward, batches", () => {
  it("ends the output at the grammar's end even with ignoreEos, without streaming the stop token", async () => {
    const opts: GenerateOptions = { prompt: PROMPTS[0], maxTokens: 200, ignoreEos: true, constraint: { type: "json_schema", schema: SCHEMAS.status } };
    const chunks: number[] = [];
    const s = engine.stream(opts);
    for await (const c of s) chunks.push(...c.tokenIds);
    const r = await s.result;
    expect(r.finishReason).toBe("stop");
    expect(chunks).toEqual(r.tokenIds);
    expect(r.tokenIds).not.toContain(0);
    expect(ajv.validate(SCHEMAS.status, JSON.parse(r.text))).toBe(true);
    expect((await engine.generate({ ...opts, constraint: undefined, maxTokens: 50 })).completionTokens).toBe(50);
  });

  it("jump-forward changes no token and takes fewer steps, with and without a proposer", { timeout: 120_000 }, async () => {
    const plain = await Engine.load(MODEL_DIR);
    try {
      for (const e of [plain, engine]) {
        let stepsOn = 0;
        let stepsOff = 0;
        for (const [name, schema] of Object.entries(SCHEMAS)) {
          for (const prompt of PROMPTS) {
            const constraint: OutputConstraint = { type: "json_schema", schema };
            const off = await e.generate({ prompt, maxTokens: 120, constraint, jumpForward: false });
            const on = await e.generate({ prompt, maxTokens: 120, constraint });
            expect(on.tokenIds, `${name} ${JSON.stringify(prompt)}`).toEqual(off.tokenIds);
            stepsOn += on.metrics.steps;
            stepsOff += off.metrics.steps;
          }
        }
        // The suffix engine has drafted these outputs from its response cache since earlier tests: little left to gain there.
        if (e === plain) expect(stepsOn).toBeLessThan(0.85 * stepsOff);
      }
      // Without a proposer, jump-forward drafts alone: none when it is off.
      const off = await plain.generate({ prompt: PROMPTS[0], maxTokens: 120, constraint: { type: "json_schema", schema: SCHEMAS.tagged }, jumpForward: false });
      expect(off.metrics.draftTokens).toBe(0);
      const on = await plain.generate({ prompt: PROMPTS[0], maxTokens: 120, constraint: { type: "json_schema", schema: SCHEMAS.tagged } });
      expect(on.metrics.draftTokens).toBeGreaterThan(0);
      expect(on.metrics.acceptedTokens).toBeGreaterThan(0);
    } finally {
      await plain.close();
    }
  });

  it("a batch mixing constrained and unconstrained requests: each gets exactly the tokens it gets alone", { timeout: 120_000 }, async () => {
    const requests: GenerateOptions[] = PROMPTS.flatMap((prompt, i) => [
      { prompt, maxTokens: 48 },
      { prompt, maxTokens: 100, constraint: { type: "json_schema", schema: Object.values(SCHEMAS)[i] } },
      { prompt, maxTokens: 48, temperature: 0.8, seed: 11 + i },
      { prompt, maxTokens: 100, temperature: 0.8, seed: 21 + i, constraint: { type: "json_schema", schema: Object.values(SCHEMAS)[i + 1] } },
    ]);
    const alone: number[][] = [];
    for (const o of requests) alone.push((await engine.generate(o)).tokenIds);
    const together = await Promise.all(requests.map((o) => engine.generate(o)));
    together.forEach((r, i) => expect(r.tokenIds, `request ${i}`).toEqual(alone[i]));
    // The unconstrained ones really were left alone: greedy ones match an engine that never saw a constraint.
    const fresh = await Engine.load(MODEL_DIR, { speculativeConfig: { method: "suffix" } });
    try {
      for (let i = 0; i < requests.length; i += 4) expect((await fresh.generate(requests[i])).tokenIds).toEqual(alone[i]);
      expect((fresh as unknown as { grammars: { loaded: boolean } }).grammars.loaded).toBe(false); // XGrammar never loaded there
    } finally {
      await fresh.close();
    }
  });

  it("greedy takes the masked argmax: checking the target's own token first gives what a full mask gives", async () => {
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      const o: GenerateOptions = { prompt: PROMPTS[2], maxTokens: 120, constraint: { type: "json_schema", schema }, speculate: false, jumpForward: false };
      const fast = await engine.generate(o);
      // With log-probabilities every position's mask is applied before the argmax: the most likely allowed token is listed first.
      const full = await engine.generate({ ...o, topLogprobs: 1 });
      expect(fast.tokenIds, name).toEqual(full.tokenIds);
      full.topLogprobs!.forEach((top, k) => expect(top[0].id).toBe(full.tokenIds[k]));
    }
  });

  it("seeded constrained sampling gives the same tokens with and without speculation and jump-forward, all valid", { timeout: 120_000 }, async () => {
    const validate = ajv.compile(SCHEMAS.tagged);
    for (const seed of [1, 2, 3, 4]) {
      const o: GenerateOptions = { prompt: PROMPTS[seed % 3], maxTokens: 120, temperature: 1, seed, constraint: { type: "json_schema", schema: SCHEMAS.tagged } };
      const base = await engine.generate({ ...o, speculate: false, jumpForward: false });
      const spec = await engine.generate(o);
      expect(spec.tokenIds).toEqual(base.tokenIds);
      if (base.finishReason === "stop") expect(validate(JSON.parse(base.text))).toBe(true);
    }
  });

  it("log-probabilities are those of the masked distribution: finite, and the top ones allowed tokens only", async () => {
    const choices = ["yes", "no"];
    const r = await engine.generate({ prompt: "Answer: ", maxTokens: 20, topLogprobs: 20, constraint: { type: "choice", choices } });
    expect(r.logprobs!.every((x) => Number.isFinite(x) && x <= 0)).toBe(true);
    let text = "";
    r.topLogprobs!.forEach((top, k) => {
      // Each listed token continues the text so far toward a choice; their probabilities sum to 1 (nothing else was allowed).
      for (const t of top) expect(choices.some((c) => c.startsWith(text + engine.tokenizer.decode([t.id]))), `${text} + ${t.id}`).toBe(true);
      expect(top.reduce((s, t) => s + Math.exp(t.logprob), 0)).toBeCloseTo(1, 4);
      text += engine.tokenizer.decode([r.tokenIds[k]]);
    });
    expect(choices).toContain(text);
  });
});

describe("the README", () => {
  it("runs its structured-outputs example as written", { timeout: 120_000 }, async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### Structured outputs"));
    const code = /```js\n([\s\S]*?)```/.exec(section)![1];
    // From the repository root, as the README says (the package resolves through the workspace's node_modules).
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", code], { cwd: REPO_ROOT });
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^\{ name: '.*', age: \d+ \} stop$/);
    expect(["yes", "no"]).toContain(lines[1]);
  });
});
