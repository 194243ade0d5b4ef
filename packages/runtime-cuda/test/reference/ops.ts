// Plain loops for the reference forward pass, in float64 so the reference is the more exact side
// of any comparison with an fp32 graph. Weights are row-major [out, in], as torch.nn.Linear stores them.

/** y = W x (+ b) for W [rows, cols]. */
export function matvec(w: Float64Array, rows: number, cols: number, x: Float64Array, bias?: Float64Array): Float64Array {
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = bias ? bias[r] : 0;
    const base = r * cols;
    for (let c = 0; c < cols; c++) acc += w[base + c] * x[c];
    y[r] = acc;
  }
  return y;
}

/** RMSNorm over `size` values at `offset`: x / sqrt(mean(x^2) + eps) * weight. Returns a new array. */
export function rmsNorm(x: Float64Array, weight: Float64Array, eps: number, offset = 0, size = x.length): Float64Array {
  let sq = 0;
  for (let i = 0; i < size; i++) sq += x[offset + i] * x[offset + i];
  const scale = 1 / Math.sqrt(sq / size + eps);
  const y = new Float64Array(size);
  for (let i = 0; i < size; i++) y[i] = x[offset + i] * scale * weight[i];
  return y;
}

export function silu(v: number): number {
  return v / (1 + Math.exp(-v));
}

/** Index of the largest value (the first on a tie), the gap to the runner-up, and log-softmax of the best. */
export function greedyPick(logits: Float64Array): { token: number; margin: number; logprob: number } {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  let second = -Infinity;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    if (i !== best && logits[i] > second) second = logits[i];
    sum += Math.exp(logits[i] - logits[best]);
  }
  return { token: best, margin: logits[best] - second, logprob: -Math.log(sum) };
}
