/**
 * VAR's VQVAE encoder and decoder (`models/basic_vae.py` of the reference): ResNet blocks of
 * GroupNorm(32) + SiLU + 3x3 conv, single-head self-attention at the coarsest level, nearest 2x
 * upsampling (decoder) and right/bottom-padded stride-2 convs (encoder).
 *
 * Intermediate maps come from the buffer pool and go back right after their last use in recording
 * order; the GPU runs the recorded work in order, so a buffer reused later in the same recording never
 * races its earlier use, and after the first decode the pool serves every map without allocating.
 */
import type { Gpu, Recorder, Tensor } from '../../gpu/index.ts';
import { addScaled, clampAffine } from '../../kernels/activation.ts';
import { conv2d, type PaddingMode } from '../../kernels/conv2d.ts';
import { groupNorm } from '../../kernels/group-norm.ts';
import { linear } from '../../kernels/linear.ts';
import { matmul } from '../../kernels/matmul.ts';
import { upsampleNearest2x } from '../../kernels/resize.ts';
import { softmax } from '../../kernels/softmax.ts';
import { transpose } from '../../kernels/transpose.ts';
import type { WeightLoader } from '../loader.ts';
import type { VaeConfig } from './config.ts';

interface Conv { w: Tensor; b: Tensor } // w: [Cout, Cin, k, k] or that packed (WeightLoader.convWeight), b: [Cout]
interface Norm { w: Tensor; b: Tensor } // [C]

interface ResnetBlock { norm1: Norm; conv1: Conv; norm2: Norm; conv2: Conv; ninShortcut?: Conv }

/** q, k, v and proj_out are 1x1 convs, stored as [C, C] matrices for `linear`. */
interface AttnBlock { norm: Norm; q: Conv; k: Conv; v: Conv; proj: Conv }

interface Level { block: ResnetBlock[]; attn: AttnBlock[]; resample?: Conv }

interface Mid { block1: ResnetBlock; attn1?: AttnBlock; block2: ResnetBlock }

/** `vae`: the configuration the decoder was loaded with (the model's own object), whose `padding` it decodes with. */
export interface DecoderWeights { postQuantConv: Conv; convIn: Conv; mid: Mid; up: Level[]; normOut: Norm; convOut: Conv; vae: VaeConfig }
export interface EncoderWeights { convIn: Conv; down: Level[]; mid: Mid; normOut: Norm; convOut: Conv; quantConv: Conv }

const GROUPS = 32;
const EPS = 1e-6;

async function loadConv(w: WeightLoader, name: string, cout: number, cin: number, k: number): Promise<Conv> {
  return { w: await w.convWeight(`${name}.weight`, [cout, cin, k, k]), b: await w.tensor(`${name}.bias`, [cout]) };
}

async function loadNorm(w: WeightLoader, name: string, c: number): Promise<Norm> {
  return { w: await w.tensor(`${name}.weight`, [c]), b: await w.tensor(`${name}.bias`, [c]) };
}

async function loadResnet(w: WeightLoader, name: string, cin: number, cout: number): Promise<ResnetBlock> {
  return {
    norm1: await loadNorm(w, `${name}.norm1`, cin),
    conv1: await loadConv(w, `${name}.conv1`, cout, cin, 3),
    norm2: await loadNorm(w, `${name}.norm2`, cout),
    conv2: await loadConv(w, `${name}.conv2`, cout, cout, 3),
    ninShortcut: cin !== cout ? await loadConv(w, `${name}.nin_shortcut`, cout, cin, 1) : undefined,
  };
}

async function loadAttn(w: WeightLoader, name: string, c: number): Promise<AttnBlock> {
  const qkvW = await w.host(`${name}.qkv.weight`, [3 * c, c, 1, 1]);
  const qkvB = await w.host(`${name}.qkv.bias`, [3 * c]);
  const part = (i: number, what: string): Conv => ({
    w: w.upload(`${name}.${what}.weight`, qkvW.slice(i * c * c, (i + 1) * c * c), [c, c], true),
    b: w.upload(`${name}.${what}.bias`, qkvB.slice(i * c, (i + 1) * c), [c]),
  });
  const projW = await w.host(`${name}.proj_out.weight`, [c, c, 1, 1]);
  return {
    norm: await loadNorm(w, `${name}.norm`, c),
    q: part(0, 'q'),
    k: part(1, 'k'),
    v: part(2, 'v'),
    proj: { w: w.upload(`${name}.proj_out.weight`, projW, [c, c], true), b: await w.tensor(`${name}.proj_out.bias`, [c]) },
  };
}

async function loadMid(w: WeightLoader, name: string, c: number, cfg: VaeConfig): Promise<Mid> {
  return {
    block1: await loadResnet(w, `${name}.block_1`, c, c),
    attn1: cfg.usingMidSa ? await loadAttn(w, `${name}.attn_1`, c) : undefined,
    block2: await loadResnet(w, `${name}.block_2`, c, c),
  };
}

export async function loadDecoderWeights(w: WeightLoader, cfg: VaeConfig): Promise<DecoderWeights> {
  const levels = cfg.chMult.length;
  const Cz = cfg.zChannels;
  let cin = cfg.ch * cfg.chMult[levels - 1];
  const post = await loadConv(w, 'post_quant_conv', Cz, Cz, cfg.quantConvKs);
  const convIn = await loadConv(w, 'decoder.conv_in', cin, Cz, 3);
  const mid = await loadMid(w, 'decoder.mid', cin, cfg);
  const up: Level[] = new Array(levels);
  for (let i = levels - 1; i >= 0; i--) {
    const cout = cfg.ch * cfg.chMult[i];
    const level: Level = { block: [], attn: [] };
    for (let j = 0; j <= cfg.numResBlocks; j++) {
      level.block.push(await loadResnet(w, `decoder.up.${i}.block.${j}`, cin, cout));
      cin = cout;
      if (i === levels - 1 && cfg.usingSa) level.attn.push(await loadAttn(w, `decoder.up.${i}.attn.${j}`, cin));
    }
    if (i !== 0) level.resample = await loadConv(w, `decoder.up.${i}.upsample.conv`, cin, cin, 3);
    up[i] = level;
  }
  return {
    postQuantConv: post, convIn, mid, up, normOut: await loadNorm(w, 'decoder.norm_out', cin),
    convOut: await loadConv(w, 'decoder.conv_out', 3, cin, 3), vae: cfg,
  };
}

export async function loadEncoderWeights(w: WeightLoader, cfg: VaeConfig): Promise<EncoderWeights> {
  const levels = cfg.chMult.length;
  const convIn = await loadConv(w, 'encoder.conv_in', cfg.ch, 3, 3);
  let cin = cfg.ch;
  const down: Level[] = [];
  for (let i = 0; i < levels; i++) {
    const cout = cfg.ch * cfg.chMult[i];
    const level: Level = { block: [], attn: [] };
    for (let j = 0; j < cfg.numResBlocks; j++) {
      level.block.push(await loadResnet(w, `encoder.down.${i}.block.${j}`, cin, cout));
      cin = cout;
      if (i === levels - 1 && cfg.usingSa) level.attn.push(await loadAttn(w, `encoder.down.${i}.attn.${j}`, cin));
    }
    if (i !== levels - 1) level.resample = await loadConv(w, `encoder.down.${i}.downsample.conv`, cin, cin, 3);
    down.push(level);
  }
  const Cz = cfg.zChannels;
  return {
    convIn,
    down,
    mid: await loadMid(w, 'encoder.mid', cin, cfg),
    normOut: await loadNorm(w, 'encoder.norm_out', cin),
    convOut: await loadConv(w, 'encoder.conv_out', Cz, cin, 3),
    quantConv: await loadConv(w, 'quant_conv', Cz, Cz, cfg.quantConvKs),
  };
}

/**
 * Puts a loaded model's decode path on the torus from now on, whatever padding it was trained with:
 * the quantizer's upsampling and phi and the decoder (both read `config.vae.padding`) wrap around, so
 * generated textures tile without a seam. Images encoded afterwards get the torus quantizer's tokens.
 */
export function decodeOnTorus(model: { config: { vae: VaeConfig } }): void {
  model.config.vae.padding = 'circular';
}

/** A conv into a fresh pooled map; consumes (disposes) x when `consume` is set. */
interface ConvNewOptions { padding?: number | [number, number, number, number]; stride?: 1 | 2; paddingMode?: PaddingMode }

function convNew(rec: Recorder, gpu: Gpu, c: Conv, x: Tensor, opts: ConvNewOptions = {}, consume = false): Tensor {
  const [B, , H, W] = x.shape;
  const [cout] = c.b.shape;
  const k = c.w.shape[2];
  const pad = opts.padding ?? (k - 1) / 2;
  const [pt, pb, pl, pr] = typeof pad === 'number' ? [pad, pad, pad, pad] : pad;
  const s = opts.stride ?? 1;
  const out = gpu.tensor([B, cout, Math.floor((H + pt + pb - k) / s) + 1, Math.floor((W + pl + pr - k) / s) + 1], 'f32', 'vae.map');
  conv2d(rec, out, x, c.w, c.b, { padding: pad, stride: s, paddingMode: opts.paddingMode });
  if (consume) x.dispose();
  return out;
}

function normNew(rec: Recorder, gpu: Gpu, n: Norm, x: Tensor, silu: boolean): Tensor {
  const out = gpu.tensor(x.shape, 'f32', 'vae.map');
  groupNorm(rec, out, x, { groups: GROUPS, eps: EPS, weight: n.w, bias: n.b, silu });
  return out;
}

/** x + conv2(silu(norm2(conv1(silu(norm1(x)))))), with a 1x1 shortcut when channels change. Consumes x. */
function resnet(rec: Recorder, gpu: Gpu, r: ResnetBlock, x: Tensor, paddingMode: PaddingMode): Tensor {
  const h = convNew(rec, gpu, r.conv1, normNew(rec, gpu, r.norm1, x, true), { paddingMode }, true);
  const out = convNew(rec, gpu, r.conv2, normNew(rec, gpu, r.norm2, h, true), { paddingMode }, true);
  h.dispose();
  if (r.ninShortcut) {
    const s = convNew(rec, gpu, r.ninShortcut, x, { padding: 0 });
    addScaled(rec, out, s);
    s.dispose();
  } else {
    addScaled(rec, out, x);
  }
  x.dispose();
  return out;
}

/** x + proj_out(softmax(q kᵀ / √C) v) over the H·W positions, single head, in place on x. */
function attnBlock(rec: Recorder, gpu: Gpu, a: AttnBlock, x: Tensor): Tensor {
  const [B, C, H, W] = x.shape;
  const N = H * W;
  const n = normNew(rec, gpu, a.norm, x, false);
  const tokens = gpu.tensor([B, N, C], 'f32', 'vae.tokens');
  transpose(rec, tokens, n.view([B, C, N]));
  n.dispose();
  const [q, k, v] = [a.q, a.k, a.v].map((p) => {
    const t = gpu.tensor([B, N, C], 'f32', 'vae.qkv');
    linear(rec, t, tokens, p.w, p.b);
    return t;
  });
  const scores = gpu.tensor([B, N, N], 'f32', 'vae.scores');
  matmul(rec, scores, q, k, { transposeB: true, alpha: C ** -0.5 });
  const probs = gpu.tensor([B, N, N], 'f32', 'vae.probs');
  softmax(rec, probs, scores);
  const o = q; // q is no longer needed: reuse its buffer for the attention output
  matmul(rec, o, probs, v);
  linear(rec, tokens, o, a.proj.w, a.proj.b);
  transpose(rec, x.view([B, C, N]), tokens, { accumulate: true });
  for (const t of [tokens, q, k, v, scores, probs]) t.dispose();
  return x;
}

function mid(rec: Recorder, gpu: Gpu, m: Mid, x: Tensor, paddingMode: PaddingMode): Tensor {
  let h = resnet(rec, gpu, m.block1, x, paddingMode);
  if (m.attn1) h = attnBlock(rec, gpu, m.attn1, h);
  return resnet(rec, gpu, m.block2, h, paddingMode);
}

/**
 * Decodes f_hat [B, Cvae, P, P] into `image` [B, 3, H, W] with values in [0, 1]
 * (`fhat_to_img(f_hat).add_(1).mul_(0.5)`, clamped to [-1, 1] first), padding as `d.vae.padding` says.
 * On the torus ('circular') the decoder commutes with rolls: f_hat rolled by k cells decodes to the
 * image rolled by k patches.
 */
export function decode(rec: Recorder, gpu: Gpu, d: DecoderWeights, fHat: Tensor, image: Tensor): void {
  const paddingMode = d.vae.padding;
  let h = convNew(rec, gpu, d.postQuantConv, fHat, { paddingMode });
  h = convNew(rec, gpu, d.convIn, h, { paddingMode }, true);
  h = mid(rec, gpu, d.mid, h, paddingMode);
  for (let i = d.up.length - 1; i >= 0; i--) {
    const level = d.up[i];
    level.block.forEach((block, j) => {
      h = resnet(rec, gpu, block, h, paddingMode);
      if (level.attn.length) h = attnBlock(rec, gpu, level.attn[j], h);
    });
    if (level.resample) {
      const [B, C, H, W] = h.shape;
      const up = gpu.tensor([B, C, 2 * H, 2 * W], 'f32', 'vae.map');
      upsampleNearest2x(rec, up, h);
      h.dispose();
      h = convNew(rec, gpu, level.resample, up, { paddingMode }, true);
    }
  }
  const out = convNew(rec, gpu, d.convOut, normNew(rec, gpu, d.normOut, h, true), { paddingMode }, true);
  h.dispose();
  clampAffine(rec, image, out, { lo: -1, hi: 1, scale: 0.5, shift: 0.5 });
  out.dispose();
}

/** Encodes an image [B, 3, H, W] with values in [-1, 1] into features `f` [B, Cvae, P, P] (after quant_conv). */
export function encode(rec: Recorder, gpu: Gpu, e: EncoderWeights, image: Tensor, f: Tensor): void {
  let h = convNew(rec, gpu, e.convIn, image);
  for (const level of e.down) {
    level.block.forEach((block, j) => {
      h = resnet(rec, gpu, block, h, 'zeros');
      if (level.attn.length) h = attnBlock(rec, gpu, level.attn[j], h);
    });
    if (level.resample) h = convNew(rec, gpu, level.resample, h, { padding: [0, 1, 0, 1], stride: 2 }, true);
  }
  h = mid(rec, gpu, e.mid, h, 'zeros');
  const normed = normNew(rec, gpu, e.normOut, h, true);
  h.dispose();
  h = convNew(rec, gpu, e.convOut, normed, {}, true);
  conv2d(rec, f, h, e.quantConv.w, e.quantConv.b, { padding: (e.quantConv.w.shape[2] - 1) / 2 });
  h.dispose();
}
