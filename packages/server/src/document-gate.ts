// Admission for suffix documents: a byte cap per document (413) and a bound
// on the bytes being tokenized or inserted at once (429). Insertion runs in
// slices on the engine's thread and takes a small share of it while
// generations run, so a burst of large uploads would otherwise queue there
// without end.

import { ApiError } from "./errors.js";

export interface DocumentGateOptions {
  /** Largest document text in UTF-8 bytes (default 4,000,000). */
  maxDocumentBytes?: number;
  /** Most document bytes being tokenized or added at once; more get 429 (default 8,000,000). */
  maxPendingBytes?: number;
  /** Most tokens in one document: tokenizing stops there with 413 (default 1,048,576, as the engine's). */
  maxDocumentTokens?: number;
  /** Share of a tokenizer thread's core that tokenizing a document may take (default 0.25). */
  tokenizeShare?: number;
}

export class DocumentGate {
  readonly maxDocumentBytes: number;
  readonly maxPendingBytes: number;
  readonly maxDocumentTokens: number;
  readonly tokenizeShare: number;
  private pending = 0;

  constructor(o: DocumentGateOptions = {}) {
    this.maxDocumentBytes = o.maxDocumentBytes ?? 4_000_000;
    this.maxPendingBytes = o.maxPendingBytes ?? 8_000_000;
    this.maxDocumentTokens = o.maxDocumentTokens ?? 1 << 20;
    this.tokenizeShare = o.tokenizeShare ?? 0.25;
  }

  /** Bytes of documents admitted and not yet in the tree. */
  get pendingBytes(): number {
    return this.pending;
  }

  /** Admits a document of `bytes`; returns its release. */
  enter(bytes: number): () => void {
    if (bytes > this.maxDocumentBytes) {
      throw new ApiError(413, `text: the document is ${bytes} bytes; the most one document may hold is ${this.maxDocumentBytes} bytes`, "invalid_request_error", "text", "document_too_large");
    }
    // One document is always admitted when nothing is pending, whatever its size.
    if (this.pending > 0 && this.pending + bytes > this.maxPendingBytes) {
      throw new ApiError(429, `documents being added hold ${this.pending} bytes (limit ${this.maxPendingBytes}); retry later`, "rate_limit_error", null, "documents_busy");
    }
    this.pending += bytes;
    let released = false;
    return () => {
      if (!released) this.pending -= bytes;
      released = true;
    };
  }
}
