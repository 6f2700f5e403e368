/**
 * Loading VAR models from bad input: every error names what was expected and what was found, a failed
 * load gives back what it uploaded, and the runtime stays usable. Also the converter and the CLI.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../runtime/gpu/index.ts';
import { fileSource, memorySource, openSafetensors, writeSafetensors, type TensorFile } from '../../runtime/io/index.ts';
import { RandomWeights } from '../../runtime/models/loader.ts';
import { parseVarConfig } from '../../runtime/models/var/config.ts';
import { inferVarConfig } from '../../runtime/models/var/infer.ts';
import { VarModel } from '../../runtime/models/var/model.ts';
import { VarSession } from '../../runtime/generate/var-session.ts';
import { testGpu } from '../helpers.ts';
import { FIXTURE } from './fixture.ts';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;
const node = (script: string, args: string[]) =>
  run(process.execPath, ['--import', './tools/wgsl-register.mjs', '--import', 'tsx', script, ...args], { cwd: ROOT, env: { ...process.env, XDG_RUNTIME_DIR: tmpdir() } });

/** The fixture's weights with one tensor changed (or removed, when `change` returns undefined). */
async function edited(file: TensorFile, name: string, change: (t: { data: Float32Array | Int32Array; shape: number[] }) => { data: Float32Array; shape: number[] } | undefined): Promise<TensorFile> {
  const entries = [];
  for (const [n, info] of file.tensors) {
    const t = await file.read(n);
    const out = n === name ? change(t) : t;
    if (out) entries.push({ name: n, dtype: info.dtype === 'F32' ? ('F32' as const) : ('I32' as const), shape: out.shape, data: out.data });
  }
  return openSafetensors(memorySource(writeSafetensors(entries), 'edited.safetensors'));
}

describe('loading VAR models', () => {
  let gpu: Gpu;
  let weights: TensorFile;
  let config: ReturnType<typeof parseVarConfig>;

  beforeAll(async () => {
    gpu = await testGpu();
    weights = await openSafetensors(await fileSource(`${FIXTURE}/weights.safetensors`));
    config = parseVarConfig(JSON.parse(await readFile(`${FIXTURE}/config.json`, 'utf8')));
  });

  const load = (file: TensorFile) => VarModel.load(gpu, config, { vae: file, vaePrefix: 'vae.', var: file, varPrefix: 'var.', name: file.name });

  it('names a missing tensor and gives back what it had uploaded', async () => {
    const created = gpu.pool.stats.inUse;
    const missing = await edited(weights, 'var.blocks.1.ffn.fc2.bias', () => undefined);
    await expect(load(missing)).rejects.toThrow(/tensor 'var.blocks.1.ffn.fc2.bias' not found/);
    expect(gpu.pool.stats.inUse).toBe(created);
  });

  it('names both shapes of a tensor of the wrong shape', async () => {
    const wrong = await edited(weights, 'var.head.weight', (t) => ({ data: Float32Array.from(t.data).slice(0, 63 * 64), shape: [63, 64] }));
    await expect(load(wrong)).rejects.toThrow(/'var.head.weight' has shape \[63, 64\], expected \[64, 64\]/);
  });

  it('refuses bad configurations and mismatched checkpoints', async () => {
    expect(() => parseVarConfig({ family: 'llama' })).toThrow(/expected "family": "var", found "llama"/);
    const json = JSON.parse(await readFile(`${FIXTURE}/config.json`, 'utf8'));
    expect(() => parseVarConfig({ ...json, var: { ...json.var, num_heads: 5 } })).toThrow(/embed_dim 64 is not divisible by num_heads 5/);
    expect(parseVarConfig(json).vae.padding).toBe('zeros');
    expect(parseVarConfig({ ...json, vae: { ...json.vae, padding: 'circular' } }).vae.padding).toBe('circular');
    expect(() => parseVarConfig({ ...json, vae: { ...json.vae, padding: 'reflect' } })).toThrow(/"vae": expected "padding" to be "zeros" or "circular", found "reflect"/);
    const strip = (prefix: string): TensorFile => ({
      ...weights,
      tensors: new Map([...weights.tensors].filter(([n]) => n.startsWith(prefix)).map(([n, i]) => [n.slice(prefix.length), i])),
      read: (n: string) => weights.read(prefix + n),
    });
    expect(() => inferVarConfig(strip('vae.'), strip('var.'), { patchNums: [1, 2, 3] })).toThrow(/holds 14 tokens, but the checkpoint's pos_1LC has 30/);
    expect(() => inferVarConfig(strip('vae.'), strip('var.'))).toThrow(/pos_1LC has 30 tokens, which matches no known schedule/);
    expect(() => inferVarConfig(strip('var.'), strip('var.'), { patchNums: [1, 2, 3, 4] })).toThrow(/'quantize.embedding.weight' not found: is this a VQVAE state dict/);
  });

  it('converts the .pth checkpoints into a model folder holding the same tensors', async () => {
    const out = await mkdtemp(join(tmpdir(), 'nextscale-convert-'));
    await node('runtime/cli/convert.ts', ['--vae', `${FIXTURE}/vae.pth`, '--var', `${FIXTURE}/var.pth`, '--out', out, '--patch-nums', '1,2,3,4']);
    const converted = await openSafetensors(await fileSource(join(out, 'weights.safetensors')));
    expect(converted.tensors.size).toBe(weights.tensors.size);
    for (const name of ['var.blocks.0.attn.mat_qkv.weight', 'vae.decoder.conv_out.weight', 'vae.quantize.embedding.weight']) {
      expect(Array.from((await converted.read(name)).data), name).toEqual(Array.from((await weights.read(name)).data));
    }
    const cfg = parseVarConfig(JSON.parse(await readFile(join(out, 'config.json'), 'utf8')));
    expect(cfg.var).toEqual(config.var);

    const half = await mkdtemp(join(tmpdir(), 'nextscale-convert-f16-'));
    await node('runtime/cli/convert.ts', ['--vae', `${FIXTURE}/vae.pth`, '--var', `${FIXTURE}/var.pth`, '--out', half, '--patch-nums', '1,2,3,4', '--dtype', 'f16']);
    const h = await openSafetensors(await fileSource(join(half, 'weights.safetensors')));
    expect(h.tensors.get('var.blocks.0.ffn.fc1.weight')!.dtype).toBe('F16');
    expect(h.tensors.get('var.blocks.0.ffn.fc1.bias')!.dtype).toBe('F32');
  });

  it('the CLI refuses a class out of range and a missing model with clear messages', async () => {
    await expect(node('runtime/cli/generate.ts', ['--model', FIXTURE, '--class', '12', '--out', join(tmpdir(), 'x.png')])).rejects.toThrow(/class label 12 is out of range: this model has classes 0..9/);
    await expect(node('runtime/cli/generate.ts', ['--model', join(tmpdir(), 'no-such-model'), '--class', '1', '--out', join(tmpdir(), 'x.png')])).rejects.toThrow(/no-such-model\/config.json/);
  });
});

describe('random weights (full-size timing runs without a checkpoint)', () => {
  it('build a working model of any configuration, deterministic per seed', async () => {
    const gpu = await testGpu();
    const config = parseVarConfig(JSON.parse(await readFile(`${FIXTURE}/config.json`, 'utf8')));
    const make = (seed: number) => VarModel.load(gpu, config, { vae: new RandomWeights(seed), vaePrefix: '', var: new RandomWeights(seed + 1), varPrefix: '', name: 'random' }, { encoder: false });
    const tokens = async (model: VarModel) => {
      const s = new VarSession(model, { labels: [1], seed: 3, topK: 4, topP: 0.9 });
      s.run();
      const t = (await s.readTokens()).map((x) => Array.from(x));
      expect((await s.readImage()).every(Number.isFinite)).toBe(true);
      s.dispose();
      return t;
    };
    const [a, b] = [await make(1), await make(1)];
    expect(await tokens(a)).toEqual(await tokens(b));
    a.dispose();
    b.dispose();
  });
});
