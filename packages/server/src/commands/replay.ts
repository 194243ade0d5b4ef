// `glimpse bench replay`: the model's real forward passes over recorded
// prompt/response traces, each response forced as the model's output, run
// plain and speculative row by row; prints per trace tokens/s of both, the
// speedup and the speculation figures (a table, or --json on stdout).

import { statSync } from "node:fs";
import { basename } from "node:path";
import { Command } from "commander";
import { checkTraceVocabulary, readModelConfig, readTrace, replayTrace, type InferenceEngine, type ReplayRunStats, type ReplaySummary } from "@glimpse/runtime-cuda";
import { engineOptions, int, loadEngine, type EngineFlags } from "./engine-flags.js";

interface ReplayFlags extends EngineFlags {
  trace: string[];
  limit?: number;
  maxTokens?: number;
  maxPromptTokens?: number;
  json?: boolean;
}

const DEFAULT_SPECULATIVE_CONFIG = "{\"method\": \"suffix\"}";

export function registerReplayCommand(bench: Command): void {
  const cmd = engineOptions(bench.command("replay").description("replay prompt/response traces on the model (responses forced as its output): tokens/s plain vs speculative"));
  // Replay's own meaning of two engine flags.
  for (const o of cmd.options) {
    if (o.long === "--speculative-config") o.description = `the speculative run's config (default: '${DEFAULT_SPECULATIVE_CONFIG}')`;
    if (o.long === "--max-batch-size") o.description = "ignored: rows run one at a time (batch 1)";
  }
  cmd
    .requiredOption("--trace <files...>", "JSON-lines traces with prompt_ids and response_ids (token ids of this model's tokenizer)")
    .option("--limit <n>", "replay the first N rows of each trace", int("--limit", 1))
    .option("--max-tokens <n>", "cut each response to its first N tokens", int("--max-tokens", 1))
    .option("--max-prompt-tokens <n>", "keep only the last N tokens of each prompt (say so when quoting figures)", int("--max-prompt-tokens", 1))
    .option("--json", "print one JSON object on stdout instead of a table")
    .action(async (o: ReplayFlags) => {
      const flags: ReplayFlags = { ...o, speculativeConfig: o.speculativeConfig ?? DEFAULT_SPECULATIVE_CONFIG, maxBatchSize: 1 };
      // Read and check every trace before loading the model: a bad file should cost a second.
      const traces = flags.trace.map((file) => ({ file, rows: readTrace(file) }));
      // A model folder's config.json gives the vocabulary before loading; a .gguf file's is checked once loaded (replayTrace).
      if (statSync(flags.model, { throwIfNoEntry: false })?.isDirectory() ?? true) {
        const vocab = readModelConfig(flags.model).vocabSize;
        for (const { file, rows } of traces) checkTraceVocabulary(rows.slice(0, flags.limit ?? rows.length), vocab, basename(file));
      }
      const summaries: ReplaySummary[] = [];
      for (const { file, rows } of traces) {
        // A fresh engine per trace: one trace's responses must not fill the suffix cache of the next. Each row
        // runs twice (plain, speculative): without --prompt-cache-mib the second run would find its prompt cached.
        const engine = await loadEngine({ ...flags, promptCacheMib: flags.promptCacheMib ?? 0 }, "here");
        try {
          summaries.push(await replayOne(engine, basename(file), rows, flags));
        } finally {
          await engine.close();
        }
      }
      if (flags.json) process.stdout.write(`${JSON.stringify({ model: flags.model, speculative_config: JSON.parse(flags.speculativeConfig!), traces: summaries.map(traceReport) })}\n`);
      else process.stdout.write(table(summaries));
    });
}

async function replayOne(engine: InferenceEngine, name: string, rows: ReturnType<typeof readTrace>, o: ReplayFlags): Promise<ReplaySummary> {
  const every = Math.max(1, Math.ceil(Math.min(rows.length, o.limit ?? rows.length) / 10));
  return replayTrace(engine, rows, {
    name, limit: o.limit, maxTokens: o.maxTokens, maxPromptTokens: o.maxPromptTokens,
    onRow: (i, total) => {
      if ((i + 1) % every === 0 || i + 1 === total) process.stderr.write(`${name}: ${i + 1}/${total} rows\n`);
    },
  });
}

/** A summary in the CLI's JSON names. */
export function traceReport(s: ReplaySummary): Record<string, unknown> {
  const run = (r: ReplayRunStats | null) => r && {
    tokens: r.tokens,
    decode_tokens_per_second: r.decodeTokensPerSecond,
    end_to_end_tokens_per_second: r.endToEndTokensPerSecond,
    total_ms: r.totalMs,
    steps: r.steps,
    num_drafts: r.drafts,
    num_draft_tokens: r.draftTokens,
    num_accepted_tokens: r.accepted,
    num_accepted_tokens_per_pos: r.acceptedPerPosition,
    draft_acceptance_rate: r.acceptanceRate,
    mean_acceptance_length: r.meanAcceptanceLength,
    mean_tokens_per_step: r.meanTokensPerStep,
  };
  return {
    trace: s.name, rows: s.rows, skipped_rows: s.skipped, prompt_tokens: s.promptTokens, tokens: s.plain.tokens,
    plain: run(s.plain), speculative: run(s.speculative), speedup: s.speedup, mismatched_rows: s.mismatches,
  };
}

function table(summaries: ReplaySummary[]): string {
  const head = ["trace", "rows", "tokens", "plain tok/s", "spec tok/s", "speedup", "tokens/step", "drafts", "accepted/drafted"];
  const body = summaries.map((s) => {
    const sp = s.speculative;
    return [
      s.name, `${s.rows}${s.skipped ? ` (+${s.skipped} too long)` : ""}`, String(s.plain.tokens), s.plain.decodeTokensPerSecond.toFixed(1),
      sp ? sp.decodeTokensPerSecond.toFixed(1) : "-", s.speedup !== null ? `${s.speedup.toFixed(2)}x` : "-",
      sp ? sp.meanTokensPerStep.toFixed(2) : "-", sp ? String(sp.drafts) : "-", sp ? `${sp.accepted}/${sp.draftTokens}` : "-",
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join("  ");
  const notes = summaries.filter((s) => s.mismatches > 0).map((s) => `! ${s.name}: ${s.mismatches} runs did not reproduce their response\n`);
  return `${[line(head), ...body.map(line)].join("\n")}\n(tokens/s: decoding after the first token, batch 1)\n${notes.join("")}`;
}
