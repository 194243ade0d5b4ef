// Seeded pseudo-random numbers (xoshiro128**), so a seed reproduces a sample.

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number = Math.floor(Math.random() * 2 ** 32)) {
    // splitmix32 expands the seed into the four state words.
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const result = Math.imul(((Math.imul(this.s1, 5) << 7) | (Math.imul(this.s1, 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = ((this.s3 << 11) | (this.s3 >>> 21)) >>> 0;
    return result / 4294967296;
  }
}

/**
 * The uniform number for output position `position` of a request seeded with
 * `seed`: independent of how many numbers earlier steps used.
 */
export function uniformAt(seed: number, position: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(position + 0x632be5ab, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  z = (z ^ (z >>> 16)) >>> 0;
  // 53 random bits from two rounds, for a fine-grained uniform.
  let w = (z + 0x9e3779b9) >>> 0;
  w = Math.imul(w ^ (w >>> 16), 0x21f0aaad) >>> 0;
  w = Math.imul(w ^ (w >>> 15), 0x735a2d97) >>> 0;
  w = (w ^ (w >>> 15)) >>> 0;
  return ((z >>> 5) * 67108864 + (w >>> 6)) / 9007199254740992;
}
