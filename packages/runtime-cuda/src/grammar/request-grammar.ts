// One constrained request's grammar state: an XGrammar matcher that has
// accepted every token of the output so far, and what each decoding step
// asks of it:
// - before the pass, cutting the drafts to what the grammar allows (a tree
//   loses the subtrees of rejected tokens: walked depth-first, accepting
//   along the path and rolling back on leaving a branch), and the forced
//   continuation as tokens (jump-forward);
// - during acceptance, following the rejection sampler's walk down the
//   verified path (GrammarWalk): the mask of each position it visits, or for
//   greedy requests first a check of the target's own choice, which is the
//   masked argmax whenever the grammar allows it (one acceptToken instead of
//   a whole mask);
// - after it, whether the output is complete (only a stop token may follow).
// Everything here is synchronous. Matcher calls that XGrammar answers by
// aborting (a mask after termination, a rollback past the start) are never made.

import { GlimpseConfigError } from "../errors.js";
import type { Proposal } from "../proposers/proposer.js";
import type { CompiledConstraint, ConstraintCompiler } from "./grammar-compiler.js";
import { scanJsonPrefix } from "./json-prefix.js";
import { type GrammarWalk, idMask, onlyStopsAllowed } from "./mask.js";
import type { GrammarMatcher, WasmVector, XGrammarBinding } from "./xgrammar-loader.js";

/** What a request grammar needs of its model. */
export interface GrammarModel {
  vocabSize: number;
  stopIds: readonly number[];
  /** Text to token ids with the model's tokenizer (no special tokens). */
  encode(text: string): number[];
}

/** The matcher's wasm object (GrammarMatcher keeps it private): its mask, written into a vector. */
interface MatcherHandle {
  GetNextTokenBitmask(vocabSize: number): WasmVector;
}

export class RequestGrammar implements GrammarWalk {
  /** The mask at the matcher's state, once computed (cleared when the state moves). */
  private mask_: Int32Array | null = null;
  private readonly stops: Int32Array;
  private readonly handle: MatcherHandle;

  private constructor(private readonly matcher: GrammarMatcher, private readonly binding: XGrammarBinding, private readonly model: GrammarModel) {
    this.stops = idMask(model.stopIds, model.vocabSize);
    this.handle = (matcher as unknown as { handle: MatcherHandle }).handle;
  }

  /** A matcher for a compiled constraint, past `before` (json_prefix). */
  static async create(compiler: ConstraintCompiler, compiled: CompiledConstraint, model: GrammarModel, before?: string): Promise<RequestGrammar> {
    const matcher = await compiler.matcher(compiled);
    try {
      if (before) acceptPrefix(matcher, before);
      const binding = compiled.runtime.inst.binding();
      if (!binding) throw new Error("XGrammar's binding is not loaded");
      return new RequestGrammar(matcher, binding, model);
    } catch (err) {
      matcher.dispose();
      throw err;
    }
  }

  /** Whether the output is complete: the matcher took a stop token, or nothing but one may follow. */
  complete(): boolean {
    if (this.matcher.isTerminated()) return true;
    // Only where a stop token is allowed can it be the only thing allowed: a whole mask is read only then.
    if (!this.model.stopIds.some((t) => this.accepts(t))) return false;
    return onlyStopsAllowed(this.mask()!, this.stops, this.model.vocabSize);
  }

  // ---- the sampler's walk (GrammarWalk) ----

  tryAdvance(token: number): boolean {
    if (this.matcher.isTerminated()) return true; // past a stop token the output has ended: nothing to constrain
    if (!this.matcher.acceptToken(token)) return false;
    this.mask_ = null;
    return true;
  }

  mask(): Int32Array | null {
    if (this.matcher.isTerminated()) return null;
    if (!this.mask_) {
      const vector = this.handle.GetNextTokenBitmask(this.model.vocabSize);
      try {
        this.mask_ = this.binding.vecIntToView(vector).slice();
      } finally {
        vector.delete();
      }
    }
    return this.mask_;
  }

  advance(token: number): void {
    if (!this.tryAdvance(token)) throw new Error(`token ${token} was verified but the output constraint does not allow it`);
  }

  // ---- drafts ----

  /** The draft cut to tokens the grammar allows: a rejected token goes with its subtree (chains: cut there). */
  cutDraft(draft: Proposal): Proposal {
    const n = draft.tokens.length;
    const children: number[][] = Array.from({ length: n + 1 }, () => []);
    draft.parents.forEach((p, i) => {
      if (p >= -1 && p < i) children[p + 1].push(i);
    });
    const kept = new Uint8Array(n);
    const visit = (node: number) => {
      if (this.matcher.isTerminated()) return; // nothing follows a stop token
      for (const i of children[node + 1]) {
        if (!this.matcher.acceptToken(draft.tokens[i])) continue;
        kept[i] = 1;
        visit(i);
        this.matcher.rollBack(1);
      }
    };
    visit(-1);
    if (kept.every((k) => k === 1)) return draft;
    const index = new Int32Array(n).fill(-1);
    const out: Proposal = { tokens: [], parents: [], probs: [], score: draft.score, ...(draft.free ? { free: true } : {}) };
    for (let i = 0; i < n; i++) {
      if (!kept[i]) continue;
      index[i] = out.tokens.length;
      out.tokens.push(draft.tokens[i]);
      out.parents.push(draft.parents[i] < 0 ? -1 : index[draft.parents[i]]);
      out.probs.push(draft.probs[i]);
    }
    return out;
  }

  /**
   * The forced continuation (XGrammar's jump-forward string: the text every
   * valid output continues with here) as tokens of the model's tokenizer,
   * the prefix the grammar accepts, at most `max`; empty when nothing is forced.
   */
  jumpForward(max: number): number[] {
    if (max <= 0 || this.matcher.isTerminated()) return [];
    const text = this.matcher.findJumpForwardString();
    if (text.length === 0) return [];
    const ids = this.model.encode(text);
    let n = 0;
    while (n < ids.length && n < max && !this.matcher.isTerminated() && this.matcher.acceptToken(ids[n])) n++;
    if (n > 0) this.matcher.rollBack(n);
    return ids.slice(0, n);
  }

  dispose(): void {
    this.matcher.dispose();
  }

  /** Whether the grammar allows `token` now (the state is left as it was). */
  private accepts(token: number): boolean {
    if (!this.matcher.acceptToken(token)) return false;
    this.matcher.rollBack(1);
    return true;
  }
}

/**
 * Accepts the document's text so far: read in JavaScript (json-prefix.ts),
 * XGrammar then takes its short equivalent. A GlimpseConfigError names where
 * the text stops being a JSON prefix.
 */
function acceptPrefix(matcher: GrammarMatcher, before: string): void {
  const scan = scanJsonPrefix(before);
  if (!scan.ok) {
    const at = scan.offset;
    const context = JSON.stringify(before.slice(Math.max(0, at - 20), at));
    throw new GlimpseConfigError("constraint.before", `is not the start of a JSON document: ${JSON.stringify(before[at])} at offset ${at} cannot follow ${context}`);
  }
  if (!matcher._acceptString(scan.compact)) throw new Error(`the JSON grammar refused the prefix ${JSON.stringify(scan.compact)} (from ${JSON.stringify(before.slice(0, 80))}...)`);
}
