/**
 * Plain TypeScript reference of shaders/conv2d.wgsl (PyTorch's nn.Conv2d, padding_mode 'zeros' or
 * 'circular'), in float64 arithmetic.
 */

export interface Conv2dShape {
  B: number;
  Cin: number;
  H: number;
  W: number;
  Cout: number;
  k: number;
  stride?: number;
  /** [top, bottom, left, right] */
  padding?: [number, number, number, number];
  /** 'zeros' (default): taps outside x read 0; 'circular': they read the opposite edge. */
  paddingMode?: 'zeros' | 'circular';
}

/** The output's [Ho, Wo]: ⌊(H + top + bottom - k) / stride⌋ + 1, likewise for W. */
export function conv2dOutSize({ H, W, k, stride = 1, padding = [0, 0, 0, 0] }: Conv2dShape): [number, number] {
  const [top, bottom, left, right] = padding;
  return [Math.floor((H + top + bottom - k) / stride) + 1, Math.floor((W + left + right - k) / stride) + 1];
}

/** x [B, Cin, H, W], weight [Cout, Cin, k, k], bias [Cout] → out [B, Cout, Ho, Wo]. */
export function conv2d(x: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number> | undefined, s: Conv2dShape): Float32Array {
  const { B, Cin, H, W, Cout, k, stride = 1, padding = [0, 0, 0, 0], paddingMode = 'zeros' } = s;
  const circular = paddingMode === 'circular';
  const [Ho, Wo] = conv2dOutSize(s);
  const [top, , left] = padding;
  const out = new Float32Array(B * Cout * Ho * Wo);
  for (let b = 0; b < B; b++)
    for (let co = 0; co < Cout; co++)
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++) {
          let sum = bias ? bias[co] : 0;
          for (let ci = 0; ci < Cin; ci++)
            for (let ky = 0; ky < k; ky++)
              for (let kx = 0; kx < k; kx++) {
                let iy = oy * stride - top + ky;
                let ix = ox * stride - left + kx;
                if (circular) {
                  iy = ((iy % H) + H) % H;
                  ix = ((ix % W) + W) % W;
                } else if (iy < 0 || ix < 0 || iy >= H || ix >= W) {
                  continue;
                }
                sum += weight[((co * Cin + ci) * k + ky) * k + kx] * x[((b * Cin + ci) * H + iy) * W + ix];
              }
          out[((b * Cout + co) * Ho + oy) * Wo + ox] = sum;
        }
  return out;
}
