// Refuses prompts that cannot fit before any tokenizing work: a token covers
// at most `maxTokenBytes` bytes of text (the longest entry of the
// vocabulary), so a text of more than maxModelLen × that many bytes is
// longer than the model allows, whatever it tokenizes to. The check is a
// byte count; without it a 4 MB prompt would take a tokenizer thread for a minute.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { badRequest } from "../errors.js";
import type { ChatMessageInput } from "../schemas/chat.js";

interface TokenizerJson {
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  decoder?: unknown;
  model?: { vocab?: Record<string, number> | [string, number][] };
  added_tokens?: { content: string }[];
}

/** Bytes of text the longest token of the model's tokenizer.json stands for. */
export function maxTokenBytes(modelDir: string): number {
  const t = JSON.parse(readFileSync(join(modelDir, "tokenizer.json"), "utf8")) as TokenizerJson;
  // Byte-level BPE writes each byte as one character; other vocabularies hold text (at most its UTF-8 length).
  const byteLevel = JSON.stringify([t.pre_tokenizer ?? null, t.decoder ?? null]).includes("\"ByteLevel\"");
  const size = (piece: string) => (byteLevel ? [...piece].length : Buffer.byteLength(piece));
  const vocab = t.model?.vocab ?? {};
  const pieces = Array.isArray(vocab) ? vocab.map(([p]) => p) : Object.keys(vocab);
  let max = 1;
  for (const p of pieces) max = Math.max(max, size(p));
  for (const a of t.added_tokens ?? []) max = Math.max(max, Buffer.byteLength(a.content));
  // A normalizer may drop characters (strip, replace) before the vocabulary sees them: leave room.
  return t.normalizer ? max * 4 : max;
}

export class InputLimits {
  /** Longest prompt text that could still fit in the model, in UTF-8 bytes. */
  readonly maxPromptBytes: number;

  constructor(modelDir: string, readonly maxModelLen: number) {
    this.maxPromptBytes = maxModelLen * maxTokenBytes(modelDir);
  }

  /** A completion prompt (text, texts, token ids, lists of token ids) and its fill-in-the-middle suffix. */
  checkCompletion(prompt: string | string[] | number[] | number[][], suffix: string | null | undefined): void {
    const one = typeof prompt === "string" || typeof prompt[0] === "number";
    const list = (one ? [prompt] : prompt) as (string | number[])[];
    list.forEach((p, i) => {
      const field = one ? "prompt" : `prompt[${i}]`;
      if (typeof p !== "string") {
        if (p.length >= this.maxModelLen) throw this.tooLong(field, `${p.length} tokens`);
        return;
      }
      this.checkText(field, Buffer.byteLength(p) + (suffix ? Buffer.byteLength(suffix) : 0));
    });
  }

  checkChat(messages: ChatMessageInput[]): void {
    let bytes = 0;
    for (const m of messages) {
      bytes += typeof m.content === "string" ? Buffer.byteLength(m.content) : m.content.reduce((n, part) => n + Buffer.byteLength(part.text), 0);
    }
    this.checkText("messages", bytes);
  }

  private checkText(field: string, bytes: number): void {
    if (bytes > this.maxPromptBytes) throw this.tooLong(field, `${bytes} bytes (more than the ${this.maxPromptBytes} bytes that could fit)`);
  }

  private tooLong(field: string, what: string) {
    return badRequest(field, `the prompt is ${what}, but this model allows at most ${this.maxModelLen} tokens for prompt and completion together`, "context_length_exceeded");
  }
}
