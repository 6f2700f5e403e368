/**
 * The unit generators of a unified sequence, one per kind of work asked of a `UnifiedSession`: each
 * first feeds the lazy content the sequence still owes, then records its own units in order, and
 * leaves the sequence as the work leaves it. Each `yield` ends a unit (recorded into `seq.rec`) and
 * names the next.
 */
import type { Tensor } from '../gpu/index.ts';
import { blockCausalLimits } from '../kernels/attention.ts';
import { guidance, sample } from '../kernels/sampling.ts';
import { imageTokens } from '../models/unified/config.ts';
import { blockSides, embedBlock, embedRow, imageHead, textHead } from '../models/unified/transformer.ts';
import { tokenCount } from '../models/vqvae/config.ts';
import { addScale, downsampleTokens } from '../models/vqvae/quantizer.ts';
import { decode } from '../models/vqvae/vqvae.ts';
import type { SamplingSettings } from './sampling.ts';
import { recordImageInput, type ImageInput, type ImageJob, type TextJob } from './unified-jobs.ts';
import type { Unit, UnifiedSequence } from './unified-sequence.ts';

/** Text ids appended in causal passes. */
export function* prefillUnits(seq: UnifiedSequence, ids: readonly number[]): Unit {
  yield* seq.flushPending('prefill');
  yield* seq.textPass(ids);
}

/** A clip's previous frame as context: its full view, fed from its features; guidance never hides it. */
export function* frameUnits(seq: UnifiedSequence, features: Tensor): Unit {
  yield* seq.flushPending('prefill');
  const from = seq.tokens;
  yield* seq.viewPass(features);
  seq.frames.push([from, seq.tokens]);
}

/**
 * An image generated scale by scale: per scale a pass over its input (`<image>` first, then the
 * coarser scales' features downsampled to it), the head, guidance, sampling and the f_hat update;
 * then the decode. Its full view and `</image>` are fed lazily, if the sequence goes on.
 */
export function* imageUnits(seq: UnifiedSequence, job: ImageJob, s: Required<SamplingSettings> & { finestTopK?: number }, decodeImage: boolean, start: Tensor | undefined): Unit {
  const model = seq.model;
  const { unified: u, vae } = model.config;
  const w = model.transformer;
  const tap = seq.tap;
  const S = u.patchNums.length;
  const V = vae.vocabSize;
  yield* seq.flushPending('blocks');
  seq.imageJob = job;
  const at = seq.position;
  seq.hidePrompt();
  if (!start) seq.rec!.clear(seq.fHat.buffer, 0, seq.fHat.byteLength);
  else if (start !== seq.fHat) seq.rec!.copy(start.buffer, 0, seq.fHat.buffer, 0, seq.fHat.byteLength);
  for (let si = 0; si < S; si++) {
    const pn = u.patchNums[si];
    const l = pn * pn;
    if (si > 0) yield 'blocks';
    yield* seq.pass(l, [si === 0 ? { text: at } : { block: at + si, pn }], 'none', (rec, x) => {
      if (si === 0) return embedRow(rec, x, 0, w.imageStart);
      embedBlock(rec, w, seq.acts, x, si, downsampleTokens(rec, vae, seq.scratch, seq.fHat, pn), 0);
    });
    yield 'sample';
    const rec = seq.rec!;
    const logits = imageHead(rec, u, w, seq.acts, seq.acts.xOf(l));
    let guided = logits;
    if (seq.guided) {
      guided = seq.guided.view([seq.batch, l, V]);
      guidance(rec, guided, logits, s.cfg);
    }
    tap?.(rec, `scale${si}.logits`, guided);
    // Image b of a batch draws with seed + b, as it would alone with that seed.
    const counter = tokenCount(u.patchNums.slice(0, si)) * V;
    const topK = si === S - 1 ? (s.finestTopK ?? s.topK) : s.topK;
    sample(rec, job.idx[si].view([seq.batch * l]), guided, { topK, topP: s.topP, temperature: s.temperature, seed: s.seed, counter, sequenceRows: l });
    tap?.(rec, `scale${si}.idx`, job.idx[si]);
    addScale(rec, vae, model.quantizer, seq.scratch, [{ tensor: seq.fHat, sign: 1 }], job.idx[si], si);
    tap?.(rec, `scale${si}.f_hat`, seq.fHat);
  }
  if (decodeImage) {
    yield 'decode';
    decode(seq.rec!, seq.gpu, model.decoder, seq.fHat, job.image);
    tap?.(seq.rec!, 'image', job.image);
  }
  job.done = true;
  seq.imageJob = undefined;
  seq.pending.push({ kind: 'close', at });
}

/**
 * An image read in: VQVAE encode and quantize, then `<image> B1..BS </image>` in one block-causal
 * prefill (every scale's input rebuilt from its codes), or with `view` only the full view.
 */
export function* appendImageUnits(seq: UnifiedSequence, job: ImageJob, image: ImageInput & { data: Float32Array }, view: boolean): Unit {
  const model = seq.model;
  const { unified: u, vae } = model.config;
  const w = model.transformer;
  const S = u.patchNums.length;
  yield* seq.flushPending('encode');
  const temporaries = recordImageInput(seq.rec!, model, image, job, { scratch: seq.scratch, features: seq.features, rest: seq.rest, fHat: seq.fHat });
  job.idx.forEach((t, si) => seq.tap?.(seq.rec!, `encoded.scale${si}.idx`, t));
  yield 'prefill';
  for (const t of temporaries) t.dispose();
  if (view) {
    // The quantizer left f_hat at the sum of every scale's contribution: the full view's input.
    yield* seq.viewPass(seq.fHat);
  } else {
    const sides = blockSides(u.patchNums);
    const n = imageTokens(u.patchNums);
    const limits = blockCausalLimits([1, ...sides.map((pn) => pn * pn), 1]).map((k) => k + seq.tokens);
    const at = seq.position;
    const scales = sides.map((pn, i) => ({ block: at + i + 1, pn }));
    yield* seq.pass(n, [{ text: at }, ...scales, { text: at + S + 1 }], limits, (rec, x) => {
      embedRow(rec, x, 0, w.imageStart);
      rec.clear(seq.fHat.buffer, 0, seq.fHat.byteLength);
      let row = 1;
      for (let si = 0; si < S; si++) {
        addScale(rec, vae, model.quantizer, seq.scratch, [{ tensor: seq.fHat, sign: 1 }], job.idx[si], si);
        const pn = sides[si];
        embedBlock(rec, w, seq.acts, x, si + 1, downsampleTokens(rec, vae, seq.scratch, seq.fHat, pn), row);
        row += pn * pn;
      }
      embedRow(rec, x, n - 1, w.imageEnd);
    });
    seq.position = at + S + 2;
  }
  seq.startPrompt();
  job.done = true;
}

/**
 * Text generated token by token: the head and a sample per unit, each sampled token fed back in the
 * next unit's pass (on the GPU, never read back first). With `stopAtEos` the sequence then waits for
 * the read-back and forgets the tokens recorded past `<eos>`.
 */
export function* textUnits(seq: UnifiedSequence, job: TextJob): Unit {
  const u = seq.model.config.unified;
  const { topK, topP, temperature, seed, maxTokens } = job.settings;
  void job.whenSettled();
  yield* seq.flushPending('text');
  const start = { length: seq.tokens, position: seq.position };
  for (let k = 0; k < maxTokens; k++) {
    if (k > 0) {
      yield 'text';
      if (job.eosAt !== undefined) break;
      yield* seq.feedSampled(job, k - 1);
    }
    const rec = seq.rec!;
    const logits = textHead(rec, u, seq.model.transformer, seq.acts);
    seq.tap?.(rec, `text${k}.logits`, logits);
    sample(rec, seq.sampled, logits, { topK, topP, temperature, seed, counter: k * u.textVocabSize });
    rec.copy(seq.sampled.buffer, 0, job.history.buffer, 4 * k, 4);
    job.submitted = k + 1;
    job.notify();
  }
  job.recorded = true;
  job.notify();
  seq.waitingOn = job;
  while (job.settings.stopAtEos && !job.settled) yield 'wait';
  seq.waitingOn = undefined;
  // Tokens after `<eos>` are undone: the caches forget them (their rows are overwritten later).
  const last = job.eosAt ?? job.submitted - 1;
  const unused = job.submitted - 1 - last;
  seq.truncate(start.length + last);
  seq.position = start.position + last;
  seq.planned -= unused + (maxTokens - job.submitted);
  seq.pending.push({ kind: 'token', job, index: last });
  job.finish();
}
