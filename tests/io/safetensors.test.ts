/**
 * safetensors: the var-tiny fixture's header and tensors, conversions (F16, BF16, I64, F64), the
 * writer's round trip and padding, and bad files: truncated, corrupt JSON, header length past the
 * end, wrong or overlapping data_offsets, unknown dtypes, missing tensors. Every error names the
 * file, the tensor and what was expected.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toHalf } from '../../runtime/gpu/half.ts';
import { fileSource, memorySource, openSafetensors, writeSafetensors } from '../../runtime/io/index.ts';
import { FIXTURE as VAR_TINY } from '../models/fixture.ts';

const WEIGHTS = `${VAR_TINY}/weights.safetensors`;

/** A safetensors file with a header written by hand (to make it wrong on purpose). */
function handMade(header: unknown, data: Uint8Array = new Uint8Array(0), headerText = JSON.stringify(header)): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const open = (bytes: Uint8Array, name = 'bad.safetensors') => openSafetensors(memorySource(bytes, name));
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('safetensors', () => {
  it('reads the var-tiny fixture: header, metadata, F32 and I64 tensors', async () => {
    const file = await openSafetensors(await fileSource(WEIGHTS));
    expect(file.tensors.size).toBe(362);
    expect(file.metadata).toEqual({ format: 'pt' });
    const qkv = file.tensors.get('var.blocks.0.attn.mat_qkv.weight')!;
    expect(qkv.dtype).toBe('F32');
    expect(qkv.byteLength).toBe(qkv.shape[0] * qkv.shape[1] * 4);
    const t = await file.read('var.blocks.0.attn.mat_qkv.weight');
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.shape).toEqual(qkv.shape);
    const raw = await file.readRaw('var.blocks.0.attn.mat_qkv.weight');
    expect(Array.from(new Float32Array(raw.slice().buffer))).toEqual(Array.from(t.data));
    const lvl = await file.read('var.lvl_1L');
    expect(lvl).toMatchObject({ dtype: 'I64', shape: [1, 30] });
    expect(lvl.data).toBeInstanceOf(Int32Array);
    expect(Math.min(...lvl.data)).toBe(0);
  });

  it('names a missing tensor with the closest names the file has', async () => {
    const file = await openSafetensors(await fileSource(WEIGHTS));
    await expect(file.read('var.blocks.3.attn.mat_qkv.weight')).rejects.toThrow(
      `tensor 'var.blocks.3.attn.mat_qkv.weight' not found in ${WEIGHTS} (has 362 tensors, e.g. 'var.blocks.`,
    );
    await expect(file.readRaw('blocks.0.attn.proj.weight')).rejects.toThrow(`not found in ${WEIGHTS} (has 362 tensors, e.g. 'var.blocks.0.attn.proj.weight'`);
  });

  it('writes F32, F16 and I32 with metadata and reads them back', async () => {
    const f32 = Float32Array.from([1.5, -2, 3.25, 1e-8, -0, 65504.5]);
    const half = [0.1, -0.333, 1000, 6e-5, -65504, 0.5, 2];
    const halfBits = Uint16Array.from([0x3c00, 0xc000, 0x7bff]);
    const ints = Int32Array.from([-2147483648, 2147483647, 0, 7]);
    const bytes = writeSafetensors(
      [
        { name: 'a.f32', dtype: 'F32', shape: [2, 3], data: f32 },
        { name: 'b.f16', dtype: 'F16', shape: [7], data: half },
        { name: 'c.bits', dtype: 'F16', shape: [3, 1], data: halfBits },
        { name: 'd.i32', dtype: 'I32', shape: [2, 2], data: ints },
        { name: 'e.scalar', dtype: 'F32', shape: [], data: [4] },
        { name: 'f.empty', dtype: 'F32', shape: [0, 5], data: [] },
      ],
      { seed: '7', note: 'ünïcode' },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8, 'header padded to 8 bytes').toBe(0);
    expect(bytes.length).toBe(8 + headerLength + 24 + 14 + 6 + 16 + 4);
    const file = await open(bytes, 'written.safetensors');
    expect(file.metadata).toEqual({ seed: '7', note: 'ünïcode' });
    expect([...file.tensors.keys()]).toEqual(['a.f32', 'b.f16', 'c.bits', 'd.i32', 'e.scalar', 'f.empty']);
    expect(await file.read('a.f32')).toEqual({ data: f32, shape: [2, 3], dtype: 'F32' });
    const b = await file.read('b.f16');
    expect(b.dtype).toBe('F16');
    // f16 keeps 11 significant bits: every value within half an ulp (2^-11 relative).
    half.forEach((v, i) => expect(Math.abs(b.data[i] - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11));
    expect(Array.from(new Uint16Array((await file.readRaw('b.f16')).slice().buffer))).toEqual(half.map(toHalf));
    expect(Array.from((await file.read('c.bits')).data)).toEqual([1, -2, 65504]);
    expect(await file.read('d.i32')).toEqual({ data: ints, shape: [2, 2], dtype: 'I32' });
    expect(Array.from((await file.read('e.scalar')).data)).toEqual([4]);
    expect((await file.read('f.empty')).data.length).toBe(0);
  });

  it('refuses bad tensors to write', () => {
    expect(() => writeSafetensors([{ name: 'x', dtype: 'F32', shape: [2, 2], data: [1, 2, 3] }])).toThrow("tensor 'x' has 3 values, expected 4 for shape [2, 2]");
    expect(() => writeSafetensors([{ name: 'x', dtype: 'I32', shape: [1], data: [1.5] }])).toThrow("tensor 'x' value 1.5 at index 0 is not an int32");
    expect(() => writeSafetensors([{ name: 'x', dtype: 'F32', shape: [], data: [1] }, { name: 'x', dtype: 'F32', shape: [], data: [1] }])).toThrow("tensor name 'x' is reserved or repeated");
    expect(() => writeSafetensors([{ name: 'x', dtype: 'F64' as 'F32', shape: [], data: [1] }])).toThrow("tensor 'x' has dtype F64, expected F32, F16 or I32");
  });

  it('converts BF16, F64, I64, U8 and BOOL, and refuses an I64 that does not fit in int32', async () => {
    const bf16 = Uint16Array.from([0x3f80, 0xc040, 0x4049]); // 1, -3, 3.140625
    const f64 = Float64Array.from([0.5, -1e10]);
    const i64 = BigInt64Array.from([-5n, 2147483647n, -2147483648n]);
    const big = BigInt64Array.from([1n, 1n << 40n]);
    const u8 = Uint8Array.from([0, 200, 255]);
    const data = new Uint8Array(6 + 16 + 24 + 16 + 3 + 2);
    let at = 0;
    const header: Record<string, unknown> = {};
    for (const [name, dtype, shape, arr] of [['bf', 'BF16', [3], bf16], ['f64', 'F64', [2], f64], ['i64', 'I64', [3], i64], ['big', 'I64', [2], big], ['u8', 'U8', [3], u8], ['bool', 'BOOL', [2], Uint8Array.from([1, 0])]] as const) {
      const b = bytesOf(arr);
      header[name] = { dtype, shape, data_offsets: [at, at + b.length] };
      data.set(b, at);
      at += b.length;
    }
    const file = await open(handMade(header, data), 'conv.safetensors');
    expect(Array.from((await file.read('bf')).data)).toEqual([1, -3, 3.140625]);
    expect(Array.from((await file.read('f64')).data)).toEqual([0.5, Math.fround(-1e10)]);
    const ints = await file.read('i64');
    expect(ints.data).toBeInstanceOf(Int32Array);
    expect(Array.from(ints.data)).toEqual([-5, 2147483647, -2147483648]);
    expect(Array.from((await file.read('u8')).data)).toEqual([0, 200, 255]);
    expect(Array.from((await file.read('bool')).data)).toEqual([1, 0]);
    await expect(file.read('big')).rejects.toThrow("tensor 'big' in conv.safetensors: I64 value 1099511627776 at index 1 does not fit in int32");
  });

  it('refuses truncated files, naming what was expected', async () => {
    const whole = new Uint8Array(readFileSync(WEIGHTS));
    await expect(open(whole.subarray(0, 5), 'cut.safetensors')).rejects.toThrow('cut.safetensors: file is 5 bytes, too short for a safetensors header (expected at least 8)');
    await expect(open(whole.subarray(0, 1000), 'cut.safetensors')).rejects.toThrow('cut.safetensors: header length is 37288 bytes but only 992 bytes follow the 8-byte length (truncated');
    await expect(open(whole.subarray(0, whole.length - 100), 'cut.safetensors')).rejects.toThrow(
      /^cut\.safetensors: tensor '.+' has data_offsets \[\d+, \d+\] outside the data section, expected end <= \d+ \(file truncated\?\)$/,
    );
  });

  it('refuses a corrupt header', async () => {
    const good = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: [1, 2] }]);
    const corrupt = good.slice();
    corrupt[8 + 4] = 0x2c; // {"w":{... becomes {"w",{...
    await expect(open(corrupt)).rejects.toThrow(/^bad\.safetensors: header is not valid JSON \(.+\); it starts with /);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    await expect(open(huge)).rejects.toThrow(`bad.safetensors: header length is ${2 ** 40} bytes but only ${good.length - 8} bytes follow`);
    await expect(open(handMade([1, 2]))).rejects.toThrow('bad.safetensors: header must be a JSON object, found [1,2]');
    await expect(open(handMade({ __metadata__: { a: 1 } }))).rejects.toThrow("bad.safetensors: __metadata__ 'a' must be a string, found 1");
    await expect(open(handMade({ w: 'F32' }))).rejects.toThrow("bad.safetensors: tensor 'w': expected {dtype, shape, data_offsets}, found \"F32\"");
  });

  it('refuses wrong data_offsets, overlaps, bad shapes and unknown dtypes', async () => {
    const data = new Uint8Array(32);
    const one = (entry: Record<string, unknown>) => open(handMade({ 'var.w': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16], ...entry } }, data));
    await expect(one({ dtype: 'Q4_K' })).rejects.toThrow("bad.safetensors: tensor 'var.w' has unknown dtype \"Q4_K\" (expected one of BOOL, U8, I8");
    await expect(one({ data_offsets: [0, 12] })).rejects.toThrow("bad.safetensors: tensor 'var.w' has data_offsets [0, 12] spanning 12 bytes, expected 16 (F32 [2, 2])");
    await expect(one({ data_offsets: [24, 40] })).rejects.toThrow("bad.safetensors: tensor 'var.w' has data_offsets [24, 40] outside the data section, expected end <= 32");
    await expect(one({ data_offsets: [16, 0] })).rejects.toThrow("tensor 'var.w' has data_offsets [16,0], expected [begin, end] with 0 <= begin <= end");
    await expect(one({ data_offsets: [0] })).rejects.toThrow("tensor 'var.w' has data_offsets [0], expected [begin, end]");
    await expect(one({ shape: [2, -2] })).rejects.toThrow("tensor 'var.w' has shape [2,-2], expected an array of non-negative integers");
    const overlap = handMade({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F16', shape: [4], data_offsets: [8, 16] } }, data);
    await expect(open(overlap)).rejects.toThrow("bad.safetensors: tensors 'a' [0, 16] and 'b' [8, 16] overlap, expected disjoint data_offsets");
  });

  it('refuses tensors that do not tile the data section: a gap, bytes past the last, a header length cut into its padding', async () => {
    const data = new Uint8Array(32);
    const gap = handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [4], data_offsets: [16, 32] } }, data);
    await expect(open(gap)).rejects.toThrow("bad.safetensors: tensor 'b' starts at data offset 16, expected 8 (no gaps between tensors)");
    const extra = handMade({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, data);
    await expect(open(extra)).rejects.toThrow('bad.safetensors: the tensors cover 16 bytes of a 32-byte data section, expected all of it');
    // A written file whose header length is cut into the header's space padding: the JSON still parses,
    // and every tensor would be read shifted.
    const good = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [3], data: [1, 2, 3] }]);
    const length = new DataView(good.buffer).getBigUint64(0, true);
    expect(good[8 + Number(length) - 1]).toBe(0x20);
    const cut = good.slice();
    new DataView(cut.buffer).setBigUint64(0, length - 1n, true);
    await expect(open(cut)).rejects.toThrow('bad.safetensors: the tensors cover 12 bytes of a 13-byte data section, expected all of it');
  });
});
