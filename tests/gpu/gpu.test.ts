import { describe, expect, it } from 'vitest';
import { Gpu, parseKernelStyle, rowWorkgroupSize, sizeClass } from '../../runtime/gpu/index.ts';
import { addScaled, silu } from '../../runtime/kernels/activation.ts';
import { random, testGpu } from '../helpers.ts';

describe('runtime/gpu', () => {
  it('opens a real WebGPU device (fails, never skips, without one)', async () => {
    const gpu = await testGpu();
    expect(gpu.device.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });

  it('picks the direct kernel style on a software adapter, else workgroup; a recorder can take either', async () => {
    const gpu = await testGpu();
    const other = gpu.isSoftware ? 'workgroup' : 'direct';
    expect(gpu.kernelStyle).toBe(gpu.isSoftware ? 'direct' : 'workgroup');
    expect(gpu.recorder().kernelStyle).toBe(gpu.kernelStyle);
    expect(gpu.recorder('other', false, other).kernelStyle).toBe(other);
    expect([rowWorkgroupSize('workgroup'), rowWorkgroupSize('direct')]).toEqual([256, 4]);
    expect(parseKernelStyle('workgroup')).toBe('workgroup');
    expect(() => parseKernelStyle('fast', 'NEXTSCALE_KERNELS')).toThrow("NEXTSCALE_KERNELS: expected workgroup or direct, found 'fast'");
  });

  it('uses subgroups of 4 on a software adapter (SwiftShader has them), not on a GPU, and not when told not to', async () => {
    const gpu = await testGpu();
    expect(gpu.subgroups).toBe(gpu.isSoftware);
    expect(gpu.recorder().subgroups).toBe(gpu.subgroups);
    expect(gpu.recorder('off', false, 'direct', false).subgroups).toBe(false);
    const without = new Gpu(gpu.device, 'direct', false);
    expect(without.subgroups).toBe(false);
    expect(without.recorder('on', false, 'direct', true).subgroups).toBe(false); // a recorder cannot turn them on
  });

  it('hits the pipeline cache on a second identical call', async () => {
    const gpu = await testGpu();
    const x = gpu.upload(random(100), [100]);
    const y = gpu.tensor([100]);
    gpu.run('first', (rec) => silu(rec, y, x));
    const { hits, misses } = gpu.pipelines.stats;
    const size = gpu.pipelines.size;
    gpu.run('second', (rec) => silu(rec, y, x));
    expect(gpu.pipelines.stats.misses).toBe(misses);
    expect(gpu.pipelines.stats.hits).toBe(hits + 1);
    expect(gpu.pipelines.size).toBe(size);
  });

  it('does not grow the buffer pool over repeated identical runs', async () => {
    const gpu = await testGpu();
    const data = random(1000);
    const once = async () => {
      const x = gpu.upload(data, [1000]);
      const y = gpu.tensor([1000]);
      gpu.run('pooled', (rec) => {
        silu(rec, y, x);
        addScaled(rec, y, x, 2);
      });
      await gpu.read(y);
      x.dispose();
      y.dispose();
    };
    await once();
    const created = gpu.pool.stats.created;
    const bytes = gpu.pool.stats.allocatedBytes;
    for (let i = 0; i < 5; i++) await once();
    expect(gpu.pool.stats.created).toBe(created);
    expect(gpu.pool.stats.allocatedBytes).toBe(bytes);
    expect(gpu.pool.stats.inUse).toBeGreaterThanOrEqual(0);
  });

  it('counts dispatches per kernel and per section, with GPU times where timestamps exist', async () => {
    const gpu = await testGpu();
    const x = gpu.upload(random(300), [300]);
    const y = gpu.tensor([300]);
    const rec = gpu.recorder('counted', true);
    rec.section('a');
    silu(rec, y, x);
    silu(rec, y, x);
    rec.section('b');
    addScaled(rec, y, x);
    const sub = rec.submit();
    expect(sub.dispatches).toBe(3);
    expect(sub.sections.map((s) => [s.label, s.dispatches])).toEqual([['a', 2], ['b', 1]]);
    expect(rec.counts.get('silu')).toBe(2);
    const timed = await sub.done;
    if (gpu.hasTimestamps) for (const s of timed) expect(s.ms).toBeGreaterThanOrEqual(0);
    else for (const s of timed) expect(s.ms).toBeUndefined();
    rec.dispose();
  });

  it('spreads uniforms over more dispatches than one ring holds', async () => {
    const gpu = await testGpu();
    const x = gpu.upload([1, 2, 3], [3]);
    const y = gpu.upload([0, 0, 0], [3]);
    const n = gpu.uniformRingBytes / gpu.uniformSlot + 10;
    gpu.run('many', (rec) => {
      for (let i = 0; i < n; i++) addScaled(rec, y, x, 1);
    });
    expect(Array.from(await gpu.read(y))).toEqual([n, 2 * n, 3 * n]);
  });

  it('round-trips f16 tensors', async () => {
    const gpu = await testGpu();
    const t = gpu.upload([1, -2.5, 65504, 1e-7, 0.1], [5], 'f16');
    const got = await gpu.read(t);
    expect(got[0]).toBe(1);
    expect(got[1]).toBe(-2.5);
    expect(got[2]).toBe(65504);
    expect(got[3]).toBeCloseTo(1.19e-7, 8);
    expect(got[4]).toBeCloseTo(0.1, 3);
  });

  it('size classes hold their request with bounded waste', () => {
    for (const n of [1, 255, 256, 257, 1000, 12345, 1 << 20, 3e7]) {
      const s = sizeClass(n);
      expect(s).toBeGreaterThanOrEqual(n);
      expect(s).toBeLessThanOrEqual(Math.max(256, n * 1.2 + 16));
      expect(s % 16).toBe(0);
    }
  });
});
