/**
 * The attribute checker on fresh world images (seeds apart from the ones it is fitted on): pattern
 * and colour accuracy at 64 and 128, and under a 2x2 box blur with noise, like a lossy generator.
 */
import { describe, expect, it } from 'vitest';
import { checkImage, compareToCaption, evaluateChecker, render, rgbToRgba, type CheckerReport, type TextureSpec } from '../../world/index.ts';

const summary = (r: CheckerReport) => `pattern ${r.pattern}, colours ${r.coloursAsSet} (ordered ${r.coloursOrdered}), scale ${r.scale}, per pattern ${JSON.stringify(r.perPattern)}`;

describe('world attribute checker', () => {
  it('names pattern and colours of at least 95% of fresh 64x64 and 128x128 images', () => {
    for (const [size, count] of [[64, 200], [128, 80]]) {
      const r = evaluateChecker({ count, size, seed: 101 });
      expect(r.pattern, summary(r)).toBeGreaterThanOrEqual(0.95);
      expect(r.coloursAsSet, summary(r)).toBeGreaterThanOrEqual(0.95);
      expect(r.coloursOrdered, summary(r)).toBeGreaterThanOrEqual(0.85);
      expect(r.scale, summary(r)).toBeGreaterThanOrEqual(0.85);
    }
  });

  it('stays accurate under a 2x2 box blur with noise', () => {
    const r = evaluateChecker({ count: 150, size: 64, seed: 202, degradation: { blur: true, noise: 4 } });
    expect(r.pattern, summary(r)).toBeGreaterThanOrEqual(0.92);
    expect(r.coloursAsSet, summary(r)).toBeGreaterThanOrEqual(0.92);
  });

  it('grades an image against captions', () => {
    const spec: TextureSpec = { pattern: 'dots', colours: ['white', 'red'], scale: 'coarse', rotation: 0 };
    const img = render(spec, 64, 12345);
    expect(checkImage(img, 64)).toMatchObject({ pattern: 'dots', colours: ['white', 'red'], scale: 'coarse' });
    expect(checkImage(rgbToRgba(img), 64).pattern).toBe('dots');
    expect(compareToCaption(img, 64, 'white and red dots, coarse')).toMatchObject({ patternOk: true, coloursOk: true, coloursOrderedOk: true, scaleOk: true });
    const wrong = compareToCaption(img, 64, 'red and white stripes, fine');
    expect(wrong).toMatchObject({ patternOk: false, coloursOk: true, coloursOrderedOk: false, scaleOk: false });
    // What the checker saw instead, for reports that say where a generator went wrong.
    expect(wrong.seen).toMatchObject({ pattern: 'dots', colours: ['white', 'red'], scale: 'coarse' });
    expect(compareToCaption(img, 64, 'green and white dots').coloursOk).toBe(false);
  });

  it('says what it expected when the image has the wrong size', () => {
    expect(() => checkImage(new Uint8Array(100), 64)).toThrow(/expected 64x64 RGB \(12288 bytes\) or RGBA \(16384\); found 100 values/);
  });
});
