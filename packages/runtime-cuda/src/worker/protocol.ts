// Messages between a RemoteEngine (caller's thread) and its engine worker.

import type { GenerateOptions, GenerationChunk, GenerationResult } from "../scheduler/request.js";
import type { EngineOptions } from "../engine.js";
import type { ProviderChoice } from "../model/session.js";
import type { SpeculativeConfig } from "../proposers/index.js";

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

export interface SerializedError {
  name: string;
  message: string;
  field?: string;
}

/** Remote methods: the engine's suffix-document API. */
export type CallMethod = "addDocument" | "removeDocument" | "listDocuments" | "clearDocuments" | "exportSuffixState" | "importSuffixState";

export type ToWorker =
  | { type: "stream"; id: number; options: Omit<GenerateOptions, "signal" | "prompt"> & { promptIds: number[] } }
  | { type: "abort"; id: number }
  | { type: "call"; id: number; method: CallMethod; args: unknown[] }
  | { type: "close" };

export type FromWorker =
  | { type: "ready"; info: EngineInfo }
  | { type: "loadError"; error: SerializedError }
  | { type: "chunk"; id: number; chunk: GenerationChunk }
  | { type: "result"; id: number; result: GenerationResult; suffixMemoryBytes: number | null }
  | { type: "fail"; id: number; error: SerializedError }
  | { type: "reply"; id: number; value?: unknown; error?: SerializedError }
  | { type: "closed" };
