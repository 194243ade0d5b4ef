// Suffix documents within a budget, inserted in slices between decoding steps.
//
// A 4 MB document is about a million tokens, and inserting it into the
// suffix trees takes tens of seconds on the engine's thread: done in one go,
// every generation waits that long. Here a document is inserted a slice at a
// time; while generations run, ingestion takes at most `busyShare` of the
// thread's time (it sleeps between slices in proportion to what a slice
// cost), and runs flat out when the engine is idle. Documents are added one
// at a time, in the order they came; each has a token cap, and the oldest are
// evicted when all of them together would exceed the total budget.

import { setImmediate as yieldTurn } from "node:timers/promises";
import { GlimpseConfigError } from "../errors.js";
import type { SuffixDocuments, SuffixState } from "../proposers/proposer.js";

export interface DocumentLimits {
  /** Most tokens in one document (default 1,048,576: about 4 MB of code). */
  maxDocumentTokens?: number;
  /** Most tokens over all documents; the oldest are evicted beyond it (default 2,097,152). */
  maxTotalTokens?: number;
  /** Longest run of insertion, in milliseconds, before ingestion yields the thread (default 2). */
  sliceMs?: number;
  /** Share of the engine thread's time ingestion may take while generations run, in (0, 1] (default 0.1). */
  busyShare?: number;
}

export const DEFAULT_DOCUMENT_LIMITS: Required<DocumentLimits> = {
  maxDocumentTokens: 1 << 20,
  maxTotalTokens: 1 << 21,
  sliceMs: 2,
  busyShare: 0.1,
};

// Tokens per insertion call: small enough that a slice rarely overshoots sliceMs.
const STEP_TOKENS = 256;

interface Job {
  name: string | null; // null: a saved state's responses
  run(): Promise<void>;
  cancelled: boolean;
  reject(err: unknown): void;
}

export function checkDocumentLimits(o: DocumentLimits = {}): Required<DocumentLimits> {
  const l = { ...DEFAULT_DOCUMENT_LIMITS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
  for (const k of ["maxDocumentTokens", "maxTotalTokens"] as const) {
    if (!Number.isInteger(l[k]) || l[k] < 1) throw new GlimpseConfigError(`documents.${k}`, `must be an integer >= 1, got ${JSON.stringify(l[k])}`);
  }
  if (!(l.sliceMs > 0 && l.sliceMs <= 1000)) throw new GlimpseConfigError("documents.sliceMs", `must be a number of milliseconds in (0, 1000], got ${JSON.stringify(l.sliceMs)}`);
  if (!(l.busyShare > 0 && l.busyShare <= 1)) throw new GlimpseConfigError("documents.busyShare", `must be a number in (0, 1], got ${JSON.stringify(l.busyShare)}`);
  return l;
}

export class DocumentIngestor {
  readonly limits: Required<DocumentLimits>;
  private readonly queue: Job[] = [];
  private current: Job | null = null;
  private pumping = false;
  private closed = false;

  /** @param busy whether generations are running (ingestion then yields most of the thread) */
  constructor(private readonly docs: SuffixDocuments, limits: DocumentLimits | undefined, private readonly busy: () => boolean) {
    this.limits = checkDocumentLimits(limits);
  }

  /** Documents queued or being inserted. */
  get pending(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  /** Adds (or replaces) a document; resolves to its token count once it is in the tree. */
  add(name: string, ids: ArrayLike<number>): Promise<number> {
    const max = this.limits.maxDocumentTokens;
    if (ids.length > max) throw new GlimpseConfigError("text", `the document is ${ids.length} tokens; the most one document may hold is ${max}`);
    return this.enqueue(name, async (job) => {
      this.makeRoom(name, ids.length);
      this.docs.beginDocument(name);
      await this.insert(job, ids, (slice) => this.docs.appendDocument(name, slice));
      if (!job.cancelled) this.docs.endDocument(name, ids);
      return ids.length;
    });
  }

  /** Restores a saved state: responses one at a time, then documents (over the cap: skipped), all within the budget. */
  async import(state: SuffixState): Promise<void> {
    await this.enqueue(null, async (job) => {
      for (const tokens of state.responses) {
        if (job.cancelled) return;
        this.docs.importState({ documents: [], responses: [tokens] });
        await this.pace(0);
      }
    });
    await Promise.all(state.documents.filter((d) => d.tokens.length <= this.limits.maxDocumentTokens).map((d) => this.add(d.name, d.tokens)));
  }

  /** Stops adding a document by this name (queued or in progress); its caller's promise rejects. */
  cancel(name: string): void {
    for (const job of [this.current, ...this.queue]) {
      if (job && job.name === name) this.stop(job);
    }
  }

  cancelAll(): void {
    for (const job of [this.current, ...this.queue]) if (job) this.stop(job);
  }

  close(): void {
    this.closed = true;
    this.cancelAll();
  }

  private stop(job: Job): void {
    job.cancelled = true;
    job.reject(new GlimpseConfigError("name", `the document '${job.name}' was removed before it was fully added`));
    const at = this.queue.indexOf(job);
    if (at >= 0) this.queue.splice(at, 1);
  }

  private enqueue<T>(name: string | null, body: (job: Job) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error("engine is closed"));
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        name,
        cancelled: false,
        reject,
        run: () => body(job).then((v) => {
          if (!job.cancelled) resolve(v);
        }, reject),
      };
      this.queue.push(job);
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let job = this.queue.shift(); job; job = this.queue.shift()) {
        this.current = job;
        await job.run();
        // What a cancelled document had inserted so far leaves the tree (unless the engine has closed it).
        if (job.cancelled && job.name !== null && !this.closed) this.docs.removeDocument(job.name);
      }
    } finally {
      this.current = null;
      this.pumping = false;
    }
  }

  /** Inserts ids a slice at a time, yielding the thread between slices. */
  private async insert(job: Job, ids: ArrayLike<number>, append: (slice: ArrayLike<number>) => void): Promise<void> {
    const all = ArrayBuffer.isView(ids) ? (ids as Uint32Array) : Uint32Array.from(ids);
    let at = 0;
    while (at < all.length && !job.cancelled) {
      const t0 = performance.now();
      while (at < all.length && performance.now() - t0 < this.limits.sliceMs) {
        append(all.subarray(at, at + STEP_TOKENS));
        at += STEP_TOKENS;
      }
      await this.pace(performance.now() - t0);
    }
  }

  /** After a slice that took ms: idle engine, just let other work in; busy engine, rest so ingestion keeps to its share. */
  private async pace(ms: number): Promise<void> {
    if (!this.busy()) return void (await yieldTurn());
    const rest = (ms * (1 - this.limits.busyShare)) / this.limits.busyShare;
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, rest)));
  }

  /** Evicts the oldest documents until `incoming` more tokens fit the total budget (a document it replaces does not count). */
  private makeRoom(name: string, incoming: number): void {
    const docs = this.docs.listDocuments().filter((d) => d.name !== name);
    let total = docs.reduce((n, d) => n + d.tokens, 0);
    for (const d of docs) {
      if (total + incoming <= this.limits.maxTotalTokens) break;
      this.docs.removeDocument(d.name);
      total -= d.tokens;
    }
  }
}
