// Text <-> token ids with the model's own tokenizer.json, and its chat
// template (Jinja, as in transformers) for chat messages.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import { ModelLoadError } from "../errors.js";

export interface ChatMessage {
  role: string;
  content: string;
}

// Used when tokenizer_config.json has no chat_template: plain role headers.
const FALLBACK_CHAT_TEMPLATE =
  "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}" +
  "{% if add_generation_prompt %}assistant: {% endif %}";

export class TextTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly template: Template;
  readonly hasChatTemplate: boolean;
  readonly eosToken: string | null;
  readonly bosToken: string | null;
  readonly specialIds: Set<number>;

  constructor(tokenizerJson: object, tokenizerConfig: Record<string, unknown>) {
    this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const chat = tokenizerConfig.chat_template;
    this.hasChatTemplate = typeof chat === "string";
    this.template = new Template(typeof chat === "string" ? chat : FALLBACK_CHAT_TEMPLATE);
    const name = (v: unknown) => (typeof v === "string" ? v : v && typeof v === "object" && "content" in v ? String((v as { content: unknown }).content) : null);
    this.eosToken = name(tokenizerConfig.eos_token);
    this.bosToken = name(tokenizerConfig.bos_token);
    this.specialIds = new Set([...this.tokenizer.get_added_tokens_decoder().entries()].filter(([, t]) => t.special).map(([id]) => id));
  }

  static fromDir(dir: string): TextTokenizer {
    const read = (name: string, required: boolean) => {
      const path = join(dir, name);
      if (!existsSync(path)) {
        if (required) throw new ModelLoadError(`model folder ${dir} has no ${name}`);
        return {};
      }
      try {
        return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      } catch (err) {
        throw new ModelLoadError(`${path} is not valid JSON: ${(err as Error).message}`);
      }
    };
    return new TextTokenizer(read("tokenizer.json", true), read("tokenizer_config.json", false));
  }

  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: ArrayLike<number>, skipSpecialTokens = true): string {
    if (ids.length === 0) return "";
    return this.tokenizer.decode(Array.from(ids), { skip_special_tokens: skipSpecialTokens });
  }

  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /** Renders chat messages with the model's template, ready to encode. */
  applyChatTemplate(messages: ChatMessage[], addGenerationPrompt = true): string {
    return this.template.render({
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: this.bosToken ?? "",
      eos_token: this.eosToken ?? "",
    });
  }
}
