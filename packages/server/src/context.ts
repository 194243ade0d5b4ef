// What every route needs: the engine, the served name, admission control,
// metrics and the logger; plus request-scoped helpers.

import type { Response } from "express";
import type { InferenceEngine } from "@glimpse/runtime-cuda";
import type { Logger } from "pino";
import type { z } from "zod";
import { ApiError, fromZod } from "./errors.js";
import type { DocumentGate } from "./document-gate.js";
import type { Limiter } from "./limiter.js";
import type { ServerMetrics } from "./metrics.js";
import type { SharedCache } from "./shared-cache/shared-cache.js";
import type { InputLimits } from "./tokenize/input-limits.js";
import type { TokenizerPool } from "./tokenize/pool.js";

export interface AppContext {
  /** An Engine in this thread (tests, embedding) or a RemoteEngine in a worker thread (`glimpse serve`). */
  engine: InferenceEngine;
  modelName: string;
  /** The model as given: a folder, or a .gguf file (the engine then reads its description folder, engine.modelDir). */
  modelSource: string;
  limiter: Limiter;
  metrics: ServerMetrics;
  log: Logger;
  /** Stream events closer together than this are written together (0: one write per event). */
  streamCoalesceMs: number;
  /** A stream whose socket has not drained for this long is closed, freeing its slots (a client that stopped reading). */
  writeTimeoutMs: number;
  /** Tokenizer threads: prompts, chat templates and documents are tokenized there, never on the HTTP thread. */
  tokenizers: TokenizerPool;
  /** Byte limits checked before any tokenizing work. */
  inputLimits: InputLimits;
  documentGate: DocumentGate;
  /** Set once shutdown begins: new generations are refused with 503. */
  draining: boolean;
  /** The suffix cache shared with other replicas through Redis (`--shared-cache`), or null. */
  sharedCache: SharedCache | null;
}

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw fromZod(parsed.error);
  return parsed.data;
}

/** Which backend runs the engine's model: onnxruntime (a model folder) or llama.cpp (a .gguf file). */
export function backendOf(engine: InferenceEngine): string {
  return engine.provider.backend ?? "onnxruntime";
}

/** An absent model means the served one (as in vLLM); any other name is a 404. */
export function checkModel(ctx: AppContext, model: string | undefined): void {
  if (model !== undefined && model !== ctx.modelName) {
    throw new ApiError(404, `model: the model '${model}' does not exist; this server serves '${ctx.modelName}'`, "not_found_error", "model", "model_not_found");
  }
}

/** Reserves n generation slots; returns their release. */
export function admit(ctx: AppContext, n: number): () => void {
  if (ctx.engine.failure) throw new ApiError(503, ctx.engine.failure.message, "service_unavailable_error", null, "engine_unavailable");
  if (ctx.draining) throw new ApiError(503, "the server is shutting down", "service_unavailable_error");
  if (!ctx.limiter.tryAcquire(n)) {
    throw new ApiError(429, `too many requests in flight (limit ${ctx.limiter.capacity} generations); retry later`, "rate_limit_error", null, "queue_full");
  }
  let released = false;
  return () => {
    if (!released) ctx.limiter.release(n);
    released = true;
  };
}

/** Aborts when the client goes away before the response is complete. */
export function disconnectSignal(res: Response): AbortSignal {
  const ac = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) ac.abort();
  });
  return ac.signal;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
