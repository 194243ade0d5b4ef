// Prompts as token ids: completion prompts (text, token ids, fill-in-the-middle)
// and chat messages rendered with the model's chat template. These run in the
// tokenizer threads (tokenize/), never on the HTTP thread: a long prompt takes seconds.
// As in transformers, a text prompt gets the tokenizer's post-processor
// tokens (Llama 3's BOS), and a rendered chat prompt none (its template
// writes the BOS itself).

import type { InferenceEngine, TextTokenizer } from "@glimpse/runtime-cuda";
import { badRequest } from "./errors.js";
import type { ChatMessageInput } from "./schemas/chat.js";

export interface Prompt {
  ids: number[];
  /** The prompt as text (for echo). */
  text: string;
}

/** The prompts of a completion request: one per string or token-id list. */
export function completionPrompts(tokenizer: TextTokenizer, prompt: string | string[] | number[] | number[][], suffix: string | null | undefined): Prompt[] {
  const list: (string | number[])[] =
    typeof prompt === "string" ? [prompt]
    : prompt.length > 0 && typeof prompt[0] === "number" ? [prompt as number[]]
    : (prompt as (string | number[])[]);
  return list.map((p, i) => {
    const field = typeof prompt === "string" || typeof prompt[0] === "number" ? "prompt" : `prompt[${i}]`;
    if (suffix != null) {
      if (typeof p !== "string") throw badRequest("suffix", "fill-in-the-middle needs a text prompt, not token ids");
      return fillInTheMiddle(tokenizer, p, suffix);
    }
    const ids = typeof p === "string" ? tokenizer.encodePrompt(p) : p;
    if (ids.length === 0) throw badRequest(field, "must not be empty");
    return { ids, text: typeof p === "string" ? p : tokenizer.decode(p) };
  });
}

/**
 * `{prefix marker}{prefix}{suffix marker}{suffix}{middle marker}` with the
 * markers the vocabulary has (Qwen2.5-Coder's <|fim_prefix|>, StarCoder's
 * <fim_prefix>, CodeLlama's ▁<PRE>...; see TextTokenizer.fim).
 */
function fillInTheMiddle(t: TextTokenizer, prefix: string, suffix: string): Prompt {
  const ids = t.fillInTheMiddle(prefix, suffix);
  if (!ids) {
    throw badRequest("suffix", "this model has no fill-in-the-middle tokens (looked for <|fim_prefix|> <|fim_suffix|> <|fim_middle|>, <fim_prefix> <fim_suffix> <fim_middle>, ▁<PRE> ▁<SUF> ▁<MID> and similar)");
  }
  return { ids, text: prefix };
}

/** Renders messages (and tool definitions, for templates that show them) with the model's chat template; text parts are joined. */
export function chatPrompt(tokenizer: TextTokenizer, messages: ChatMessageInput[], tools?: unknown[]): Prompt {
  const flat = messages.map((m) => ({
    role: m.role,
    content: typeof m.content === "string" ? m.content : m.content.map((part) => part.text).join(""),
  }));
  const text = tokenizer.applyChatTemplate(flat, true, tools && tools.length > 0 ? { tools } : {});
  return { ids: tokenizer.encode(text), text };
}

/** The prompt must leave room for at least one generated token. */
export function checkPromptLength(engine: InferenceEngine, prompt: Prompt, field: string): void {
  if (prompt.ids.length >= engine.maxModelLen) {
    throw badRequest(
      field,
      `the prompt is ${prompt.ids.length} tokens, but this model allows at most ${engine.maxModelLen} tokens for prompt and completion together`,
      "context_length_exceeded",
    );
  }
}
