// Messages between a RemoteEngine (caller's thread) and its engine worker.
// Errors cross as data (errors.ts: kind, field, message) and are rebuilt as
// the same classes on the other side.

import type { ErrorData } from "../errors.js";
import type { EngineCall } from "../inference-engine.js";
import type { SpecMetrics } from "../metrics.js";
import type { EngineOptions } from "../model/loader.js";
import type { ProviderChoice } from "../model/session.js";
import type { SpeculativeConfig } from "../proposers/index.js";
import type { GenerateOptions, GenerationChunk, GenerationResult } from "../scheduler/request.js";

export interface WorkerInit {
  modelDir: string;
  options: Omit<EngineOptions, "acceptRule">;
}

export interface EngineInfo {
  modelDir: string;
  provider: ProviderChoice;
  speculative: SpeculativeConfig | null;
  maxModelLen: number;
  hasSuffix: boolean;
}

/** The engine's figures as of a generation's end, sent with its outcome. */
export interface EngineSnapshot {
  cumulative: SpecMetrics;
  suffixMemoryBytes: number | null;
}

/** The worker exits with this code when the model fails to load. */
export const LOAD_FAILED_EXIT_CODE = 3;

export type ToWorker =
  | { type: "stream"; id: number; options: Omit<GenerateOptions, "signal" | "prompt"> & { promptIds: number[] } }
  | { type: "abort"; id: number }
  | { type: "call"; id: number; method: EngineCall; args: unknown[] }
  | { type: "close" };

export type FromWorker =
  | { type: "ready"; info: EngineInfo }
  | { type: "loadError"; error: ErrorData }
  | { type: "chunk"; id: number; chunk: GenerationChunk }
  | { type: "result"; id: number; result: GenerationResult; snapshot: EngineSnapshot }
  | { type: "fail"; id: number; error: ErrorData; snapshot: EngineSnapshot }
  | { type: "reply"; id: number; value?: unknown; error?: ErrorData }
  | { type: "closed" };
