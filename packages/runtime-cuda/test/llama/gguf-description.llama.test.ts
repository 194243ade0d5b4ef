// The GGUF description folder against two independent references: llama.cpp
// itself (node-llama-cpp loading the same GGUF) and the source checkpoint's
// own files. GGUFs are written by `glimpse convert --to gguf` from the
// embedded model and from random Llama 3 / Qwen2 / Qwen3 checkpoints that
// carry the families' real tokenizers.

import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeGguf } from "../../src/backend/llama/gguf-description.js";
import { readVocabInfo } from "../../src/grammar/tokenizer-info.js";
import { readModelConfig } from "../../src/model/model-config.js";
import { TextTokenizer } from "../../src/model/tokenizer.js";
import { makeCheckpoint, REPO_ROOT, type Family } from "../models/helpers.js";
import { rewriteGguf } from "./gguf-rewrite.js";
import { NFD_TEXTS, SLASH_S_TEXTS, tokenizerTexts, withSpecials } from "./gguf-strings.js";

const EMBEDDED = join(REPO_ROOT, "models/glimpse-coder-tiny");
const work = mkdtempSync(join(tmpdir(), "glimpse-gguf-desc-"));
process.env.GLIMPSE_CACHE_DIR = join(work, "cache");

/** `glimpse convert --to gguf` (the command users run), f32 weights. */
export function convertToGguf(from: string, out: string): void {
  const cli = join(REPO_ROOT, "packages/server/bin/glimpse.js");
  const r = spawnSync(process.execPath, [cli, "convert", "--from", from, "--to", "gguf", "--out", out, "--dtype", "f32"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`glimpse convert --to gguf failed (${r.status}):\n${(r.stderr ?? "").slice(-3000)}`);
}

const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
const first = (v: unknown) => (Array.isArray(v) ? v[0] : v) ?? null;

/** tokenizer.json's added tokens. */
function sourceAdded(dir: string): { id: number; content: string; special: boolean }[] {
  return readJson(join(dir, "tokenizer.json")).added_tokens as { id: number; content: string; special: boolean }[];
}

const CHAT = [
  { role: "system", content: "You are a terse assistant." },
  { role: "user", content: "Hi there! Write fib(n) in Python." },
  { role: "assistant", content: "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)" },
  { role: "user", content: "Now in Rust, please 🙏" },
];

let llama: Llama;
beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
});
afterAll(async () => {
  await llama?.dispose();
  rmSync(work, { recursive: true, force: true });
});

interface Case {
  name: string;
  family?: Family;
  /** The model has fill-in-the-middle markers (so the FIM check cannot pass by finding none on both sides). */
  hasFim: boolean;
}

const CASES: Case[] = [
  { name: "embedded", hasFim: true },
  { name: "llama", family: "llama", hasFim: false },
  { name: "qwen2", family: "qwen2", hasFim: true },
  { name: "qwen3", family: "qwen3", hasFim: true },
];

describe.each(CASES)("$name GGUF described as a model folder", (c) => {
  let source: string;
  let gguf: string;
  let dir: string;
  let model: LlamaModel;
  let desc: TextTokenizer;
  let src: TextTokenizer;

  beforeAll(async () => {
    source = EMBEDDED;
    if (c.family) {
      source = join(work, `ckpt-${c.name}`);
      makeCheckpoint(source, { family: c.family, seed: 3 });
    }
    gguf = join(work, `${c.name}.gguf`);
    convertToGguf(source, gguf);
    dir = (await describeGguf(gguf)).dir;
    model = await llama.loadModel({ modelPath: gguf });
    desc = TextTokenizer.fromDir(dir);
    src = TextTokenizer.fromDir(source);
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it("config.json has the source checkpoint's shape, norms, rope and special ids", () => {
    const s = readJson(join(source, "config.json"));
    const d = readJson(join(dir, "config.json"));
    const hidden = s.hidden_size as number;
    const heads = s.num_attention_heads as number;
    for (const key of ["architectures", "model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "max_position_embeddings", "rms_norm_eps", "rope_theta", "tie_word_embeddings"]) {
      expect(d[key], key).toEqual(s[key]);
    }
    expect(d.num_key_value_heads).toBe(s.num_key_value_heads ?? heads);
    expect(d.head_dim).toBe(s.head_dim ?? hidden / heads);
    const ropeType = (r: unknown) => (r === null || r === undefined ? null : ((r as { rope_type?: string; type?: string }).rope_type ?? (r as { type?: string }).type));
    expect(ropeType(d.rope_scaling)).toBe(ropeType(s.rope_scaling));
    expect(d.bos_token_id).toBe(first(s.bos_token_id));
    expect(d.eos_token_id).toBe(first(s.eos_token_id));
    // a GGUF has one pad id: config.json's, else tokenizer_config.json's pad token
    const padName = readJson(join(source, "tokenizer_config.json")).pad_token;
    const padFromTokenizer = typeof padName === "string" ? src.tokenId(padName) : undefined;
    expect(d.pad_token_id).toBe(first(s.pad_token_id) ?? padFromTokenizer ?? null);

    const mine = readModelConfig(dir);
    const theirs = readModelConfig(source);
    expect({ ...mine, padTokenId: 0, transformersJsConfig: null }).toEqual({ ...theirs, padTokenId: 0, transformersJsConfig: null });
  });

  it("tokenizes ~200 texts exactly as llama.cpp and as the source tokenizer.json do", () => {
    // the source's added tokens, special or not (Qwen's <tool_call> is not), a few of each kind
    const added = sourceAdded(source);
    const picked = [...added.filter((t) => t.special).slice(0, 4), ...added.filter((t) => !t.special).slice(0, 4)].map((t) => t.content);
    const texts = [...tokenizerTexts(), ...withSpecials(picked)];
    expect(texts.length).toBeGreaterThanOrEqual(200);
    const wrong: string[] = [];
    for (const text of texts) {
      expect(text.normalize("NFC"), "fixture texts are NFC").toBe(text);
      const ours = desc.encode(text);
      const cpp = Array.from(model.tokenize(text, true));
      const theirs = src.encode(text);
      if (JSON.stringify(ours) !== JSON.stringify(cpp) || JSON.stringify(ours) !== JSON.stringify(theirs)) {
        wrong.push(`${JSON.stringify(text)}: description ${ours.join(",")} llama.cpp ${cpp.join(",")} source ${theirs.join(",")}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("marks special exactly the added tokens llama.cpp treats as control; the others decode as text", () => {
    const added = sourceAdded(source);
    expect(added.length).toBeGreaterThan(0);
    for (const t of added) {
      const control = model.getTokenAttributes(t.id as Token).control;
      expect(desc.specialIds.has(t.id), t.content).toBe(control);
      expect(desc.decode([t.id]), t.content).toBe(control ? "" : t.content);
    }
  });

  it("keeps </s> as text, as the source does (llama.cpp reads it as text only with special tokens off)", () => {
    for (const text of SLASH_S_TEXTS) {
      expect(desc.encode(text), JSON.stringify(text)).toEqual(src.encode(text));
      expect(desc.encode(text), JSON.stringify(text)).toEqual(Array.from(model.tokenize(text, false)));
    }
  });

  it("normalizes text as the source tokenizer does (Qwen's NFC)", () => {
    for (const text of NFD_TEXTS) expect(desc.encode(text), JSON.stringify(text)).toEqual(src.encode(text));
  });

  it("starts prompts as llama.cpp and the source do (BOS or not)", () => {
    const prefix = model.tokens.shouldPrependBosToken && model.tokens.bos !== null ? [model.tokens.bos] : [];
    expect(desc.promptPrefix).toEqual(prefix);
    expect(desc.promptPrefix).toEqual(src.promptPrefix);
    for (const text of ["def f(x):", "Hello world"]) {
      expect(desc.encodePrompt(text)).toEqual([...prefix, ...model.tokenize(text, true)]);
      expect(desc.encodePrompt(text)).toEqual(src.encodePrompt(text));
    }
  });

  // (not compared with the source's decode: Llama 3's tokenizer_config.json cleans up spaces before punctuation,
  // which would turn `n < 2 ? n` into `n < 2? n`; the description keeps text as the tokens spell it)
  it("decodes every text's tokens back to the text", () => {
    for (const text of tokenizerTexts()) {
      const ids = desc.encode(text);
      expect(desc.decode(ids, false), JSON.stringify(text)).toBe(text);
    }
  });

  it("renders the chat template as the source folder does", () => {
    expect(desc.hasChatTemplate).toBe(src.hasChatTemplate);
    for (const n of [1, 2, 4]) {
      for (const addGenerationPrompt of [true, false]) {
        expect(desc.applyChatTemplate(CHAT.slice(0, n), addGenerationPrompt)).toBe(src.applyChatTemplate(CHAT.slice(0, n), addGenerationPrompt));
      }
    }
    expect(desc.eosToken).toBe(src.eosToken);
    expect(desc.eosTokenId).toBe(src.eosTokenId);
  });

  it("finds the fill-in-the-middle tokens the source has, at the ids llama.cpp uses", () => {
    expect(desc.fim).toEqual(src.fim);
    if (!c.hasFim) return expect(desc.fim).toBeNull();
    expect(desc.fim).not.toBeNull();
    const infill = model.tokens.infill;
    expect([desc.fim!.prefix, desc.fim!.suffix, desc.fim!.middle]).toEqual([infill.prefix, infill.suffix, infill.middle]);
  });

  it("gives XGrammar the source's vocabulary for every ordinary token", () => {
    const stops = [0];
    const mine = readVocabInfo(dir, readModelConfig(dir).vocabSize, stops);
    const theirs = readVocabInfo(source, readModelConfig(source).vocabSize, stops);
    expect(mine.vocabType).toBe("byte_level");
    expect(mine.vocabType).toBe(theirs.vocabType);
    expect(mine.prependSpace).toBe(theirs.prependSpace);
    const added = new Set((readJson(join(source, "tokenizer.json")).added_tokens as { id: number }[]).map((t) => t.id));
    const differ = mine.encoded.flatMap((t, id) => (!added.has(id) && t !== theirs.encoded[id] ? [id] : []));
    expect(differ).toEqual([]);
  });
});

describe("GGUF descriptions: cache, every pre-tokenizer, BOS, unsupported files", () => {
  let base: string;
  beforeAll(() => {
    base = join(work, "base.gguf");
    convertToGguf(EMBEDDED, base);
  });

  /** A metadata-only variant of the embedded model's GGUF, its description and llama.cpp's vocabulary of it. */
  async function variant(name: string, changes: Parameters<typeof rewriteGguf>[2]) {
    const file = join(work, `${name}.gguf`);
    await rewriteGguf(base, file, changes);
    return file;
  }

  it("reuses the description until the file changes, and writes it whole", async () => {
    const file = await variant("cached", {});
    const a = await describeGguf(file);
    expect((await describeGguf(file)).dir).toBe(a.dir);
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    const b = await describeGguf(file);
    expect(b.dir).not.toBe(a.dir);
    expect(readdirSync(b.dir).sort()).toEqual(["config.json", "generation_config.json", "gguf-source.json", "tokenizer.json", "tokenizer_config.json"]);
    expect(readdirSync(join(work, "cache", "gguf")).filter((n) => n.startsWith("."))).toEqual([]); // no temporary folder left
  });

  it.each(["default", "gpt-2", "llama-bpe", "llama3", "qwen2", "smollm"])("splits text as llama.cpp's %s pre-tokenizer does", async (pre) => {
    const file = await variant(`pre-${pre}`, { "tokenizer.ggml.pre": pre });
    const desc = TextTokenizer.fromDir((await describeGguf(file)).dir);
    const model = await llama.loadModel({ modelPath: file, vocabOnly: true });
    try {
      const wrong = tokenizerTexts().flatMap((text) => {
        const ours = desc.encode(text);
        const cpp = Array.from(model.tokenize(text, true));
        return JSON.stringify(ours) === JSON.stringify(cpp) ? [] : [`${JSON.stringify(text)}: description ${ours.join(",")} llama.cpp ${cpp.join(",")}`];
      });
      expect(wrong).toEqual([]);
    } finally {
      await model.dispose();
    }
  });

  it.each([
    ["add_bos_token true", { "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.add_bos_token": true }],
    ["llama-bpe without add_bos_token (llama.cpp's default: BOS)", { "tokenizer.ggml.pre": "llama-bpe", "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.add_bos_token": undefined }],
    ["gpt-2 without add_bos_token (no BOS)", { "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.add_bos_token": undefined }],
  ] as const)("starts prompts with BOS exactly when llama.cpp does: %s", async (name, changes) => {
    const file = await variant(`bos-${name.split(" ")[0]}-${Object.keys(changes).length}`, changes);
    const desc = TextTokenizer.fromDir((await describeGguf(file)).dir);
    const model = await llama.loadModel({ modelPath: file, vocabOnly: true });
    try {
      const prefix = model.tokens.shouldPrependBosToken && model.tokens.bos !== null ? [model.tokens.bos] : [];
      expect(desc.promptPrefix).toEqual(prefix);
      expect(desc.encodePrompt("x = 1")).toEqual([...prefix, ...model.tokenize("x = 1", true)]);
    } finally {
      await model.dispose();
    }
  });

  it("takes an embedded tokenizer.huggingface.json as it is", async () => {
    const json = readFileSync(join(EMBEDDED, "tokenizer.json"), "utf8");
    const file = await variant("hf-json", { "tokenizer.huggingface.json": json, "tokenizer.ggml.pre": "no-such-pre" });
    const { dir } = await describeGguf(file);
    expect(JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"))).toEqual(JSON.parse(json));
  });

  it("refuses an architecture the engine does not run, naming the supported ones", async () => {
    const file = await variant("gemma", { "general.architecture": "gemma2" });
    await expect(describeGguf(file)).rejects.toThrow(/general\.architecture "gemma2".*supported: llama, qwen2, qwen3/);
  });

  it("refuses a tokenizer it cannot rebuild, unless a tokenizer.json sits beside the file", async () => {
    const spm = await variant("spm", { "tokenizer.ggml.model": "llama" });
    await expect(describeGguf(spm)).rejects.toThrow(/tokenizer\.ggml\.model "llama".*supported: gpt2/);
    const pre = await variant("odd-pre", { "tokenizer.ggml.pre": "no-such-pre" });
    await expect(describeGguf(pre)).rejects.toThrow(/tokenizer\.ggml\.pre "no-such-pre".*supported: default, gpt-2/);

    const folder = join(work, "beside");
    mkdirSync(folder);
    const file = join(folder, "spm.gguf");
    copyFileSync(spm, file);
    copyFileSync(join(EMBEDDED, "tokenizer.json"), join(folder, "tokenizer.json"));
    const { dir } = await describeGguf(file);
    expect(readFileSync(join(dir, "tokenizer.json"), "utf8")).toBe(readFileSync(join(EMBEDDED, "tokenizer.json"), "utf8"));
  });

  it("says which file is missing", async () => {
    await expect(describeGguf(join(work, "nope.gguf"))).rejects.toThrow(/nope\.gguf: no such GGUF file/);
  });
});
