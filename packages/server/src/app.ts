// The express app: routes, auth, body parsing, errors. The engine is passed
// in, so tests and benches can serve an engine they loaded themselves.

import type { InferenceEngine } from "@glimpse/runtime-cuda";
import express, { type Express } from "express";
import pino, { type Logger } from "pino";
import { requireApiKey } from "./auth.js";
import { jsonBody } from "./body.js";
import type { AppContext } from "./context.js";
import { DocumentGate, type DocumentGateOptions } from "./document-gate.js";
import { errorHandler, notFound } from "./errors.js";
import { Limiter } from "./limiter.js";
import { originGuard, requireJsonContentType } from "./origin.js";
import { ServerMetrics } from "./metrics.js";
import { chatRouter } from "./routes/chat.js";
import { completionsRouter } from "./routes/completions.js";
import { documentsRouter } from "./routes/documents.js";
import { healthRouter } from "./routes/health.js";
import { metricsRouter } from "./routes/metrics.js";
import { modelsRouter } from "./routes/models.js";
import { InputLimits } from "./tokenize/input-limits.js";
import { TokenizerPool } from "./tokenize/pool.js";

export interface AppOptions {
  /** The name clients send as `model` (default: the model folder's name, or the .gguf file's without the extension). */
  servedModelName?: string;
  /**
   * The model as given (`--model`: a folder, or a .gguf file whose engine reads a description folder):
   * /v1/models' `root` and the default served name. Default: the engine's model folder.
   */
  modelSource?: string;
  /** Require `Authorization: Bearer <apiKey>` on /v1 routes. */
  apiKey?: string;
  /** Most generations in flight (running or queued); more get 429. Default 64. */
  maxConcurrency?: number;
  /** Stream events within this many ms of the last write go out together (default 5; 0: every event at once). */
  streamCoalesceMs?: number;
  /** Origins allowed to call the API from a browser (`--allowed-origins`; "*": any). Default: none. */
  allowedOrigins?: readonly string[];
  /** The address the server is bound to: without an API key, requests must name it (or an IP, or localhost) as Host. */
  bindHost?: string;
  /** Largest request body (default "4mb"). */
  bodyLimit?: string | number;
  /** A stream whose socket does not drain for this long is closed and its slots freed (default 30,000 ms). */
  writeTimeoutMs?: number;
  /** Threads that tokenize prompts and documents off the HTTP thread (default 2). */
  tokenizerThreads?: number;
  /** Suffix documents: bytes per document (413 beyond) and bytes being added at once (429 beyond). */
  documents?: DocumentGateOptions;
  logger?: Logger;
}

export function createApp(engine: InferenceEngine, options: AppOptions = {}): { app: Express; ctx: AppContext } {
  const log = options.logger ?? pino({ level: "silent" });
  const modelSource = options.modelSource ?? engine.modelDir;
  const modelName = options.servedModelName ?? defaultModelName(modelSource);
  const ctx: AppContext = {
    engine,
    modelName,
    modelSource,
    limiter: new Limiter(options.maxConcurrency ?? 64),
    metrics: new ServerMetrics(modelName, engine),
    log,
    streamCoalesceMs: options.streamCoalesceMs ?? 5,
    writeTimeoutMs: options.writeTimeoutMs ?? 30_000,
    tokenizers: new TokenizerPool(engine.modelDir, options.tokenizerThreads ?? 2),
    inputLimits: new InputLimits(engine.modelDir, engine.maxModelLen),
    documentGate: new DocumentGate(options.documents),
    draining: false,
    sharedCache: null, // serve() attaches one with `sharedCacheUrl`
  };
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use((req, res, next) => {
    const t0 = performance.now();
    res.once("finish", () => {
      const ms = Math.round(performance.now() - t0);
      if (res.statusCode >= 400) ctx.metrics.httpErrors.inc({ status: String(res.statusCode) });
      log.info({ method: req.method, url: req.originalUrl, status: res.statusCode, ms }, "request");
    });
    next();
  });
  app.use(originGuard({ allowedOrigins: options.allowedOrigins ?? [], bindHost: options.apiKey ? null : options.bindHost ?? null }));
  app.use(healthRouter(ctx));
  app.use(metricsRouter(ctx));
  if (options.apiKey) app.use("/v1", requireApiKey(options.apiKey));
  app.use("/v1", requireJsonContentType); // every POST under /v1 takes a JSON body
  const body = jsonBody(options.bodyLimit ?? "4mb");
  app.use(modelsRouter(ctx, Math.floor(Date.now() / 1000)));
  app.use(completionsRouter(ctx, body));
  app.use(chatRouter(ctx, body));
  app.use(documentsRouter(ctx, body));
  app.use(notFound);
  app.use(errorHandler(log));
  return { app, ctx };
}

/** The folder's name, or the GGUF file's without `.gguf`. */
function defaultModelName(modelSource: string): string {
  const last = modelSource.split(/[\\/]/).filter(Boolean).pop() ?? "glimpse";
  return last.replace(/\.gguf$/i, "") || "glimpse";
}
