// `glimpse generate`: one prompt, streamed to stdout with acceptance stats on
// stderr, or with --json one JSON object on stdout (token ids, text, finish
// reason, speculation metrics) and nothing else there.

import { Command, InvalidArgumentError } from "commander";
import { meanAcceptanceLength, meanTokensPerStep, type GenerationResult, type InferenceEngine } from "@glimpse/runtime-cuda";
import { backendOf } from "../context.js";
import { engineOptions, int, loadEngine, num, type EngineFlags } from "./engine-flags.js";

interface GenerateFlags extends EngineFlags {
  maxTokens: number;
  temperature: number;
  seed?: number;
  chat?: boolean;
  json?: boolean;
  ignoreEos?: boolean;
  promptIds?: number[];
}

const tokenIdList = (v: string): number[] => {
  let ids: unknown;
  try {
    ids = JSON.parse(v);
  } catch {
    throw new InvalidArgumentError("must be a JSON array of token ids, e.g. '[1, 2, 3]'");
  }
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((t) => Number.isInteger(t) && t >= 0)) {
    throw new InvalidArgumentError("must be a non-empty JSON array of token ids, e.g. '[1, 2, 3]'");
  }
  return ids;
};

export function registerGenerateCommand(prog: Command): void {
  engineOptions(prog.command("generate").description("generate from one prompt, streamed, then print acceptance stats").argument("[prompt]", "prompt text (or --prompt-ids)"))
    .option("--prompt-ids <json>", "the prompt as a JSON array of token ids, instead of text", tokenIdList)
    .option("--max-tokens <n>", "most tokens to generate", int("--max-tokens", 1), 128)
    .option("--temperature <t>", "0 decodes greedily", num, 0)
    .option("--seed <n>", "sampling seed", int("--seed", 0))
    .option("--chat", "wrap the prompt as a user message in the model's chat template")
    .option("--ignore-eos", "go on past the model's end-of-sequence tokens (up to --max-tokens)")
    .option("--json", "print one JSON object on stdout (token ids, text, finish reason, speculation metrics) instead of streaming text")
    .action(async (prompt: string | undefined, o: GenerateFlags) => {
      if ((prompt === undefined) === (o.promptIds === undefined)) throw new Error("generate: give a prompt text or --prompt-ids (one of them)");
      if (o.chat && o.promptIds) throw new Error("--chat needs a prompt text, not --prompt-ids");
      const engine = await loadEngine(o, "here");
      try {
        await generate(engine, promptIds(engine, prompt, o), o);
      } finally {
        await engine.close();
      }
    });
}

/** The prompt's ids as the server would make them: a text prompt with the post-processor's BOS; a rendered chat prompt without (its template writes it). */
function promptIds(engine: InferenceEngine, prompt: string | undefined, o: GenerateFlags): number[] {
  const t = engine.tokenizer;
  if (o.promptIds) return o.promptIds;
  if (o.chat) return t.encode(t.applyChatTemplate([{ role: "user", content: prompt! }]));
  return t.encodePrompt(prompt!);
}

async function generate(engine: InferenceEngine, ids: number[], o: GenerateFlags): Promise<void> {
  const stream = engine.stream({ promptIds: ids, maxTokens: o.maxTokens, temperature: o.temperature, seed: o.seed, ignoreEos: o.ignoreEos === true });
  for await (const chunk of stream) if (!o.json) process.stdout.write(chunk.text);
  const r = await stream.result;
  if (o.json) process.stdout.write(`${JSON.stringify(generateReport(engine, ids, r))}\n`);
  const m = r.metrics;
  const rate = m.draftTokens > 0 ? (100 * m.acceptedTokens) / m.draftTokens : 0;
  process.stderr.write(
    `\n\n--- ${r.completionTokens} tokens (${r.finishReason}) in ${m.totalMs.toFixed(0)} ms: ${m.tokensPerSecond.toFixed(1)} tokens/s, ` +
      `time to first token ${m.timeToFirstTokenMs.toFixed(1)} ms\n` +
      `--- speculation: ${engine.speculative?.method ?? "off"}; drafts ${m.drafts}, draft tokens ${m.draftTokens}, accepted ${m.acceptedTokens} ` +
      `(${rate.toFixed(1)}%), mean acceptance length ${meanAcceptanceLength(m).toFixed(2)}, per position [${m.acceptedPerPosition.join(", ")}]\n`,
  );
}

/** The --json object: vLLM's names for the speculation figures. */
export function generateReport(engine: InferenceEngine, promptIds: number[], r: GenerationResult): Record<string, unknown> {
  const m = r.metrics;
  return {
    prompt_token_ids: promptIds,
    token_ids: r.tokenIds,
    text: r.text,
    finish_reason: r.finishReason,
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    speculative_method: engine.speculative?.method ?? null,
    backend: backendOf(engine),
    metrics: {
      num_drafts: m.drafts,
      num_draft_tokens: m.draftTokens,
      num_accepted_tokens: m.acceptedTokens,
      num_accepted_tokens_per_pos: m.acceptedPerPosition,
      draft_acceptance_rate: m.draftTokens > 0 ? m.acceptedTokens / m.draftTokens : 0,
      mean_acceptance_length: meanAcceptanceLength(m),
      mean_tokens_per_step: meanTokensPerStep(m),
      steps: m.steps,
      tokens_per_second: m.tokensPerSecond,
      time_to_first_token_ms: m.timeToFirstTokenMs,
      total_ms: m.totalMs,
    },
  };
}
