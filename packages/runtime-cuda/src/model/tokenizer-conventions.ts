// Conventions of a Hugging Face tokenizer folder that tokenizer.json alone
// does not apply: which chat template to use, what the post-processor puts
// before a prompt, and the fill-in-the-middle markers of the vocabulary.

/** Token ids of the fill-in-the-middle markers, used in prefix-suffix-middle order. */
export interface FimTokens {
  prefix: number;
  suffix: number;
  middle: number;
  /** The marker strings, for messages. */
  names: readonly [string, string, string];
}

// Marker spellings of the model families that have them, each in PSM order.
const FIM_SPELLINGS: readonly (readonly [string, string, string])[] = [
  ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"], // Qwen2.5-Coder, the embedded model
  ["<fim_prefix>", "<fim_suffix>", "<fim_middle>"], // StarCoder
  ["<fim-prefix>", "<fim-suffix>", "<fim-middle>"], // SantaCoder
  ["▁<PRE>", "▁<SUF>", "▁<MID>"], // CodeLlama (SentencePiece spelling)
  ["<PRE>", "<SUF>", "<MID>"],
  ["<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"], // DeepSeek-Coder
];

/** Every spelling tried, for messages. */
export const FIM_SPELLING_NAMES = FIM_SPELLINGS.map((s) => s.join(" ")).join("; ");

/** The first family of markers whose three tokens are all in the vocabulary. */
export function findFimTokens(tokenId: (token: string) => number | undefined): FimTokens | null {
  for (const names of FIM_SPELLINGS) {
    const [prefix, suffix, middle] = names.map(tokenId);
    if (prefix !== undefined && suffix !== undefined && middle !== undefined) return { prefix, suffix, middle, names };
  }
  return null;
}

/**
 * The template source from tokenizer_config.json's `chat_template`: a string,
 * or named templates (a list of {name, template}, or an object by name), of
 * which transformers uses "default" (else we take the first).
 */
export function chatTemplateSource(value: unknown): string | null {
  if (typeof value === "string") return value;
  let named: [string, unknown][] = [];
  if (Array.isArray(value)) {
    named = value.flatMap((t) => (t && typeof t === "object" && "name" in t && "template" in t ? [[String(t.name), t.template] as [string, unknown]] : []));
  } else if (value && typeof value === "object") {
    named = Object.entries(value);
  }
  const pick = named.find(([n]) => n === "default") ?? named[0];
  return pick && typeof pick[1] === "string" ? pick[1] : null;
}

/** A special token's text: tokenizer_config.json writes it as a string or as an AddedToken object. */
export function tokenName(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && "content" in v && typeof v.content === "string") return v.content;
  return null;
}

interface TemplateItem {
  SpecialToken?: { id: string };
  Sequence?: { id: string };
}

/**
 * The ids a post-processor puts before the text of a single sequence:
 * TemplateProcessing's special tokens ahead of `$A` (e.g. Llama 3's
 * <|begin_of_text|>), also inside a Sequence of processors; none for
 * ByteLevel and others.
 */
export function postProcessorPrefix(pp: unknown): number[] {
  if (!pp || typeof pp !== "object") return [];
  const p = pp as { type?: string; processors?: unknown[]; single?: TemplateItem[]; special_tokens?: Record<string, { ids?: number[] }> };
  if (p.type === "Sequence" && Array.isArray(p.processors)) return p.processors.flatMap((x) => postProcessorPrefix(x));
  if (p.type !== "TemplateProcessing" || !Array.isArray(p.single)) return [];
  const ids: number[] = [];
  for (const item of p.single) {
    if (item.Sequence) break;
    const name = item.SpecialToken?.id;
    if (name !== undefined) ids.push(...(p.special_tokens?.[name]?.ids ?? []));
  }
  return ids;
}
