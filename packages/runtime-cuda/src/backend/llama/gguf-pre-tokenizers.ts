// How llama.cpp splits text before byte-level BPE, by the GGUF's
// `tokenizer.ggml.pre` name, written as Hugging Face tokenizers pipeline
// steps so @huggingface/tokenizers splits text the same way.
//
// The regexes are llama.cpp's (src/llama-vocab.cpp, llm_tokenizer_bpe), which
// apply one after another to the pieces the previous one left: that is a
// Sequence of Split(Isolated) steps. They match the families' own
// tokenizer.json files (Llama 3, Qwen2/2.5/3, GPT-2, SmolLM), with (?i:...)
// spelled out as character classes since JavaScript regexes lack it.

/** GPT-2's split (also the second step of "default" and "smollm"). */
const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
/** Llama 3: numbers in groups of up to three digits. */
const LLAMA3 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
/** Qwen2: Llama 3's split with one digit per piece. */
const QWEN2 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;

export interface PreTokenizerSpec {
  /** Regexes applied in turn, each isolating its matches. */
  splits: readonly string[];
  /** Take a whole piece that is a token before trying merges (llama.cpp's ignore_merges). */
  ignoreMerges: boolean;
  /** Unicode normalization of the family's tokenizer.json (Qwen's NFC), or none. */
  normalizer: "NFC" | null;
  /** Whether llama.cpp starts prompts with BOS when the GGUF has no tokenizer.ggml.add_bos_token. */
  addBosByDefault: boolean;
}

const spec = (splits: readonly string[], ignoreMerges = false, normalizer: "NFC" | null = null): PreTokenizerSpec =>
  // llama.cpp turns BOS on by default for exactly the pre-tokenizers that ignore merges here (Llama 3)
  ({ splits, ignoreMerges, normalizer, addBosByDefault: ignoreMerges });

/** Each supported `tokenizer.ggml.pre` (aliases llama.cpp gives the same split share an entry). */
export const PRE_TOKENIZERS: Readonly<Record<string, PreTokenizerSpec>> = {
  // llama.cpp's fallback when a BPE GGUF names no pre-tokenizer
  default: spec(["[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]"]),
  "gpt-2": spec([GPT2]),
  "phi-2": spec([GPT2]),
  "llama-bpe": spec([LLAMA3], true),
  llama3: spec([LLAMA3], true),
  "llama-v3": spec([LLAMA3], true),
  qwen2: spec([QWEN2], false, "NFC"),
  "deepseek-r1-qwen": spec([QWEN2], false, "NFC"),
  smollm: spec(["\\p{N}", GPT2]),
  starcoder: spec(["\\p{N}", GPT2]),
};

export const SUPPORTED_PRE_TOKENIZERS = Object.keys(PRE_TOKENIZERS).join(", ");

/** tokenizer.json's normalizer and pre_tokenizer for a spec. */
export function pipelineSteps(s: PreTokenizerSpec): { normalizer: object | null; pre_tokenizer: object } {
  const splits = s.splits.map((regex) => ({ type: "Split", pattern: { Regex: regex }, behavior: "Isolated", invert: false }));
  return {
    normalizer: s.normalizer === null ? null : { type: s.normalizer },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [...splits, { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false }],
    },
  };
}
