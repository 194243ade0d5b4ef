// Builds the proposer a speculative configuration asks for.

import { existsSync } from "node:fs";
import { resolve } from "node:path";
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

function suffixFrom(c: SpeculativeConfig): SuffixProposer {
  return new SuffixProposer({
    maxTreeDepth: c.suffixMaxDepth,
    maxCachedRequests: c.suffixMaxCachedRequests,
    maxSpecTokens: c.numSpeculativeTokens ?? c.suffixMaxDepth,
    maxSpecFactor: c.suffixMaxSpecFactor,
    maxSpecOffset: c.suffixMaxSpecOffset,
    minTokenProb: c.suffixMinTokenProb,
    useTreeSpec: c.suffixUseTreeSpec,
  });
}

export async function createProposer(c: SpeculativeConfig, ctx: ProposerContext): Promise<Proposer> {
  switch (c.method) {
    case "suffix":
      return suffixFrom(c);
    case "ngram":
      return new NgramProposer(c.promptLookupMin, c.promptLookupMax, c.numSpeculativeTokens ?? 5);
    case "arctic":
    case "mlp_speculator": {
      // A relative speculator path: from the working directory, else inside the model folder.
      const dir = existsSync(resolve(c.model!)) ? resolve(c.model!) : resolve(ctx.modelDir, c.model!);
      const arctic = await ArcticProposer.load(dir, ctx.model, ctx.hasHidden, c.numSpeculativeTokens, ctx.provider, ctx.session);
      return c.enableSuffixDecoding ? new HybridProposer(suffixFrom({ ...c, numSpeculativeTokens: undefined }), arctic) : arctic;
    }
  }
}

export { parseSpeculativeConfig, METHODS, type SpeculativeConfig, type SpeculativeConfigInput } from "./speculative-config.js";
export type { Draft, Proposer, ProposeInput } from "./proposer.js";
export { SuffixProposer } from "./suffix.js";
export { NgramProposer } from "./ngram.js";
export { ArcticProposer } from "./arctic.js";
export { HybridProposer } from "./hybrid.js";
