// glimpse-suffix: tools around the suffix tree. Node-only.
//   glimpse-suffix simulate --data trace.jsonl [options]

import { createWriteStream } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import { simulateReplicas, type SimulationConfig, type StepRecord } from "../simulator.js";
import { readTraceRows } from "./traces.js";

function integer(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got "${value}"`);
    return n;
  };
}

function finite(min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a number in [${min}, ${max}], got "${value}"`);
    }
    return n;
  };
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

function draftLine(r: StepRecord): string {
  return JSON.stringify({
    request_id: r.requestId,
    step: r.step,
    token_ids: Array.from(r.draft.tokenIds),
    parents: Array.from(r.draft.parents),
    probs: Array.from(r.draft.probs, round6),
    score: round6(r.draft.score),
    match_len: r.draft.matchLen,
    num_accept_toks: r.numAccepted,
  });
}

interface SimulateFlags {
  data: string;
  promptKey: string;
  responseKey: string;
  limit?: number;
  maxDepth: number;
  maxSpecTokens?: number;
  maxSpecFactor: number;
  maxSpecOffset: number;
  minTokenProb: number;
  useTreeSpec: boolean;
  maxCachedRequests: number;
  dumpDrafts?: string;
  json: boolean;
  replicas?: number;
  shared: boolean;
}

async function runSimulate(flags: SimulateFlags): Promise<void> {
  const rows = await readTraceRows(flags.data, {
    promptKey: flags.promptKey,
    responseKey: flags.responseKey,
    limit: flags.limit,
  });
  const config: SimulationConfig = {
    maxDepth: flags.maxDepth,
    // 0 or absent means "as deep as the tree", as in ArcticInference.
    maxSpecTokens: flags.maxSpecTokens ? flags.maxSpecTokens : flags.maxDepth,
    maxSpecFactor: flags.maxSpecFactor,
    maxSpecOffset: flags.maxSpecOffset,
    minTokenProb: flags.minTokenProb,
    useTreeSpec: flags.useTreeSpec,
    maxCachedRequests: flags.maxCachedRequests,
  };
  const dump = flags.dumpDrafts ? createWriteStream(flags.dumpDrafts) : undefined;
  if (flags.shared && flags.replicas === undefined) throw new Error("--shared needs --replicas N");
  const replicas = { replicas: flags.replicas ?? 1, shared: flags.shared };
  const { replicas: _n, shared: _shared, per_replica: perReplica, ...summary } =
    simulateReplicas(rows, config, replicas, dump ? (r) => dump.write(draftLine(r) + "\n") : undefined);
  if (dump) await new Promise<void>((resolve, reject) => dump.end((err?: Error | null) => (err ? reject(err) : resolve())));
  if (flags.json) {
    const cluster = flags.replicas === undefined ? {} : { ...replicas, per_replica: perReplica };
    process.stdout.write(JSON.stringify({ data: flags.data, config, ...summary, ...cluster }, null, 1) + "\n");
    return;
  }
  const f = (x: number, d = 3) => x.toFixed(d);
  console.log(`trace            ${flags.data} (${summary.num_requests} requests)`);
  console.log(`config           depth ${config.maxDepth}, spec tokens ${config.maxSpecTokens}, factor ${config.maxSpecFactor}, offset ${config.maxSpecOffset}, min prob ${config.minTokenProb}, ${config.useTreeSpec ? "tree" : "path"} mode, cached requests ${config.maxCachedRequests}`);
  console.log(`steps            ${summary.total_steps} for ${summary.total_output_tokens} output tokens`);
  console.log(`accepted/step    ${f(summary.mean_accepted_tokens_per_step)}   (speculated/step ${f(summary.mean_speculated_tokens_per_step)}, accept rate ${f(summary.accept_rate)})`);
  console.log(`output/step      ${f(summary.mean_output_tokens_per_step)}   (upper bound on speedup when verification is free)`);
  console.log(`time/step        speculate ${f(summary.speculate_time_us_per_step, 2)} us, update ${f(summary.update_time_us_per_step, 2)} us`);
  console.log(`memory           ${(summary.memory_bytes / 1e6).toFixed(2)} MB in trees, ${f(summary.memory_bytes_per_cached_token, 1)} B per cached token`);
  if (flags.replicas === undefined) return;
  console.log(`replicas         ${replicas.replicas}, requests dealt round-robin, ${replicas.shared ? "one shared cache (every response reaches every replica)" : "separate caches"}`);
  perReplica.forEach((r, i) => {
    console.log(`  replica ${String(i).padEnd(7)}accepted/step ${f(r.mean_accepted_tokens_per_step)}, output/step ${f(r.mean_output_tokens_per_step)} (${r.num_requests} requests)`);
  });
}

export function buildProgram(): Command {
  const program = new Command("glimpse-suffix")
    .description("Suffix-tree speculative decoding tools (ArcticInference-compatible)")
    .showHelpAfterError();
  program
    .command("simulate")
    .description("replay a prompt/response trace and report what suffix speculation would accept")
    .requiredOption("--data <file>", "JSON Lines trace, one request per line")
    .option("--prompt-key <key>", "field holding prompt token ids", "prompt_ids")
    .option("--response-key <key>", "field holding response token ids", "response_ids")
    .option("--limit <n>", "replay only the first n rows", integer(1))
    .option("--max-depth <n>", "suffix tree depth and context tokens matched", integer(1), 64)
    .option("--max-spec-tokens <n>", "most draft tokens per step (0: max depth)", integer(0))
    .option("--max-spec-factor <x>", "draft cap per matched token", finite(0), 1)
    .option("--max-spec-offset <x>", "added to the draft cap", finite(), 0)
    .option("--min-token-prob <p>", "probability below which drafting stops", finite(0, 1), 0.1)
    .option("--use-tree-spec", "draft a tree of alternatives instead of a path", false)
    .addOption(new Option("--max-cached-requests <n>", "responses kept in the global tree (-1 unlimited, 0 off)").argParser(integer(-1)).default(-1))
    .option("--dump-drafts <file>", "write every draft, one JSON line per step")
    .option("--json", "print the summary as JSON", false)
    .option("--replicas <n>", "deal the requests round-robin to n replicas, each with its own cache", integer(1))
    .option("--shared", "with --replicas: every replica's responses go into every cache, as through a shared cache", false)
    .action(async (flags: SimulateFlags) => runSimulate(flags));
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    console.error(`glimpse-suffix: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
