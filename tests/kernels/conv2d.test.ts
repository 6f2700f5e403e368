import { describe, expect, it } from 'vitest';
import { roundToHalf } from '../../runtime/gpu/index.ts';
import { conv2d, conv2dTileRows, packConv2dWeight, packedConv2dShape, type Conv2dPadding, type PaddingMode } from '../../runtime/kernels/conv2d.ts';
import * as ref from '../../runtime/reference/conv2d.ts';
import { expectClose, expectSlackUntouched, fillSlack, KERNEL_VARIANTS, random, testGpu, type KernelVariant } from '../helpers.ts';

const TOL = { atol: 1e-4, rtol: 1e-4 };

interface Case extends Omit<ref.Conv2dShape, 'padding' | 'stride' | 'paddingMode'> {
  stride?: 1 | 2;
  padding?: Conv2dPadding;
  paddingMode?: PaddingMode;
  f16?: boolean;
  bias?: boolean;
  /** The weight in channel groups (packConv2dWeight). */
  packed?: boolean;
}

/**
 * Runs one conv on the GPU in the given kernel style (with or without subgroup operations) and checks it
 * against the reference; returns the kernel that ran.
 */
async function checkStyle({ style, subgroups }: KernelVariant, c: Case, seed: number): Promise<string> {
  const gpu = await testGpu();
  const { B, Cin, H, W, Cout, k, stride = 1, f16 = false, bias = true, packed = false } = c;
  const pad = c.padding ?? 0;
  const padding: [number, number, number, number] = typeof pad === 'number' ? [pad, pad, pad, pad] : pad;
  const shape = { B, Cin, H, W, Cout, k, stride, padding, paddingMode: c.paddingMode };
  const [Ho, Wo] = ref.conv2dOutSize(shape);
  const x = random(B * Cin * H * W, seed);
  const w = random(Cout * Cin * k * k, seed + 1);
  const b = bias ? random(Cout, seed + 2) : undefined;
  const out = gpu.tensor([B, Cout, Ho, Wo]);
  fillSlack(gpu, out);
  const rec = gpu.recorder('conv2d', false, style, subgroups);
  const weight = packed
    ? gpu.upload(packConv2dWeight(w, [Cout, Cin, k, k]), packedConv2dShape([Cout, Cin, k]), f16 ? 'f16' : 'f32')
    : gpu.upload(w, [Cout, Cin, k, k], f16 ? 'f16' : 'f32');
  conv2d(rec, out, gpu.upload(x, [B, Cin, H, W]), weight, b && gpu.upload(b, [Cout]), { stride, padding: c.padding, paddingMode: c.paddingMode });
  rec.submit();
  const name = `conv2d (${style}${subgroups ? '' : ', no subgroups'}) ${JSON.stringify(c)}`;
  expectClose(name, await gpu.read(out), ref.conv2d(x, f16 ? roundToHalf(w) : w, b, shape), TOL);
  await expectSlackUntouched(gpu, out, name);
  return [...rec.counts.keys()].join();
}

/** Padding on the sides starting at `side` (0: top and bottom, 2: left and right). */
function padSum(c: Case, side: 0 | 2): number {
  const p = c.padding ?? 0;
  return typeof p === 'number' ? 2 * p : p[side] + p[side + 1];
}

describe.each(KERNEL_VARIANTS)('conv2d in the $label kernel style against the CPU reference', (variant) => {
  // The direct style has its own kernel for 3x3 stride 1, which reads each input row segment once; its
  // subgroup form shares the weight taps among 4 invocations, when they fall on the same channels.
  const kernel = (c: Case, subgroups: boolean) => {
    if (variant.style === 'workgroup') return 'conv2d';
    if (c.k === 3 && (c.stride ?? 1) === 1) {
      const [Ho, Wo] = [c.H + padSum(c, 0) - 2, c.W + padSum(c, 2) - 2];
      return subgroups && (c.B * Math.ceil(Ho / 2) * Math.ceil(Wo / 8)) % 4 === 0 ? 'conv2d_subgroup_3x3' : 'conv2d_direct_3x3';
    }
    return c.k === 1 && !c.padding && (c.stride ?? 1) === 1 && (c.H * c.W) % 4 === 0 ? 'conv2d_direct_1x1' : 'conv2d_direct';
  };
  const check = async (c: Case, seed: number) => {
    const subgroups = variant.subgroups && (await testGpu()).subgroups;
    expect(await checkStyle(variant, c, seed)).toBe(kernel(c, subgroups));
  };

  it('3x3, padding 1, stride 1: B=2, Cin=3, Cout=5, 7x6 (f32 and f16 weights); 3 channels of 8x8', async () => {
    await check({ B: 2, Cin: 3, H: 7, W: 6, Cout: 5, k: 3, padding: 1 }, 1);
    await check({ B: 2, Cin: 3, H: 7, W: 6, Cout: 5, k: 3, padding: 1, f16: true }, 2);
    await check({ B: 2, Cin: 3, H: 8, W: 8, Cout: 3, k: 3, padding: 1 }, 18); // one channel group, 8 pixel blocks
  });

  it('3x3 on rows of whole vec4s (W % 4 == 0, a column of padding a side): 4, 12 and 16 pixels a row', async () => {
    // The direct style reads such rows four pixels at a time; 12 ends a row halfway into an 8-pixel block.
    await check({ B: 2, Cin: 3, H: 5, W: 12, Cout: 6, k: 3, padding: 1 }, 12);
    await check({ B: 1, Cin: 4, H: 3, W: 4, Cout: 5, k: 3, padding: 1, f16: true }, 13);
    await check({ B: 1, Cin: 2, H: 6, W: 16, Cout: 3, k: 3, padding: [0, 2, 1, 1], bias: false }, 14);
  });

  it('stride 2 with asymmetric padding [0, 1, 0, 1] (VQVAE downsampling), and no bias', async () => {
    await check({ B: 2, Cin: 3, H: 7, W: 6, Cout: 5, k: 3, stride: 2, padding: [0, 1, 0, 1] }, 3);
    await check({ B: 1, Cin: 4, H: 8, W: 9, Cout: 3, k: 3, stride: 2, padding: [0, 1, 0, 1], bias: false, f16: true }, 4);
    await check({ B: 1, Cin: 2, H: 5, W: 6, Cout: 3, k: 3, stride: 2, padding: [2, 0, 1, 3] }, 5);
  });

  it('1x1 and unpadded 3x3', async () => {
    await check({ B: 2, Cin: 7, H: 5, W: 3, Cout: 9, k: 1 }, 6);
    await check({ B: 1, Cin: 5, H: 4, W: 6, Cout: 3, k: 1, f16: true, bias: false }, 7);
    // H·W % 4 == 0 (the direct style's flattened 1x1): 8 pixels a block, the last one 4 (12 pixels); 9 and 12 channels
    await check({ B: 2, Cin: 6, H: 2, W: 6, Cout: 9, k: 1 }, 15);
    await check({ B: 1, Cin: 9, H: 4, W: 8, Cout: 12, k: 1, f16: true }, 16);
    await check({ B: 1, Cin: 3, H: 3, W: 5, Cout: 4, k: 1, stride: 2 }, 17);
    await check({ B: 1, Cin: 3, H: 5, W: 4, Cout: 2, k: 3 }, 8);
  });

  it('several tiles of pixels and channels, K over several steps (16, 32 and 64-channel tiles)', async () => {
    await check({ B: 2, Cin: 5, H: 9, W: 10, Cout: 70, k: 3, padding: 1, f16: true }, 9); // 180 pixels, 2 channel tiles
    await check({ B: 1, Cin: 9, H: 11, W: 7, Cout: 20, k: 3, padding: 1 }, 10); // K = 81
    await check({ B: 2, Cin: 6, H: 5, W: 19, Cout: 7, k: 3, stride: 2, padding: 1, f16: true }, 11); // output rows of 10: two pixel blocks, the second cut at 2
  });
});

describe.each(KERNEL_VARIANTS)('conv2d with the weight in channel groups in the $label kernel style against the CPU reference', (variant) => {
  const check = async (c: Omit<Case, 'packed'>, seed: number) => {
    await checkStyle(variant, { ...c, packed: true }, seed);
  };

  it('3x3 stride 1: 3, 5, 9, 12 and 70 channels (a last group of 8 cut short, or of 4), f32 and f16', async () => {
    await check({ B: 2, Cin: 3, H: 7, W: 6, Cout: 5, k: 3, padding: 1 }, 41);
    await check({ B: 1, Cin: 4, H: 3, W: 4, Cout: 3, k: 3, padding: 1, f16: true }, 42);
    await check({ B: 1, Cin: 3, H: 5, W: 12, Cout: 9, k: 3, padding: 1, f16: true, paddingMode: 'circular' }, 43);
    await check({ B: 2, Cin: 2, H: 6, W: 16, Cout: 12, k: 3, padding: [0, 2, 1, 1], bias: false }, 44);
    await check({ B: 2, Cin: 5, H: 9, W: 10, Cout: 70, k: 3, padding: 1, f16: true }, 45);
  });

  it('stride 2, 1x1 and circular padding', async () => {
    await check({ B: 2, Cin: 3, H: 7, W: 6, Cout: 5, k: 3, stride: 2, padding: [0, 1, 0, 1] }, 46);
    await check({ B: 2, Cin: 7, H: 5, W: 3, Cout: 9, k: 1, f16: true }, 47);
    await check({ B: 1, Cin: 2, H: 2, W: 3, Cout: 3, k: 3, padding: [2, 1, 3, 0], paddingMode: 'circular' }, 48);
  });
});

describe('packConv2dWeight', () => {
  it('puts channel 4g + c of tap j at [g, j, c], zeros past Cout', () => {
    const [Cout, Cin, k] = [6, 2, 3];
    const w = Float32Array.from({ length: Cout * Cin * k * k }, (_, i) => i + 1);
    const packed = packConv2dWeight(w, [Cout, Cin, k, k]);
    expect(packedConv2dShape([Cout, Cin, k])).toEqual([2, 2, 3, 3, 4]);
    expect(packed.length).toBe(2 * 18 * 4);
    for (let co = 0; co < 8; co++) {
      for (let j = 0; j < 18; j++) expect(packed[((co >> 2) * 18 + j) * 4 + (co & 3)]).toBe(co < Cout ? w[co * 18 + j] : 0);
    }
    expect(() => packConv2dWeight(w.subarray(1), [Cout, Cin, k, k])).toThrow('packConv2dWeight: [6, 2, 3, 3] needs 108 values, got 107');
  });
});

describe.each(KERNEL_VARIANTS)('conv2d with circular padding in the $label kernel style against the CPU reference', (variant) => {
  const check = async (c: Omit<Case, 'paddingMode'>, seed: number) => {
    await checkStyle(variant, { ...c, paddingMode: 'circular' }, seed);
  };

  it('3x3, padding 1: rows of any width, and rows of whole vec4s (4, 12 and 16 pixels)', async () => {
    await check({ B: 2, Cin: 3, H: 7, W: 6, Cout: 5, k: 3, padding: 1 }, 21);
    await check({ B: 2, Cin: 3, H: 5, W: 12, Cout: 6, k: 3, padding: 1, f16: true }, 22);
    await check({ B: 1, Cin: 4, H: 3, W: 4, Cout: 5, k: 3, padding: 1 }, 23);
    await check({ B: 1, Cin: 2, H: 6, W: 16, Cout: 3, k: 3, padding: [0, 2, 1, 1], bias: false }, 24);
  });

  it('stride 2 with padding [0, 1, 0, 1], 1x1, several tiles, and padding as large as the input', async () => {
    await check({ B: 2, Cin: 3, H: 7, W: 6, Cout: 5, k: 3, stride: 2, padding: [0, 1, 0, 1] }, 25);
    await check({ B: 1, Cin: 5, H: 4, W: 6, Cout: 3, k: 1, f16: true }, 26);
    await check({ B: 2, Cin: 5, H: 9, W: 10, Cout: 70, k: 3, padding: 1, f16: true }, 27);
    await check({ B: 1, Cin: 2, H: 2, W: 3, Cout: 3, k: 3, padding: [2, 1, 3, 0] }, 28);
  });
});

describe('the conv2d reference with circular padding', () => {
  it('equals an unpadded convolution of the input padded by hand with its opposite edges', () => {
    const [B, Cin, H, W, Cout, k] = [2, 3, 5, 4, 2, 3];
    const x = random(B * Cin * H * W, 31);
    const w = random(Cout * Cin * k * k, 32);
    const b = random(Cout, 33);
    const wrapped = new Float32Array(B * Cin * (H + 2) * (W + 2));
    for (let i = 0; i < B * Cin; i++)
      for (let y = 0; y < H + 2; y++)
        for (let xx = 0; xx < W + 2; xx++) {
          wrapped[(i * (H + 2) + y) * (W + 2) + xx] = x[(i * H + ((y - 1 + H) % H)) * W + ((xx - 1 + W) % W)];
        }
    const circular = ref.conv2d(x, w, b, { B, Cin, H, W, Cout, k, padding: [1, 1, 1, 1], paddingMode: 'circular' });
    expectClose('circular reference', circular, ref.conv2d(wrapped, w, b, { B, Cin, H: H + 2, W: W + 2, Cout, k }), { atol: 1e-6, rtol: 1e-6 });
    const zeros = ref.conv2d(x, w, b, { B, Cin, H, W, Cout, k, padding: [1, 1, 1, 1] });
    expect(Math.max(...circular.map((v, i) => Math.abs(v - zeros[i])))).toBeGreaterThan(0.01);
  });
});

describe('conv2d arguments', () => {
  it('tiles 16, 32 or 64 channels in the workgroup style, the smallest that covers Cout', () => {
    expect([conv2dTileRows(3), conv2dTileRows(20), conv2dTileRows(70)]).toEqual([1, 2, 4]);
  });

  it('rejects mismatched shapes and dtypes, naming expected and found', async () => {
    const gpu = await testGpu();
    const rec = gpu.recorder();
    const x = gpu.tensor([2, 3, 7, 6]);
    const w = gpu.tensor([5, 3, 3, 3]);
    expect(() => conv2d(rec, gpu.tensor([2, 5, 7, 6]), x, w, undefined, { padding: 1 })).not.toThrow();
    expect(() => conv2d(rec, gpu.tensor([2, 5, 7, 7]), x, w, undefined, { padding: 1 })).toThrow('conv2d: out: expected shape [2, 5, 7, 6], found [2, 5, 7, 7]');
    expect(() => conv2d(rec, gpu.tensor([2, 5, 4, 3]), x, w, undefined, { padding: 1, stride: 2 })).not.toThrow();
    expect(() => conv2d(rec, gpu.tensor([2, 5, 3, 3]), x, w, undefined, { padding: [0, 1, 0, 1], stride: 2 })).not.toThrow();
    expect(() => conv2d(rec, gpu.tensor([2, 5, 7, 6]), x, gpu.tensor([5, 4, 3, 3]), undefined, { padding: 1 })).toThrow('conv2d: weight must be [Cout, Cin=3, k, k] with k = 1 or 3, or that packed as [ceil(Cout / 4), Cin, k, k, 4] (Cout=5 from out), found [5, 4, 3, 3]');
    expect(() => conv2d(rec, gpu.tensor([2, 5, 7, 6]), x, gpu.tensor([1, 3, 3, 3, 4]), undefined, { padding: 1 })).toThrow(/\(Cout=5 from out\), found \[1, 3, 3, 3, 4\]/);
    expect(() => conv2d(rec, gpu.tensor([2, 5, 7, 6]), x, gpu.tensor([2, 3, 3, 3, 4]), undefined, { padding: 1 })).not.toThrow();
    expect(() => conv2d(rec, gpu.tensor([2, 5, 3, 2]), x, gpu.tensor([5, 3, 5, 5]), undefined)).toThrow(/k = 1 or 3, or that packed .*, found \[5, 3, 5, 5\]/);
    expect(() => conv2d(rec, gpu.tensor([2, 5, 7, 6]), x, w, gpu.tensor([4]), { padding: 1 })).toThrow('conv2d: bias: expected shape [5], found [4]');
    expect(() => conv2d(rec, gpu.tensor([5, 7, 6]), gpu.tensor([3, 7, 6]), w, undefined)).toThrow('conv2d: x must be [B, Cin, H, W], found [3, 7, 6]');
    expect(() => conv2d(rec, gpu.tensor([2, 5, 7, 6]), x, gpu.tensor([5, 3, 3, 3], 'i32'), undefined)).toThrow('conv2d: weight must be f32 or f16, found i32');
    expect(() => conv2d(rec, gpu.tensor([2, 5, 7, 6]), gpu.tensor([2, 3, 7, 6], 'f16'), w, undefined)).toThrow('conv2d: x must be f32, found f16');
    expect(() => conv2d(rec, gpu.tensor([1, 5, 1, 1]), gpu.tensor([1, 3, 2, 2]), w, undefined)).toThrow('conv2d: a 3x3 kernel does not fit the padded 2x2 input');
    expect(() => conv2d(rec, gpu.tensor([2, 5, 7, 6]), x, w, undefined, { padding: -1 })).toThrow(/padding must be whole numbers ≥ 0, found \[-1/);
    expect(() => conv2d(rec, gpu.tensor([2, 5, 6, 6]), gpu.tensor([2, 3, 2, 2]), w, undefined, { padding: 3, paddingMode: 'circular' })).toThrow('conv2d: circular padding [3, 3, 3, 3] exceeds the 2x2 input');
    expect(() => conv2d(rec, gpu.tensor([2, 5, 7, 6]), x, w, undefined, { padding: 1, paddingMode: 'reflect' as PaddingMode })).toThrow('conv2d: paddingMode must be zeros or circular, found "reflect"');
    expect(rec.dispatches).toBe(4);
  });
});
