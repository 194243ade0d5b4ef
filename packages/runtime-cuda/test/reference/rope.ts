// Rotary position embedding as Hugging Face applies it (modeling_llama.apply_rotary_pos_emb):
// the head vector's first and second halves form the rotated pairs (x[i], x[i + d/2]) -- "rotate_half",
// not the interleaved (x[2i], x[2i+1]) pairs of the original Llama code -- and pair i turns by
// position * invFreq[i]. rope_scaling changes invFreq: "linear" divides it by factor (the same as
// dividing positions by factor); "llama3" (modeling_rope_utils._compute_llama3_parameters) divides
// the low frequencies by factor, keeps the high ones, and blends smoothly in between.
import type { RefConfig } from "./config.js";

export type RopeStyle = "rotate_half" | "interleaved";

export function inverseFrequencies(c: Pick<RefConfig, "headDim" | "ropeTheta" | "ropeScaling">): Float64Array {
  const half = c.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / c.ropeTheta ** ((2 * i) / c.headDim);
  const s = c.ropeScaling;
  if (!s) return inv;
  if (s.type === "linear") return inv.map((f) => f / s.factor);
  const lowFreqWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositions / s.highFreqFactor;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highFreqWavelen) return f;
    if (wavelen > lowFreqWavelen) return f / s.factor;
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}

/** Rotates one head vector x (length headDim, at offset) in place for a token at `position`. */
export function applyRope(x: Float64Array, offset: number, headDim: number, position: number, inv: Float64Array, style: RopeStyle): void {
  const half = headDim / 2;
  for (let i = 0; i < half; i++) {
    const angle = position * inv[i];
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    // rotate_half pairs element i with i + d/2; the interleaved variant (kept only so a test can show
    // it does not match) pairs 2i with 2i + 1.
    const a = style === "rotate_half" ? offset + i : offset + 2 * i;
    const b = style === "rotate_half" ? offset + i + half : offset + 2 * i + 1;
    const x1 = x[a];
    const x2 = x[b];
    x[a] = x1 * cos - x2 * sin;
    x[b] = x2 * cos + x1 * sin;
  }
}
