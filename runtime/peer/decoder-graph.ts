/**
 * The ONNX twin of the VQVAE decoder (models/vqvae/vqvae.ts `decode`): f_hat [1, Cvae, P, P] in, the
 * image [1, 3, H, W] in [0, 1] out — post_quant_conv, conv_in, the middle (ResNet blocks around
 * single-head self-attention), the up levels (ResNet blocks, attention where the model has it, nearest
 * 2x upsampling and a conv), GroupNorm + SiLU, conv_out, then clamp to [-1, 1] and map to [0, 1].
 * Convolutions pad as the model's `vae.padding` says (around the torus for the built-in model). The
 * weights are the loaded model's own, read back from the GPU.
 */
import type { Gpu, Tensor } from '../gpu/index.ts';
import type { DecoderWeights } from '../models/vqvae/vqvae.ts';
import { OnnxBuilder, type OnnxPadding } from './onnx-builder.ts';

/** GroupNorm as the decoder runs it: 32 groups, eps 1e-6. */
const GROUPS = 32;
const EPS = 1e-6;

interface Map4 { name: string; shape: [number, number, number, number] }

type Conv = DecoderWeights['convIn'];
type Resnet = DecoderWeights['mid']['block1'];
type Attn = NonNullable<DecoderWeights['mid']['attn1']>;

/** The ONNX file of the decoder of `d` for f_hat [1, Cvae, P, P]: input `f_hat`, output `image`. */
export async function decoderGraph(gpu: Gpu, d: DecoderWeights, P: number): Promise<Uint8Array> {
  const b = new OnnxBuilder('vqvae_decoder');
  const padding: OnnxPadding = d.vae.padding;
  const host = async (t: Tensor) => Float32Array.from(await gpu.read(t));
  const Cz = d.vae.zChannels;

  const conv = async (x: Map4, c: Conv, hint: string): Promise<Map4> => {
    const cout = c.b.shape[0];
    const [, cin, k] = c.w.shape;
    const w = c.w.shape.length === 5 ? unpackConvWeight(await host(c.w), cout, cin, k) : await host(c.w);
    const name = b.conv(x.name, hint, w, await host(c.b), cout, cin, k, k === 1 ? 'zeros' : padding);
    return { name, shape: [x.shape[0], cout, x.shape[2], x.shape[3]] };
  };
  const norm = async (x: Map4, n: { w: Tensor; b: Tensor }, silu: boolean, hint: string): Promise<Map4> => ({
    name: b.groupNorm(x.name, x.shape, GROUPS, EPS, await host(n.w), await host(n.b), silu, hint),
    shape: x.shape,
  });
  const resnet = async (x: Map4, r: Resnet, hint: string): Promise<Map4> => {
    const h = await conv(await norm(x, r.norm1, true, `${hint}.norm1`), r.conv1, `${hint}.conv1`);
    const out = await conv(await norm(h, r.norm2, true, `${hint}.norm2`), r.conv2, `${hint}.conv2`);
    const skip = r.ninShortcut ? (await conv(x, r.ninShortcut, `${hint}.nin_shortcut`)).name : x.name;
    return { name: b.add(out.name, skip), shape: out.shape };
  };
  const attn = async (x: Map4, a: Attn, hint: string): Promise<Map4> => {
    const [B, C, H, W] = x.shape;
    const n = await norm(x, a.norm, false, `${hint}.norm`);
    const tokens = b.transpose(b.reshape(n.name, [B, C, H * W]), [0, 2, 1]);
    const proj = async (p: Conv, what: string) => b.linear(tokens, `${hint}.${what}`, await host(p.w), C, C, await host(p.b));
    const scores = b.mul(b.matmul(await proj(a.q, 'q'), b.transpose(await proj(a.k, 'k'), [0, 2, 1])), b.scalar(C ** -0.5));
    const o = b.matmul(b.op('Softmax', [scores], { axis: -1 }), await proj(a.v, 'v'));
    const out = b.linear(o, `${hint}.proj_out`, await host(a.proj.w), C, C, await host(a.proj.b));
    return { name: b.add(x.name, b.reshape(b.transpose(out, [0, 2, 1]), [B, C, H, W])), shape: x.shape };
  };
  const upsample = (x: Map4): Map4 => {
    const [B, C, H, W] = x.shape;
    const spread = b.op('Expand', [b.reshape(x.name, [B, C, H, 1, W, 1]), b.ints([B, C, H, 2, W, 2])]);
    return { name: b.reshape(spread, [B, C, 2 * H, 2 * W]), shape: [B, C, 2 * H, 2 * W] };
  };

  let h: Map4 = { name: b.input('f_hat', [1, Cz, P, P]), shape: [1, Cz, P, P] };
  h = await conv(h, d.postQuantConv, 'post_quant_conv');
  h = await conv(h, d.convIn, 'decoder.conv_in');
  h = await resnet(h, d.mid.block1, 'decoder.mid.block_1');
  if (d.mid.attn1) h = await attn(h, d.mid.attn1, 'decoder.mid.attn_1');
  h = await resnet(h, d.mid.block2, 'decoder.mid.block_2');
  for (let i = d.up.length - 1; i >= 0; i--) {
    const level = d.up[i];
    for (let j = 0; j < level.block.length; j++) {
      h = await resnet(h, level.block[j], `decoder.up.${i}.block.${j}`);
      if (level.attn.length) h = await attn(h, level.attn[j], `decoder.up.${i}.attn.${j}`);
    }
    if (level.resample) h = await conv(upsample(h), level.resample, `decoder.up.${i}.upsample.conv`);
  }
  h = await conv(await norm(h, d.normOut, true, 'decoder.norm_out'), d.convOut, 'decoder.conv_out');
  const clamped = b.op('Clip', [h.name, b.scalar(-1), b.scalar(1)]);
  b.output(b.add(b.mul(clamped, b.scalar(0.5)), b.scalar(0.5)), 'image', h.shape);
  return b.bytes();
}

/**
 * A conv weight the runtime keeps in channel groups, [ceil(Cout / 4), Cin, k, k, 4] with element
 * [g, ci, ky, kx, c] = weight[4g + c, ci, ky, kx], back in PyTorch's (and ONNX's) [Cout, Cin, k, k].
 */
export function unpackConvWeight(packed: Float32Array, cout: number, cin: number, k: number): Float32Array {
  const K = cin * k * k;
  if (packed.length !== Math.ceil(cout / 4) * K * 4) throw new Error(`unpackConvWeight: [${Math.ceil(cout / 4)}, ${cin}, ${k}, ${k}, 4] holds ${Math.ceil(cout / 4) * K * 4} values, found ${packed.length}`);
  const w = new Float32Array(cout * K);
  for (let co = 0; co < cout; co++) {
    const g = (co >> 2) * K * 4 + (co & 3);
    for (let j = 0; j < K; j++) w[co * K + j] = packed[g + 4 * j];
  }
  return w;
}
