import { describe, expect, it } from 'vitest';
import type { Gpu, Tensor } from '../../runtime/gpu/index.ts';
import { writeImageTexture, type ImageTextureOptions } from '../../runtime/kernels/image-texture.ts';
import * as ref from '../../runtime/reference/image-texture.ts';
import { random, testGpu } from '../helpers.ts';

const [W, H] = [5, 3]; // not multiples of the 16x16 workgroup
const ROW_BYTES = 256; // copyTextureToBuffer's bytesPerRow must be a multiple of 256

function makeTexture(gpu: Gpu, width = W, height = H): GPUTexture {
  return gpu.device.createTexture({
    size: [width, height],
    format: 'rgba8unorm',
    usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_SRC,
    label: 'image texture test',
  });
}

/** Writes `image` into a fresh W x H texture and reads its texels back as RGBA8 bytes. */
async function render(gpu: Gpu, image: Tensor, opts: ImageTextureOptions): Promise<Uint8Array> {
  const texture = makeTexture(gpu);
  const staging = gpu.tensor([(ROW_BYTES / 4) * H], 'u32');
  const rec = gpu.recorder('image texture');
  writeImageTexture(rec, texture.createView(), image, opts);
  rec.rawEncoder().copyTextureToBuffer({ texture }, { buffer: staging.buffer, bytesPerRow: ROW_BYTES }, [W, H]);
  rec.submit();
  const rows = new Uint8Array((await gpu.read(staging)).buffer);
  texture.destroy();
  const out = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) out.set(rows.subarray(y * ROW_BYTES, y * ROW_BYTES + W * 4), y * W * 4);
  return out;
}

/**
 * Expects the bytes to equal round(v·255) of the reference exactly, except by 1 where v·255 lies within
 * 1e-3 of a rounding boundary (float32 on the GPU against float64 here).
 */
function expectBytes(name: string, got: Uint8Array, image: Float32Array, opts: ImageTextureOptions): void {
  const unit = ref.imageToUnitRgba(image, H, W, opts);
  const want = ref.imageToRgba8(image, H, W, opts);
  for (let i = 0; i < want.length; i++) {
    const nearTie = Math.abs(((unit[i] * 255) % 1) - 0.5) < 1e-3;
    if (got[i] !== want[i] && !(nearTie && Math.abs(got[i] - want[i]) === 1)) {
      expect.fail(`${name}: byte ${i} (texel ${i >> 2}, channel ${i & 3}) is ${got[i]}, expected ${want[i]}`);
    }
  }
}

describe('writeImageTexture against the CPU reference', () => {
  it("range '-1,1', image 1 of a batch of 2, values beyond the range clamped", async () => {
    const gpu = await testGpu();
    const image = random(2 * 3 * H * W, 1, -1.3, 1.3);
    const opts: ImageTextureOptions = { batchIndex: 1, range: '-1,1' };
    expectBytes('texture [-1, 1]', await render(gpu, gpu.upload(image, [2, 3, H, W]), opts), image, opts);
  });

  it("range '0,1' from a [3, H, W] image, plain and sRGB-encoded", async () => {
    const gpu = await testGpu();
    const image = random(3 * H * W, 2, -0.2, 1.2);
    image.set([0, 1, 0.5, 0.002, 0.2], 0); // exact ends, the midpoint, sRGB's linear segment
    const t = gpu.upload(image, [3, H, W]);
    const got = await render(gpu, t, {});
    expectBytes('texture [0, 1]', got, image, {});
    expect([got[0], got[4], got[8], got[3]]).toEqual([0, 255, 128, 255]); // red of texels 0, 1, 2 (0.5 rounds up); alpha
    expectBytes('texture sRGB', await render(gpu, t, { srgb: true }), image, { srgb: true });
  });
});

describe('writeImageTexture arguments', () => {
  it('rejects bad shapes, dtypes and batch indices, naming expected and found', async () => {
    const gpu = await testGpu();
    const rec = gpu.recorder();
    const view = makeTexture(gpu).createView();
    expect(() => writeImageTexture(rec, view, gpu.tensor([2, 4, H, W]))).toThrow(`writeImageTexture: image must be [B, 3, H, W] or [3, H, W], found [2, 4, ${H}, ${W}]`);
    expect(() => writeImageTexture(rec, view, gpu.tensor([3, H * W]))).toThrow(/found \[3, 15\]/);
    expect(() => writeImageTexture(rec, view, gpu.tensor([2, 3, H, W]), { batchIndex: 2 })).toThrow('writeImageTexture: batchIndex must be an integer in [0, 2), found 2');
    expect(() => writeImageTexture(rec, view, gpu.tensor([3, H, W], 'f16'))).toThrow('writeImageTexture: image must be f32, found f16');
    expect(rec.dispatches).toBe(0);
  });
});
