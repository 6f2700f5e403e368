/**
 * Conformance of the unified family with tests/fixtures/unified-tiny (random weights run through the
 * PyTorch reference, training/nextscale/unified.py). If the fixture's format changes, regenerate it
 * with `/usr/bin/python3 training/make_unified_fixture.py --out tests/fixtures/unified-tiny` (see its
 * README) and update the key names here. One model load serves every test: SwiftShader is slow.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../runtime/gpu/index.ts';
import { openSafetensors, openSource } from '../../runtime/io/index.ts';
import { TapCollector } from '../../runtime/generate/taps.ts';
import { UnifiedSession } from '../../runtime/generate/unified-session.ts';
import { caption, edit, textToImage, variations } from '../../runtime/generate/unified-tasks.ts';
import { parseUnifiedConfig } from '../../runtime/models/unified/config.ts';
import { loadUnifiedFolder } from '../../runtime/models/unified/load.ts';
import { UnifiedModel } from '../../runtime/models/unified/model.ts';
import { UnifiedTokenizer } from '../../runtime/models/unified/tokenizer.ts';
import { closeness, expectClose, testGpu } from '../helpers.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/unified-tiny', import.meta.url));
const TOL = { atol: 1e-3, rtol: 0 };
const IMAGE_TOL = { atol: 2e-3, rtol: 0 };

type Tensors = Map<string, { data: Float32Array | Int32Array; shape: number[] }>;

async function readTensors(path: string): Promise<Tensors> {
  const file = await openSafetensors(await openSource(path));
  const all: Tensors = new Map();
  for (const name of file.tensors.keys()) all.set(name, await file.read(name));
  return all;
}

describe('unified conformance with unified-tiny', () => {
  let gpu: Gpu;
  let model: UnifiedModel;
  let exp: (name: string) => { data: Float32Array | Int32Array; shape: number[] };
  let config: { generation: { prompt: string; instruction: string; cfg: number; caption_tokens: number }; min_top2_gap: Record<string, number[]> };
  let source: { data: Float32Array; width: number; height: number };
  const S = 4;

  beforeAll(async () => {
    gpu = await testGpu();
    model = await loadUnifiedFolder(gpu, FIXTURE);
    const all = await readTensors(`${FIXTURE}/expected.safetensors`);
    exp = (name) => {
      const t = all.get(name);
      if (!t) throw new Error(`expected.safetensors has no '${name}': regenerate the fixture or update the test`);
      return t;
    };
    config = JSON.parse(await readFile(`${FIXTURE}/config.json`, 'utf8'));
    source = { data: exp('cap.input').data as Float32Array, width: model.imageSize, height: model.imageSize };
  });

  const ids = (name: string) => Array.from(exp(name).data);
  const greedy = () => ({ cfg: config.generation.cfg, topK: 1, topP: 0, seed: 0 });
  /** The fixture's weights read under a changed transformer configuration. */
  const variant = async (change: Partial<UnifiedModel['config']['unified']>) =>
    UnifiedModel.load(gpu, { ...model.config, unified: { ...model.config.unified, ...change } }, model.tokenizer, {
      weights: await openSafetensors(await openSource(`${FIXTURE}/weights.safetensors`)), vaePrefix: 'vae.', unifiedPrefix: 'unified.', name: 'weights',
    });

  it('tokenizes the prompt and the instruction as the reference (lowercase, pieces, byte fallback)', () => {
    const tok = model.tokenizer;
    expect(tok.encode(config.generation.prompt)).toEqual(ids('t2i.prompt_ids'));
    expect(tok.encode(config.generation.instruction)).toEqual(ids('edit.instruction_ids'));
    // 'é' is not in the vocabulary: its two UTF-8 bytes; the snowman: three.
    const bytes = ['<0xC3>', '<0xA9>'].map((t) => tok.id(t));
    expect(tok.encode('zébra').join()).toContain(bytes.join());
    expect(tok.encode('☃').filter((id) => id !== tok.id('▁'))).toEqual(['<0xE2>', '<0x98>', '<0x83>'].map((t) => tok.id(t)));
    expect(tok.decode(tok.encode('Red and blue ☃ zébra'))).toBe('red and blue ☃ zébra');
    expect(tok.specials).toEqual({ pad: 0, eos: 1, unk: 2, text: 3, image: 4, endImage: 5 });
  });

  it('text to image: every scale\'s codes, guided logits and features, and the image', async () => {
    const taps = new TapCollector(gpu, /^(scale\d+\.(logits|f_hat)|image)$/);
    const out = await textToImage(model, config.generation.prompt, { ...greedy(), tap: taps.tap });
    const got = await taps.collect();
    for (let s = 0; s < S; s++) {
      expect(Array.from(out.tokens[s]), `t2i scale ${s} codes`).toEqual(ids(`t2i.scale${s}.idx`));
      expectClose(`t2i.scale${s}.logits`, got.get(`scale${s}.logits`)!.data, exp(`t2i.scale${s}.logits`).data, TOL);
      expectClose(`t2i.scale${s}.f_hat`, got.get(`scale${s}.f_hat`)!.data, exp(`t2i.scale${s}.f_hat`).data, TOL);
    }
    expectClose('t2i.image', out.image, exp('t2i.image').data, IMAGE_TOL);
  });

  it('edits the source image under the instruction, one block per step', async () => {
    const taps = new TapCollector(gpu, /^(scale\d+\.logits|encoded\.scale\d+\.idx)$/);
    const out = await edit(model, source, config.generation.instruction, { ...greedy(), blocksPerStep: 1, tap: taps.tap });
    const got = await taps.collect();
    for (let s = 0; s < S; s++) {
      expect(Array.from(got.get(`encoded.scale${s}.idx`)!.data), `source scale ${s} codes`).toEqual(ids(`cap.scale${s}.idx`));
      expect(Array.from(out.tokens[s]), `edit scale ${s} codes`).toEqual(ids(`edit.scale${s}.idx`));
      expectClose(`edit.scale${s}.logits`, got.get(`scale${s}.logits`)!.data, exp(`edit.scale${s}.logits`).data, TOL);
    }
    expectClose('edit.image', out.image, exp('edit.image').data, IMAGE_TOL);
  });

  it('a clip: each frame continues from the one before (its full view), the prompt prefilled once and the window rewound', async () => {
    const taps = new TapCollector(gpu, /^(scale\d+\.logits|image)$/);
    const session = new UnifiedSession(model, { tap: taps.tap });
    session.appendText(config.generation.prompt);
    await session.run();
    const mark = session.mark();
    const first = session.generateImage(greedy(), { decode: false });
    expect(() => session.mark()).toThrow(/mark: work is still waiting/);
    await session.run();
    expect(() => session.mark()).toThrow(/still to be fed to the sequence/);
    expect((await first.readTokens()).map((c) => Array.from(c))).toEqual(Array.from({ length: S }, (_, s) => ids(`t2i.scale${s}.idx`)));
    await taps.collect();
    const P = 4;
    for (const k of [1, 2]) {
      session.rewind(mark);
      // The frame's pass reads the previous frame's features, and the new frame starts from them (fHat itself).
      session.appendFrame(session.fHat);
      const job = session.generateImage(greedy(), { decode: k === 2, start: session.fHat });
      await session.run();
      const got = await taps.collect();
      const codes = await job.readTokens();
      for (let s = 0; s < S; s++) {
        expect(Array.from(codes[s]), `clip frame ${k} scale ${s} codes`).toEqual(ids(`clip.frame${k}.scale${s}.idx`));
        expectClose(`clip.frame${k}.scale${s}.logits`, got.get(`scale${s}.logits`)!.data, exp(`clip.frame${k}.scale${s}.logits`).data, TOL);
      }
      if (k === 2) expectClose('clip.frame2.image', got.get('image')!.data, exp('clip.frame2.image').data, IMAGE_TOL);
      // The window: the prompt, the previous frame (<image> BS </image>) and the new frame's <image> B1..B3.
      expect(session.length).toBe(mark.tokens + (P * P + 2) + (1 + 4 + 9 + 16));
    }
    expect(() => session.appendFrame(gpu.tensor([1, 8, 3, 3], 'f32', 'wrong'))).toThrow(/appendFrame: expected a frame's features \[1, 8, 4, 4\], found \[1, 8, 3, 3\]/);
    expect(() => session.generateImage(greedy(), { start: gpu.tensor([1, 8, 16], 'f32', 'wrong') })).toThrow(/generateImage: start: expected a frame's features \[1, 8, 4, 4\], found \[1, 8, 16\]/);
    const other = new UnifiedSession(model);
    expect(() => other.rewind(mark)).toThrow(/rewind: the mark is at \d+ tokens, past the sequence's 0/);
    other.dispose();
    session.dispose();
  });

  it('captions an image given as RGBA bytes at twice the size (resized with a warning), stops at <eos>, refuses a prompt over the context, continues', async () => {
    // The same weights with '<eos>' renamed to the caption's third token: generation must stop there,
    // undo the steps it ran past it, and continue from it exactly as the reference.
    const capIds = ids('cap.ids');
    const eosModel = await UnifiedModel.load(gpu, model.config, await tokenizerWithEos(capIds[2]), {
      weights: await openSafetensors(await openSource(`${FIXTURE}/weights.safetensors`)), vaePrefix: 'vae.', unifiedPrefix: 'unified.', name: 'weights',
    });
    const warnings: string[] = [];
    const taps = new TapCollector(gpu, /^text\d+\.logits$/);
    const session = new UnifiedSession(eosModel, { guidance: false, tap: taps.tap, onWarning: (m) => warnings.push(m) });
    const image = session.appendImage(rgbaTwiceTheSize(source));
    expect(warnings).toEqual([`appendImage: the image is 64x64, the model reads 32x32: resized`]);
    const first = session.generateText({ maxTokens: 8 });
    await session.run();
    expect(await first.ids).toEqual(capIds.slice(0, 3));
    const firstLogits = await taps.collect();
    expectClose('cap input as the model saw it', await gpu.read(image.image), source.data, { atol: 1e-6, rtol: 0 });
    const codes = await image.readTokens();
    codes.forEach((c, s) => expect(Array.from(c), `caption source scale ${s} codes`).toEqual(ids(`cap.scale${s}.idx`)));
    const long = Array(250).fill('red').join(' ');
    expect(() => session.appendText(long)).toThrow(/appendText: the sequence would hold 301 tokens, more than the model's context_length 256/);
    expect(() => session.generateImage({ cfg: 1 })).toThrow(/needs the unconditional row; this session was made with guidance: false/);
    expect(() => session.appendText([438])).toThrow(/text ids are 0..437, found 438/);
    const rest = session.generateText({ maxTokens: 5, stopAtEos: false });
    await session.run();
    expect(await rest.ids).toEqual(capIds.slice(3));
    const restLogits = await taps.collect();
    const T = model.config.unified.textVocabSize;
    const logits = exp('cap.logits').data;
    for (let k = 0; k < capIds.length; k++) {
      const got = k < 3 ? firstLogits.get(`text${k}.logits`)! : restLogits.get(`text${k - 3}.logits`)!;
      expectClose(`cap.logits[${k}]`, got.data, logits.subarray(k * T, (k + 1) * T), TOL);
    }
    // <text>, the image (<image>, B1..B3 of 4 + 9 + 16 tokens, B4 of 16, </image>), 7 caption tokens fed.
    expect(session.length).toBe(1 + (1 + 29 + 16 + 1) + 7);
    session.dispose();
    eosModel.dispose();
  });

  it('a caption_view model captions from the full view only, <image> BS </image>', async () => {
    const viewModel = await variant({ captionView: true });
    const taps = new TapCollector(gpu, /^text\d+\.logits$/);
    const out = await caption(viewModel, source, { maxTokens: 8, stopAtEos: false, tap: taps.tap });
    const got = await taps.collect();
    const want = ids('capview.ids');
    expect(want).not.toEqual(ids('cap.ids'));
    expect(out.ids).toEqual(want);
    const T = model.config.unified.textVocabSize;
    const logits = exp('capview.logits').data;
    for (let k = 0; k < want.length; k++) expectClose(`capview.logits[${k}]`, got.get(`text${k}.logits`)!.data, logits.subarray(k * T, (k + 1) * T), TOL);
    // <text>, <image> BS (16 tokens) </image>: the blocks B1..B3 are never fed.
    const session = new UnifiedSession(viewModel, { guidance: false });
    session.appendImage(source, { view: true });
    await session.run();
    expect(session.length).toBe(1 + (1 + 16 + 1));
    session.dispose();
    viewModel.dispose();
  });

  it('a rope_2d model: block tokens turn by their row and column too (text to image, a caption of the closed image)', async () => {
    const ropeModel = await variant({ rope2d: true });
    const imageTaps = new TapCollector(gpu, /^scale\d+\.logits$/);
    const out = await textToImage(ropeModel, config.generation.prompt, { ...greedy(), tap: imageTaps.tap });
    const got = await imageTaps.collect();
    for (let s = 0; s < S; s++) {
      expect(Array.from(out.tokens[s]), `rope_2d t2i scale ${s} codes`).toEqual(ids(`rope2d.t2i.scale${s}.idx`));
      expectClose(`rope2d.t2i.scale${s}.logits`, got.get(`scale${s}.logits`)!.data, exp(`rope2d.t2i.scale${s}.logits`).data, TOL);
    }
    // Scale 1 on: rows and columns change what the blocks see.
    expect(ids('rope2d.t2i.scale3.idx')).not.toEqual(ids('t2i.scale3.idx'));
    const textTaps = new TapCollector(gpu, /^text\d+\.logits$/);
    const cap = await caption(ropeModel, source, { maxTokens: 8, stopAtEos: false, tap: textTaps.tap });
    const capLogits = await textTaps.collect();
    expect(cap.ids).toEqual(ids('rope2d.cap.ids'));
    const T = model.config.unified.textVocabSize;
    const logits = exp('rope2d.cap.logits').data;
    for (let k = 0; k < cap.ids.length; k++) expectClose(`rope2d.cap.logits[${k}]`, capLogits.get(`text${k}.logits`)!.data, logits.subarray(k * T, (k + 1) * T), TOL);
    ropeModel.dispose();
  });

  // pos_2d: a block token adds its grid cell's pos_grid vector; pos_scales: its own pos_scale vector.
  it.each([
    { flag: 'pos_2d', change: { pos2d: true }, key: 'pos2d' },
    { flag: 'pos_scales', change: { posScales: true }, key: 'posscales' },
  ])('a $flag model: block tokens add their learned position vectors (text to image)', async ({ flag, change, key }) => {
    const posModel = await variant(change);
    const imageTaps = new TapCollector(gpu, /^scale\d+\.logits$/);
    const out = await textToImage(posModel, config.generation.prompt, { ...greedy(), tap: imageTaps.tap });
    const got = await imageTaps.collect();
    for (let s = 0; s < S; s++) {
      expect(Array.from(out.tokens[s]), `${flag} t2i scale ${s} codes`).toEqual(ids(`${key}.t2i.scale${s}.idx`));
      expectClose(`${key}.t2i.scale${s}.logits`, got.get(`scale${s}.logits`)!.data, exp(`${key}.t2i.scale${s}.logits`).data, TOL);
    }
    // Scale 0 is read at `<image>`, before any block: only the scales after it see the vectors.
    expect(ids(`${key}.t2i.scale0.idx`)).toEqual(ids('t2i.scale0.idx'));
    expect(ids(`${key}.t2i.scale3.idx`)).not.toEqual(ids('t2i.scale3.idx'));
    posModel.dispose();
  });

  it('variations: a batch of images, image b the one textToImage makes with seed + b, guided or not', async () => {
    const prompt = config.generation.prompt;
    for (const cfg of [config.generation.cfg, 0]) {
      const settings = { cfg, topK: 8, topP: 0.9, temperature: 1.2, seed: 41 };
      const batch = await variations(model, prompt, 3, { ...settings, blocksPerStep: 1 });
      expect(batch).toHaveLength(3);
      for (let b = 0; b < 3; b++) {
        const alone = await textToImage(model, prompt, { ...settings, seed: 41 + b });
        expect(batch[b].tokens.map((t) => Array.from(t)), `cfg ${cfg}, image ${b}`).toEqual(alone.tokens.map((t) => Array.from(t)));
        expectClose(`cfg ${cfg} image ${b}`, batch[b].image, alone.image, { atol: 1e-5, rtol: 0 });
      }
      // Sampled, the three differ.
      expect(new Set(batch.map((v) => v.tokens.at(-1)!.join())).size).toBe(3);
    }
    const session = new UnifiedSession(model, { batch: 2 });
    expect(() => session.generateText()).toThrow(/generateText: a session of 2 images side by side only generates images/);
    expect(() => session.appendImage({ data: new Float32Array(3 * 32 * 32), width: 32, height: 32 })).toThrow(/appendImage: a session of 2 images/);
    session.dispose();
    expect(() => new UnifiedSession(model, { batch: 0 })).toThrow(/batch must be a whole number from 1 to 64, found 0/);
  });

  it('finestTopK: the finest scale draws with its own top-k, the coarser scales as before', async () => {
    const settings = { cfg: config.generation.cfg, topK: 8, topP: 0.9, temperature: 1.2, seed: 41 };
    const run = async (finestTopK?: number) => {
      const taps = new TapCollector(gpu, /^scale\d+\.logits$/);
      const session = new UnifiedSession(model, { tap: taps.tap });
      session.appendText(config.generation.prompt);
      const job = session.generateImage({ ...settings, finestTopK }, { decode: false });
      while (!session.idle) session.step();
      const out = { logits: await taps.collect(), codes: (await job.readTokens()).map((c) => Array.from(c)) };
      session.dispose();
      return out;
    };
    const sampled = await run();
    const greedyFinest = await run(1);
    for (let s = 0; s < S - 1; s++) expect(greedyFinest.codes[s], `scale ${s}`).toEqual(sampled.codes[s]);
    const V = model.config.vae.vocabSize;
    const logits = greedyFinest.logits.get(`scale${S - 1}.logits`)!.data;
    const argmax = greedyFinest.codes[S - 1].map((_, row) => {
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[row * V + v] > logits[row * V + best]) best = v;
      return best;
    });
    expect(greedyFinest.codes[S - 1]).toEqual(argmax);
    // Sampled at top-k 8 and temperature 1.2, the finest scale leaves its argmax somewhere.
    expect(sampled.codes[S - 1]).not.toEqual(argmax);
    const session = new UnifiedSession(model);
    expect(() => session.generateImage({ finestTopK: -1 })).toThrow(/finest top-k must be a whole number >= 0, found -1/);
    session.dispose();
  });

  it('runs with f16 weights (codes identical unless greedy came near a tie)', async () => {
    const half = await loadUnifiedFolder(gpu, FIXTURE, { dtype: 'f16' });
    expect(half.weightBytes.transformer).toBeLessThan(0.6 * model.weightBytes.transformer);
    const taps = new TapCollector(gpu, /^scale\d+\.logits$/);
    const session = new UnifiedSession(half, { tap: taps.tap });
    session.appendText(config.generation.prompt);
    const job = session.generateImage(greedy());
    // The codes are all we compare: stop before the decode.
    for (let sampled = 0; sampled < S; ) if (session.step().kind === 'sample') sampled++;
    const got = await taps.collect();
    const codes = await job.readTokens();
    const firstDiff = codes.findIndex((c, s) => Array.from(c).join() !== ids(`t2i.scale${s}.idx`).join());
    const compared = firstDiff < 0 ? S : firstDiff;
    for (let s = 0; s < compared; s++) {
      expect(closeness(got.get(`scale${s}.logits`)!.data, exp(`t2i.scale${s}.logits`).data).maxAbs, `scale ${s} logits with f16 weights`).toBeLessThan(0.05);
    }
    if (firstDiff >= 0) expect(config.min_top2_gap.t2i[firstDiff], `f16 changed scale ${firstDiff}, whose top-2 gap is not small`).toBeLessThan(0.05);
    session.dispose();
    half.dispose();
  });

  it('refuses bad settings and images with clear errors', () => {
    const session = new UnifiedSession(model);
    expect(() => session.generateImage({ topP: 2 })).toThrow(/top-p must be in \[0, 1\], found 2/);
    expect(() => session.generateText({ maxTokens: 0 })).toThrow(/maxTokens must be a whole number >= 1, found 0/);
    expect(() => session.appendImage({ data: new Uint8Array(10), width: 32, height: 32 })).toThrow(/4·32·32 = 4096 bytes, found 10/);
    expect(() => session.appendImage({ data: new Float32Array(10), width: 2, height: 2 })).toThrow(/3·2·2 = 12 values/);
    expect(() => new UnifiedSession(model, { blocksPerStep: 0 })).toThrow(/blocksPerStep must be a whole number >= 1, found 0/);
    expect(() => session.step()).toThrow(/no work is waiting/);
    session.dispose();
    expect(() => parseUnifiedConfig({ ...model.config, family: 'var' })).toThrow(/expected "family": "unified", found "var"/);
  });
});

/** The fixture's tokenizer with `<eos>` and the token of id `id` swapping ids. */
async function tokenizerWithEos(id: number): Promise<UnifiedTokenizer> {
  const json = JSON.parse(await readFile(`${FIXTURE}/tokenizer.json`, 'utf8'));
  const vocab: Record<string, number> = json.model.vocab;
  const other = Object.keys(vocab).find((k) => vocab[k] === id)!;
  const eos = vocab['<eos>'];
  vocab[other] = eos;
  vocab['<eos>'] = id;
  for (const t of json.added_tokens) if (t.content === '<eos>') t.id = id;
  return UnifiedTokenizer.fromJson(json, 'tokenizer.json (eos moved)', 438);
}

/** Float planes [3, H, W] in [0, 1] (multiples of 1/255) as RGBA bytes of twice the size, each pixel 2x2. */
function rgbaTwiceTheSize(image: { data: Float32Array; width: number; height: number }) {
  const { data, width: W, height: H } = image;
  const out = new Uint8Array(4 * 4 * W * H);
  for (let y = 0; y < 2 * H; y++)
    for (let x = 0; x < 2 * W; x++) {
      const o = 4 * (y * 2 * W + x);
      for (let c = 0; c < 3; c++) out[o + c] = Math.round(data[(c * H + (y >> 1)) * W + (x >> 1)] * 255);
      out[o + 3] = 255;
    }
  return { data: out, width: 2 * W, height: 2 * H };
}
