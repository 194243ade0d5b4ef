// The llama.cpp backend: one context whose sequences are the engine's rows
// (a request holds one from its prompt until it ends). A pass evaluates each
// row's tokens (its last token, then its draft) in its own sequence; all rows
// are dispatched in the same tick, so node-llama-cpp batches them into one
// llama.cpp evaluation. Each input asks for what its row needs (the argmax, or
// logits: llama-logits.ts). Rejected draft tokens are erased from their
// sequence's KV cells afterwards, so a sequence always holds exactly the
// request's accepted tokens. llama.cpp's attention mask is causal per
// sequence: drafts are verified as chains (trees are cut to their first chain).

import type { DecoderBackend, KvRows, LogitsNeed, PassOutput, PrefilledRow, PrefillRequest } from "../decoder-backend.js";
import type { RowLogits } from "../../sampling/row-logits.js";
import type { StepRow } from "../../verify/step-inputs.js";
import { LlamaHiddenReader } from "./llama-hidden.js";
import { generateNext, LlamaRowLogits } from "./llama-logits.js";
import type { EvaluateOutput, LlamaContext, LlamaContextSequence, LlamaModel } from "./node-llama.js";
import { SequencePool } from "./sequence-pool.js";

/** A row's sequence, as long as its request holds it. */
class LlamaRow {
  freed = false;
  constructor(readonly seq: LlamaContextSequence) {}
}

export class LlamaRows implements KvRows {
  constructor(readonly seqs: readonly LlamaRow[]) {}

  get rows(): number {
    return this.seqs.length;
  }
}

/** What one pass evaluated in each row: its sequence, its inputs, where they start, how many. */
interface Evaluated {
  row: LlamaRow;
  tokens: readonly number[];
  start: number;
  count: number;
}

/** A hidden state the engine took from a pass, filled by `advance` (llama-hidden.ts). */
interface HiddenAsked {
  input: number;
  into: Float32Array;
}

export class LlamaPass implements PassOutput {
  /** Per row, the hidden state asked for: only once the pass is verified is it known which input's is needed. */
  readonly asked = new Map<number, HiddenAsked>();

  constructor(
    readonly width: number,
    private readonly logits: readonly RowLogits[],
    readonly evaluated: readonly Evaluated[],
    private readonly hiddenSize: number | null,
    /** A one-row pass's last input's hidden state, read as the evaluation ended. */
    readonly lastHidden: Float32Array | null,
  ) {}

  row(i: number): RowLogits {
    return this.logits[i];
  }

  /** An array `advance` fills before the engine drafts again (the proposers read it only then). */
  hidden(i: number, j: number): Float32Array | null {
    if (this.hiddenSize === null) return null;
    const into = new Float32Array(this.hiddenSize);
    this.asked.set(i, { input: j, into });
    return into;
  }
}

/** A row whose request ended before the pass: nothing is evaluated, and nothing it answers is read. */
const ENDED: RowLogits = {
  argmax: () => 0,
  logits: () => {
    throw new Error("the row's request ended before the pass");
  },
};

export interface LlamaBackendOptions {
  /** Rows decoded together, and preempted rows held aside besides them: the context's sequences. */
  maxBatchSize: number;
  maxHeldRows: number;
  /** Tokens per sequence (the engine's maxModelLen). */
  contextSize: number;
  threads: number;
  vocabSize: number;
  /** The speculator's input width when the proposer drafts from the target's hidden state, else null. */
  hiddenSize: number | null;
}

export class LlamaBackend implements DecoderBackend<LlamaRows, LlamaPass> {
  readonly name = "llama.cpp";
  readonly trees = false;
  /** Each sequence evaluates its own inputs: a batch is ragged. */
  readonly paddedRows = false;
  readonly hiddenState: boolean;
  readonly maxHeldRows: number;
  private readonly hidden: LlamaHiddenReader | null;
  private readonly pool: SequencePool;
  /** Calls evaluating or erasing in progress; rows freed meanwhile are cleared once none is. */
  private busy = 0;
  private readonly pending: LlamaRow[] = [];

  private constructor(
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    private readonly options: LlamaBackendOptions,
  ) {
    this.maxHeldRows = options.maxHeldRows;
    this.hidden = options.hiddenSize === null ? null : LlamaHiddenReader.of(context, options.hiddenSize);
    this.hiddenState = this.hidden !== null;
    this.pool = new SequencePool(context, options.maxBatchSize + options.maxHeldRows);
  }

  /** The model's context; `close` disposes both. */
  static async create(model: LlamaModel, options: LlamaBackendOptions): Promise<LlamaBackend> {
    const sequences = options.maxBatchSize + options.maxHeldRows;
    const context = await model.createContext({
      sequences: sequences + (options.hiddenSize !== null ? 1 : 0), // the hidden-state reader's scratch sequence
      contextSize: options.contextSize, threads: options.threads, failedCreationRemedy: false,
      ...(options.hiddenSize !== null ? { _embeddings: true } : {}),
    });
    try {
      return new LlamaBackend(model, context, options);
    } catch (err) {
      await context.dispose();
      throw err;
    }
  }

  emptyBatch(): LlamaRows {
    return new LlamaRows([]);
  }

  /** All at once: each prompt runs in its own sequence, and llama.cpp batches them; one by one when its hidden state is read. */
  prefillGroups(lengths: readonly number[]): number[][] {
    if (this.hidden) return lengths.map((_, i) => [i]);
    return lengths.length > 0 ? [lengths.map((_, i) => i)] : [];
  }

  prefill(prompts: readonly PrefillRequest[]): Promise<PrefilledRow<LlamaRows>[]> {
    return this.tracked(async () => {
      const rows: LlamaRow[] = [];
      try {
        for (let i = 0; i < prompts.length; i++) rows.push(new LlamaRow(await this.pool.acquire()));
        const evaluate = (p: PrefillRequest, i: number) => {
          const last = p.tokens.length - 1;
          return rows[i].seq.controlledEvaluate(p.tokens.map((t, j) => (j === last ? [t, { generateNext: generateNext(p.need) }] : t)));
        };
        // One prompt per group when hidden states are read (prefillGroups): its last token ends the evaluation.
        const outs = await Promise.all(prompts.map(evaluate));
        const hidden = this.hidden && prompts.length === 1 ? this.hidden.latest() : null;
        return rows.map((row, i) => ({
          state: new LlamaRows([row]),
          logits: new LlamaRowLogits([outs[i][prompts[i].tokens.length - 1]], this.options.vocabSize),
          hidden,
        }));
      } catch (err) {
        for (const row of rows) this.free(row);
        throw err;
      }
    });
  }

  /** Rows are sequences: a batch is a list of them, nothing is copied. */
  gather(sources: readonly { state: LlamaRows; row: number }[]): LlamaRows {
    return new LlamaRows(sources.map((s) => s.state.seqs[s.row]));
  }

  detach(state: LlamaRows, row: number): LlamaRows {
    return new LlamaRows([state.seqs[row]]);
  }

  /** Rejected tokens are erased at once: no holes. */
  squeezableRatio(): number {
    return 0;
  }

  run(state: LlamaRows, rows: readonly StepRow[], needs: readonly LogitsNeed[]): Promise<LlamaPass> {
    return this.tracked(async () => {
      const evaluated: Evaluated[] = rows.map((r, i) => {
        const row = state.seqs[i];
        const { tokens, parent } = r.layout;
        if (parent.some((p, j) => p !== j - 1)) throw new Error("the llama.cpp backend verifies chains only (a tree draft reached it)");
        if (!row.freed && row.seq.nextTokenIndex !== r.cachedLength) {
          throw new Error(`llama.cpp sequence holds ${row.seq.nextTokenIndex} tokens, the request ${r.cachedLength}`);
        }
        return { row, tokens, start: r.cachedLength, count: row.freed ? 0 : tokens.length };
      });
      // Every row's evaluation is queued in this tick: node-llama-cpp decodes them as one batch.
      const outs = await Promise.all(rows.map((r, i) => {
        if (evaluated[i].row.freed) return null;
        const ask = { generateNext: generateNext(needs[i]) };
        return evaluated[i].row.seq.controlledEvaluate(r.layout.tokens.map((t) => [t, ask]));
      }));
      const logits = outs.map((o) => (o ? new LlamaRowLogits(o as (EvaluateOutput | undefined)[], this.options.vocabSize) : ENDED));
      // One row evaluated: the evaluation's last token is its last input, whose hidden state serves when all its draft is accepted.
      const lastHidden = this.hidden && rows.length === 1 && evaluated[0].count > 0 ? this.hidden.latest() : null;
      return new LlamaPass(Math.max(...rows.map((r) => r.layout.tokens.length)), logits, evaluated, this.options.hiddenSize, lastHidden);
    });
  }

  /** Erases each row's rejected inputs (a chain keeps a prefix of its inputs) from its sequence; then reads the hidden states asked for. */
  advance(state: LlamaRows, out: LlamaPass, keep: readonly Uint8Array[]): Promise<LlamaRows> {
    return this.tracked(async () => {
      const kept = out.evaluated.map(({ count }, i) => {
        let n = 0;
        while (n < count && keep[i][n]) n++;
        return n;
      });
      await Promise.all(out.evaluated.map(({ row, start, count }, i) => this.erase(row, start + kept[i], start + count)));
      if (this.hidden) await this.readHidden(out, kept);
      return state;
    });
  }

  /** Each asked row's hidden state at its last kept input (one evaluation per row: llama.cpp reads back only the last token's). */
  private async readHidden(out: LlamaPass, kept: readonly number[]): Promise<void> {
    for (const [i, { input, into }] of out.asked) {
      const { row, tokens, count } = out.evaluated[i];
      if (row.freed || count === 0) continue;
      if (input !== kept[i] - 1) throw new Error(`the hidden state of input ${input} was asked for, but the row keeps ${kept[i]} inputs`);
      if (out.lastHidden && input === count - 1) into.set(out.lastHidden);
      else await this.hidden!.atLast(row.seq, tokens[input], into);
    }
  }

  discard(_state: LlamaRows, out: LlamaPass): Promise<void> {
    return this.tracked(async () => {
      await Promise.all(out.evaluated.map(({ row, start, count }) => this.erase(row, start, start + count)));
    });
  }

  replicate(prompt: readonly number[], rows: number): Promise<LlamaRows> {
    return this.tracked(async () => {
      const seqs: LlamaRow[] = [];
      try {
        for (let i = 0; i < rows; i++) seqs.push(new LlamaRow(await this.pool.acquire()));
        await Promise.all(seqs.map((row) => row.seq.controlledEvaluate([...prompt])));
        return new LlamaRows(seqs);
      } catch (err) {
        for (const row of seqs) this.free(row);
        throw err;
      }
    });
  }

  release(state: LlamaRows, row: number): void {
    const r = state.seqs[row];
    if (r) this.free(r);
  }

  async close(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }

  private free(row: LlamaRow): void {
    if (row.freed) return;
    row.freed = true;
    // A sequence in a running evaluation or erase is cleared after it: another row may be handed it next.
    if (this.busy > 0) this.pending.push(row);
    else this.clear(row);
  }

  private clear(row: LlamaRow): void {
    this.pool.release(row.seq).catch(() => {}); // fails only once the context is disposed
  }

  private async erase(row: LlamaRow, start: number, end: number): Promise<void> {
    if (row.freed || end <= start) return;
    await row.seq.eraseContextTokenRanges([{ start, end }]);
  }

  private async tracked<T>(work: () => Promise<T>): Promise<T> {
    this.busy++;
    try {
      return await work();
    } finally {
      if (--this.busy === 0) for (const row of this.pending.splice(0)) this.clear(row);
    }
  }
}
