/**
 * PyTorch .pth checkpoints: the var-tiny fixture's vae.pth and var.pth hold exactly the tensors of
 * weights.safetensors; small files written by torch (fixtures/make.py) cover every storage dtype,
 * strided views, both archive folder names, ZIP64 and deflate; hand-built archives break one thing
 * at a time (zip, pickle opcode, global, storage) and each error says what was expected.
 */
import { readFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
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

  it('checks the archive as it reads: CRC-32, duplicate names, local headers, overlapping entries, deflate bombs', async () => {
    const pickle = Uint8Array.from(tensorPickle({ numel: 4, size: [4], stride: [1] }));
    const parts = (crc?: number) => [{ name: 'archive/data.pkl', data: pickle }, { name: 'archive/data/0', data: f32(1, 2, 3, 4), crc }];
    const flipped = await open(storedZip(parts(0x1234)));
    await expect(flipped.read('w')).rejects.toThrow(/hand\.pth: zip entry 'archive\/data\/0' is corrupt: its CRC-32 is 0x[0-9a-f]{8}, the archive says 0x00001234/);
    await expect(open(storedZip([...parts(), { name: 'archive/data/0', data: f32(5, 6, 7, 8) }]))).rejects.toThrow("hand.pth: not a valid zip archive: entry 'archive/data/0' appears twice in the central directory");

    // The directory's offset of one entry moved onto another's local header: the names disagree.
    const zip = storedZip(parts());
    const dv = new DataView(zip.buffer);
    let cd = zip.length - 22;
    while (dv.getUint32(cd, true) !== 0x06054b50) cd--;
    const cdStart = dv.getUint32(cd + 16, true);
    const second = cdStart + 46 + 'archive/data.pkl'.length; // the storage's directory record
    const moved = zip.slice();
    new DataView(moved.buffer).setUint32(second + 42, 0, true);
    await expect(open(moved)).rejects.toThrow(/hand\.pth: not a valid zip archive: entry '.*' at 0 \(\+\d+ bytes\) overlaps entry '.*' at 0/);
    // A local header renamed (same length): the directory and the header disagree.
    const renamed = zip.slice();
    const at = zip.indexOf(0x30, zip.indexOf(0x2f, 30 + pickle.length + 'archive/data'.length + 30)); // the '0' of archive/data/0's local name
    renamed[at] = 0x31;
    await expect((await open(renamed)).read('w')).rejects.toThrow(/the local header at \d+ names 'archive\/data\/1', the directory 'archive\/data\/0'/);

    // Deflated storages: one that declares more than deflate can give is refused at open; one that
    // inflates past what it declares stops there; a good one inflates once for all its views.
    const zeros = new Uint8Array(1 << 20);
    const packed = deflateRawSync(zeros);
    const bomb = [{ name: 'archive/data.pkl', data: pickle }, { name: 'archive/data/0', data: f32(1, 2, 3, 4), deflated: packed, size: 2 ** 31 }];
    await expect(open(storedZip(bomb))).rejects.toThrow(`hand.pth: not a valid zip archive: entry 'archive/data/0' declares 2147483648 bytes from ${packed.length} deflated, more than deflate can expand (1032x)`);
    const liar = [{ name: 'archive/data.pkl', data: pickle }, { name: 'archive/data/0', data: f32(1, 2, 3, 4), deflated: deflateRawSync(new Uint8Array(64)) }];
    await expect((await open(storedZip(liar))).read('w')).rejects.toThrow("hand.pth: zip entry 'archive/data/0' inflates past its declared 16 bytes");
    const good = [{ name: 'archive/data.pkl', data: pickle }, { name: 'archive/data/0', data: f32(1, 2, 3, 4), deflated: deflateRawSync(f32(1, 2, 3, 4)) }];
    expect(Array.from((await (await open(storedZip(good))).read('w')).data)).toEqual([1, 2, 3, 4]);
  });

  it('bounds the pickle: integer length, nesting, invalid UTF-8, long APPENDS, without internal errors', async () => {
    const storages = { 0: f32(1, 2, 3, 4) };
    const long4 = [0x80, 2, 0x8b, ...[0, 0, 4, 0], ...new Array(1 << 18).fill(0xff), 0x2e];
    await expect(open(handPth(long4, storages))).rejects.toThrow('hand.pth/archive/data.pkl: integer of 262144 bytes, expected at most 64 (pickle opcode LONG4 at byte 2)');
    await expect(open(handPth([0x80, 2, ...new Array(5000).fill(0x28), 0x2e], storages))).rejects.toThrow('MARKs nested more than 1000 deep (pickle opcode MARK at byte 1002)');
    await expect(open(handPth([0x80, 2, 0x8c, 2, 0xc3, 0x28, 0x2e], storages))).rejects.toThrow('string of 2 bytes is not valid UTF-8 (pickle opcode SHORT_BINUNICODE at byte 2)');
    const appends = [0x80, 2, 0x5d, 0x28, ...new Array(300_000).fill(0x4e), 0x65, 0x2e];
    await expect(open(handPth(appends, storages))).rejects.toThrow('expected a state dict (a dict of tensors) at the top level, found a list');
    // A persistent id holding a bigint and a cycle still gets a readable message.
    const pid = [0x80, 2, 0x7d, 0x28, ...op.str('w'), 0x5d, 0x32, 0x61, 0x8a, 9, ...new Array(9).fill(0x7f), 0x86, 0x51, 0x73, 0x2e];
    await expect(open(handPth(pid, storages))).rejects.toThrow("hand.pth/archive/data.pkl: persistent id (((1 items)), 2351923699311548792703) is not ('storage', type, key, location, numel)");
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
