// Arctic speculator (MLP or LSTM heads, arXiv 2404.19124): one ONNX call
// drafts n_predict tokens from the target's last hidden state and the token
// it produced, for the whole batch at once.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { z } from "zod";
import { GlimpseConfigError, ModelLoadError } from "../errors.js";
import { createSession, type ProviderChoice, type SessionOptions } from "../model/session.js";
import type { ModelConfig } from "../model/model-config.js";
import type { Proposal, ProposeInput, Proposer } from "./proposer.js";

const speculatorConfig = z.looseObject({
  method: z.enum(["mlp", "lstm"]).optional(),
  n_predict: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  vocab_size: z.number().int().positive(),
});

export interface SpeculatorInfo {
  dir: string;
  method: string;
  nPredict: number;
}

export class ArcticProposer implements Proposer {
  readonly method = "arctic";
  readonly treeDrafts = false;
  readonly needsHidden = true;

  private constructor(
    readonly info: SpeculatorInfo,
    private readonly session: ort.InferenceSession,
    private readonly hiddenSize: number,
    readonly maxTokens: number,
  ) {}

  static async load(dir: string, model: ModelConfig, numTokens: number | undefined, provider: ProviderChoice, opts: SessionOptions): Promise<ArcticProposer> {
    const configPath = join(dir, "config.json");
    if (!existsSync(configPath)) throw new ModelLoadError(`speculator folder ${dir} has no config.json`);
    const parsed = speculatorConfig.safeParse(JSON.parse(readFileSync(configPath, "utf8")));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ModelLoadError(`${configPath}: field "${issue.path.join(".")}" ${issue.message}`);
    }
    const c = parsed.data;
    if (c.hidden_size !== model.hiddenSize || c.vocab_size !== model.vocabSize) {
      throw new GlimpseConfigError(
        "speculative_config.model",
        `speculator ${dir} is incompatible with the model: it expects hidden size ${c.hidden_size} and vocabulary ${c.vocab_size}, the model has ${model.hiddenSize} and ${model.vocabSize}`,
      );
    }
    // One thread: a speculator call is a few small matmuls, too little work to
    // pay for waking a second thread (measured: 1 thread is 10-15% faster).
    const session = await createSession(join(dir, "model.onnx"), provider, { ...opts, intraOpThreads: 1 });
    for (const name of ["hidden_state", "last_token"]) {
      if (!session.inputNames.includes(name)) throw new ModelLoadError(`${join(dir, "model.onnx")}: missing input ${name}`);
    }
    const maxTokens = Math.min(numTokens ?? c.n_predict, c.n_predict);
    return new ArcticProposer({ dir, method: c.method ?? "mlp", nPredict: c.n_predict }, session, c.hidden_size, maxTokens);
  }

  begin(): void {}
  append(): void {}
  end(): void {}

  async propose(inputs: ProposeInput[]): Promise<(Proposal | null)[]> {
    const rows = inputs.filter((i) => i.hidden);
    if (rows.length === 0) return inputs.map(() => null);
    const hidden = new Float32Array(rows.length * this.hiddenSize);
    const last = new BigInt64Array(rows.length);
    rows.forEach((r, i) => {
      hidden.set(r.hidden!, i * this.hiddenSize);
      last[i] = BigInt(r.tokens[r.tokens.length - 1]);
    });
    const out = await this.session.run({
      hidden_state: new ort.Tensor("float32", hidden, [rows.length, this.hiddenSize]),
      last_token: new ort.Tensor("int64", last, [rows.length]),
    });
    const ids = out.token_ids.data as BigInt64Array;
    const probs = out.probs.data as Float32Array;
    const n = this.info.nPredict;
    const drafts = new Map<ProposeInput, Proposal>();
    rows.forEach((r, i) => {
      const k = Math.min(this.maxTokens, r.maxTokens);
      const tokens: number[] = [];
      const chain: number[] = [];
      let p = 1;
      for (let j = 0; j < k; j++) {
        tokens.push(Number(ids[i * n + j]));
        // A head's token is kept only if every earlier one was.
        p *= probs[i * n + j];
        chain.push(p);
      }
      drafts.set(r, { tokens, parents: tokens.map((_, j) => j - 1), probs: chain, score: chain.reduce((a, b) => a + b, 0) });
    });
    return inputs.map((i) => drafts.get(i) ?? null);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
