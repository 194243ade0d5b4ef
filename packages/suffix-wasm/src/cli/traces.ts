// Reading prompt/response traces (JSON Lines) for the simulator. Node-only.

import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { TraceRow } from "../simulator.js";

export interface TraceReadOptions {
  promptKey: string;
  responseKey: string;
  /** Read at most this many rows (default: all). */
  limit?: number;
}

function tokenArray(value: unknown, where: string): Int32Array {
  if (!Array.isArray(value)) throw new Error(`${where}: expected an array of token ids, got ${typeof value}`);
  const out = new Int32Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const v = value[i];
    if (typeof v !== "number" || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
      throw new Error(`${where}[${i}]: expected an int32 token id, got ${JSON.stringify(v)}`);
    }
    out[i] = v;
  }
  return out;
}

export async function readTraceRows(path: string, opts: TraceReadOptions): Promise<TraceRow[]> {
  const rows: TraceRow[] = [];
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === "") continue;
    if (opts.limit !== undefined && rows.length >= opts.limit) break;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${path}:${lineNo}: not valid JSON (${(err as Error).message})`);
    }
    for (const key of [opts.promptKey, opts.responseKey]) {
      if (!(key in record)) throw new Error(`${path}:${lineNo}: missing key "${key}" (see --prompt-key / --response-key)`);
    }
    rows.push({
      prompt: tokenArray(record[opts.promptKey], `${path}:${lineNo} ${opts.promptKey}`),
      response: tokenArray(record[opts.responseKey], `${path}:${lineNo} ${opts.responseKey}`),
    });
  }
  return rows;
}
