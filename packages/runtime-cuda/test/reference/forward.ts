// A slow, readable forward pass for Llama, Qwen2 and Qwen3 causal LMs, from config.json and the
// safetensors weights, following Hugging Face transformers' semantics (modeling_llama / qwen2 / qwen3):
//   x = embed_tokens[token]
//   per layer: h = RMSNorm(x); q, k, v = h Wq (+bq), h Wk (+bk), h Wv (+bv)   (biases: Qwen2)
//              Qwen3: RMSNorm each q and k head over head_dim (q_norm, k_norm), before RoPE
//              RoPE (rotate_half) on q, k; GQA: query head j reads kv head floor(j / (heads / kv_heads))
//              attention softmax(q k^T / sqrt(head_dim)) v over positions <= own; x += o_proj(...)
//              x += down(silu(gate(RMSNorm(x))) * up(RMSNorm(x)))
//   logits = RMSNorm(x) W_lm   (W_lm = embed_tokens when tie_word_embeddings)
// It runs one token at a time with a KV cache: a causal prefill gives the same values.
import { readCheckpoint, type Tensor } from "./safetensors.js";
import { readRefConfig, type RefConfig } from "./config.js";
import { applyRope, inverseFrequencies, type RopeStyle } from "./rope.js";
import { greedyPick, matvec, rmsNorm, silu } from "./ops.js";

export interface ReferenceOptions {
  /** A deliberately wrong RoPE pairing, for tests that show the comparison can fail. */
  ropeStyle?: RopeStyle;
  /** Drop rope_scaling (also only for such tests). */
  ignoreRopeScaling?: boolean;
}

/** Keys and values of every position so far, per layer: [position][kvHeads * headDim]. */
export interface KvCache {
  keys: Float64Array[][];
  values: Float64Array[][];
}

export interface GreedyResult {
  tokens: number[];
  /** log-softmax of each chosen token. */
  logprobs: number[];
  /** Gap between the best and second-best logit at each step (how safe the argmax is). */
  margins: number[];
}

// Weights widened to float64 once per tensor (shared by models made with withOptions / withTensor):
// the exact same values, and loops over one array type run about twice as fast.
const wide = new WeakMap<Tensor, Float64Array>();
function widen(t: Tensor): Float64Array {
  let d = wide.get(t);
  if (!d) wide.set(t, (d = Float64Array.from(t.data)));
  return d;
}

export class ReferenceModel {
  private readonly inv: Float64Array;
  private readonly ropeStyle: RopeStyle;

  private constructor(
    readonly config: RefConfig,
    readonly weights: Map<string, Tensor>,
    options: ReferenceOptions,
  ) {
    const scaling = options.ignoreRopeScaling ? undefined : config.ropeScaling;
    this.inv = inverseFrequencies({ ...config, ropeScaling: scaling });
    this.ropeStyle = options.ropeStyle ?? "rotate_half";
  }

  static load(dir: string, options: ReferenceOptions = {}): ReferenceModel {
    return new ReferenceModel(readRefConfig(dir), readCheckpoint(dir), options);
  }

  /** The same model with one tensor replaced (for tests that show a wrong weight is noticed). */
  withTensor(name: string, data: Float32Array, options: ReferenceOptions = {}): ReferenceModel {
    const old = this.weights.get(name);
    if (!old || old.data.length !== data.length) throw new Error(`reference: no tensor ${name} of ${data.length} values`);
    return new ReferenceModel(this.config, new Map(this.weights).set(name, { shape: old.shape, data }), options);
  }

  /** The same weights under other options (no second read). */
  withOptions(options: ReferenceOptions): ReferenceModel {
    return new ReferenceModel(this.config, this.weights, options);
  }

  private w(name: string): Float64Array {
    const t = this.weights.get(name);
    if (!t) throw new Error(`reference: checkpoint has no tensor ${name}`);
    return widen(t);
  }

  private maybe(name: string): Float64Array | undefined {
    const t = this.weights.get(name);
    return t && widen(t);
  }

  newCache(): KvCache {
    return { keys: Array.from({ length: this.config.layers }, () => []), values: Array.from({ length: this.config.layers }, () => []) };
  }

  /** Runs one token at the next position of `cache` and returns the final hidden state (after the norm). */
  hidden(token: number, cache: KvCache): Float64Array {
    const c = this.config;
    const pos = cache.keys[0].length;
    const emb = this.w("model.embed_tokens.weight");
    let x = Float64Array.from(emb.subarray(token * c.hidden, (token + 1) * c.hidden));
    for (let l = 0; l < c.layers; l++) {
      const p = `model.layers.${l}.`;
      const h = rmsNorm(x, this.w(`${p}input_layernorm.weight`), c.eps);
      const attn = this.attention(l, h, pos, cache);
      x = x.map((v, i) => v + attn[i]);
      const h2 = rmsNorm(x, this.w(`${p}post_attention_layernorm.weight`), c.eps);
      const gate = matvec(this.w(`${p}mlp.gate_proj.weight`), c.ffn, c.hidden, h2);
      const up = matvec(this.w(`${p}mlp.up_proj.weight`), c.ffn, c.hidden, h2);
      const act = gate.map((g, i) => silu(g) * up[i]);
      const down = matvec(this.w(`${p}mlp.down_proj.weight`), c.hidden, c.ffn, act);
      x = x.map((v, i) => v + down[i]);
    }
    return rmsNorm(x, this.w("model.norm.weight"), c.eps);
  }

  private attention(l: number, h: Float64Array, pos: number, cache: KvCache): Float64Array {
    const c = this.config;
    const p = `model.layers.${l}.self_attn.`;
    const d = c.headDim;
    const q = matvec(this.w(`${p}q_proj.weight`), c.heads * d, c.hidden, h, this.maybe(`${p}q_proj.bias`));
    const k = matvec(this.w(`${p}k_proj.weight`), c.kvHeads * d, c.hidden, h, this.maybe(`${p}k_proj.bias`));
    const v = matvec(this.w(`${p}v_proj.weight`), c.kvHeads * d, c.hidden, h, this.maybe(`${p}v_proj.bias`));
    const qNorm = this.maybe(`${p}q_norm.weight`);
    const kNorm = this.maybe(`${p}k_norm.weight`);
    if (c.family === "qwen3" && (!qNorm || !kNorm)) throw new Error(`reference: Qwen3 layer ${l} lacks q_norm/k_norm`);
    for (let j = 0; j < c.heads; j++) {
      if (qNorm) q.set(rmsNorm(q, qNorm, c.eps, j * d, d), j * d);
      applyRope(q, j * d, d, pos, this.inv, this.ropeStyle);
    }
    for (let j = 0; j < c.kvHeads; j++) {
      if (kNorm) k.set(rmsNorm(k, kNorm, c.eps, j * d, d), j * d);
      applyRope(k, j * d, d, pos, this.inv, this.ropeStyle);
    }
    cache.keys[l].push(k);
    cache.values[l].push(v);
    const keys = cache.keys[l];
    const values = cache.values[l];
    const out = new Float64Array(c.heads * d);
    const group = c.heads / c.kvHeads;
    const scale = 1 / Math.sqrt(d);
    for (let j = 0; j < c.heads; j++) {
      const kv = Math.floor(j / group);
      const scores = keys.map((key) => {
        let s = 0;
        for (let i = 0; i < d; i++) s += q[j * d + i] * key[kv * d + i];
        return s * scale;
      });
      const max = Math.max(...scores);
      const weights = scores.map((s) => Math.exp(s - max));
      const total = weights.reduce((a, b) => a + b, 0);
      for (let t = 0; t < values.length; t++) {
        const wgt = weights[t] / total;
        for (let i = 0; i < d; i++) out[j * d + i] += wgt * values[t][kv * d + i];
      }
    }
    return matvec(this.w(`${p}o_proj.weight`), c.hidden, c.heads * d, out, this.maybe(`${p}o_proj.bias`));
  }

  /** Vocabulary logits from a final hidden state. */
  logits(hidden: Float64Array): Float64Array {
    const c = this.config;
    const head = c.tied ? this.w("model.embed_tokens.weight") : this.w("lm_head.weight");
    return matvec(head, c.vocabSize, c.hidden, hidden);
  }

  /** Logits after feeding `tokens` (at least one) into `cache`. */
  feed(tokens: readonly number[], cache: KvCache): Float64Array {
    let h: Float64Array = new Float64Array(0);
    for (const t of tokens) h = this.hidden(t, cache);
    return this.logits(h);
  }

  /** Greedy decoding of `maxTokens` tokens after `prompt` (no end-of-sequence stop). */
  greedy(prompt: readonly number[], maxTokens: number): GreedyResult {
    const cache = this.newCache();
    const result: GreedyResult = { tokens: [], logprobs: [], margins: [] };
    let logits = this.feed(prompt, cache);
    for (let n = 0; n < maxTokens; n++) {
      const pick = greedyPick(logits);
      result.tokens.push(pick.token);
      result.logprobs.push(pick.logprob);
      result.margins.push(pick.margin);
      if (n + 1 < maxTokens) logits = this.feed([pick.token], cache);
    }
    return result;
  }
}
