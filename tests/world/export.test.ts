/** The .npy header, the exporter end to end (files, shapes, captions, the held-out split, edits), and grading. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWorld } from '../../world/cli.ts';
import { applyInstruction, hash32, isHeldOut, npyHeader, parseCaption, parseNpyHeader, render, vocabulary } from '../../world/index.ts';

/** A tiny .npy reader: header, then the uint8 payload, checked for length. */
function readNpy(path: string): { shape: number[]; data: Uint8Array } {
  const bytes = new Uint8Array(readFileSync(path));
  const h = parseNpyHeader(bytes);
  expect(h.descr).toBe('|u1');
  expect(h.fortranOrder).toBe(false);
  expect(h.dataOffset % 64).toBe(0);
  const data = bytes.subarray(h.dataOffset);
  expect(data.length).toBe(h.shape.reduce((a, b) => a * b, 1));
  return { shape: h.shape, data };
}

describe('npy header', () => {
  it('is version 1.0, padded to 64 bytes, ends in a newline and parses back', () => {
    for (const shape of [[20000, 64, 64, 3], [7], [0, 2]]) {
      const h = npyHeader(shape);
      expect(h.length % 64).toBe(0);
      expect(Array.from(h.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
      expect(h[8] + 256 * h[9]).toBe(h.length - 10);
      expect(h[h.length - 1]).toBe(0x0a);
      expect(parseNpyHeader(h)).toEqual({ descr: '|u1', fortranOrder: false, shape, dataOffset: h.length });
    }
    expect(new TextDecoder().decode(npyHeader([2, 3]).subarray(10)).trim()).toBe("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }");
    expect(() => parseNpyHeader(new Uint8Array(16))).toThrow(/magic/);
    expect(() => npyHeader([2.5])).toThrow(/integers/);
  });
});

describe('world exporter', () => {
  const logged: string[] = [];
  const run = (args: string[]) => runWorld(args, (line) => logged.push(line), (line) => logged.push(line));

  it('writes images, captions, words and edit pairs that agree with each other', () => {
    const dir = mkdtempSync(join(tmpdir(), 'world-'));
    try {
      run(['--out', dir, '--count', '24', '--size', '32', '--seed', '4', '--edits', '6']);
      const images = readNpy(join(dir, 'images.npy'));
      expect(images.shape).toEqual([24, 32, 32, 3]);
      const lines = readFileSync(join(dir, 'captions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.length).toBe(24);
      for (const l of lines) {
        expect(Object.keys(l)).toEqual(['caption', 'pattern', 'colors', 'scale', 'rotation', 'heldout']);
        expect(parseCaption(l.caption)).toEqual({ pattern: l.pattern, colours: l.colors, scale: l.scale, rotation: l.rotation });
        expect(l.heldout).toBe(false);
      }
      const first = render(parseCaption(lines[0].caption), 32, 0);
      expect(images.data.subarray(0, first.length)).not.toEqual(new Uint8Array(first));
      expect(JSON.parse(readFileSync(join(dir, 'words.json'), 'utf8'))).toEqual({ words: vocabulary() });
      const src = readNpy(join(dir, 'edit_src.npy'));
      const dst = readNpy(join(dir, 'edit_dst.npy'));
      expect(src.shape).toEqual([6, 32, 32, 3]);
      expect(dst.shape).toEqual([6, 32, 32, 3]);
      const edits = readFileSync(join(dir, 'edits.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      for (const e of edits) expect(applyInstruction(parseCaption(e.src_caption), e.instruction)).toEqual(parseCaption(e.dst_caption));
      run(['--out', dir, '--count', '24', '--size', '32', '--seed', '4']);
      expect(readNpy(join(dir, 'images.npy')).data).toEqual(images.data);
      run(['--out', dir, '--count', '24', '--size', '32', '--seed', '4', '--aligned']);
      const aligned = readNpy(join(dir, 'images.npy')).data;
      expect(readFileSync(join(dir, 'captions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))).toEqual(lines);
      expect(aligned.subarray(0, first.length)).toEqual(new Uint8Array(render(parseCaption(lines[0].caption), 32, hash32(4, 0), { aligned: true })));
      expect(aligned).not.toEqual(images.data);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--heldout writes only held-out combinations; bad arguments say what was expected', () => {
    const dir = mkdtempSync(join(tmpdir(), 'world-'));
    try {
      run(['--out', dir, '--count', '30', '--size', '16', '--heldout']);
      const lines = readFileSync(join(dir, 'captions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      for (const l of lines) {
        expect(l.heldout).toBe(true);
        expect(isHeldOut(parseCaption(l.caption))).toBe(true);
      }
      expect(() => run(['--out', dir, '--count', 'many'])).toThrow(/--count must be a whole number >= 1; found 'many'/);
      expect(() => run(['--out', dir])).toThrow(/--count is required with --out/);
      expect(() => run([])).toThrow(/nothing to do/);
      run(['--list-heldout']);
      expect(logged.at(-1)?.split('\n').length).toBe(70);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--grade grades textures against their prompts and predicted captions against the truth', () => {
    const dir = mkdtempSync(join(tmpdir(), 'world-'));
    try {
      run(['--out', dir, '--count', '6', '--size', '64', '--seed', '3']);
      const lines = readFileSync(join(dir, 'captions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const other = lines.find((l) => l.pattern !== lines[0].pattern);
      // Records 0-1: the world's own images against their own captions (the checker knows them); record 2:
      // an image against another texture's caption; records 3-5: captions, right, wrong pattern, unreadable.
      const records = [
        { caption: lines[0].caption, heldout: false },
        { caption: lines[1].caption, heldout: true },
        { caption: other.caption, heldout: false },
        { caption: lines[3].caption, predicted: lines[3].caption },
        { caption: lines[4].caption, predicted: lines[4].caption.replace(lines[4].pattern, lines[4].pattern === 'dots' ? 'checker' : 'dots') },
        { caption: lines[5].caption, predicted: 'and and' },
      ];
      writeFileSync(join(dir, 'captions.jsonl'), records.map((r) => JSON.stringify(r) + '\n').join(''));
      run(['--grade', dir]);
      const report = JSON.parse(logged.at(-1)!);
      expect(report.generation.seen).toEqual({ count: 2, colours: 0.5, pattern: 0.5 });
      expect(report.generation.heldOut).toEqual({ count: 1, colours: 1, pattern: 1 });
      expect(report.captioning).toEqual({ count: 3, colours: 2 / 3, pattern: 1 / 3, right: 1 / 3 });
      // Per texture, in record order: records 0 and 1 are right, record 2 shows another pattern.
      expect(report.textures.map((t: { pattern: boolean }) => t.pattern)).toEqual([true, true, false]);
      // Record 2's image shows its own pattern, which the breakdown names as what was seen instead.
      const byPrompt = logged.find((l) => l.includes('pattern right by prompt:'))!;
      expect(byPrompt).toContain(`(else mostly ${lines[2].pattern}, 1)`);
      const byScale = logged.find((l) => l.includes('pattern right by scale:'))!;
      const counts = [...byScale.matchAll(/(\d+)\/(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
      expect(counts.reduce((n, [right, all]) => [n[0] + right, n[1] + all], [0, 0])).toEqual([2, 3]);
      writeFileSync(join(dir, 'captions.jsonl'), records.slice(0, 2).map((r) => JSON.stringify(r) + '\n').join(''));
      expect(() => run(['--grade', dir])).toThrow(/expected uint8 \[2, S, S, 3\] \(one image per caption record\), found \|u1 \[6, 64, 64, 3\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
