// Compiling checked constraints with XGrammar, per model: the tokenizer
// info is built once (on the first constraint: an engine that never sees
// one never loads XGrammar), compiled grammars are cached by their canonical
// text.
//
// XGrammar reports bad input (a schema, a regex, a grammar it cannot parse)
// by aborting its wasm instance, which is then unsafe to use. So every new
// input is compiled first on a throwaway "checker" instance with an empty
// vocabulary (cheap: the grammar work without the token masks); only what
// compiles there reaches the instance that holds the model's vocabulary and
// the requests' matchers. A checker that aborted is dropped and the error
// comes back as a GlimpseConfigError naming the field, with XGrammar's
// message. XGrammar's warnings (a keyword it only partly supports) are
// errors too: a constraint is enforced exactly or refused.

import { GlimpseConfigError } from "../errors.js";
import { CompiledCache } from "./compiled-cache.js";
import type { CheckedConstraint } from "./constraint.js";
import type { VocabInfo } from "./tokenizer-info.js";
import { loadXGrammar, xgrammarMessage, type CompiledGrammar, type GrammarCompiler, type GrammarMatcher, type TokenizerInfo, type XGrammarInstance } from "./xgrammar-loader.js";

/** An XGrammar instance with a tokenizer info and a compiler over it. */
export interface XGrammarRuntime {
  inst: XGrammarInstance;
  info: TokenizerInfo;
  compiler: GrammarCompiler;
  vocabSize: number;
}

/** A compiled grammar and the instance it lives in (its matchers live there too). */
export interface CompiledConstraint {
  grammar: CompiledGrammar;
  runtime: XGrammarRuntime;
}

async function makeRuntime(vocab: VocabInfo | null): Promise<XGrammarRuntime> {
  const inst = loadXGrammar();
  const info = vocab
    ? await inst.xg.TokenizerInfo.createTokenizerInfo(vocab.encoded, vocab.vocabType, vocab.prependSpace, vocab.vocabSize, vocab.stopIds)
    : await inst.xg.TokenizerInfo.createTokenizerInfo([], "raw", false);
  // XGrammar's own cache is off: a compile that aborts would leave an entry pending forever. We cache ourselves.
  const compiler = await inst.xg.GrammarCompiler.createGrammarCompiler(info, false);
  return { inst, info, compiler, vocabSize: vocab?.vocabSize ?? 0 };
}

/** Compiles one constraint on a runtime. */
function compileOn(rt: XGrammarRuntime, c: CheckedConstraint): Promise<CompiledGrammar> {
  switch (c.kind) {
    // Compact JSON on one line: no whitespace runs for a small model to loop in, and longer forced (jump-forward) text.
    case "schema":
      return rt.compiler.compileJSONSchema(c.source, false, -1);
    case "regex":
      return rt.compiler.compileStructuralTag({ type: "regex", pattern: c.source });
    case "ebnf":
      return rt.compiler.compileGrammar(c.source);
  }
}

/** The checker instance of this thread (vocabulary-free, shared by its engines); dropped after an abort. */
let checker: Promise<XGrammarRuntime> | null = null;

/** Compiles `c` on the checker; throws a GlimpseConfigError with XGrammar's message if it fails or warns. */
export async function checkCompiles(c: CheckedConstraint): Promise<void> {
  const pending = (checker ??= makeRuntime(null));
  let rt: XGrammarRuntime;
  try {
    rt = await pending;
  } catch (err) {
    if (checker === pending) checker = null;
    throw err;
  }
  rt.inst.takeLog();
  let compiled: CompiledGrammar;
  try {
    compiled = await compileOn(rt, c);
  } catch (err) {
    if (checker === pending) checker = null; // aborted: never used again
    throw new GlimpseConfigError(c.field, `not accepted by XGrammar: ${xgrammarMessage(rt.inst.takeLog()) ?? (err as Error).message}`);
  }
  compiled.dispose();
  const warning = xgrammarMessage(rt.inst.takeLog(), "WARNING");
  if (warning) throw new GlimpseConfigError(c.field, `not fully supported by XGrammar: ${warning}`);
}

export class ConstraintCompiler {
  private main: Promise<XGrammarRuntime> | null = null;
  private readonly cache = new CompiledCache<CompiledConstraint>(undefined, (c) => c.grammar.dispose());

  /** `vocab` is read on the first compile. */
  constructor(private readonly vocab: () => VocabInfo) {}

  /** Whether XGrammar was loaded for this model (a constraint was compiled). */
  get loaded(): boolean {
    return this.main !== null;
  }

  /** The compiled grammar of a checked constraint: from the cache, or checked and compiled (a rejection is cached too). */
  compile(c: CheckedConstraint): Promise<CompiledConstraint> {
    return this.cache.get(c.key, () => this.build(c));
  }

  /** A new matcher for a compiled grammar. */
  async matcher(compiled: CompiledConstraint): Promise<GrammarMatcher> {
    const { xg } = compiled.runtime.inst;
    // createGrammarMatcher only reads the handle and the vocabulary size of what it is given; asking the
    // compiled grammar for its tokenizer info would leave a wasm object behind on every call.
    const view = { handle: compiled.grammar.handle, tokenizerInfo: () => ({ getVocabSize: () => compiled.runtime.vocabSize }) };
    return xg.GrammarMatcher.createGrammarMatcher(view as unknown as CompiledGrammar);
  }

  private async build(c: CheckedConstraint): Promise<CompiledConstraint> {
    await checkCompiles(c);
    const pending = (this.main ??= makeRuntime(this.vocab()));
    let runtime: XGrammarRuntime;
    try {
      runtime = await pending;
    } catch (err) {
      if (this.main === pending) this.main = null;
      throw err;
    }
    runtime.inst.takeLog();
    try {
      return { grammar: await compileOn(runtime, c), runtime };
    } catch (err) {
      // Compiled on the checker but not here (out of memory, say): this instance aborted. New compiles get a
      // fresh one; grammars compiled here are dropped from the cache (requests using them finish on it).
      if (this.main === pending) this.main = null;
      this.cache.clear(false);
      throw new Error(`XGrammar failed to compile ${c.field} for this model: ${xgrammarMessage(runtime.inst.takeLog()) ?? (err as Error).message}`);
    }
  }
}
