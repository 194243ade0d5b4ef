// Chi-square tests for comparing sampled distributions.

// Regularized lower incomplete gamma P(a, x) (series / continued fraction).
function gammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  const lnGammaA = lnGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return sum * Math.exp(-x + a * Math.log(x) - lnGammaA);
  }
  let b = x + 1 - a;
  let c = 1e300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return 1 - Math.exp(-x + a * Math.log(x) - lnGammaA) * h;
}

function lnGamma(z: number): number {
  const g = [76.18009172947146, -86.50532032941678, 24.01409824083091, -1.231739572450155, 0.1208650973866179e-2, -0.5395239384953e-5];
  const x = z;
  let y = z;
  let tmp = x + 5.5;
  tmp -= (x + 0.5) * Math.log(tmp);
  let ser = 1.000000000190015;
  for (const c of g) ser += c / ++y;
  return -tmp + Math.log((2.5066282746310007 * ser) / x);
}

/** p-value of a chi-square statistic with `df` degrees of freedom. */
export function chiSquarePValue(stat: number, df: number): number {
  return 1 - gammaP(df / 2, stat / 2);
}

/** Goodness of fit of observed counts to probabilities (cells with expected count < 5 pooled). */
export function goodnessOfFit(counts: Map<number, number>, probs: ArrayLike<number>, n: number): number {
  let stat = 0;
  let df = -1;
  let pooledObs = 0;
  let pooledExp = 0;
  for (let t = 0; t < probs.length; t++) {
    const e = probs[t] * n;
    const o = counts.get(t) ?? 0;
    if (e < 5) {
      pooledObs += o;
      pooledExp += e;
      continue;
    }
    stat += ((o - e) * (o - e)) / e;
    df++;
  }
  if (pooledExp > 0) {
    stat += ((pooledObs - pooledExp) ** 2) / Math.max(pooledExp, 1e-9);
    df++;
  }
  return chiSquarePValue(stat, Math.max(df, 1));
}

/** Two-sample test: do samples `a` and `b` come from the same distribution? */
export function twoSample(a: number[], b: number[]): number {
  const ca = new Map<number, number>();
  const cb = new Map<number, number>();
  for (const x of a) ca.set(x, (ca.get(x) ?? 0) + 1);
  for (const x of b) cb.set(x, (cb.get(x) ?? 0) + 1);
  const keys = new Set([...ca.keys(), ...cb.keys()]);
  const na = a.length;
  const nb = b.length;
  let stat = 0;
  let df = -1;
  let restA = 0;
  let restB = 0;
  const cell = (oa: number, ob: number) => {
    const total = oa + ob;
    const ea = (total * na) / (na + nb);
    const eb = (total * nb) / (na + nb);
    stat += ((oa - ea) ** 2) / ea + ((ob - eb) ** 2) / eb;
    df++;
  };
  for (const k of keys) {
    const oa = ca.get(k) ?? 0;
    const ob = cb.get(k) ?? 0;
    if (oa + ob < 10) {
      restA += oa;
      restB += ob;
      continue;
    }
    cell(oa, ob);
  }
  if (restA + restB > 0) cell(restA, restB);
  return chiSquarePValue(stat, Math.max(df, 1));
}
