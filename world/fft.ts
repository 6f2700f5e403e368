/**
 * A small radix-2 complex FFT for the checker's spectra: in place over rows then columns of a square
 * power-of-two grid (64 x 64 costs about 0.2 ms in plain TypeScript). Twiddles are cached per size.
 */

const twiddles = new Map<number, { cos: Float64Array; sin: Float64Array; rev: Uint32Array }>();

function tablesFor(n: number) {
  let t = twiddles.get(n);
  if (!t) {
    if (n < 2 || (n & (n - 1)) !== 0) throw new Error(`fft: size must be a power of two >= 2; found ${n}`);
    const cos = new Float64Array(n / 2);
    const sin = new Float64Array(n / 2);
    for (let i = 0; i < n / 2; i++) {
      cos[i] = Math.cos((2 * Math.PI * i) / n);
      sin[i] = -Math.sin((2 * Math.PI * i) / n);
    }
    const bits = Math.log2(n);
    const rev = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      rev[i] = r;
    }
    t = { cos, sin, rev };
    twiddles.set(n, t);
  }
  return t;
}

/** In-place forward FFT of n complex values at re[off + k·stride], im[off + k·stride]. */
function fft1d(re: Float64Array, im: Float64Array, n: number, off: number, stride: number): void {
  const { cos, sin, rev } = tablesFor(n);
  for (let i = 0; i < n; i++) {
    const j = rev[i];
    if (j > i) {
      const a = off + i * stride;
      const b = off + j * stride;
      const r = re[a];
      re[a] = re[b];
      re[b] = r;
      const m = im[a];
      im[a] = im[b];
      im[b] = m;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const step = n / len;
    for (let start = 0; start < n; start += len) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step];
        const wi = sin[k * step];
        const a = off + (start + k) * stride;
        const b = off + (start + k + half) * stride;
        const xr = re[b] * wr - im[b] * wi;
        const xi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
}

/** In-place forward 2D FFT of an n x n complex grid (row-major). */
export function fft2d(re: Float64Array, im: Float64Array, n: number): void {
  for (let y = 0; y < n; y++) fft1d(re, im, n, y * n, 1);
  for (let x = 0; x < n; x++) fft1d(re, im, n, x, n);
}

/**
 * Power spectrum |F(kx, ky)|² of a real n x n grid, and its circular autocorrelation (the inverse
 * transform of the power, divided by n², so entry 0 is the sum of squares).
 */
export function powerAndAutocorrelation(values: ArrayLike<number>, n: number): { power: Float64Array; autocorrelation: Float64Array } {
  const re = Float64Array.from(values);
  const im = new Float64Array(n * n);
  fft2d(re, im, n);
  const power = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) power[i] = re[i] * re[i] + im[i] * im[i];
  // The power is real and even, so its forward transform equals n² times its inverse.
  const acRe = Float64Array.from(power);
  const acIm = new Float64Array(n * n);
  fft2d(acRe, acIm, n);
  for (let i = 0; i < n * n; i++) acRe[i] /= n * n;
  return { power, autocorrelation: acRe };
}
