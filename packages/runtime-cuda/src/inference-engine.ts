// What every engine offers its callers, whether it decodes in the caller's
// thread (Engine) or in a worker thread (RemoteEngine). Servers, CLIs and
// tests program against this interface only.

import type { OutputConstraint } from "./grammar/constraint.js";
import type { SpecMetrics } from "./metrics.js";
import type { ModelConfig } from "./model/model-config.js";
import type { ProviderChoice } from "./model/session.js";
import type { TextTokenizer } from "./model/tokenizer.js";
import type { SpeculativeConfig } from "./proposers/speculative-config.js";
import type { SuffixState } from "./proposers/proposer.js";
import type { GenerateOptions, GenerationChunk, GenerationResult } from "./scheduler/request.js";

/** Chunks as they are verified; `result` settles when the generation ends. Leaving the loop early cancels it. */
export type GenerationStream = AsyncGenerator<GenerationChunk> & { result: Promise<GenerationResult> };

export interface InferenceEngine {
  readonly modelDir: string;
  readonly config: ModelConfig;
  readonly tokenizer: TextTokenizer;
  readonly provider: ProviderChoice;
  readonly speculative: SpeculativeConfig | null;
  readonly maxModelLen: number;
  /** Whether the proposer keeps a global suffix tree (documents, saved state). */
  readonly hasSuffix: boolean;
  /** Generations admitted and not yet finished. */
  readonly activeRequestCount: number;
  /** Speculation totals over finished generations (a worker-hosted engine: as of its last result). */
  readonly cumulative: SpecMetrics;

  /** Streams a generation; bad options throw at once, before any work. */
  stream(options: GenerateOptions): GenerationStream;
  /** Generates to the end; bad options throw at once. */
  generate(options: GenerateOptions): Promise<GenerationResult>;
  /**
   * Compiles an output constraint for this model, or finds it compiled
   * (cached by its canonical text); rejects with a GlimpseConfigError whose
   * field is "constraint" or "constraint.<key>" and whose message carries
   * XGrammar's. Generating with the constraint then starts without compiling.
   */
  prepareConstraint(constraint: OutputConstraint): Promise<void>;

  /** Bytes held by the suffix trees, or null without suffix decoding (a worker-hosted engine: as of its last result). */
  suffixMemoryBytes(): number | null;
  /** Adds a named document's text to the global suffix tree; resolves to its token count. */
  addDocument(name: string, text: string): Promise<number>;
  /** As addDocument, with the text already tokenized (off the engine's thread); long documents go in slices between decoding steps. */
  addDocumentTokens(name: string, ids: ArrayLike<number>): Promise<number>;
  removeDocument(name: string): Promise<boolean>;
  listDocuments(): Promise<{ name: string; tokens: number }[]>;
  clearDocuments(): Promise<void>;
  /** The global suffix tree's documents and responses, to save across restarts. */
  exportSuffixState(): Promise<SuffixState>;
  importSuffixState(state: SuffixState): Promise<void>;

  /** Set when the engine can no longer work (its worker thread died); only engines that can die have it. */
  readonly failure?: Error | null;
  /** Calls the listener once if the engine dies (not when it is closed). */
  onFailure?(listener: (err: Error) => void): void;

  /** Cancels what is running and releases the model. */
  close(): Promise<void>;
}

/** The document operations, by name. */
export const DOCUMENT_METHODS = ["addDocument", "addDocumentTokens", "removeDocument", "listDocuments", "clearDocuments", "exportSuffixState", "importSuffixState"] as const;
export type DocumentMethod = (typeof DOCUMENT_METHODS)[number];
/** The calls the worker protocol forwards, by name: the document operations and prepareConstraint. */
export const ENGINE_CALLS = [...DOCUMENT_METHODS, "prepareConstraint"] as const;
export type EngineCall = (typeof ENGINE_CALLS)[number];
