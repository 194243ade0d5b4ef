// A GGUF's tokenizer (`tokenizer.ggml.*`) rebuilt as the tokenizer.json and
// tokenizer_config.json of a Hugging Face folder, so TextTokenizer, the chat
// template, FIM markers and XGrammar's vocabulary work on it unchanged.
// Only byte-level BPE ("gpt2": Llama 3, Qwen, SmolLM, the embedded model) is
// rebuilt; token types follow llama.cpp's converter: control tokens were the
// checkpoint's special added tokens, user-defined ones its other added tokens.

import { ModelLoadError } from "../../errors.js";
import type { GgufMetadata } from "./gguf-metadata.js";
import { PRE_TOKENIZERS, SUPPORTED_PRE_TOKENIZERS, pipelineSteps } from "./gguf-pre-tokenizers.js";

/** llama.cpp's token types (tokenizer.ggml.token_type). */
export const TokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

export const SUPPORTED_TOKENIZER_MODELS = "gpt2 (byte-level BPE)";

/** The special token ids of a GGUF's vocabulary. */
export interface GgufSpecialIds {
  bos?: number;
  eos?: number;
  eot?: number;
  eom?: number;
  pad?: number;
  unk?: number;
}

export function specialIds(meta: GgufMetadata): GgufSpecialIds {
  return {
    bos: meta.int("tokenizer.ggml.bos_token_id"),
    eos: meta.int("tokenizer.ggml.eos_token_id"),
    eot: meta.int("tokenizer.ggml.eot_token_id"),
    eom: meta.int("tokenizer.ggml.eom_token_id"),
    pad: meta.int("tokenizer.ggml.padding_token_id"),
    unk: meta.int("tokenizer.ggml.unknown_token_id"),
  };
}

interface AddedToken {
  id: number;
  content: string;
  single_word: false;
  lstrip: false;
  rstrip: false;
  normalized: false;
  special: boolean;
}

function addedToken(id: number, content: string, special: boolean): AddedToken {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special };
}

/** The prompt template of `add_bos_token` / `add_eos_token` (TemplateProcessing), or a no-op ByteLevel step. */
function postProcessor(tokens: readonly string[], bos: number | undefined, eos: number | undefined): object {
  if (bos === undefined && eos === undefined) return { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };
  const special = (id: number | undefined) => (id === undefined ? [] : [{ SpecialToken: { id: tokens[id], type_id: 0 } }]);
  const seq = (id: "A" | "B") => [{ Sequence: { id, type_id: 0 } }];
  const specialTokens: Record<string, { id: string; ids: number[]; tokens: string[] }> = {};
  for (const id of [bos, eos]) if (id !== undefined) specialTokens[tokens[id]] = { id: tokens[id], ids: [id], tokens: [tokens[id]] };
  return {
    type: "TemplateProcessing",
    single: [...special(bos), ...seq("A"), ...special(eos)],
    pair: [...special(bos), ...seq("A"), ...special(eos), ...special(bos), ...seq("B"), ...special(eos)],
    special_tokens: specialTokens,
  };
}

/** Whether prompts start with BOS / end with EOS, as llama.cpp decides it (the keys, else its default for the pre-tokenizer). */
export function promptSpecials(meta: GgufMetadata): { addBos: boolean; addEos: boolean } {
  const ids = specialIds(meta);
  const byDefault = PRE_TOKENIZERS[meta.string("tokenizer.ggml.pre") ?? "default"]?.addBosByDefault ?? false;
  return {
    addBos: (meta.bool("tokenizer.ggml.add_bos_token") ?? byDefault) && ids.bos !== undefined,
    addEos: meta.bool("tokenizer.ggml.add_eos_token") === true && ids.eos !== undefined,
  };
}

function checkId(meta: GgufMetadata, key: string, id: number | undefined, n: number): void {
  if (id !== undefined && (id < 0 || id >= n)) throw new ModelLoadError(`${meta.file}: GGUF metadata key "${key}" is ${id}, outside the ${n}-token vocabulary`);
}

/**
 * tokenizer.json for the GGUF's byte-level BPE vocabulary; throws a
 * ModelLoadError naming what is supported for other tokenizer models or
 * pre-tokenizers.
 */
export function buildTokenizerJson(meta: GgufMetadata): object {
  const model = meta.string("tokenizer.ggml.model", true);
  if (model !== "gpt2") {
    throw new ModelLoadError(
      `${meta.file}: tokenizer.ggml.model "${model}" cannot be described for the engine; supported: ${SUPPORTED_TOKENIZER_MODELS} ` +
        "(or put the model's tokenizer.json beside the .gguf file)",
    );
  }
  const pre = meta.string("tokenizer.ggml.pre") ?? "default";
  const spec = PRE_TOKENIZERS[pre];
  if (!spec) {
    throw new ModelLoadError(
      `${meta.file}: tokenizer.ggml.pre "${pre}" is not supported; supported: ${SUPPORTED_PRE_TOKENIZERS} ` +
        "(or put the model's tokenizer.json beside the .gguf file)",
    );
  }
  const tokens = meta.strings("tokenizer.ggml.tokens", true);
  const types = meta.ints("tokenizer.ggml.token_type") ?? [];
  if (types.length !== 0 && types.length !== tokens.length) {
    throw new ModelLoadError(`${meta.file}: tokenizer.ggml.token_type has ${types.length} entries for ${tokens.length} tokens`);
  }
  const merges = meta.strings("tokenizer.ggml.merges") ?? [];
  const ids = specialIds(meta);
  for (const [name, id] of Object.entries(ids)) checkId(meta, `tokenizer.ggml.${name}_token_id`, id, tokens.length);

  const vocab: Record<string, number> = {};
  const added: AddedToken[] = [];
  tokens.forEach((token, id) => {
    const type = types[id] ?? TokenType.normal;
    if (type === TokenType.unused) return; // padding rows of the embedding ([PAD151665]): not in the checkpoint's vocabulary
    if (type === TokenType.control) added.push(addedToken(id, token, true));
    else if (type === TokenType.userDefined) added.push(addedToken(id, token, false));
    else vocab[token] = id;
  });
  const pairs = merges.map((m, i) => {
    const at = m.indexOf(" ");
    if (at <= 0 || at === m.length - 1) throw new ModelLoadError(`${meta.file}: tokenizer.ggml.merges[${i}] ${JSON.stringify(m)} is not "left right"`);
    return [m.slice(0, at), m.slice(at + 1)];
  });
  const { addBos, addEos } = promptSpecials(meta);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    ...pipelineSteps(spec),
    post_processor: postProcessor(tokens, addBos ? ids.bos : undefined, addEos ? ids.eos : undefined),
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: ids.unk === undefined ? null : tokens[ids.unk],
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: spec.ignoreMerges,
      vocab,
      merges: pairs,
    },
  };
}

/**
 * tokenizer_config.json: the chat template, special tokens by name and
 * whether prompts start with BOS. Decoding keeps the text as the tokens spell
 * it (no clean-up of spaces before punctuation), so code round-trips.
 */
export function buildTokenizerConfig(meta: GgufMetadata): Record<string, unknown> {
  const tokens = meta.strings("tokenizer.ggml.tokens", true);
  const ids = specialIds(meta);
  const { addBos, addEos } = promptSpecials(meta);
  const name = (id: number | undefined) => (id === undefined ? null : tokens[id]);
  const config: Record<string, unknown> = {
    tokenizer_class: "PreTrainedTokenizerFast",
    bos_token: name(ids.bos),
    eos_token: name(ids.eos),
    pad_token: name(ids.pad),
    unk_token: name(ids.unk),
    add_bos_token: addBos,
    add_eos_token: addEos,
    clean_up_tokenization_spaces: false,
  };
  const ctx = meta.int(`${meta.string("general.architecture") ?? ""}.context_length`);
  if (ctx !== undefined) config.model_max_length = ctx;
  const template = meta.string("tokenizer.chat_template");
  if (template !== undefined) config.chat_template = template;
  return config;
}
