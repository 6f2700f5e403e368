/** The world's grammar: enumeration, validation, the held-out split and sampling. */
import { describe, expect, it } from 'vitest';
import { COLOUR_NAMES, HELD_OUT_PER_PATTERN, PATTERNS, PATTERN_ROTATIONS, Rng, enumerateSpecs, heldOutCombinations, isHeldOut, sampleSpec, validateSpec, type TextureSpec } from '../../world/index.ts';

describe('world grammar', () => {
  it('enumerates every pattern x ordered colour pair x scale x allowed rotation once', () => {
    const specs = enumerateSpecs();
    const rotations = PATTERNS.reduce((s, p) => s + PATTERN_ROTATIONS[p].length, 0);
    expect(specs.length).toBe(rotations * COLOUR_NAMES.length * (COLOUR_NAMES.length - 1) * 3);
    expect(new Set(specs.map((s) => JSON.stringify(s))).size).toBe(specs.length);
    for (const s of specs) expect(validateSpec(s)).toBe(s);
  });

  it('refuses specs outside the grammar, naming what it expected and found', () => {
    const ok: TextureSpec = { pattern: 'dots', colours: ['red', 'blue'], scale: 'fine', rotation: 0 };
    expect(() => validateSpec({ ...ok, colours: ['red', 'red'] })).toThrow(/must differ; found 'red' twice/);
    expect(() => validateSpec({ ...ok, rotation: 90 })).toThrow(/dots allows rotations 0, 45; found 90/);
    expect(() => validateSpec({ ...ok, pattern: 'plaid' as never })).toThrow(/pattern must be one of .*found 'plaid'/);
    expect(() => validateSpec({ ...ok, colours: ['red', 'mauve' as never] })).toThrow(/found 'mauve'/);
    expect(() => validateSpec({ ...ok, scale: 'huge' as never })).toThrow(/scale must be one of fine, medium, coarse; found 'huge'/);
  });

  it('holds out a fixed tenth of the (pattern, colour pair) combinations, the same every time', () => {
    const held = heldOutCombinations();
    expect(held.length).toBe(PATTERNS.length * HELD_OUT_PER_PATTERN);
    for (const p of PATTERNS) expect(held.filter((c) => c.pattern === p).length).toBe(HELD_OUT_PER_PATTERN);
    expect(held.slice(0, 2)).toEqual([
      { pattern: 'checker', colours: ['purple', 'white'] },
      { pattern: 'checker', colours: ['teal', 'white'] },
    ]);
    for (const c of held) {
      expect(isHeldOut({ pattern: c.pattern, colours: [c.colours[0], c.colours[1]] })).toBe(true);
      expect(isHeldOut({ pattern: c.pattern, colours: [c.colours[1], c.colours[0]] })).toBe(true);
    }
    const heldSpecs = enumerateSpecs().filter(isHeldOut).length;
    expect(heldSpecs / enumerateSpecs().length).toBeGreaterThan(0.09);
    expect(heldSpecs / enumerateSpecs().length).toBeLessThan(0.12);
  });

  it('never samples a held-out combination for training, and only those for evaluation', () => {
    const rng = new Rng(3);
    const seen = new Set<string>();
    for (let i = 0; i < 4000; i++) {
      const spec = sampleSpec(rng);
      expect(isHeldOut(spec)).toBe(false);
      validateSpec(spec);
      seen.add(`${spec.pattern} ${spec.scale} ${spec.rotation}`);
    }
    expect(seen.size).toBe(enumerateSpecs().length / (COLOUR_NAMES.length * (COLOUR_NAMES.length - 1)));
    for (let i = 0; i < 500; i++) expect(isHeldOut(sampleSpec(rng, 'heldout'))).toBe(true);
  });

  it('samples deterministically per seed', () => {
    const draw = (seed: number) => Array.from({ length: 20 }, ((rng) => () => sampleSpec(rng))(new Rng(seed)));
    expect(draw(9)).toEqual(draw(9));
    expect(draw(9)).not.toEqual(draw(10));
  });
});
