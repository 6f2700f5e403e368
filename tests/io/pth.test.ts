/**
 * PyTorch .pth checkpoints: the var-tiny fixture's vae.pth and var.pth hold exactly the tensors of
 * weights.safetensors; small files written by torch (fixtures/make.py) cover every storage dtype,
 * strided views, both archive folder names, ZIP64 and deflate; hand-built archives break one thing
 * at a time (zip, pickle opcode, global, storage) and each error says what was expected.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { toHalf } from '../../runtime/gpu/half.ts';
import { fileSource, memorySource, openPth, openSafetensors, type PthFile } from '../../runtime/io/index.ts';
import { handPth, op, storedZip, tensorPickle } from './archive.ts';
import { FIXTURE as VAR_TINY } from '../models/fixture.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const expected: Record<string, { dtype: string; shape: number[]; values: number[] }> = JSON.parse(readFileSync(fixture('expected.json'), 'utf8'));
const open = (bytes: Uint8Array | number[], name = 'hand.pth') => openPth(memorySource(Uint8Array.from(bytes), name));
const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

/** Every tensor of the file equals expected.json (dtype, shape, values), except those named in `skip`. */
async function expectFixtureValues(file: PthFile, skip: string[] = []): Promise<void> {
  for (const [name, info] of file.tensors) {
    if (skip.includes(name)) continue;
    const want = expected[name];
    const got = await file.read(name);
    expect({ dtype: got.dtype, shape: got.shape, values: Array.from(got.data) }, `${file.name}: ${name}`).toEqual({ ...want, values: /^(F|BF)\d+$/.test(want.dtype) ? want.values.map(Math.fround) : want.values });
    expect(info.byteLength).toBe((await file.readRaw(name)).length);
  }
}

describe('PyTorch .pth', () => {
  it('reads vae.pth and var.pth of var-tiny, identical to weights.safetensors', async () => {
    const weights = await openSafetensors(await fileSource(`${VAR_TINY}/weights.safetensors`));
    let count = 0;
    for (const part of ['vae', 'var']) {
      const file = await openPth(await fileSource(`${VAR_TINY}/${part}.pth`));
      expect([...file.tensors.values()][0].entry.startsWith(`${part}/data/`), 'stem prefix').toBe(true);
      for (const [name, info] of file.tensors) {
        const other = weights.tensors.get(`${part}.${name}`);
        expect(other, `${part}.${name} in weights.safetensors`).toBeDefined();
        expect([info.dtype, info.shape], name).toEqual([other!.dtype, other!.shape]);
        const [a, b] = await Promise.all([file.read(name), weights.read(`${part}.${name}`)]);
        expect(a.data.constructor).toBe(b.data.constructor);
        expect(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)), `${part}.${name} bitwise`).toBe(true);
        expect(Buffer.from(await file.readRaw(name)).equals(Buffer.from(await weights.readRaw(`${part}.${name}`))), `${part}.${name} raw`).toBe(true);
        count++;
      }
    }
    expect(count).toBe(weights.tensors.size);
  });

  it('reads every storage dtype, 0-d and empty tensors (folder named after the file)', async () => {
    const file = await openPth(await fileSource(fixture('dtypes.pth')));
    expect([...file.tensors.keys()].sort()).toEqual(['bf16', 'bool', 'empty', 'f16', 'f32', 'f64', 'i16', 'i32', 'i64', 'i64_big', 'i8', 'scalar', 'u8']);
    expect(file.tensors.get('f16')!.entry).toMatch(/^dtypes\/data\/\d+$/);
    await expectFixtureValues(file, ['i64_big']);
    const half = new Uint16Array((await file.readRaw('f16')).slice().buffer);
    expect(Array.from(half)).toEqual(expected.f16.values.map(toHalf));
    await expect(file.read('i64_big')).rejects.toThrow(`tensor 'i64_big' in ${fixture('dtypes.pth')}: I64 value 1099511627776 at index 1 does not fit in int32`);
    await expect(file.read('f17')).rejects.toThrow(`tensor 'f17' not found in ${fixture('dtypes.pth')} (has 13 tensors, e.g. 'f16', 'f32', 'f64')`);
  });

  it('gathers strided views: transposed, sliced with an offset, expanded, shared storages ("archive/" folder)', async () => {
    const file = await openPth(await fileSource(fixture('views.pth')));
    const info = (n: string) => file.tensors.get(n)!;
    expect(info('base').entry).toMatch(/^archive\/data\/\d+$/);
    expect(['base', 'transposed', 'sliced', 'row'].map((n) => info(n).entry)).toEqual(Array(4).fill(info('base').entry));
    expect(['base', 'transposed', 'sliced', 'row', 'expanded', 'half_t', 'weight'].map((n) => info(n).contiguous)).toEqual([true, false, false, true, false, false, true]);
    expect(info('sliced')).toMatchObject({ storageOffset: 25, strides: [20, 5, 2], shape: [2, 2, 3] });
    expect(info('expanded').strides).toEqual([1, 0]);
    await expectFixtureValues(file);
  });

  it('reads ZIP64 archives and deflated entries', async () => {
    await expectFixtureValues(await openPth(await fileSource(fixture('views-zip64.pth'))));
    await expectFixtureValues(await openPth(await fileSource(fixture('dtypes-deflated.pth'))), ['i64_big']);
  });

  it('refuses what is not a zip archive of a state dict', async () => {
    const legacy = fixture('legacy.pth');
    await expect(openPth(await fileSource(legacy))).rejects.toThrow(`${legacy}: a legacy (PyTorch < 1.6) torch.save file, expected the zip format`);
    const wrapped = fixture('wrapped.pth');
    await expect(openPth(await fileSource(wrapped))).rejects.toThrow(`${wrapped}/wrapped/data.pkl: no tensors at the top level, expected a state dict (keys: model, epoch)`);
    await expect(open(Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff), 'noise.pth')).rejects.toThrow(
      'noise.pth: not a valid zip archive: no end-of-central-directory record in its last 300 bytes (truncated, or not a zip?)',
    );
    const whole = readFileSync(`${VAR_TINY}/var.pth`);
    await expect(open(whole.subarray(0, 100_000), 'cut.pth')).rejects.toThrow('cut.pth: not a valid zip archive: no end-of-central-directory record');
    const noPickle = storedZip([{ name: 'archive/data.pkx', data: new Uint8Array(1) }, { name: 'archive/version', data: new Uint8Array(2) }]);
    await expect(open(noPickle)).rejects.toThrow('hand.pth: no data.pkl in the archive (entries: archive/data.pkx, archive/version); is it a torch.save checkpoint?');
  });

  it('refuses unknown opcodes, disallowed globals and broken pickles, naming the opcode or global', async () => {
    const storages = { 0: f32(1, 2, 3, 4) };
    const good = tensorPickle({ numel: 4, size: [2, 2], stride: [2, 1] });
    expect(Array.from((await (await open(handPth(good, storages))).read('w')).data)).toEqual([1, 2, 3, 4]);

    const inst = [0x80, 2, 0x69, ...new TextEncoder().encode('os\nsystem\n'), 0x2e];
    await expect(open(handPth(inst, storages))).rejects.toThrow('hand.pth/archive/data.pkl: unsupported pickle opcode 0x69 (INST) at byte 2; only the opcodes torch.save uses for a state dict are read');
    await expect(open(handPth([0x80, 2, 0xff], storages))).rejects.toThrow('unsupported pickle opcode 0xff (unknown) at byte 2');
    await expect(open(handPth(tensorPickle({ numel: 4, size: [4], stride: [1], rebuild: ['os', 'system'] }), storages))).rejects.toThrow(
      "hand.pth/archive/data.pkl: global 'os.system' is not allowed (only what a state dict of tensors uses) (pickle opcode GLOBAL at byte 10)",
    );
    await expect(open(handPth(tensorPickle({ numel: 4, size: [4], stride: [1], storageType: 'PickleStorage' }), storages))).rejects.toThrow("global 'torch.PickleStorage' is not allowed");
    await expect(open(handPth(good.slice(0, -1), storages))).rejects.toThrow(/pickle ends after \d+ bytes, expected 1 more/);
    await expect(open(handPth([0x80, 2, 0x74, 0x2e], storages))).rejects.toThrow('hand.pth/archive/data.pkl: no MARK to pop to (corrupt file?) (pickle opcode TUPLE at byte 2)');
    await expect(open(handPth([0x80, 2, ...op.str('x'), 0x2e], storages))).rejects.toThrow('expected a state dict (a dict of tensors) at the top level, found string');
  });

  it('refuses views outside their storage and missing or short storages', async () => {
    await expect(open(handPth(tensorPickle({ name: 'blocks.0.w', numel: 4, offset: 1, size: [2, 2], stride: [2, 1] }), { 0: f32(1, 2, 3, 4) }))).rejects.toThrow(
      "hand.pth: tensor 'blocks.0.w': view [2, 2] with strides [2, 1] at offset 1 reaches element 4, expected < 4 (the storage's size)",
    );
    await expect(open(handPth(tensorPickle({ numel: 4, size: [4], stride: [1], key: '7' }), { 0: f32(1, 2, 3, 4) }))).rejects.toThrow(
      "hand.pth: tensor 'w': its storage 'archive/data/7' is missing from the archive",
    );
    await expect(open(handPth(tensorPickle({ numel: 4, size: [4], stride: [1] }), { 0: f32(1, 2, 3) }))).rejects.toThrow(
      "hand.pth: tensor 'w': storage 'archive/data/0' has 12 bytes, expected 16 (4 × F32)",
    );
    const view = await open(handPth(tensorPickle({ numel: 6, offset: 1, size: [2, 2], stride: [1, 3] }), { 0: f32(0, 1, 2, 3, 4, 5) }));
    expect(Array.from((await view.read('w')).data)).toEqual([1, 4, 2, 5]);
  });
});
