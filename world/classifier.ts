/**
 * A linear classifier for the checker, fitted in closed form by linear discriminant analysis:
 * features are standardised with the training set's mean and deviation, classes share one
 * within-class covariance (shrunk towards the identity), and class probabilities are the softmax of
 * linear logits. Deterministic and fast enough (milliseconds) to fit at first use on the world's own
 * images.
 */

/** A fitted model: standardisation, then logits = W·[x, 1] for each class. */
export interface LinearModel {
  classes: number;
  mean: Float64Array;
  std: Float64Array;
  /** [classes, features + 1], the bias last in each row. */
  weights: Float64Array;
}

function logitsInto(w: Float64Array, z: Float64Array, classes: number, out: Float64Array): void {
  const stride = z.length;
  for (let c = 0; c < classes; c++) {
    let s = 0;
    const o = c * stride;
    for (let j = 0; j < stride; j++) s += w[o + j] * z[j];
    out[c] = s;
  }
}

function softmaxInPlace(p: Float64Array): void {
  let max = -Infinity;
  for (let c = 0; c < p.length; c++) max = Math.max(max, p[c]);
  let sum = 0;
  for (let c = 0; c < p.length; c++) sum += p[c] = Math.exp(p[c] - max);
  for (let c = 0; c < p.length; c++) p[c] /= sum;
}

/** Class probabilities of one feature row (softmax of the linear logits). */
export function predictLinear(model: LinearModel, x: ArrayLike<number>): Float64Array {
  const d = model.mean.length;
  if (x.length !== d) throw new Error(`linear model: expected ${d} features; found ${x.length}`);
  const z = new Float64Array(d + 1);
  for (let j = 0; j < d; j++) z[j] = (x[j] - model.mean[j]) / model.std[j];
  z[d] = 1;
  const p = new Float64Array(model.classes);
  logitsInto(model.weights, z, model.classes, p);
  softmaxInPlace(p);
  return p;
}

/**
 * Linear discriminant analysis: class means and a shared within-class covariance (shrunk towards the
 * identity by `shrinkage`, on standardised features) give the logits x·Σ⁻¹μ_c - μ_c·Σ⁻¹μ_c / 2 + log
 * prior_c.
 */
export function fitLda(x: readonly Float64Array[], y: readonly number[], classes: number, shrinkage = 0.05): LinearModel {
  const n = x.length;
  const d = x[0].length;
  const { mean, std } = standardisation(x);
  const z = x.map((row) => row.map((v, j) => (v - mean[j]) / std[j]));
  const mu = Array.from({ length: classes }, () => new Float64Array(d));
  const counts = new Float64Array(classes);
  z.forEach((row, i) => {
    counts[y[i]]++;
    for (let j = 0; j < d; j++) mu[y[i]][j] += row[j];
  });
  mu.forEach((m, c) => m.forEach((_, j) => (m[j] /= Math.max(1, counts[c]))));
  const cov = new Float64Array(d * d);
  z.forEach((row, i) => {
    const m = mu[y[i]];
    for (let a = 0; a < d; a++) {
      const da = row[a] - m[a];
      for (let b = 0; b <= a; b++) cov[a * d + b] += (da * (row[b] - m[b])) / n;
    }
  });
  for (let a = 0; a < d; a++)
    for (let b = 0; b <= a; b++) {
      const v = (1 - shrinkage) * cov[a * d + b] + (a === b ? shrinkage : 0);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  const chol = cholesky(cov, d);
  const stride = d + 1;
  const weights = new Float64Array(classes * stride);
  mu.forEach((m, c) => {
    const w = choleskySolve(chol, d, m);
    let quad = 0;
    for (let j = 0; j < d; j++) {
      weights[c * stride + j] = w[j];
      quad += w[j] * m[j];
    }
    weights[c * stride + d] = -0.5 * quad + Math.log(Math.max(1, counts[c]) / n);
  });
  return { classes, mean, std, weights };
}

function standardisation(x: readonly Float64Array[]): { mean: Float64Array; std: Float64Array } {
  const n = x.length;
  const d = x[0].length;
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const row of x) for (let j = 0; j < d; j++) mean[j] += row[j] / n;
  for (const row of x) for (let j = 0; j < d; j++) std[j] += (row[j] - mean[j]) ** 2 / n;
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]) || 1;
  return { mean, std };
}

/** Lower-triangular L with L·Lᵀ = a (a symmetric positive definite, d x d). */
function cholesky(a: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j];
      for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
      l[i * d + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / l[j * d + j];
    }
  return l;
}

function choleskySolve(l: Float64Array, d: number, b: Float64Array): Float64Array {
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * d + k] * y[k];
    y[i] = s / l[i * d + i];
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < d; k++) s -= l[k * d + i] * x[k];
    x[i] = s / l[i * d + i];
  }
  return x;
}
