/** Captions, edit instructions and clip captions: writing, reading back, and the vocabulary. */
import { describe, expect, it } from 'vitest';
import {
  MOTION_PHRASES,
  PATTERNS,
  Rng,
  applyInstruction,
  caption,
  clipCaption,
  enumerateSpecs,
  instructionText,
  instructionsFor,
  isHeldOut,
  motionPhrasesFor,
  parseCaption,
  parseClipCaption,
  renderFrame,
  sampleClip,
  sampleEdit,
  vocabulary,
  type TextureSpec,
} from '../../world/index.ts';

const spec: TextureSpec = { pattern: 'checker', colours: ['red', 'blue'], scale: 'fine', rotation: 45 };

describe('world captions', () => {
  it('writes the fixed word order and leaves rotation 0 unsaid', () => {
    expect(caption(spec)).toBe('red and blue checker, fine, rotated 45');
    expect(caption({ ...spec, rotation: 0, scale: 'coarse' })).toBe('red and blue checker, coarse');
  });

  it('every caption of the grammar reads back to its spec', () => {
    for (const s of enumerateSpecs()) expect(parseCaption(caption(s))).toEqual(s);
  });

  it('reads prompts tolerantly: case, spacing, punctuation, grey, singular names, defaults', () => {
    expect(parseCaption('  RED and  Blue   Checker ,FINE,   rotated 45 ')).toEqual(spec);
    expect(parseCaption('grey and white stripe')).toEqual({ pattern: 'stripes', colours: ['gray', 'white'], scale: 'medium', rotation: 0 });
    expect(parseCaption('Teal and pink dots, coarse, rotated 45 degrees')).toEqual({ pattern: 'dots', colours: ['teal', 'pink'], scale: 'coarse', rotation: 45 });
  });

  it('names the problem in a caption outside the grammar', () => {
    expect(() => parseCaption('red checker')).toThrow(/expected two colour names .*found 1 \(red\)/);
    expect(() => parseCaption('red and blue')).toThrow(/expected a pattern/);
    expect(() => parseCaption('red and blue plaid')).toThrow(/unexpected word 'plaid'/);
    expect(() => parseCaption('red and red dots')).toThrow(/must differ/);
    expect(() => parseCaption('red and blue noise, rotated 45')).toThrow(/noise allows rotations 0; found 45/);
    expect(() => parseCaption('red and blue dots, rotated 30')).toThrow(/'rotated' must be followed by 0, 45 or 90; found '30'/);
  });

  it('applies instructions by the stated rules', () => {
    expect(applyInstruction(spec, 'make it green').colours).toEqual(['green', 'blue']);
    expect(applyInstruction(spec, 'Make it  BLUE').colours).toEqual(['blue', 'red']);
    expect(() => applyInstruction(spec, 'make it red')).toThrow(/already red/);
    expect(applyInstruction(spec, 'make it dots')).toEqual({ ...spec, pattern: 'dots' });
    expect(applyInstruction(spec, 'make it hex')).toEqual({ ...spec, pattern: 'hex', rotation: 0 });
    expect(applyInstruction({ ...spec, rotation: 0 }, 'make it wood').rotation).toBe(0);
    expect(applyInstruction({ ...spec, scale: 'coarse' }, 'make it finer').scale).toBe('medium');
    expect(applyInstruction({ ...spec, scale: 'medium' }, 'make it coarser').scale).toBe('coarse');
    expect(() => applyInstruction(spec, 'make it finer')).toThrow(/already fine/);
    expect(() => applyInstruction(spec, 'make it shiny')).toThrow(/'shiny' is not a colour, a pattern, 'finer' or 'coarser'/);
    expect(() => applyInstruction(spec, 'paint it red')).toThrow(/expected "make it/);
  });

  it('lists exactly the instructions that change a spec', () => {
    for (const s of enumerateSpecs().filter((_, i) => i % 97 === 0)) {
      for (const ins of instructionsFor(s).flat()) expect(applyInstruction(s, instructionText(ins))).not.toEqual(s);
    }
  });

  it('samples training edits with neither side held out, evaluation edits with one side held out', () => {
    const rng = new Rng(5);
    const kinds = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const e = sampleEdit(rng);
      expect(isHeldOut(e.src) || isHeldOut(e.dst)).toBe(false);
      expect(applyInstruction(e.src, e.instruction)).toEqual(e.dst);
      kinds.add(e.instruction.split(' ')[2]);
    }
    expect(kinds.has('finer') && kinds.has('coarser') && kinds.has('red') && kinds.has('dots')).toBe(true);
    for (let i = 0; i < 100; i++) {
      const e = sampleEdit(rng, 'heldout');
      expect(isHeldOut(e.src) || isHeldOut(e.dst)).toBe(true);
    }
  });

  it('writes and reads clip captions', () => {
    expect(clipCaption(spec, { kind: 'scroll', dx: -2, dy: 0 })).toBe('red and blue checker, fine, rotated 45, scrolling left');
    expect(clipCaption(spec, { kind: 'scroll', dx: 1, dy: -1 })).toBe('red and blue checker, fine, rotated 45, scrolling up right');
    expect(parseClipCaption('red and blue checker, fine, rotated 45, scrolling up right')).toEqual({ spec, motion: { kind: 'scroll', dx: 1, dy: -1 } });
    expect(parseClipCaption('red and blue checker, fine, changing hue').motion.kind).toBe('drift');
    expect(parseClipCaption('red and blue checker, shrinking').motion).toEqual({ kind: 'grow', rate: -0.02 });
    expect(() => parseClipCaption('red and blue checker, fine')).toThrow(/expected a motion/);
    expect(() => clipCaption(spec, { kind: 'scroll', dx: 0, dy: 0 })).toThrow(/both 0/);
  });

  it('samples only motions a pattern shows: the world\'s frames of every one of them move', () => {
    expect(motionPhrasesFor('checker')).toEqual(MOTION_PHRASES.filter((p) => p !== 'growing' && p !== 'shrinking'));
    for (const pattern of PATTERNS) {
      for (const phrase of motionPhrasesFor(pattern)) {
        const { spec: s, motion } = parseClipCaption(`red and teal ${pattern}, medium, ${phrase}`);
        const first = renderFrame(s, motion, 0, 32, 1);
        const later = renderFrame(s, motion, 3, 32, 1);
        expect(first.some((v, i) => v !== later[i]), `${pattern}, ${phrase}`).toBe(true);
      }
    }
    const rng = new Rng(9);
    const clips = Array.from({ length: 2000 }, () => sampleClip(rng));
    expect(clips.filter((c) => c.spec.pattern === 'checker' && c.motion.kind === 'grow')).toEqual([]);
    expect(new Set(clips.map((c) => c.motion.kind))).toEqual(new Set(['scroll', 'drift', 'grow', 'flow']));
  });

  it('the vocabulary holds every word of every caption, instruction and motion phrase', () => {
    const words = new Set(vocabulary());
    const texts = [...enumerateSpecs().map(caption), 'make it finer', 'make it coarser', 'make it purple', 'make it scales', ...MOTION_PHRASES];
    const used = new Set(texts.flatMap((t) => t.split(/[\s,]+/).filter(Boolean)));
    expect([...used].filter((w) => !words.has(w))).toEqual([]);
    expect(words.size).toBe(43);
  });
});
