// Text <-> token ids with the model's own tokenizer.json, and the folder's
// conventions around it, as transformers applies them: the chat template
// (tokenizer_config.json or chat_template.jinja), the post-processor's
// special tokens (BOS) on prompts, fill-in-the-middle markers, EOS.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import { ModelLoadError } from "../errors.js";
import { chatTemplateSource, findFimTokens, postProcessorPrefix, tokenName, type FimTokens } from "./tokenizer-conventions.js";

export type { FimTokens } from "./tokenizer-conventions.js";

export interface ChatMessage {
  role: string;
  content: string;
}

// Used when the folder has no chat template: plain role headers.
const FALLBACK_CHAT_TEMPLATE =
  "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}" +
  "{% if add_generation_prompt %}assistant: {% endif %}";

export class TextTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly template: Template;
  readonly hasChatTemplate: boolean;
  readonly eosToken: string | null;
  readonly bosToken: string | null;
  /** The tokenizer's own EOS (tokenizer_config.json eos_token), which also ends generation (as in vLLM). */
  readonly eosTokenId: number | undefined;
  readonly specialIds: Set<number>;
  /** Fill-in-the-middle markers found in the vocabulary (null: the model has none). */
  readonly fim: FimTokens | null;
  /** Ids the post-processor puts before a prompt's text (e.g. Llama 3's <|begin_of_text|>; none for Qwen). */
  readonly promptPrefix: readonly number[];
  /** Special tokens by name, for the chat template (transformers passes its special_tokens_map). */
  private readonly specialTokensMap: Record<string, string>;

  /** `chatTemplateFile`: the text of a chat_template.jinja beside the tokenizer (it wins over tokenizer_config.json's). */
  constructor(tokenizerJson: object, tokenizerConfig: Record<string, unknown>, chatTemplateFile?: string) {
    this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const chat = chatTemplateFile ?? chatTemplateSource(tokenizerConfig.chat_template);
    this.hasChatTemplate = chat !== null;
    this.template = new Template(chat ?? FALLBACK_CHAT_TEMPLATE);
    this.eosToken = tokenName(tokenizerConfig.eos_token);
    this.bosToken = tokenName(tokenizerConfig.bos_token);
    this.eosTokenId = this.eosToken === null ? undefined : this.tokenId(this.eosToken);
    this.specialIds = new Set([...this.tokenizer.get_added_tokens_decoder().entries()].filter(([, t]) => t.special).map(([id]) => id));
    this.fim = findFimTokens((t) => this.tokenId(t));
    this.promptPrefix = postProcessorPrefix((tokenizerJson as { post_processor?: unknown }).post_processor);
    this.specialTokensMap = {};
    for (const key of ["bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"]) {
      const v = tokenName(tokenizerConfig[key]);
      if (v !== null) this.specialTokensMap[key] = v;
    }
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
    const jinja = join(dir, "chat_template.jinja");
    const file = existsSync(jinja) ? readFileSync(jinja, "utf8") : chatTemplateSource(read("chat_template.json", false).chat_template) ?? undefined;
    return new TextTokenizer(read("tokenizer.json", true), read("tokenizer_config.json", false), file);
  }

  /**
   * The text's tokens alone (no BOS/EOS): for rendered chat prompts (their
   * template writes the BOS itself), documents and pieces of prompts.
   */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** A completion prompt as transformers encodes it: with the post-processor's special tokens (add_special_tokens=True). */
  encodePrompt(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: true }).ids;
  }

  decode(ids: ArrayLike<number>, skipSpecialTokens = true): string {
    if (ids.length === 0) return "";
    return this.tokenizer.decode(Array.from(ids), { skip_special_tokens: skipSpecialTokens });
  }

  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /**
   * Renders chat messages with the model's template, ready to `encode` (not
   * `encodePrompt`: templates that want a BOS write it). The variables are
   * transformers' (tools and documents None); `extra` adds template
   * arguments such as Qwen3's enable_thinking.
   */
  applyChatTemplate(messages: ChatMessage[], addGenerationPrompt = true, extra: Record<string, unknown> = {}): string {
    return this.template.render({
      tools: null,
      documents: null,
      ...extra,
      ...this.specialTokensMap,
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: this.bosToken ?? "",
      eos_token: this.eosToken ?? "",
    });
  }

  /**
   * `[prefix marker] prefix [suffix marker] suffix [middle marker]` as token
   * ids, after the post-processor's prefix (CodeLlama's <s>); undefined when
   * the vocabulary has no fill-in-the-middle markers.
   */
  fillInTheMiddle(prefix: string, suffix: string): number[] | undefined {
    const f = this.fim;
    if (!f) return undefined;
    return [...this.promptPrefix, f.prefix, ...this.encode(prefix), f.suffix, ...this.encode(suffix), f.middle];
  }
}
