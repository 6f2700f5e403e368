/**
 * The ONNX twin of one unified-model scale pass (unified-scale.ts): features [1, L, Cvae] in, image
 * logits [1, L, V] out, through word_embed plus the block table, every Qwen2 block and the image head,
 * as models/unified/transformer.ts computes them. The weights are the loaded model's own, read back
 * from the GPU (so an f16 model's halves come widened to f32); the keys and values cached before the
 * pass are constants of the graph, already rotated, exactly as the runtime's cache holds them.
 *
 * Attention is plain operators: the query heads of one kv head are stacked into one matrix
 * [1, Hkv, (H/Hkv)·L, hd], so grouped-query attention needs no copy of the keys; the rotary embedding
 * is x·cos + rotate_half(x)·sin with the tables computed here from the pass's positions.
 */
import type { Gpu, Tensor } from '../gpu/index.ts';
import { headDim, ropeAxes } from '../models/unified/config.ts';
import type { UnifiedModel } from '../models/unified/model.ts';
import { OnnxBuilder } from './onnx-builder.ts';

export interface UnifiedScaleGraphSpec {
  /** Block index s (its rows of the block table) and tokens L of the pass. */
  s: number;
  tokens: number;
  /** Rotary positions of the pass's tokens, `axes` per token (rotaryPositions). */
  positions: readonly number[];
  /** Per layer, keys and values cached before the pass: [Hkv, pastLength, hd] each. */
  past: readonly { k: Float32Array; v: Float32Array }[];
  pastLength: number;
}

async function host(gpu: Gpu, t: Tensor): Promise<Float32Array> {
  return Float32Array.from(await gpu.read(t));
}

/** cos and sin [L, hd] of the rotate-half rotary embedding: pair i turns by position[i mod axes]·θ^(-2i/hd). */
export function ropeTables(positions: readonly number[], axes: number, hd: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const L = positions.length / axes;
  const cos = new Float32Array(L * hd);
  const sin = new Float32Array(L * hd);
  const half = hd / 2;
  for (let l = 0; l < L; l++) {
    for (let d = 0; d < hd; d++) {
      const i = d % half;
      const angle = positions[l * axes + (i % axes)] / theta ** ((2 * i) / hd);
      cos[l * hd + d] = Math.cos(angle);
      sin[l * hd + d] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** The ONNX file of the pass: input `features` [1, L, Cvae], output `logits` [1, L, V]. */
export async function unifiedScaleGraph(model: UnifiedModel, spec: UnifiedScaleGraphSpec): Promise<Uint8Array> {
  const gpu = model.gpu;
  const { unified: u, vae } = model.config;
  const w = model.transformer;
  const { embedDim: C, numHeads: H, numKvHeads: Hkv, intermediateSize: F, rmsNormEps: eps } = u;
  const hd = headDim(u);
  const V = vae.vocabSize;
  const Cvae = vae.zChannels;
  const L = spec.tokens;
  const Lp = spec.pastLength;
  const R = (H + 2 * Hkv) * hd;
  const group = H / Hkv;
  const b = new OnnxBuilder('unified_scale');

  const features = b.input('features', [1, L, Cvae]);
  const blockPos = (await host(gpu, w.blockPos)).slice(w.blockOffsets[spec.s] * C, (w.blockOffsets[spec.s] + L) * C);
  let x = b.linear(features, 'word_embed', await host(gpu, w.wordEmbedW), C, Cvae, await host(gpu, w.wordEmbedB));
  x = b.add(x, b.weight('block_pos', blockPos, [L, C]));

  const tables = ropeTables(spec.positions, ropeAxes(u), hd, u.ropeTheta);
  const cos = b.weight('rope_cos', tables.cos, [L, hd]);
  const sin = b.weight('rope_sin', tables.sin, [L, hd]);
  const rope = (t: string): string => {
    const [x1, x2] = b.split(t, [hd / 2, hd / 2], 3);
    const rotated = b.concat([b.op('Neg', [x2]), x1], 3);
    return b.add(b.mul(t, cos), b.mul(rotated, sin));
  };
  // [1, L, heads·hd] → [1, heads, L, hd]
  const heads = (t: string, n: number) => b.transpose(b.reshape(t, [1, L, n, hd]), [0, 2, 1, 3]);

  for (let i = 0; i < u.depth; i++) {
    const layer = w.layers[i];
    const p = `layers.${i}`;
    const h = b.rmsNorm(x, `${p}.input_norm`, await host(gpu, layer.inputNorm), eps);
    const qkv = b.linear(h, `${p}.attn.qkv`, await host(gpu, layer.qkvW), R, C, await host(gpu, layer.qkvB));
    const [q, k, v] = b.split(qkv, [H * hd, Hkv * hd, Hkv * hd], 2);
    const keys = b.concat([b.weight(`${p}.past_k`, spec.past[i].k, [1, Hkv, Lp, hd]), rope(heads(k, Hkv))], 2);
    const values = b.concat([b.weight(`${p}.past_v`, spec.past[i].v, [1, Hkv, Lp, hd]), heads(v, Hkv)], 2);
    // The H query heads, scaled, stacked per kv head: [1, Hkv, group·L, hd].
    const queries = b.reshape(b.mul(rope(heads(q, H)), b.scalar(1 / Math.sqrt(hd))), [1, Hkv, group * L, hd]);
    const scores = b.matmul(queries, b.transpose(keys, [0, 1, 3, 2]));
    const attn = b.matmul(b.op('Softmax', [scores], { axis: -1 }), values);
    const attnOut = b.reshape(b.transpose(b.reshape(attn, [1, H, L, hd]), [0, 2, 1, 3]), [1, L, H * hd]);
    x = b.add(x, b.linear(attnOut, `${p}.attn.o`, await host(gpu, layer.oW), C, H * hd));
    const h2 = b.rmsNorm(x, `${p}.post_attn_norm`, await host(gpu, layer.postAttnNorm), eps);
    const gate = b.linear(h2, `${p}.mlp.gate`, await host(gpu, layer.gateW), F, C);
    const up = b.linear(h2, `${p}.mlp.up`, await host(gpu, layer.upW), F, C);
    x = b.add(x, b.linear(b.mul(b.silu(gate), up), `${p}.mlp.down`, await host(gpu, layer.downW), C, F));
  }
  const logits = b.linear(b.rmsNorm(x, 'norm', await host(gpu, w.norm), eps), 'head.image', await host(gpu, w.imageHead), V, C);
  b.output(logits, 'logits', [1, L, V]);
  return b.bytes();
}
