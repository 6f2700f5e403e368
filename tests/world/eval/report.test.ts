import { describe, expect, it } from 'vitest';
import type { ClipSummary } from '../../../world/eval/clip-grade.ts';
import { formatWorldReport, WORLD_TARGETS, type WorldEvalReport } from '../../../world/eval/world-eval.ts';

const scores = (count: number, colours: number, pattern: number) => ({ count, colours, pattern, both: Math.min(colours, pattern) });
const clipSummary = (clips: number, followPsnr: number, stillPsnr: number): ClipSummary => ({ clips, followPsnr, stillPsnr, change: 1, colours: 0.9, pattern: 0.5 });

/** A report of every part, the held-out pattern `heldOutPattern` and the clips' follow / still as given. */
function report(heldOutPattern: number, follow: number, still: number): WorldEvalReport {
  return {
    generation: { seen: scores(100, 0.94, 0.72), heldOut: scores(100, 0.94, heldOutPattern), all: scores(200, 0.94, (0.72 + heldOutPattern) / 2), msPerImage: 1500, seam: 1.02, seamAtPatch: 0.95 },
    captioning: { count: 100, right: 0.95, pattern: 0.97, colours: 0.98, scale: 0.9 },
    reconstruction: { count: 50, psnrDb: 25.25, colours: 0.98, pattern: 0.9 },
    video: {
      ...clipSummary(22, follow, still),
      byMotion: { scroll: clipSummary(18, follow - 0.5, still - 0.5), grow: clipSummary(6, NaN, NaN) },
      frames: 12,
      keyframeEvery: 1,
      msPerFrame: 2900,
    },
  };
}

const row = (table: string, start: string) => table.split('\n').find((line) => line.startsWith(start)) ?? '';

describe('the eval table', () => {
  it('marks each target met or missed, the held-out pattern against its own', () => {
    const table = formatWorldReport(report(0.55, 22.8, 23.0));
    expect(row(table, 'colours right')).toMatch(/94\.0%\s+>= 90\.0% met$/);
    expect(row(table, 'pattern right')).toMatch(/63\.5%\s+>= 70\.0% MISSED$/);
    expect(row(table, '  held-out combinations')).toMatch(/pattern >= 60\.0% MISSED$/);
    expect(row(table, 'captions right')).toMatch(/>= 85\.0% met$/);
    expect(row(table, 'tokenizer reconstruction')).toMatch(/25\.25 dB\s+>= 26 dB MISSED$/);
    expect(row(table, 'seam of the generated')).toContain('<= 1.1 met');
    expect(row(table, 'clips: follow / still')).toContain('22.80 dB / 23.00 dB  follow > still MISSED');
    expect(WORLD_TARGETS.heldOutPattern).toBe(0.6);

    const better = formatWorldReport(report(0.65, 23.1, 23.0));
    expect(row(better, '  held-out combinations')).toMatch(/pattern >= 60\.0% met$/);
    expect(row(better, 'clips: follow / still')).toContain('follow > still met');
    // Two decimals on the verdict's own row, so that a narrow margin does not print as a tie.
    expect(row(formatWorldReport(report(0.65, 22.54, 22.46)), 'clips: follow / still')).toContain('22.54 dB / 22.46 dB  follow > still met');
  });

  it('reads the clips per motion that moves pixels, not per motion that redraws the pattern', () => {
    const table = formatWorldReport(report(0.65, 22.8, 23.0));
    expect(row(table, '  scroll (18)')).toContain('22.3 dB / 22.5 dB');
    expect(table).not.toContain('grow (6)');
  });

  it('leaves out a part that measured nothing, instead of reading it as a missed target', () => {
    const r = report(0.65, 22.8, 23.0);
    const clipsOnly: WorldEvalReport = {
      ...r,
      generation: { ...r.generation, seen: scores(0, 0, 0), heldOut: scores(0, 0, 0), all: scores(0, 0, 0) },
      captioning: { ...r.captioning, count: 0 },
      reconstruction: { ...r.reconstruction, count: 0 },
    };
    const table = formatWorldReport(clipsOnly);
    expect(table).not.toMatch(/colours right|captions right|reconstruction|seam/);
    expect(table).toContain('clips: follow / still');
    expect(formatWorldReport({ ...clipsOnly, video: undefined })).toBe('nothing measured: every count is 0');
  });
});
