/**
 * Conformance of the VAR family with tests/fixtures/var-tiny (random weights run through the
 * reference PyTorch implementation). If the fixture's format changes, regenerate it with
 * ../shared/tools/var_fixtures.py (see its README) and update the key names here.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../runtime/gpu/index.ts';
import { TapCollector } from '../../runtime/generate/taps.ts';
import { VarSession } from '../../runtime/generate/var-session.ts';
import { loadVarCheckpoints, loadVarFolder } from '../../runtime/models/var/load.ts';
import type { VarModel } from '../../runtime/models/var/model.ts';
import { quantize, QuantizerScratch } from '../../runtime/models/vqvae/quantizer.ts';
import { teacherForcedLogits } from '../../runtime/models/var/teacher-forced.ts';
import { decode, encode } from '../../runtime/models/vqvae/vqvae.ts';
import { closeness, expectClose, testGpu } from '../helpers.ts';
import { FIXTURE, readExpected, readFixtureConfig, type Expected } from './fixture.ts';

const TOL = { atol: 1e-3, rtol: 0 };
const IMAGE_TOL = { atol: 2e-3, rtol: 0 };

describe('VAR conformance with var-tiny', () => {
  let gpu: Gpu;
  let model: VarModel;
  let exp: Expected;
  let labels: number[];
  let gen: { cfg: number; top_k: number; top_p: number };

  beforeAll(async () => {
    gpu = await testGpu();
    model = await loadVarFolder(gpu, FIXTURE);
    exp = await readExpected();
    labels = Array.from(exp.get('gen.labels').data);
    gen = (await readFixtureConfig()).generation;
  });

  it('generates the reference tokens, logits, features and image at every scale', async () => {
    const taps = new TapCollector(gpu, /^(scale\d+\.(logits|idx|f_hat)|image)$/);
    const session = new VarSession(model, { labels, seed: 0, cfg: gen.cfg, topK: gen.top_k, topP: gen.top_p, tap: taps.tap });
    session.run();
    const got = await taps.collect();
    for (let s = 0; s < session.scales; s++) {
      expect(Array.from(got.get(`scale${s}.idx`)!.data), `scale ${s} tokens`).toEqual(Array.from(exp.get(`gen.scale${s}.idx`).data));
      expectClose(`gen.scale${s}.logits`, got.get(`scale${s}.logits`)!.data, exp.get(`gen.scale${s}.logits`).data, TOL);
      expectClose(`gen.scale${s}.f_hat`, got.get(`scale${s}.f_hat`)!.data, exp.get(`gen.scale${s}.f_hat`).data, TOL);
    }
    expectClose('gen.image', await session.readImage(), exp.get('gen.image').data, IMAGE_TOL);
    session.dispose();
  });

  it('gives the same tokens whether a frame takes one block or the whole model', async () => {
    const opts = { labels, seed: 5, cfg: 2, topK: 8, topP: 0.9, temperature: 1.3 };
    const whole = new VarSession(model, opts);
    const sliced = new VarSession(model, { ...opts, blocksPerStep: 1 });
    expect(whole.run()).toBe(whole.totalSteps);
    // The session runs the plan it announces, unit by unit.
    const ran: string[] = [];
    while (!sliced.done) {
      const planned = sliced.unit(sliced.stepsTaken);
      const info = sliced.step();
      ran.push(`${info.kind}@${info.scale}`, `${planned.kind}@${planned.scale}`);
    }
    expect(ran.length / 2).toBe(sliced.totalSteps);
    expect(sliced.totalSteps).toBeGreaterThan(whole.totalSteps);
    expect(ran.filter((_, i) => i % 2 === 0)).toEqual(ran.filter((_, i) => i % 2 === 1));
    const a = await whole.readTokens();
    const b = await sliced.readTokens();
    expect(b.map((t) => Array.from(t))).toEqual(a.map((t) => Array.from(t)));
    const other = new VarSession(model, { ...opts, seed: 6 });
    other.run();
    const c = await other.readTokens();
    expect(c.map((t) => Array.from(t))).not.toEqual(a.map((t) => Array.from(t)));
    for (const s of [whole, sliced, other]) s.dispose();
  });

  it('with seedPerImage, image b of a batch is its label alone with seed + b', async () => {
    const opts = { seed: 9, cfg: 1.5, topK: 8, topP: 0.9, temperature: 1.2 };
    const batch = new VarSession(model, { ...opts, labels: [labels[0], labels[0], labels[1]], seedPerImage: true });
    batch.run();
    const got = await batch.readTokens();
    const alone = [[labels[0], 9], [labels[0], 10], [labels[1], 11]] as const;
    for (const [b, [label, seed]] of alone.entries()) {
      const one = new VarSession(model, { ...opts, labels: [label], seed });
      one.run();
      const want = await one.readTokens();
      got.forEach((t, s) => {
        const l = t.length / 3;
        expect(Array.from(t.subarray(b * l, (b + 1) * l)), `image ${b} scale ${s}`).toEqual(Array.from(want[s]));
      });
      one.dispose();
    }
    batch.dispose();
  });

  it('reproduces the teacher-forced logits under the block-causal mask', async () => {
    const S = model.config.var.patchNums.length;
    const idx = Array.from({ length: S }, (_, s) => {
      const e = exp.get(`tf.scale${s}.idx`);
      return gpu.upload(e.data, e.shape, 'i32');
    });
    const logits = teacherForcedLogits(gpu, model, labels, idx);
    expectClose('tf.logits', await gpu.read(logits), exp.get('tf.logits').data, TOL);
    for (const t of [...idx, logits]) t.dispose();
  });

  it('round-trips an image through the VQVAE: features, tokens per scale, reconstruction', async () => {
    const { vae } = model.config;
    const input = exp.get('vae.input');
    const P = vae.vPatchNums[vae.vPatchNums.length - 1];
    const image = gpu.upload(input.data, input.shape);
    const f = gpu.tensor([1, vae.zChannels, P, P]);
    const fRest = gpu.tensor(f.shape);
    const fHat = gpu.tensor(f.shape);
    const idx = vae.vPatchNums.map((pn) => gpu.tensor([1, pn * pn], 'i32'));
    const recon = gpu.tensor(input.shape);
    const scratch = new QuantizerScratch(gpu, vae, 1);
    gpu.run('vqvae round trip', (rec) => {
      encode(rec, gpu, model.encoder!, image, f);
      quantize(rec, vae, model.quantizer, scratch, f, fRest, fHat, idx);
      decode(rec, gpu, model.decoder, fHat, recon);
    });
    expectClose('vae.f', await gpu.read(f), exp.get('vae.f').data, TOL);
    for (let s = 0; s < idx.length; s++) {
      expect(Array.from(await gpu.read(idx[s])), `vae.scale${s}.idx`).toEqual(Array.from(exp.get(`vae.scale${s}.idx`).data));
    }
    const reconExpected = Float32Array.from(exp.get('vae.recon').data, (v) => (Math.min(1, Math.max(-1, v)) + 1) / 2);
    expectClose('vae.recon (as [0, 1])', await gpu.read(recon), reconExpected, IMAGE_TOL);
    scratch.dispose();
  });

  it('loads the .pth checkpoints to the same model (inferred configuration, same tokens)', async () => {
    const fromPth = await loadVarCheckpoints(gpu, `${FIXTURE}/vae.pth`, `${FIXTURE}/var.pth`, { patchNums: model.config.var.patchNums, encoder: false });
    expect(fromPth.config.var).toEqual(model.config.var);
    expect({ ...fromPth.config.vae, quantResi: 0 }).toEqual({ ...model.config.vae, quantResi: 0 });
    const session = new VarSession(fromPth, { labels, seed: 0, cfg: gen.cfg, topK: 1, topP: 0 });
    session.run();
    const tokens = await session.readTokens();
    tokens.forEach((t, s) => expect(Array.from(t), `scale ${s}`).toEqual(Array.from(exp.get(`gen.scale${s}.idx`).data)));
    session.dispose();
    fromPth.dispose();
  });

  it('runs with f16 weights close to the fixture (tokens may differ only where greedy came near a tie)', async () => {
    const half = await loadVarFolder(gpu, FIXTURE, { dtype: 'f16', encoder: false });
    expect(half.weightBytes.transformer).toBeLessThan(0.6 * model.weightBytes.transformer);
    const taps = new TapCollector(gpu, /^scale\d+\.logits$/);
    const session = new VarSession(half, { labels, seed: 0, cfg: gen.cfg, topK: 1, topP: 0, tap: taps.tap });
    session.run();
    const got = await taps.collect();
    const tokens = await session.readTokens();
    const config = await readFixtureConfig();
    let firstDiff = -1;
    tokens.forEach((t, s) => {
      if (firstDiff < 0 && Array.from(t).join() !== Array.from(exp.get(`gen.scale${s}.idx`).data).join()) firstDiff = s;
    });
    // Until tokens diverge, logits differ by f16 rounding only; a divergence must start at a near-tie.
    const scalesToCompare = firstDiff < 0 ? tokens.length : firstDiff;
    for (let s = 0; s < scalesToCompare; s++) {
      const c = closeness(got.get(`scale${s}.logits`)!.data, exp.get(`gen.scale${s}.logits`).data);
      expect(c.maxAbs, `scale ${s} logits with f16 weights`).toBeLessThan(0.05);
    }
    if (firstDiff >= 0) expect(config.min_top2_gap_per_scale[firstDiff], `f16 changed scale ${firstDiff}, whose top-2 gap is not small`).toBeLessThan(0.05);
    session.dispose();
    half.dispose();
  });

  it('refuses bad settings and labels with clear errors, and stays usable', async () => {
    expect(() => new VarSession(model, { labels: [10] })).toThrow(/class label 10 is out of range: this model has classes 0..9/);
    expect(() => new VarSession(model, { labels: [1], topP: 1.5 })).toThrow(/top-p must be in \[0, 1\], found 1.5/);
    expect(() => new VarSession(model, { labels: [] })).toThrow(/at least one class label/);
    const ok = new VarSession(model, { labels: [1], topK: 1 });
    ok.run();
    expect((await ok.readImage()).length).toBe(3 * model.imageSize * model.imageSize);
    ok.dispose();
  });
});
