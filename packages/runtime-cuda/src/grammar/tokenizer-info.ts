// The vocabulary as XGrammar takes it (TokenizerInfo): every token's text in
// the tokenizer's own encoded form, by id, with how to decode it (the vocab
// type), read from tokenizer.json as Hugging Face's tokenizers define it.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelLoadError } from "../errors.js";

export type VocabType = "byte_level" | "byte_fallback" | "raw";

export interface VocabInfo {
  /** Token text by id, padded with "" to `vocabSize` (XGrammar never allows an empty token, except as a stop token). */
  encoded: string[];
  vocabType: VocabType;
  /** The tokenizer puts a space before the text (SentencePiece's "▁" prefix). */
  prependSpace: boolean;
  /** The model's logits width (config.json vocab_size): masks cover this many ids. */
  vocabSize: number;
  /** Tokens that end a generation; the grammar allows them once it is complete. */
  stopIds: number[];
}

interface TokenizerJson {
  model?: { vocab?: Record<string, number> | [string, number][]; byte_fallback?: boolean };
  added_tokens?: { id: number; content: string; special?: boolean }[];
  decoder?: Step | null;
  normalizer?: Step | null;
  pre_tokenizer?: Step | null;
}

interface Step {
  type?: string;
  decoders?: Step[];
  normalizers?: Step[];
  pretokenizers?: Step[];
  add_prefix_space?: boolean;
  prepend_scheme?: string;
}

/** A pipeline step and the steps of a Sequence in it, flattened. */
function steps(s: Step | null | undefined): Step[] {
  if (!s) return [];
  return [s, ...[...(s.decoders ?? []), ...(s.normalizers ?? []), ...(s.pretokenizers ?? [])].flatMap(steps)];
}

/** How tokens decode to text: GPT-2 byte-level BPE, SentencePiece with byte fallback (<0x0A>), or as written. */
export function vocabType(json: TokenizerJson): VocabType {
  const decoders = steps(json.decoder).map((s) => s.type);
  if (decoders.includes("ByteLevel")) return "byte_level";
  if (decoders.includes("ByteFallback") || json.model?.byte_fallback === true) return "byte_fallback";
  return "raw";
}

/** Whether the tokenizer prepends a space to the text (a "Prepend" normalizer, or Metaspace that prepends). */
export function prependsSpace(json: TokenizerJson): boolean {
  if (steps(json.normalizer).some((s) => s.type === "Prepend")) return true;
  return steps(json.pre_tokenizer).some((s) => s.type === "Metaspace" && (s.add_prefix_space === true || s.prepend_scheme === "always" || s.prepend_scheme === "first"));
}

/**
 * The vocabulary from tokenizer.json. Special added tokens (<|fim_prefix|>,
 * chat markers) are left empty: as text they would be allowed inside JSON
 * strings, but they are never text. Stop tokens are handed to XGrammar apart.
 */
export function vocabInfo(json: TokenizerJson, vocabSize: number, stopIds: readonly number[]): VocabInfo {
  const encoded: string[] = new Array<string>(vocabSize).fill("");
  const vocab = json.model?.vocab ?? {};
  const entries: [string, number][] = Array.isArray(vocab) ? vocab.map(([t], i) => [t, i]) : Object.entries(vocab);
  for (const [token, id] of entries) if (id >= 0 && id < vocabSize) encoded[id] = token;
  for (const t of json.added_tokens ?? []) if (t.id >= 0 && t.id < vocabSize) encoded[t.id] = t.special === false ? t.content : "";
  const stops = [...new Set(stopIds)].filter((id) => Number.isInteger(id) && id >= 0 && id < vocabSize);
  return { encoded, vocabType: vocabType(json), prependSpace: prependsSpace(json), vocabSize, stopIds: stops };
}

/** The vocabulary of a model folder's tokenizer.json. */
export function readVocabInfo(modelDir: string, vocabSize: number, stopIds: readonly number[]): VocabInfo {
  const path = join(modelDir, "tokenizer.json");
  let json: TokenizerJson;
  try {
    json = JSON.parse(readFileSync(path, "utf8")) as TokenizerJson;
  } catch (err) {
    throw new ModelLoadError(`${path} cannot be read for structured outputs: ${(err as Error).message}`);
  }
  return vocabInfo(json, vocabSize, stopIds);
}
