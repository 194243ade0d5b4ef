// Structured outputs in an engine: compiling constraints for its model
// (XGrammar loaded on the first one), and giving constrained requests their
// grammar before they join the batch.

import type { ModelConfig } from "../model/model-config.js";
import type { TextTokenizer } from "../model/tokenizer.js";
import type { RequestState } from "../scheduler/request.js";
import { checkConstraint, type CheckedConstraint, type OutputConstraint } from "./constraint.js";
import { ConstraintCompiler } from "./grammar-compiler.js";
import { RequestGrammar, type GrammarModel } from "./request-grammar.js";
import { readVocabInfo } from "./tokenizer-info.js";

export class EngineGrammar {
  private compiler: ConstraintCompiler | null = null;
  private readonly model: GrammarModel;

  constructor(private readonly modelDir: string, config: ModelConfig, tokenizer: TextTokenizer) {
    // The stop tokens of plain decoding (config, generation_config, the tokenizer's eos_token).
    const stopIds = [...config.eosTokenIds, ...(tokenizer.eosTokenId !== undefined ? [tokenizer.eosTokenId] : [])];
    this.model = { vocabSize: config.vocabSize, stopIds, encode: (text) => tokenizer.encode(text) };
  }

  /** Whether XGrammar was loaded (some constraint was compiled). */
  get loaded(): boolean {
    return this.compiler?.loaded === true;
  }

  private get compilerForModel(): ConstraintCompiler {
    return (this.compiler ??= new ConstraintCompiler(() => readVocabInfo(this.modelDir, this.model.vocabSize, this.model.stopIds)));
  }

  /** Checks and compiles a constraint (cached); json_prefix's `before` is tried too. Rejects with a GlimpseConfigError. */
  async prepare(constraint: OutputConstraint): Promise<void> {
    const c = checkConstraint(constraint);
    const compiled = await this.compilerForModel.compile(c);
    if (c.before !== undefined) (await RequestGrammar.create(this.compilerForModel, compiled, this.model, c.before)).dispose();
  }

  /** Gives a checked request its grammar (compiling the constraint if the cache lacks it). */
  async attach(r: RequestState, c: CheckedConstraint): Promise<void> {
    const compiler = this.compilerForModel;
    const g = await RequestGrammar.create(compiler, await compiler.compile(c), this.model, c.before);
    if (r.finishReason) g.dispose();
    else r.grammar = g;
  }
}
