// `glimpse serve` flags that bound what one client can take: how long a
// stream may go undrained, the tokenizer threads, and suffix documents' caps.

import { type Command, InvalidArgumentError } from "commander";
import { DEFAULT_DOCUMENT_LIMITS, type DocumentLimits } from "@glimpse/runtime-cuda";
import type { ServeOptions } from "./server.js";

export interface LimitFlags {
  writeTimeout: number;
  tokenizerThreads: number;
  maxDocumentBytes: number;
  maxDocumentTokens: number;
  maxDocumentsTokens: number;
  documentIngestShare: number;
}

const number = (name: string, min: number, max: number, integer: boolean) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new InvalidArgumentError(`${name} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}]`);
  }
  return n;
};

export function addLimitOptions(cmd: Command): Command {
  const d = DEFAULT_DOCUMENT_LIMITS;
  return cmd
    .option("--write-timeout <seconds>", "a stream whose client has not read for this long is closed, freeing its slots", number("--write-timeout", 0.01, 3600, false), 30)
    .option("--tokenizer-threads <n>", "threads that tokenize prompts and documents off the HTTP thread", number("--tokenizer-threads", 1, 64, true), 2)
    .option("--max-document-bytes <n>", "largest suffix document (bytes of text); more gets HTTP 413", number("--max-document-bytes", 1, 2 ** 31, true), 4_000_000)
    .option("--max-document-tokens <n>", "most tokens in one suffix document; more gets HTTP 413", number("--max-document-tokens", 1, 2 ** 31, true), d.maxDocumentTokens)
    .option("--max-documents-tokens <n>", "most tokens over all suffix documents; the oldest are evicted beyond it", number("--max-documents-tokens", 1, 2 ** 31, true), d.maxTotalTokens)
    .option("--document-ingest-share <fraction>", "share of the engine thread that adding documents may take while generations run", number("--document-ingest-share", 0.01, 1, false), d.busyShare);
}

/** The engine's side of the document limits (given to Engine.load). */
export function engineDocumentLimits(o: Partial<LimitFlags>): DocumentLimits {
  return { maxDocumentTokens: o.maxDocumentTokens, maxTotalTokens: o.maxDocumentsTokens, busyShare: o.documentIngestShare };
}

/** The server's side (given to serve). */
export function serveLimitOptions(o: LimitFlags): Pick<ServeOptions, "writeTimeoutMs" | "tokenizerThreads" | "documents"> {
  return {
    writeTimeoutMs: o.writeTimeout * 1000,
    tokenizerThreads: o.tokenizerThreads,
    // Two of the largest documents may be in flight at once (one inserting, one waiting); more get 429.
    documents: { maxDocumentBytes: o.maxDocumentBytes, maxPendingBytes: 2 * o.maxDocumentBytes, maxDocumentTokens: o.maxDocumentTokens },
  };
}
