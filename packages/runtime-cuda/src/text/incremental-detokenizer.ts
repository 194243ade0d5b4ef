// UTF-8-safe incremental detokenization: byte-level BPE tokens can split a
// character, so text is only released once it decodes without a
// replacement character at the end (the approach of vLLM and TGI: decode a
// short window, emit what it adds).

import type { TextTokenizer } from "../model/tokenizer.js";

export class IncrementalDetokenizer {
  private readonly ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;

  constructor(private readonly tokenizer: TextTokenizer) {}

  /** Adds tokens; returns the newly complete text. */
  push(tokens: readonly number[]): string {
    for (const t of tokens) this.ids.push(t);
    const prefix = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.tokenizer.decode(this.ids.slice(this.prefixOffset));
    if (full.length > prefix.length && !full.endsWith("\uFFFD")) {
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      return full.slice(prefix.length);
    }
    return "";
  }

  /** Text still held back (an incomplete character at the very end). */
  flush(): string {
    const prefix = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.tokenizer.decode(this.ids.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset = this.ids.length;
    return full.slice(prefix.length);
  }
}
