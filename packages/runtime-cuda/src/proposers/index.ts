// Builds the proposer a speculative configuration asks for.

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { GlimpseConfigError } from "../errors.js";
import type { ModelConfig } from "../model/model-config.js";
import type { ProviderChoice, SessionOptions } from "../model/session.js";
import { ArcticProposer } from "./arctic.js";
import { HybridProposer } from "./hybrid.js";
import { NgramProposer } from "./ngram.js";
import type { Proposer } from "./proposer.js";
import type { SpeculativeConfig } from "./speculative-config.js";
import { SuffixProposer } from "./suffix.js";

export interface ProposerContext {
  modelDir: string;
  model: ModelConfig;
  hasHidden: boolean;
  provider: ProviderChoice;
  session: SessionOptions;
}

/** The suffix proposer; `maxSpecTokens` caps its drafts (the hybrid's suffix side drafts at the tree depth). */
function suffixFrom(c: SpeculativeConfig, maxSpecTokens: number): SuffixProposer {
  return new SuffixProposer({
    maxTreeDepth: c.suffixMaxDepth,
    maxCachedRequests: c.suffixMaxCachedRequests,
    maxSpecTokens,
    maxSpecFactor: c.suffixMaxSpecFactor,
    maxSpecOffset: c.suffixMaxSpecOffset,
    minTokenProb: c.suffixMinTokenProb,
    useTreeSpec: c.suffixUseTreeSpec,
  });
}

export async function createProposer(c: SpeculativeConfig, ctx: ProposerContext): Promise<Proposer> {
  const proposer = await build(c, ctx);
  if (proposer.needsHidden && !ctx.hasHidden) {
    await proposer.dispose();
    throw new GlimpseConfigError("speculative_config.method", `the ${proposer.method} proposer needs a model graph with a last_hidden_state output; this model has none`);
  }
  return proposer;
}

async function build(c: SpeculativeConfig, ctx: ProposerContext): Promise<Proposer> {
  switch (c.method) {
    case "suffix":
      return suffixFrom(c, c.numSpeculativeTokens!);
    case "ngram":
      return new NgramProposer(c.promptLookupMin, c.promptLookupMax, c.numSpeculativeTokens!);
    case "arctic":
    case "mlp_speculator": {
      // A relative speculator path: from the working directory, else inside the model folder.
      const dir = existsSync(resolve(c.model!)) ? resolve(c.model!) : resolve(ctx.modelDir, c.model!);
      const arctic = await ArcticProposer.load(dir, ctx.model, c.numSpeculativeTokens, ctx.provider, ctx.session);
      return c.enableSuffixDecoding ? new HybridProposer(suffixFrom(c, c.suffixMaxDepth), arctic) : arctic;
    }
  }
}

export { parseSpeculativeConfig, METHODS, type SpeculativeConfig, type SpeculativeConfigInput } from "./speculative-config.js";
export type { Proposal, Proposer, ProposeInput, SuffixDocuments, SuffixState, SyncProposer } from "./proposer.js";
export { SuffixProposer } from "./suffix.js";
export { NgramProposer } from "./ngram.js";
export { ArcticProposer } from "./arctic.js";
export { HybridProposer } from "./hybrid.js";
