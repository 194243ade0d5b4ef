// Prompt/response traces for replay: JSON lines with `prompt_ids` and
// `response_ids` (token ids of the model they were tokenized for; the shared
// traces use Qwen3's), read in file order.

import { readFileSync } from "node:fs";
import { GlimpseConfigError } from "../errors.js";

export interface TraceRow {
  /** 1-based line in the file, for messages. */
  line: number;
  promptIds: number[];
  responseIds: number[];
  source?: string;
}

const isIds = (v: unknown): v is number[] => Array.isArray(v) && v.every((t) => Number.isInteger(t) && t >= 0);

/** Parses a trace's text; blank lines are skipped, anything else malformed is named by line. */
export function parseTrace(text: string, name = "trace"): TraceRow[] {
  const rows: TraceRow[] = [];
  text.split("\n").forEach((raw, i) => {
    if (raw.trim() === "") return;
    const line = i + 1;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(raw) as Record<string, unknown>;
    } catch (err) {
      throw new GlimpseConfigError("trace", `${name} line ${line} is not JSON: ${(err as Error).message}`);
    }
    if (!isIds(row.prompt_ids) || row.prompt_ids.length === 0 || !isIds(row.response_ids) || row.response_ids.length === 0) {
      throw new GlimpseConfigError("trace", `${name} line ${line}: needs non-empty arrays of token ids "prompt_ids" and "response_ids"`);
    }
    rows.push({ line, promptIds: row.prompt_ids, responseIds: row.response_ids, ...(typeof row.source === "string" ? { source: row.source } : {}) });
  });
  if (rows.length === 0) throw new GlimpseConfigError("trace", `${name} has no rows`);
  return rows;
}

export function readTrace(file: string): TraceRow[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new GlimpseConfigError("trace", `cannot read ${file}: ${(err as Error).message}`);
  }
  return parseTrace(text, file);
}

/** Every id must be a token of this model: a trace tokenized for another model fails here, by name, not in a forward pass. */
export function checkTraceVocabulary(rows: readonly TraceRow[], vocabSize: number, name = "trace"): void {
  for (const row of rows) {
    for (const [field, ids] of [["prompt_ids", row.promptIds], ["response_ids", row.responseIds]] as const) {
      const bad = ids.find((t) => t >= vocabSize);
      if (bad !== undefined) {
        throw new GlimpseConfigError("trace", `${name} line ${row.line}: ${field} has token id ${bad}, outside this model's vocabulary of ${vocabSize} tokens ` +
          "(the trace was tokenized for another model; the shared traces hold Qwen3 token ids)");
      }
    }
  }
}
