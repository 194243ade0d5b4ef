// IEEE half-precision (float16) bits <-> float32, for graphs whose logits,
// hidden states or masks are float16 (onnxruntime-node in Node 20 hands them
// over as Uint16Array). Bit arithmetic, no lookup table: one pass per tensor.

/** 2^-24: the value of the least half-precision subnormal. */
const SUBNORMAL = 5.960464477539063e-8;

/** float16 bits -> float32 values (exact: every half is a float). */
export function halfToFloat(src: Uint16Array, dst = new Float32Array(src.length)): Float32Array {
  const bits = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) {
    const h = src[i];
    const e = h & 0x7c00;
    if (e === 0) {
      // zero or subnormal: mantissa * 2^-24, with the sign
      const m = (h & 0x3ff) * SUBNORMAL;
      dst[i] = h & 0x8000 ? -m : m;
    } else if (e === 0x7c00) {
      bits[i] = ((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13); // inf, NaN
    } else {
      // rebias the exponent (15 -> 127): add 112 << 23 to the shifted bits
      bits[i] = (((h & 0x8000) << 16) | (((h & 0x7fff) << 13) + 0x38000000)) >>> 0;
    }
  }
  return dst;
}

/**
 * An additive attention mask (0 = attend, very negative = masked) as float16
 * bits: 0 stays 0, anything below -65504 becomes -65504 (the most negative
 * finite half: masked, without infinities that NaN a row through softmax).
 */
export function maskToHalf(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) if (src[i] !== 0) out[i] = 0xfbff;
  return out;
}
