// Checks the embedded model (models/glimpse-coder-tiny) with onnxruntime-node against outputs computed by
// PyTorch when the model was exported (fixtures written by tools/train/glimpse_train/fixtures.py), and the
// tokenizer against the Python tokenizer's ids. Files are read relative to this test file; no network.
// GLIMPSE_MODEL_DIR points the suite at another model folder (e.g. the smoke pipeline's output).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, beforeAll } from "vitest";
import * as ortModule from "onnxruntime-node";
import { Tokenizer } from "@huggingface/tokenizers";

type Ort = typeof ortModule;
const ort: Ort = ((ortModule as unknown as { default?: Ort }).default ?? ortModule) as Ort;

const here = path.dirname(fileURLToPath(import.meta.url));
const modelDir = process.env.GLIMPSE_MODEL_DIR ?? path.resolve(here, "../../../models/glimpse-coder-tiny");
const readJson = <T = any>(rel: string): T => JSON.parse(fs.readFileSync(path.join(modelDir, rel), "utf8")) as T;

const options: ortModule.InferenceSession.SessionOptions = {
  intraOpNumThreads: 2,
  interOpNumThreads: 1,
  extra: { session: { intra_op: { allow_spinning: "0" } } },
};

const TOL = 1e-4;
const int64 = (v: number[], dims: number[]) => new ort.Tensor("int64", BigInt64Array.from(v.map(BigInt)), dims);
const f32 = (v: ArrayLike<number>, dims: number[]) => new ort.Tensor("float32", Float32Array.from(v), dims);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** logits [b,s,V] -> first `k` entries of every position, flattened; and argmax per position. */
function sliceAndArgmax(t: ortModule.Tensor, k: number): { slice: number[]; argmax: number[] } {
  const [b, s, v] = t.dims as number[];
  const data = t.data as Float32Array;
  const slice: number[] = [];
  const argmax: number[] = [];
  for (let p = 0; p < b * s; p++) {
    const row = data.subarray(p * v, (p + 1) * v);
    for (let i = 0; i < k; i++) slice.push(row[i]);
    let best = 0;
    for (let i = 1; i < v; i++) if (row[i] > row[best]) best = i;
    argmax.push(best);
  }
  return { slice, argmax };
}

const config = readJson("config.json");
const cfg = readJson("fixtures/model.json").config as {
  n_layers: number; n_kv_heads: number; head_dim: number; hidden_size: number; vocab_size: number;
};

function emptyPast(batch: number): Record<string, ortModule.Tensor> {
  const feeds: Record<string, ortModule.Tensor> = {};
  for (let i = 0; i < cfg.n_layers; i++)
    for (const kv of ["key", "value"])
      feeds[`past_key_values.${i}.${kv}`] = f32([], [batch, cfg.n_kv_heads, 0, cfg.head_dim]);
  return feeds;
}

function pastFrom(out: ortModule.InferenceSession.OnnxValueMapType): Record<string, ortModule.Tensor> {
  const feeds: Record<string, ortModule.Tensor> = {};
  for (let i = 0; i < cfg.n_layers; i++)
    for (const kv of ["key", "value"]) feeds[`past_key_values.${i}.${kv}`] = out[`present.${i}.${kv}`] as ortModule.Tensor;
  return feeds;
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

describe("embedded model files", () => {
  it("has HF config files with the Llama layout and fits the size budget", () => {
    expect(config.model_type).toBe("llama");
    expect(config.tie_word_embeddings).toBe(true);
    expect(config.hidden_size).toBe(cfg.hidden_size);
    expect(config.num_hidden_layers).toBe(cfg.n_layers);
    expect(config.num_key_value_heads).toBe(cfg.n_kv_heads);
    expect(readJson("generation_config.json").eos_token_id).toBe(config.eos_token_id);
    for (const m of ["mlp", "lstm"]) {
      const sc = readJson(`speculator-${m}/config.json`);
      expect(sc.method).toBe(m);
      expect(sc.hidden_size).toBe(config.hidden_size);
      expect(sc.vocab_size).toBe(config.vocab_size);
      expect(sc.n_predict).toBeGreaterThan(0);
    }
    let total = 0;
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else total += fs.statSync(p).size;
      }
    };
    walk(modelDir);
    expect(total).toBeLessThanOrEqual(60 * 1024 * 1024);
    // the tied embedding is stored once: the file holds about 4 bytes per parameter, not + 4*V*d more
    const c = config;
    const kvDim = c.num_key_value_heads * c.head_dim;
    const perLayer = 2 * c.hidden_size * c.hidden_size + 2 * c.hidden_size * kvDim + 3 * c.hidden_size * c.intermediate_size + 2 * c.hidden_size;
    const params = c.vocab_size * c.hidden_size + c.num_hidden_layers * perLayer + c.hidden_size;
    const onnxBytes = fs.statSync(path.join(modelDir, "onnx/model.onnx")).size;
    expect(onnxBytes).toBeGreaterThanOrEqual(4 * params);
    expect(onnxBytes).toBeLessThan(4 * params + 2 * c.vocab_size * c.hidden_size);
  });
});

describe("tokenizer", () => {
  it("@huggingface/tokenizers gives the same ids as the Python tokenizer, and decodes back", () => {
    const tok = new Tokenizer(readJson("tokenizer.json"), readJson("tokenizer_config.json"));
    const { samples } = readJson<{ samples: { text: string; ids: number[] }[] }>("fixtures/tokenizer.json");
    expect(samples.length).toBeGreaterThan(10);
    for (const s of samples) {
      const ids = tok.encode(s.text).ids;
      expect(ids, JSON.stringify(s.text)).toEqual(s.ids);
      expect(tok.decode(ids, { skip_special_tokens: false })).toBe(s.text);
    }
  });
});

describe("target model (onnx/model.onnx, 2-D mask)", () => {
  let session: ortModule.InferenceSession;
  const fx = readJson("fixtures/model.json");
  const K: number = fx.logit_slice;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(path.join(modelDir, "onnx/model.onnx"), options);
  });

  it("exposes the decoder-with-past signature", () => {
    expect(session.inputNames.slice(0, 3)).toEqual(["input_ids", "attention_mask", "position_ids"]);
    expect(session.inputNames).toContain(`past_key_values.${cfg.n_layers - 1}.value`);
    expect(session.outputNames.slice(0, 2)).toEqual(["logits", "last_hidden_state"]);
    expect(session.outputNames).toContain(`present.${cfg.n_layers - 1}.value`);
  });

  it("matches PyTorch on prefill, decode with past, and a 16-token greedy loop", async () => {
    const ids: number[] = fx.prefill.input_ids;
    const n = ids.length;
    const out = await session.run({
      input_ids: int64(ids, [1, n]), attention_mask: int64(Array(n).fill(1), [1, n]),
      position_ids: int64(range(0, n), [1, n]), ...emptyPast(1),
    });
    const logits = out.logits as ortModule.Tensor;
    expect(logits.dims).toEqual([1, n, cfg.vocab_size]);
    const a = sliceAndArgmax(logits, K);
    expect(maxAbsDiff(a.slice, fx.prefill.logits_slice)).toBeLessThanOrEqual(TOL);
    expect(a.argmax).toEqual(fx.prefill.argmax);
    const hidden = out.last_hidden_state as ortModule.Tensor;
    expect(hidden.dims).toEqual([1, n, cfg.hidden_size]);
    const lastHidden = (hidden.data as Float32Array).subarray((n - 1) * cfg.hidden_size);
    expect(maxAbsDiff(lastHidden, fx.prefill.last_hidden_state_last)).toBeLessThanOrEqual(TOL);

    const more: number[] = fx.decode.input_ids;
    const k = more.length;
    let out2 = await session.run({
      input_ids: int64(more, [1, k]), attention_mask: int64(Array(n + k).fill(1), [1, n + k]),
      position_ids: int64(range(n, n + k), [1, k]), ...pastFrom(out),
    });
    const b = sliceAndArgmax(out2.logits as ortModule.Tensor, K);
    expect(maxAbsDiff(b.slice, fx.decode.logits_slice)).toBeLessThanOrEqual(TOL);
    expect(b.argmax).toEqual(fx.decode.argmax);
    expect((out2["present.0.key"] as ortModule.Tensor).dims).toEqual([1, cfg.n_kv_heads, n + k, cfg.head_dim]);

    const greedy: number[] = [];
    let cur = b.argmax[k - 1];
    let len = n + k;
    for (let step = 0; step < fx.greedy_after_decode.length; step++) {
      greedy.push(cur);
      out2 = await session.run({
        input_ids: int64([cur], [1, 1]), attention_mask: int64(Array(len + 1).fill(1), [1, len + 1]),
        position_ids: int64([len], [1, 1]), ...pastFrom(out2),
      });
      len += 1;
      cur = sliceAndArgmax(out2.logits as ortModule.Tensor, 0).argmax[0];
    }
    expect(greedy).toEqual(fx.greedy_after_decode);
  });

  it("handles batch 2 with left padding", async () => {
    const c = fx.batch_padding;
    const T = c.input_ids[0].length;
    const out = await session.run({
      input_ids: int64(c.input_ids.flat(), [2, T]), attention_mask: int64(c.attention_mask.flat(), [2, T]),
      position_ids: int64(c.position_ids.flat(), [2, T]), ...emptyPast(2),
    });
    const { slice, argmax } = sliceAndArgmax(out.logits as ortModule.Tensor, K);
    const last = [...slice.slice((T - 1) * K, T * K), ...slice.slice((2 * T - 1) * K, 2 * T * K)];
    expect(maxAbsDiff(last, c.last_logits_slice)).toBeLessThanOrEqual(TOL);
    expect([argmax[T - 1], argmax[2 * T - 1]]).toEqual(c.last_argmax);
  });
});

describe("tree-verification variant (onnx/model_tree.onnx, additive 4-D mask)", () => {
  it("verifies a two-branch tree in one call, matching PyTorch and the 2-D graph run per branch", async () => {
    const chain = await ort.InferenceSession.create(path.join(modelDir, "onnx/model.onnx"), options);
    const tree = await ort.InferenceSession.create(path.join(modelDir, "onnx/model_tree.onnx"), options);
    const fx = readJson("fixtures/tree.json");
    const K: number = readJson("fixtures/model.json").logit_slice;
    const n = fx.prefix_ids.length;
    const pre = await chain.run({
      input_ids: int64(fx.prefix_ids, [1, n]), attention_mask: int64(Array(n).fill(1), [1, n]),
      position_ids: int64(range(0, n), [1, n]), ...emptyPast(1),
    });
    const s = fx.node_ids.length;
    const mask = new Float32Array(s * (n + s)).fill(fx.mask_value);
    fx.ancestors.forEach((anc: number[], i: number) => {
      for (let j = 0; j < n; j++) mask[i * (n + s) + j] = 0;
      for (const a of anc) mask[i * (n + s) + n + a] = 0;
    });
    const out = await tree.run({
      input_ids: int64(fx.node_ids, [1, s]), attention_mask: f32(mask, [1, 1, s, n + s]),
      position_ids: int64(fx.position_ids, [1, s]), ...pastFrom(pre),
    });
    const t = sliceAndArgmax(out.logits as ortModule.Tensor, K);
    expect(maxAbsDiff(t.slice, fx.logits_slice)).toBeLessThanOrEqual(TOL);
    expect(t.argmax).toEqual(fx.argmax);
    // branch r-a1-a2 through the 2-D graph must give the tree's first three rows
    const branch = await chain.run({
      input_ids: int64(fx.node_ids.slice(0, 3), [1, 3]), attention_mask: int64(Array(n + 3).fill(1), [1, n + 3]),
      position_ids: int64(range(n, n + 3), [1, 3]), ...pastFrom(pre),
    });
    const c = sliceAndArgmax(branch.logits as ortModule.Tensor, K);
    expect(maxAbsDiff(c.slice, t.slice.slice(0, 3 * K))).toBeLessThanOrEqual(TOL);
    // The tree graph outputs only the new positions' K/V: for r, a1, a2 they
    // are what the 2-D graph appended to its full present for that branch.
    const last = cfg.n_layers - 1;
    for (const kv of ["key", "value"]) {
      const appended = out[`present_append.${last}.${kv}`] as ortModule.Tensor;
      const full = branch[`present.${last}.${kv}`] as ortModule.Tensor;
      expect(appended.dims).toEqual([1, cfg.n_kv_heads, s, cfg.head_dim]);
      const d = cfg.head_dim;
      for (let h = 0; h < cfg.n_kv_heads; h++) {
        const want = (full.data as Float32Array).subarray((h * (n + 3) + n) * d, (h * (n + 3) + n + 3) * d);
        const got = (appended.data as Float32Array).subarray(h * s * d, (h * s + 3) * d);
        expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(TOL);
      }
    }
  });
});

describe("Arctic speculators (speculator-mlp, speculator-lstm)", () => {
  const fx = readJson("fixtures/speculators.json");
  for (const method of ["mlp", "lstm"]) {
    it(`${method}: greedy drafts and probabilities match PyTorch`, async () => {
      const session = await ort.InferenceSession.create(path.join(modelDir, `speculator-${method}/model.onnx`), options);
      expect(session.inputNames).toEqual(["hidden_state", "last_token"]);
      expect(session.outputNames).toEqual(["token_ids", "probs"]);
      const b = fx.last_token.length;
      const out = await session.run({
        hidden_state: f32(fx.hidden_state.flat(), [b, cfg.hidden_size]),
        last_token: int64(fx.last_token, [b]),
      });
      const n = readJson(`speculator-${method}/config.json`).n_predict;
      expect(out.token_ids.dims).toEqual([b, n]);
      expect(Array.from(out.token_ids.data as BigInt64Array, Number)).toEqual(fx[method].token_ids.flat());
      expect(maxAbsDiff(out.probs.data as Float32Array, fx[method].probs)).toBeLessThanOrEqual(TOL);
    });
  }
});
