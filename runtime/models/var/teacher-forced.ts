/**
 * VAR's training-time forward (`VAR.forward` with teacher forcing): given every scale's token map, the
 * logits of all L tokens at once under the block-causal mask, without guidance. The inputs of scales
 * 1..S-1 come from the given tokens exactly as at inference (`idxBl_to_var_input`).
 */
import type { Gpu, Tensor } from '../../gpu/index.ts';
import { blockCausalLimits } from '../../kernels/attention.ts';
import { broadcastAdd } from '../../kernels/broadcast-add.ts';
import { linear } from '../../kernels/linear.ts';
import { tokenCount } from '../vqvae/config.ts';
import type { VarModel } from './model.ts';
import { addScale, downsampleTokens, QuantizerScratch } from '../vqvae/quantizer.ts';
import { blocks, condition, head, VarActivations } from './transformer.ts';

/**
 * Logits [B, L, V] for `labels` [B] and token maps idx[s] (i32 [B, pn²]). Returns a tensor the caller
 * owns (dispose it); the work is submitted.
 */
export function teacherForcedLogits(gpu: Gpu, model: VarModel, labels: number[], idx: Tensor[]): Tensor {
  const { var: v, vae } = model.config;
  const w = model.transformer;
  const B = labels.length;
  const C = v.embedDim;
  const L = tokenCount(v.patchNums);
  const P = v.patchNums[v.patchNums.length - 1];
  const acts = new VarActivations(gpu, v, vae.vocabSize, B, L, L);
  const scratch = new QuantizerScratch(gpu, vae, B);
  const fHat = gpu.tensor([B, vae.zChannels, P, P], 'f32', 'tf.f_hat');
  const limits = gpu.upload(blockCausalLimits(v.patchNums.map((pn) => pn * pn)), [L], 'u32', 'tf.limits');
  const logits = gpu.tensor([B, L, vae.vocabSize], 'f32', 'tf.logits');
  gpu.write(acts.labels, labels);

  const rec = gpu.recorder('teacher-forced');
  rec.clear(fHat.buffer, 0, fHat.byteLength);
  condition(rec, v, w, acts);
  const x = acts.x.view([B, L, C]);
  const firstL = v.patchNums[0] ** 2;
  broadcastAdd(rec, x, acts.cond.view([B, 1, C]), w.startPos, { rows: firstL });
  let offset = firstL;
  for (let s = 1; s < v.patchNums.length; s++) {
    addScale(rec, vae, model.quantizer, scratch, [{ tensor: fHat, sign: 1 }], idx[s - 1], s - 1);
    const pn = v.patchNums[s];
    const tokens = downsampleTokens(rec, vae, scratch, fHat, pn);
    const embedded = acts.y.view([B, pn * pn, C]);
    linear(rec, embedded, tokens, w.wordEmbedW, w.wordEmbedB);
    broadcastAdd(rec, x, embedded, w.lvlPos, { rows: pn * pn, outOffset: offset, bOffset: offset });
    offset += pn * pn;
  }
  blocks(rec, v, w, acts, x, 0, v.depth, { limits });
  const out = head(rec, v, w, acts, x);
  rec.copy(out.buffer, 0, logits.buffer, 0, logits.byteLength);
  rec.submit();
  rec.dispose();
  for (const t of [fHat, limits]) t.dispose();
  acts.dispose();
  scratch.dispose();
  return logits;
}
