/**
 * The frame's rule that nothing comes back from the GPU between scales, counted: a generation reads
 * back only when its caller reads the image, and the unified bench reports the same count.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { benchUnified } from '../../runtime/cli/unified-bench.ts';
import { UnifiedSession } from '../../runtime/generate/unified-session.ts';
import { VarSession } from '../../runtime/generate/var-session.ts';
import type { Gpu } from '../../runtime/gpu/index.ts';
import type { UnifiedModel } from '../../runtime/models/unified/model.ts';
import { loadUnifiedFolder } from '../../runtime/models/unified/load.ts';
import { loadVarFolder } from '../../runtime/models/var/load.ts';
import { FIXTURE as VAR_FIXTURE } from '../models/fixture.ts';
import { testGpu } from '../helpers.ts';

const UNIFIED_FIXTURE = fileURLToPath(new URL('../fixtures/unified-tiny', import.meta.url));

describe('read-backs', () => {
  let gpu: Gpu;
  let unified: UnifiedModel;

  beforeAll(async () => {
    gpu = await testGpu();
    unified = await loadUnifiedFolder(gpu, UNIFIED_FIXTURE);
  });
  afterAll(() => unified.dispose());

  it('a unified image: none while it is generated, one when it is read', async () => {
    const session = new UnifiedSession(unified, { guidance: true });
    session.appendText('red and blue checker');
    const job = session.generateImage({ cfg: 1.5, topK: 4, seed: 2 });
    const before = gpu.readbacks.count;
    const steps = await session.run();
    expect(steps).toBeGreaterThan(unified.config.unified.patchNums.length);
    expect(gpu.readbacks.count - before).toBe(0);
    await job.readImage();
    expect(gpu.readbacks.count - before).toBe(1);
    session.dispose();
  });

  it('a VAR image: none while it is generated, one when it is read', async () => {
    const model = await loadVarFolder(gpu, VAR_FIXTURE, { encoder: false });
    const session = new VarSession(model, { labels: [1, 2], seed: 0, cfg: 1.5, topK: 10, topP: 0.9 });
    const before = gpu.readbacks.count;
    session.run();
    await gpu.device.queue.onSubmittedWorkDone();
    expect(gpu.readbacks.count - before).toBe(0);
    await session.readImage();
    expect(gpu.readbacks.count - before).toBe(1);
    session.dispose();
    model.dispose();
  });

  it('npm run bench counts them per image and per caption, with every scale of the model', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    try {
      await benchUnified(gpu, unified, 'unified-tiny', { prompt: 'red and blue checker', cfg: 0, variations: 3 });
    } finally {
      log.mockRestore();
    }
    const report = JSON.parse(lines[lines.length - 1]);
    expect(report.bench).toBe('unified');
    expect(report.kernelStyle).toBe(gpu.kernelStyle);
    expect(report.textToImage.readbacks).toBe(0);
    expect(report.textToImage.scales.map((s: { pn: number }) => s.pn)).toEqual(unified.config.unified.patchNums);
    for (const s of report.textToImage.scales) expect(s.dispatches).toBeGreaterThan(0);
    expect(report.caption.tokenSteps).toBeGreaterThanOrEqual(report.caption.tokens);
    expect(report.caption.readbacks).toBeGreaterThanOrEqual(1);
    expect(report.caption.readbacks).toBeLessThanOrEqual(Math.ceil(report.caption.tokenSteps / 8) + 1);
    // Variations: one batch takes at most the dispatches of one image, not three times as many (fewer where the
    // batch's rows reach the 16 from which SwiGLU's projections take one dispatch: linearSwiglu).
    expect(report.variations.images).toBe(3);
    expect(report.variations.dispatches).toBeLessThanOrEqual(report.variations.singleDispatches);
    expect(report.variations.dispatches).toBeGreaterThan(report.variations.singleDispatches * 0.9);
    expect(lines.some((l) => /^variations: 3 images in one batch .* batch \/ 3 single = /.test(l))).toBe(true);
  });
});
