/**
 * Loading unified models from bad input: every error names what was expected and what was found, a
 * failed load gives back what it uploaded, and one entry point loads folders of either family.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../runtime/gpu/index.ts';
import { fileSource, memorySource, openSafetensors, writeSafetensors, type TensorFile } from '../../runtime/io/index.ts';
import { loadModelFolder } from '../../runtime/models/load.ts';
import { RandomWeights } from '../../runtime/models/loader.ts';
import { parseUnifiedConfig, serializeUnifiedConfig, type UnifiedModelConfig } from '../../runtime/models/unified/config.ts';
import { UnifiedModel } from '../../runtime/models/unified/model.ts';
import { UnifiedTokenizer } from '../../runtime/models/unified/tokenizer.ts';
import { rotaryPositions } from '../../runtime/models/unified/transformer.ts';
import { VarModel } from '../../runtime/models/var/model.ts';
import { testGpu } from '../helpers.ts';
import { FIXTURE as VAR_FIXTURE } from './fixture.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/unified-tiny', import.meta.url));

/** The fixture's weights with one tensor changed (or removed, when `change` returns undefined). */
async function edited(file: TensorFile, name: string, change: (t: { data: Float32Array | Int32Array; shape: number[] }) => { data: Float32Array; shape: number[] } | undefined): Promise<TensorFile> {
  const entries = [];
  for (const [n] of file.tensors) {
    const t = await file.read(n);
    const out = n === name ? change(t) : t;
    if (out) entries.push({ name: n, dtype: 'F32' as const, shape: out.shape, data: Float32Array.from(out.data) });
  }
  return openSafetensors(memorySource(writeSafetensors(entries), 'edited.safetensors'));
}

describe('loading unified models', () => {
  let gpu: Gpu;
  let weights: TensorFile;
  let json: Record<string, Record<string, unknown>>;
  let config: UnifiedModelConfig;
  let tokenizerJson: { model: { vocab: Record<string, number> }; added_tokens: { content: string; id: number }[] };
  let tokenizer: UnifiedTokenizer;

  beforeAll(async () => {
    gpu = await testGpu();
    weights = await openSafetensors(await fileSource(`${FIXTURE}/weights.safetensors`));
    json = JSON.parse(await readFile(`${FIXTURE}/config.json`, 'utf8'));
    config = parseUnifiedConfig(json);
    tokenizerJson = JSON.parse(await readFile(`${FIXTURE}/tokenizer.json`, 'utf8'));
    tokenizer = UnifiedTokenizer.fromJson(tokenizerJson, 'tokenizer.json', config.unified.textVocabSize);
  });

  const load = (file: TensorFile) => UnifiedModel.load(gpu, config, tokenizer, { weights: file, vaePrefix: 'vae.', unifiedPrefix: 'unified.', name: 'edited.safetensors' });
  const withUnified = (change: Record<string, unknown>) => ({ ...json, unified: { ...json.unified, ...change } });

  it('parses and serializes the configuration', () => {
    expect(config.unified).toEqual({
      textVocabSize: 438, depth: 2, embedDim: 64, numHeads: 4, numKvHeads: 2, intermediateSize: 160,
      rmsNormEps: 1e-6, ropeTheta: 10000, patchNums: [1, 2, 3, 4], contextLength: 256, frameConditioned: false,
      captionView: false, rope2d: false, pos2d: false, posScales: false,
    });
    expect(parseUnifiedConfig(serializeUnifiedConfig(config))).toEqual(config);
    const viewing = parseUnifiedConfig(withUnified({ caption_view: true }));
    expect(viewing.unified.captionView).toBe(true);
    expect(parseUnifiedConfig(serializeUnifiedConfig(viewing))).toEqual(viewing);
    const rope2d = parseUnifiedConfig(withUnified({ rope_2d: true }));
    expect(rope2d.unified.rope2d).toBe(true);
    expect(serializeUnifiedConfig(rope2d)).toMatchObject({ unified: { rope_2d: true } });
    expect(parseUnifiedConfig(serializeUnifiedConfig(rope2d))).toEqual(rope2d);
    const pos2d = parseUnifiedConfig(withUnified({ pos_2d: true }));
    expect(pos2d.unified.pos2d).toBe(true);
    expect(serializeUnifiedConfig(pos2d)).toMatchObject({ unified: { pos_2d: true } });
    expect(parseUnifiedConfig(serializeUnifiedConfig(pos2d))).toEqual(pos2d);
    const posScales = parseUnifiedConfig(withUnified({ pos_scales: true }));
    expect(posScales.unified.posScales).toBe(true);
    expect(serializeUnifiedConfig(posScales)).toMatchObject({ unified: { pos_scales: true } });
    expect(parseUnifiedConfig(serializeUnifiedConfig(posScales))).toEqual(posScales);
  });

  it('lays out rotary positions: one per token, or with rope_2d (position, position + row, position + column)', () => {
    const runs = [{ text: 5, count: 2 }, { block: 9, pn: 2 }, { text: 12 }];
    expect(rotaryPositions(config.unified, runs)).toEqual([5, 6, 9, 9, 9, 9, 12]);
    // P = 4: the 2 x 2 block's cells sit over rows and columns 1 and 3 of the full map.
    expect(rotaryPositions({ ...config.unified, rope2d: true }, runs)).toEqual([
      5, 5, 5, 6, 6, 6, 9, 10, 10, 9, 10, 12, 9, 12, 10, 9, 12, 12, 12, 12, 12,
    ]);
  });

  it('refuses bad configurations, naming the values', () => {
    expect(() => parseUnifiedConfig({ ...json, family: 'var' })).toThrow(/expected "family": "unified", found "var"/);
    expect(() => parseUnifiedConfig({ ...json, unified: undefined })).toThrow(/config.json "unified": expected an object, found undefined/);
    expect(() => parseUnifiedConfig(withUnified({ depth: 'two' }))).toThrow(/"unified": "depth" must be a whole number from 1 to 256, found "two"/);
    // Strict: fractions, null, out-of-range values, unknown keys and mistyped flags are refused, never defaulted.
    expect(() => parseUnifiedConfig(withUnified({ depth: 1.5 }))).toThrow(/"depth" must be a whole number from 1 to 256, found 1\.5/);
    expect(() => parseUnifiedConfig(withUnified({ depth: 0 }))).toThrow(/"depth" must be a whole number from 1 to 256, found 0/);
    expect(() => parseUnifiedConfig(withUnified({ rms_norm_eps: 0 }))).toThrow(/"rms_norm_eps" must be a number above 0 and at most 1, found 0/);
    expect(() => parseUnifiedConfig(withUnified({ rms_norm_eps: null }))).toThrow(/"rms_norm_eps" must be a number above 0 and at most 1, found null/);
    expect(() => parseUnifiedConfig(withUnified({ dpeth: 2 }))).toThrow(/"unified": unknown key "dpeth" \(known: text_vocab_size, depth/);
    expect(() => parseUnifiedConfig({ ...json, vae: { ...json.vae, using_sa: 'false' } })).toThrow(/"vae": "using_sa" must be true or false, found "false"/);
    expect(() => parseUnifiedConfig({ ...json, vae: { ...json.vae, vocab_size: 1e9 } })).toThrow(/"vae": "vocab_size" must be a whole number from 1 to 1048576, found 1000000000/);
    expect(() => parseUnifiedConfig(withUnified({ num_kv_heads: 3 }))).toThrow(/num_kv_heads 3 does not divide num_heads 4/);
    expect(() => parseUnifiedConfig(withUnified({ num_heads: 32, num_kv_heads: 2 }))).toThrow(/head dim embed_dim \/ num_heads = 2 must be a multiple of 4/);
    expect(() => parseUnifiedConfig(withUnified({ embed_dim: 1024, num_heads: 4 }))).toThrow(/= 256 must be a multiple of 4 and at most 128/);
    expect(() => parseUnifiedConfig(withUnified({ patch_nums: [2, 3, 4] }))).toThrow(/patch_nums must start at 1 .*found \[2,3,4\]/);
    expect(() => parseUnifiedConfig(withUnified({ patch_nums: [1, 3, 2, 4] }))).toThrow(/patch_nums must increase/);
    expect(() => parseUnifiedConfig(withUnified({ patch_nums: [1, 2, 4] }))).toThrow(/v_patch_nums \[1,2,3,4\] differ from the transformer's patch_nums \[1,2,4\]/);
    expect(() => parseUnifiedConfig(withUnified({ context_length: 40 }))).toThrow(/context_length 40 cannot hold one image .* take 48 tokens/);
    expect(() => parseUnifiedConfig(withUnified({ context_length: 0.5 }))).toThrow(/"context_length" must be a whole number from 1 to 65536, found 0\.5/);
    expect(() => parseUnifiedConfig(withUnified({ frame_conditioned: 'yes' }))).toThrow(/"unified": "frame_conditioned" must be true or false, found "yes"/);
    expect(parseUnifiedConfig(withUnified({ frame_conditioned: true })).unified.frameConditioned).toBe(true);
    expect(() => parseUnifiedConfig(withUnified({ caption_view: 1 }))).toThrow(/"unified": "caption_view" must be true or false, found 1/);
    expect(() => parseUnifiedConfig(withUnified({ rope_2d: 'yes' }))).toThrow(/"unified": "rope_2d" must be true or false, found "yes"/);
    expect(() => parseUnifiedConfig(withUnified({ pos_2d: 1 }))).toThrow(/"unified": "pos_2d" must be true or false, found 1/);
    expect(() => parseUnifiedConfig(withUnified({ rope_2d: true, embed_dim: 16, intermediate_size: 32 }))).toThrow(/rope_2d needs a head dim of at least 6 \(3 rotary pairs\), found 4/);
  });

  it('refuses a tokenizer without the special tokens or of another vocabulary size', () => {
    const without = structuredClone(tokenizerJson);
    without.added_tokens = without.added_tokens.filter((t) => t.content !== '</image>');
    delete without.model.vocab['</image>'];
    expect(() => UnifiedTokenizer.fromJson(without, 'tok.json')).toThrow(/tok.json: expected the special tokens .* missing <\/image>/);
    expect(() => UnifiedTokenizer.fromJson(tokenizerJson, 'tok.json', 500)).toThrow(/tok.json: the vocabulary has 438 text tokens, the model's text_vocab_size is 500/);
    expect(() => UnifiedTokenizer.fromJson({ version: '1.0' }, 'tok.json')).toThrow(/tok.json: expected a "model" section/);
    expect(() => tokenizer.decode([438 + 3])).toThrow(/text ids are 0..437, found 441/);
  });

  it('names a missing tensor and gives back what it had uploaded', async () => {
    const before = gpu.pool.stats.inUse;
    const missing = await edited(weights, 'unified.layers.1.mlp.down.weight', () => undefined);
    await expect(load(missing)).rejects.toThrow(/tensor 'unified.layers.1.mlp.down.weight' not found/);
    expect(gpu.pool.stats.inUse).toBe(before);
    const noVae = await edited(weights, 'vae.decoder.conv_out.bias', () => undefined);
    await expect(load(noVae)).rejects.toThrow(/tensor 'vae.decoder.conv_out.bias' not found/);
    expect(gpu.pool.stats.inUse).toBe(before);
    const gridConfig = { ...config, unified: { ...config.unified, pos2d: true } };
    const noGrid = await edited(weights, 'unified.pos_grid.weight', () => undefined);
    await expect(UnifiedModel.load(gpu, gridConfig, tokenizer, { weights: noGrid, vaePrefix: 'vae.', unifiedPrefix: 'unified.', name: 'no-grid' }))
      .rejects.toThrow(/tensor 'unified.pos_grid.weight' not found/);
    expect(gpu.pool.stats.inUse).toBe(before);
    const scalesConfig = { ...config, unified: { ...config.unified, posScales: true } };
    const noScales = await edited(weights, 'unified.pos_scale.weight', () => undefined);
    await expect(UnifiedModel.load(gpu, scalesConfig, tokenizer, { weights: noScales, vaePrefix: 'vae.', unifiedPrefix: 'unified.', name: 'no-scales' }))
      .rejects.toThrow(/tensor 'unified.pos_scale.weight' not found/);
    expect(gpu.pool.stats.inUse).toBe(before);
  });

  it('names both shapes of a tensor of the wrong shape', async () => {
    const wrong = await edited(weights, 'unified.head.weight', (t) => ({ data: Float32Array.from(t.data).slice(0, 500 * 64), shape: [500, 64] }));
    await expect(load(wrong)).rejects.toThrow(/'unified.head.weight' has shape \[500, 64\], expected \[502, 64\]/);
  });

  it('loads random weights of any configuration', async () => {
    const model = await UnifiedModel.load(gpu, config, tokenizer, { weights: new RandomWeights(3), vaePrefix: 'vae.', unifiedPrefix: 'unified.', name: 'random' });
    expect(model.transformer.textHead.shape).toEqual([438, 64]);
    expect(model.transformer.imageHead.shape).toEqual([64, 64]);
    expect(model.transformer.blockPos.shape).toEqual([4 + 9 + 16 + 16, 64]);
    expect(model.imageSize).toBe(32);
    model.dispose();
  });

  it('loads a folder of either family through one entry point, and names an unknown family', async () => {
    const unified = await loadModelFolder(gpu, FIXTURE);
    expect(unified).toBeInstanceOf(UnifiedModel);
    expect(unified.config.family).toBe('unified');
    unified.dispose();
    const v = await loadModelFolder(gpu, VAR_FIXTURE);
    expect(v).toBeInstanceOf(VarModel);
    v.dispose();
    const dir = await mkdtemp(join(tmpdir(), 'nextscale-family-'));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...json, family: 'llama' }));
    await expect(loadModelFolder(gpu, dir)).rejects.toThrow(/config.json: expected "family" to be one of "var", "unified", found "llama"/);
    await writeFile(join(dir, 'config.json'), '{ "family": ');
    await expect(loadModelFolder(gpu, dir)).rejects.toThrow(/config.json: not valid JSON/);
  });
});
