/**
 * VAR's multi-scale residual quantizer (`VectorQuantizer2` in the reference's `models/quant.py`):
 * the accumulated feature map f_hat grows by one upsampled, phi-refined codebook map per scale, and
 * the next scale's transformer input is f_hat area-downsampled to that scale.
 */
import type { Gpu, Recorder, Tensor } from '../../gpu/index.ts';
import { addScaled } from '../../kernels/activation.ts';
import { conv2d } from '../../kernels/conv2d.ts';
import { embedding, nearestCode } from '../../kernels/embedding.ts';
import { resizeArea, resizeBicubic } from '../../kernels/resize.ts';
import { transpose } from '../../kernels/transpose.ts';
import type { WeightLoader } from '../loader.ts';
import type { VaeConfig } from './config.ts';

export interface QuantizerWeights {
  embedding: Tensor; // [V, Cvae]: the codebook
  /** The shared phi convolutions quant_resi.qresi_ls.k: [Cvae, Cvae, 3, 3] (or that packed: WeightLoader.convWeight) and [Cvae] */
  phiW: Tensor[];
  phiB: Tensor[];
}

export async function loadQuantizerWeights(w: WeightLoader, cfg: VaeConfig): Promise<QuantizerWeights> {
  const C = cfg.zChannels;
  const K = cfg.shareQuantResi;
  if (K < 1) throw new Error(`VQVAE share_quant_resi=${K} is not supported (the public checkpoints use 4)`);
  const phiW: Tensor[] = [];
  const phiB: Tensor[] = [];
  for (let k = 0; k < K; k++) {
    const p = K === 1 ? 'quantize.quant_resi.qresi.' : `quantize.quant_resi.qresi_ls.${k}.`;
    phiW.push(await w.convWeight(`${p}weight`, [C, C, 3, 3]));
    phiB.push(await w.tensor(`${p}bias`, [C]));
  }
  // The codebook stays f32 even in an f16 model: nearest-code search compares distances.
  return { embedding: await w.tensor('quantize.embedding.weight', [cfg.vocabSize, C]), phiW, phiB };
}

/**
 * Which shared phi serves scale `si` of `S`: the tick nearest to si / (S - 1), ticks being
 * linspace(1/12, 11/12, 4) for K = 4 and linspace(1/(2K), 1 - 1/(2K), K) otherwise.
 */
export function phiIndex(si: number, S: number, K: number): number {
  if (K === 1) return 0;
  const lo = K === 4 ? 1 / 3 / K : 1 / 2 / K;
  const at = si / (S - 1);
  let best = 0;
  for (let k = 1; k < K; k++) {
    const tick = lo + ((1 - 2 * lo) * k) / (K - 1);
    const bestTick = lo + ((1 - 2 * lo) * best) / (K - 1);
    if (Math.abs(tick - at) < Math.abs(bestTick - at)) best = k;
  }
  return best;
}

/** Scratch maps for B images, allocated once per session. */
export class QuantizerScratch {
  readonly h: Tensor; // [B, Cvae, P²]: codebook map of one scale (at most P x P)
  readonly hUp: Tensor; // [B, Cvae, P, P]
  readonly conv: Tensor; // [B, Cvae, P, P]
  readonly down: Tensor; // [B, Cvae, P²]: area-downsampled map
  readonly tokens: Tensor; // [B, P², Cvae]: the same, token-major

  constructor(gpu: Gpu, cfg: VaeConfig, readonly batch: number) {
    const P = cfg.vPatchNums[cfg.vPatchNums.length - 1];
    const C = cfg.zChannels;
    this.h = gpu.tensor([batch, C, P * P], 'f32', 'q.h');
    this.hUp = gpu.tensor([batch, C, P, P], 'f32', 'q.h_up');
    this.conv = gpu.tensor([batch, C, P, P], 'f32', 'q.conv');
    this.down = gpu.tensor([batch, C, P * P], 'f32', 'q.down');
    this.tokens = gpu.tensor([batch, P * P, C], 'f32', 'q.tokens');
  }

  dispose(): void {
    for (const t of [this.h, this.hUp, this.conv, this.down, this.tokens]) t.dispose();
  }
}

/**
 * f_hat += phi_k(upsample(codebook[idx])) for scale si (`get_next_autoregressive_input`), or
 * f_rest -= the same when `sign` is -1 (quantising). idx: i32 [B, pn²]; fHat: [B, Cvae, P, P]. The
 * upsampling and phi wrap around for a VQVAE on the torus (`padding: 'circular'`).
 */
export function addScale(rec: Recorder, cfg: VaeConfig, q: QuantizerWeights, s: QuantizerScratch, targets: { tensor: Tensor; sign: number }[], idx: Tensor, si: number): void {
  const S = cfg.vPatchNums.length;
  const P = cfg.vPatchNums[S - 1];
  const pn = cfg.vPatchNums[si];
  const B = idx.shape[0];
  const C = cfg.zChannels;
  const h = s.h.view([B, C, pn * pn]);
  embedding(rec, h, q.embedding, idx, { layout: 'nchw' });
  // The last scale is already P x P; coarser ones are upsampled to it.
  const hP = si === S - 1 ? s.h.view([B, C, P, P]) : s.hUp.view([B, C, P, P]);
  if (si !== S - 1) resizeBicubic(rec, hP, h.view([B, C, pn, pn]), { paddingMode: cfg.padding });
  const ratio = cfg.quantResi;
  const k = phiIndex(si, S, q.phiW.length);
  const conv = s.conv.view([B, C, P, P]);
  if (Math.abs(ratio) > 1e-6) conv2d(rec, conv, hP, q.phiW[k], q.phiB[k], { padding: 1, paddingMode: cfg.padding });
  for (const { tensor, sign } of targets) {
    if (Math.abs(ratio) > 1e-6) {
      addScaled(rec, tensor, hP, sign * (1 - Math.abs(ratio)));
      addScaled(rec, tensor, conv, sign * Math.abs(ratio));
    } else {
      addScaled(rec, tensor, hP, sign);
    }
  }
}

/** f [B, Cvae, P, P] area-downsampled to pn x pn, token-major: [B, pn², Cvae]. */
export function downsampleTokens(rec: Recorder, cfg: VaeConfig, s: QuantizerScratch, f: Tensor, pn: number): Tensor {
  const [B, C] = f.shape;
  const down = s.down.view([B, C, pn, pn]);
  resizeArea(rec, down, f);
  const tokens = s.tokens.view([B, pn * pn, C]);
  transpose(rec, tokens, down.view([B, C, pn * pn]));
  return tokens;
}

/**
 * Quantises features f [B, Cvae, P, P] into one token map per scale (`f_to_idxBl_or_fhat`): at each
 * scale the remaining residual is area-downsampled, matched to its nearest codes, and the chosen
 * codes' contribution is added to f_hat and taken from the residual. Returns i32 [B, pn²] per scale.
 */
export function quantize(rec: Recorder, cfg: VaeConfig, q: QuantizerWeights, s: QuantizerScratch, f: Tensor, fRest: Tensor, fHat: Tensor, idx: Tensor[]): void {
  const S = cfg.vPatchNums.length;
  const [B, C] = f.shape;
  rec.copy(f.buffer, 0, fRest.buffer, 0, f.byteLength);
  rec.clear(fHat.buffer, 0, fHat.byteLength);
  cfg.vPatchNums.forEach((pn, si) => {
    let z = fRest.view([B, C, pn * pn]);
    if (si !== S - 1) {
      z = s.down.view([B, C, pn * pn]);
      resizeArea(rec, z.view([B, C, pn, pn]), fRest);
    }
    nearestCode(rec, idx[si], z, q.embedding);
    addScale(rec, cfg, q, s, [{ tensor: fHat, sign: 1 }, { tensor: fRest, sign: -1 }], idx[si], si);
  });
}
