// The `glimpse` command line: `serve` (the OpenAI-compatible server),
// `generate` (one prompt, commands/generate.ts), `convert` (a Hugging Face
// checkpoint to a model folder, commands/convert.ts) and `bench replay`
// (traces replayed on the model, commands/replay.ts).

import { resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import pino from "pino";
import { addLimitOptions, serveLimitOptions } from "./cli-limits.js";
import { registerConvertCommand } from "./commands/convert.js";
import { engineOptions, int, loadEngine, num } from "./commands/engine-flags.js";
import { backendOf } from "./context.js";
import { registerGenerateCommand } from "./commands/generate.js";
import { registerReplayCommand } from "./commands/replay.js";
import { parseOrigins } from "./origin.js";
import { serve } from "./server.js";
import { checkApiKey, describeSpeculation, packageVersion, probePort } from "./startup.js";
import { checkCacheFileWritable } from "./suffix-cache/file.js";
import { supervise } from "./supervise.js";

const coalesceMs = (v: string) => {
  const n = num(v);
  if (n < 0 || n > 1000) throw new InvalidArgumentError("must be a number of milliseconds in [0, 1000]");
  return n;
};

function program(): Command {
  const prog = new Command("glimpse").description("Glimpse: lossless speculative decoding in TypeScript").version(packageVersion()).showHelpAfterError();

  addLimitOptions(engineOptions(prog.command("serve").description("serve the model over an OpenAI-compatible HTTP API")))
    .addOption(new Option("--host <host>", "address to bind").env("HOST").default("127.0.0.1"))
    .addOption(new Option("--port <port>", "port (0: any free port)").env("PORT").argParser(int("--port", 0)).default(8000))
    .addOption(new Option("--api-key <key>", "require 'Authorization: Bearer <key>' on /v1 routes").env("GLIMPSE_API_KEY"))
    .option("--served-model-name <name>", "model name clients send (default: the model folder's name, or the .gguf file's without .gguf)")
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
      log.info({ model: o.model, ...(engine.modelDir !== resolve(o.model) ? { model_folder: engine.modelDir } : {}), backend: backendOf(engine),
        provider: engine.provider, speculative: describeSpeculation(engine.speculative, engine.hasSuffix) }, "engine loaded");
      const running = await serve(engine, {
        host: o.host, port: o.port, apiKey: o.apiKey, servedModelName: o.servedModelName, modelSource: resolve(o.model),
        maxConcurrency: o.maxConcurrency, suffixCacheFile: o.suffixCacheFile, streamCoalesceMs: o.streamCoalesceMs,
        suffixCacheIntervalMs: o.suffixCacheInterval * 1000, allowedOrigins: parseOrigins(o.allowedOrigins),
        shutdownTimeoutMs: o.shutdownTimeout * 1000, logger: log, ...serveLimitOptions(o),
        sharedCache: o.sharedCache ? { url: o.sharedCache, stream: o.sharedCacheStream } : undefined,
      });
      log.info({ url: running.url, model: running.ctx.modelName, backend: backendOf(engine) }, "listening");
      process.stderr.write(curlExample(running.url, running.ctx.modelName, o.apiKey));
      supervise(running, engine, log);
    });

  registerGenerateCommand(prog);
  registerConvertCommand(prog);
  registerReplayCommand(prog.command("bench").description("benchmarks on the model"));
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
