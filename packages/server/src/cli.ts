// The `glimpse` command line: `serve` (the OpenAI-compatible server) and
// `generate` (one prompt, streamed, with acceptance stats).

import { Command, InvalidArgumentError, Option } from "commander";
import pino from "pino";
import { DEVICES, Engine, GlimpseConfigError, RemoteEngine, ModelLoadError, meanAcceptanceLength, type Device, type EngineOptions, type InferenceEngine } from "@glimpse/runtime-cuda";
import { addLimitOptions, engineDocumentLimits, serveLimitOptions, type LimitFlags } from "./cli-limits.js";
import { EMBEDDED_MODEL_DIR } from "./paths.js";
import { parseOrigins } from "./origin.js";
import { serve } from "./server.js";
import { checkApiKey, describeSpeculation, packageVersion, probePort } from "./startup.js";
import { checkCacheFileWritable } from "./suffix-cache/file.js";
import { supervise } from "./supervise.js";

const int = (name: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  return n;
};
const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError("must be a number");
  return n;
};

const coalesceMs = (v: string) => {
  const n = num(v);
  if (n < 0 || n > 1000) throw new InvalidArgumentError("must be a number of milliseconds in [0, 1000]");
  return n;
};

/** Options that load the engine, shared by both commands. */
function engineOptions(cmd: Command): Command {
  return cmd
    .option("--model <dir>", "model folder (Hugging Face layout with onnx/model.onnx)", EMBEDDED_MODEL_DIR)
    .option("--graph <file>", "decoder graph inside the model folder (default: onnx/model_tree.onnx if present, else onnx/model.onnx)")
    .option("--speculative-config <json>", "vLLM-style speculative config, e.g. '{\"method\": \"suffix\"}' (none: plain decoding)")
    .addOption(new Option("--device <device>", "execution provider").choices([...DEVICES]).default("auto"))
    .option("--max-model-len <n>", "longest prompt + completion in tokens", int("--max-model-len", 2))
    .option("--max-batch-size <n>", "most requests decoded together in one forward pass", int("--max-batch-size", 1), 8)
    .option("--threads <n>", "onnxruntime intra-op threads (default: cores - 1, at most 4)", int("--threads", 1));
}

interface EngineFlags {
  model: string;
  graph?: string;
  speculativeConfig?: string;
  device: Device;
  maxModelLen?: number;
  maxBatchSize: number;
  threads?: number;
}

/** The engine in this thread (`generate`), or in a worker thread (`serve`: HTTP work then never waits for a decoding step). */
async function loadEngine(o: EngineFlags, where: "here" | "worker", workerMaxOldSpaceMb?: number): Promise<InferenceEngine> {
  const options: EngineOptions = {
    device: o.device,
    graph: o.graph,
    speculativeConfig: o.speculativeConfig ?? null,
    maxModelLen: o.maxModelLen,
    maxBatchSize: o.maxBatchSize,
    intraOpThreads: o.threads,
    documents: engineDocumentLimits(o as Partial<LimitFlags>),
  };
  try {
    return where === "worker"
      ? await RemoteEngine.load(o.model, options, { resourceLimits: workerMaxOldSpaceMb ? { maxOldGenerationSizeMb: workerMaxOldSpaceMb } : undefined })
      : await Engine.load(o.model, options);
  } catch (err) {
    // Name the flag, not the runtime's option.
    if (err instanceof GlimpseConfigError && err.field.startsWith("speculative_config")) throw new Error(`--speculative-config: ${err.message}`);
    if (err instanceof ModelLoadError && o.model === EMBEDDED_MODEL_DIR) throw new Error(`${err.message} (the embedded model; pass --model DIR or set GLIMPSE_MODEL_DIR)`);
    throw err;
  }
}

function program(): Command {
  const prog = new Command("glimpse").description("Glimpse: lossless speculative decoding in TypeScript").version(packageVersion()).showHelpAfterError();

  addLimitOptions(engineOptions(prog.command("serve").description("serve the model over an OpenAI-compatible HTTP API")))
    .addOption(new Option("--host <host>", "address to bind").env("HOST").default("127.0.0.1"))
    .addOption(new Option("--port <port>", "port (0: any free port)").env("PORT").argParser(int("--port", 0)).default(8000))
    .addOption(new Option("--api-key <key>", "require 'Authorization: Bearer <key>' on /v1 routes").env("GLIMPSE_API_KEY"))
    .option("--served-model-name <name>", "model name clients send (default: the model folder's name)")
    .option("--max-concurrency <n>", "most generations in flight; more get HTTP 429", int("--max-concurrency", 1), 64)
    .option("--suffix-cache-file <path>", "load the global suffix cache from this file at start, snapshot it periodically and at shutdown")
    .option("--suffix-cache-interval <seconds>", "seconds between snapshots of --suffix-cache-file (0: only at shutdown)", num, 30)
    .option("--allowed-origins <list>", "comma-separated origins allowed to call the API from a browser ('*': any); default none")
    .option("--worker-max-old-space-mb <mb>", "heap limit of the engine worker thread (default: Node's); the server exits non-zero if the worker dies", int("--worker-max-old-space-mb", 8))
    .option("--shared-cache <url>", "share the global suffix cache with other replicas through Redis, e.g. redis://127.0.0.1:6379/0")
    .option("--shared-cache-stream <key>", "Redis Stream key of the shared cache (default: glimpse:suffix-cache:<served model name>)")
    .option("--stream-coalesce-ms <ms>", "stream events this close to the last write are sent together, and the engine's chunks merged (0: one event per decoding step)", coalesceMs, 5)
    .option("--shutdown-timeout <seconds>", "how long SIGTERM waits for in-flight requests", num, 30)
    .option("--log-level <level>", "pino log level", "info")
    .option("--in-process", "run the engine on the HTTP thread instead of a worker thread (slower streaming; for debugging)")
    .action(async (o) => {
      const log = pino({ level: o.logLevel });
      // Cheap checks first: a typo should cost a second, not a model load.
      checkApiKey(o.apiKey);
      if (o.suffixCacheFile) await checkCacheFileWritable(o.suffixCacheFile);
      await probePort(o.host, o.port);
      const engine = await loadEngine(o, o.inProcess ? "here" : "worker", o.workerMaxOldSpaceMb);
      log.info({ model: engine.modelDir, provider: engine.provider, speculative: describeSpeculation(engine.speculative, engine.hasSuffix) }, "engine loaded");
      const running = await serve(engine, {
        host: o.host, port: o.port, apiKey: o.apiKey, servedModelName: o.servedModelName,
        maxConcurrency: o.maxConcurrency, suffixCacheFile: o.suffixCacheFile, streamCoalesceMs: o.streamCoalesceMs,
        suffixCacheIntervalMs: o.suffixCacheInterval * 1000, allowedOrigins: parseOrigins(o.allowedOrigins),
        shutdownTimeoutMs: o.shutdownTimeout * 1000, logger: log, ...serveLimitOptions(o),
        sharedCache: o.sharedCache ? { url: o.sharedCache, stream: o.sharedCacheStream } : undefined,
      });
      log.info({ url: running.url, model: running.ctx.modelName }, "listening");
      process.stderr.write(curlExample(running.url, running.ctx.modelName, o.apiKey));
      supervise(running, engine, log);
    });

  engineOptions(prog.command("generate").description("generate from one prompt, streamed, then print acceptance stats").argument("<prompt>", "prompt text"))
    .option("--max-tokens <n>", "most tokens to generate", int("--max-tokens", 1), 128)
    .option("--temperature <t>", "0 decodes greedily", num, 0)
    .option("--seed <n>", "sampling seed", int("--seed", 0))
    .option("--chat", "wrap the prompt as a user message in the model's chat template")
    .action(async (prompt: string, o) => {
      const engine = await loadEngine(o, "here");
      const text = o.chat ? engine.tokenizer.applyChatTemplate([{ role: "user", content: prompt }]) : prompt;
      const stream = engine.stream({ prompt: text, maxTokens: o.maxTokens, temperature: o.temperature, seed: o.seed });
      for await (const chunk of stream) process.stdout.write(chunk.text);
      const r = await stream.result;
      const m = r.metrics;
      const rate = m.draftTokens > 0 ? (100 * m.acceptedTokens) / m.draftTokens : 0;
      process.stderr.write(
        `\n\n--- ${r.completionTokens} tokens (${r.finishReason}) in ${m.totalMs.toFixed(0)} ms: ${m.tokensPerSecond.toFixed(1)} tokens/s, ` +
          `time to first token ${m.timeToFirstTokenMs.toFixed(1)} ms\n` +
          `--- speculation: ${engine.speculative?.method ?? "off"}; drafts ${m.drafts}, draft tokens ${m.draftTokens}, accepted ${m.acceptedTokens} ` +
          `(${rate.toFixed(1)}%), mean acceptance length ${meanAcceptanceLength(m).toFixed(2)}, per position [${m.acceptedPerPosition.join(", ")}]\n`,
      );
      await engine.close();
    });
  return prog;
}

function curlExample(url: string, model: string, apiKey: string | undefined): string {
  const auth = apiKey ? ` \\\n  -H "Authorization: Bearer $GLIMPSE_API_KEY"` : "";
  return `\nGlimpse is serving '${model}' at ${url}. Try:\n\n` +
    `curl ${url}/v1/completions -H "Content-Type: application/json"${auth} \\\n` +
    `  -d '{"model": "${model}", "prompt": "def fibonacci(n):", "max_tokens": 64, "temperature": 0}'\n\n`;
}

export async function main(argv: string[]): Promise<void> {
  await program().parseAsync(argv);
}
