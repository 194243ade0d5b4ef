// Checks a request's options and resolves its prompt to token ids: what the
// engine does before admitting a request, and what a front end for an engine
// in another thread (RemoteEngine) does first, so that bad options throw at
// once, before any work or response byte.

import { GlimpseConfigError } from "../errors.js";
import { checkConstraint, type CheckedConstraint } from "../grammar/constraint.js";
import type { ModelConfig } from "../model/model-config.js";
import type { TextTokenizer } from "../model/tokenizer.js";
import type { SuffixState } from "../proposers/proposer.js";
import type { SamplingParams } from "../sampling/distribution.js";
import { samplingFrom, type GenerateOptions } from "./request.js";

export interface CheckedRequest {
  promptIds: number[];
  maxTokens: number;
  sampling: SamplingParams;
  /** The output constraint, checked (not yet compiled: XGrammar's errors come from compiling). */
  constraint?: CheckedConstraint;
}

export function checkRequest(o: GenerateOptions, tokenizer: TextTokenizer, config: ModelConfig, maxModelLen: number): CheckedRequest {
  const promptIds = resolvePrompt(o, tokenizer, config);
  const forced = checkForcedOutput(o.forcedOutput, config.vocabSize);
  const maxTokens = o.maxTokens ?? forced?.length ?? config.defaultMaxNewTokens;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new GlimpseConfigError("max_tokens", `must be an integer >= 1, got ${JSON.stringify(maxTokens)}`);
  }
  if (forced && maxTokens > forced.length) {
    throw new GlimpseConfigError("max_tokens", `must not exceed the forced output's ${forced.length} tokens, got ${maxTokens}`);
  }
  if (promptIds.length + maxTokens > maxModelLen) {
    throw new GlimpseConfigError(
      "max_tokens",
      `prompt (${promptIds.length} tokens) + max_tokens (${maxTokens}) exceeds the model's maximum length ${maxModelLen}`,
    );
  }
  const sampling = samplingFrom(o);
  const top = o.topLogprobs ?? 0;
  if (!Number.isInteger(top) || top < 0 || top > 20) throw new GlimpseConfigError("top_logprobs", `must be an integer in [0, 20], got ${JSON.stringify(top)}`);
  const coalesce = o.streamCoalesceMs ?? 0;
  if (typeof coalesce !== "number" || !Number.isFinite(coalesce) || coalesce < 0 || coalesce > 1000) {
    throw new GlimpseConfigError("streamCoalesceMs", `must be a number of milliseconds in [0, 1000], got ${JSON.stringify(coalesce)}`);
  }
  for (const field of ["stop", "stopTokenIds"] as const) {
    const v = o[field];
    if (v !== undefined && !Array.isArray(v)) throw new GlimpseConfigError(field, "must be an array");
  }
  if (o.jumpForward !== undefined && typeof o.jumpForward !== "boolean") throw new GlimpseConfigError("jumpForward", `must be a boolean, got ${JSON.stringify(o.jumpForward)}`);
  if (o.constraint === undefined) return { promptIds, maxTokens, sampling };
  const constraint = checkConstraint(o.constraint);
  // Forced output (trace replay) decides every token itself: a constraint would have nothing to constrain.
  if (forced) throw new GlimpseConfigError("constraint", "cannot be combined with forcedOutput (trace replay forces every token)");
  return { promptIds, maxTokens, sampling, constraint };
}

function resolvePrompt(o: GenerateOptions, tokenizer: TextTokenizer, config: ModelConfig): number[] {
  if (o.promptIds !== undefined) {
    if (!Array.isArray(o.promptIds) && !ArrayBuffer.isView(o.promptIds)) throw new GlimpseConfigError("prompt", "token ids must be an array of integers");
    const ids = Array.from(o.promptIds as ArrayLike<number>);
    ids.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= config.vocabSize) {
        throw new GlimpseConfigError(`prompt[${i}]`, `must be a token id in [0, ${config.vocabSize - 1}], got ${JSON.stringify(t)}`);
      }
    });
    if (ids.length === 0) throw new GlimpseConfigError("prompt", "must contain at least one token");
    return ids;
  }
  if (typeof o.prompt !== "string") throw new GlimpseConfigError("prompt", "must be a string (or pass promptIds)");
  // As transformers encodes a prompt: with the post-processor's BOS, if it has one.
  const ids = tokenizer.encodePrompt(o.prompt);
  if (ids.length === 0) throw new GlimpseConfigError("prompt", "must contain at least one token");
  return ids;
}

/** Forced output (benchmarks): a non-empty array of token ids within the vocabulary. */
function checkForcedOutput(forced: unknown, vocabSize: number): readonly number[] | undefined {
  if (forced === undefined) return undefined;
  if (!Array.isArray(forced) || forced.length === 0) throw new GlimpseConfigError("forcedOutput", "must be a non-empty array of token ids");
  forced.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) throw new GlimpseConfigError(`forcedOutput[${i}]`, `must be a token id in [0, ${vocabSize - 1}], got ${JSON.stringify(t)}`);
  });
  return forced as number[];
}

/** A suffix document's name: 1..256 characters. */
export function checkDocumentName(name: unknown): void {
  if (typeof name !== "string" || name.length === 0 || name.length > 256) throw new GlimpseConfigError("name", "must be a non-empty string of at most 256 characters");
}

/** A document's token ids, each within the vocabulary. */
export function checkDocumentTokens(ids: ArrayLike<number>, vocabSize: number): void {
  for (let i = 0; i < ids.length; i++) {
    const t = ids[i];
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) throw new GlimpseConfigError(`tokens[${i}]`, `must be a token id in [0, ${vocabSize - 1}], got ${JSON.stringify(t)}`);
  }
}

/** Checks a saved suffix state before it reaches the trees: its shape, and every token id within the vocabulary. */
export function checkSuffixState(state: SuffixState, vocabSize: number): void {
  const ids = (field: string, tokens: unknown) => {
    if (!Array.isArray(tokens)) throw new GlimpseConfigError(field, "must be an array of token ids");
    tokens.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= vocabSize) throw new GlimpseConfigError(`${field}[${i}]`, `must be a token id in [0, ${vocabSize - 1}], got ${JSON.stringify(t)}`);
    });
  };
  if (state === null || typeof state !== "object" || !Array.isArray(state.documents) || !Array.isArray(state.responses)) {
    throw new GlimpseConfigError("suffix_state", "must be an object with arrays `documents` and `responses`");
  }
  state.responses.forEach((r, i) => ids(`suffix_state.responses[${i}]`, r));
  state.documents.forEach((d, i) => {
    if (d === null || typeof d !== "object" || typeof d.name !== "string" || d.name.length === 0) throw new GlimpseConfigError(`suffix_state.documents[${i}].name`, "must be a non-empty string");
    ids(`suffix_state.documents[${i}].tokens`, d.tokens);
  });
}
