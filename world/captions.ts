/**
 * The world's text: captions, edit instructions and clip captions, each written from a spec and read
 * back by a tolerant parser (prompts are typed by people; generated captions are graded by parsing).
 *
 * Caption grammar (fixed word order):
 *   caption     := colour " and " colour " " pattern ", " scale [", rotated " ("45" | "90")]
 *   clipCaption := caption ", " motion
 *   motion      := "scrolling" (" up" | " down")? (" left" | " right")? | "changing hue"
 *                | "growing" | "shrinking" | "flowing"
 *   instruction := "make it " (colour | pattern | "finer" | "coarser")
 * e.g. "red and blue checker, fine, rotated 45". The first colour is A (background), the second B
 * (figure); rotation 0 is not written.
 *
 * Edit rules: "make it <colour>" replaces colour A; when the new colour is B the two swap, so the pair
 * never repeats. "make it <pattern>" changes the pattern and keeps scale, colours and rotation (the
 * rotation falls back to 0 where the new pattern does not allow it). "make it finer" / "make it
 * coarser" move one step along fine, medium, coarse. An instruction that would change nothing is an
 * error (instructionsFor lists the ones that apply).
 */
import { COLOUR_NAMES, isColourName, type ColourName } from './colours.ts';
import { PATTERN_ROTATIONS, PATTERNS, Rng, SCALES, isHeldOut, isPattern, isScale, sampleSpec, validateSpec, type Pattern, type Rotation, type Split, type TextureSpec } from './grammar.ts';
import type { Motion } from './motion.ts';

const ALIASES: Readonly<Record<string, string>> = {
  grey: 'gray',
  checkers: 'checker',
  checkerboard: 'checker',
  checkered: 'checker',
  stripe: 'stripes',
  striped: 'stripes',
  dot: 'dots',
  dotted: 'dots',
  brick: 'bricks',
  wave: 'waves',
  wavy: 'waves',
  hexagons: 'hex',
  hexagonal: 'hex',
  scale: 'scales',
  fishscales: 'scales',
  noisy: 'noise',
  wooden: 'wood',
};

/** Lower-case words and numbers of a text, aliases resolved ("Grey  Stripe" -> ["gray", "stripes"]). */
function words(text: string): string[] {
  if (typeof text !== 'string') throw new Error(`expected a text, found ${typeof text}`);
  return (text.toLowerCase().match(/[a-z]+|\d+/g) ?? []).map((w) => ALIASES[w] ?? w);
}

/** The caption of a spec, e.g. "red and blue checker, fine, rotated 45". */
export function caption(spec: TextureSpec): string {
  validateSpec(spec);
  const base = `${spec.colours[0]} and ${spec.colours[1]} ${spec.pattern}, ${spec.scale}`;
  return spec.rotation === 0 ? base : `${base}, rotated ${spec.rotation}`;
}

/**
 * Reads a caption back into a spec, tolerant of case, spacing, punctuation, "grey" and singular
 * pattern names. Two colours and a pattern are required; the scale defaults to medium and the
 * rotation to 0 when not stated. Throws, naming the word, on anything outside the grammar.
 */
export function parseCaption(text: string): TextureSpec {
  const { spec, rest } = parseSpecWords(words(text), text);
  if (rest.length > 0) throw new Error(`caption "${text}": unexpected word '${rest[0]}'`);
  return spec;
}

/** What a caption got right about a texture: its pattern, its two colours (in either order), its scale. */
export interface CaptionGrade {
  pattern: boolean;
  colours: boolean;
  scale: boolean;
}

/** Grades a predicted caption against the true spec; a caption outside the grammar gets nothing right. */
export function gradeCaption(predicted: string, truth: TextureSpec): CaptionGrade {
  let got: TextureSpec;
  try {
    got = parseCaption(predicted);
  } catch {
    return { pattern: false, colours: false, scale: false };
  }
  const [a, b] = truth.colours;
  const [x, y] = got.colours;
  return { pattern: got.pattern === truth.pattern, colours: (x === a && y === b) || (x === b && y === a), scale: got.scale === truth.scale };
}

function parseSpecWords(tokens: string[], text: string): { spec: TextureSpec; rest: string[] } {
  const colours: ColourName[] = [];
  let pattern: Pattern | undefined;
  let scale: TextureSpec['scale'] | undefined;
  let rotation: Rotation = 0;
  let i = 0;
  for (; i < tokens.length; i++) {
    const w = tokens[i];
    if (isColourName(w)) colours.push(w);
    else if (w === 'and' || w === 'a' || w === 'texture') continue;
    else if (isPattern(w)) {
      if (pattern && pattern !== w) throw new Error(`caption "${text}": two patterns ('${pattern}' and '${w}')`);
      pattern = w;
    } else if (isScale(w)) {
      if (scale && scale !== w) throw new Error(`caption "${text}": two scales ('${scale}' and '${w}')`);
      scale = w;
    } else if (w === 'rotated') {
      const angle = Number(tokens[i + 1]);
      if (angle !== 0 && angle !== 45 && angle !== 90) throw new Error(`caption "${text}": 'rotated' must be followed by 0, 45 or 90; found '${tokens[i + 1] ?? 'nothing'}'`);
      rotation = angle;
      i++;
      if (tokens[i + 1] === 'degrees') i++;
    } else break;
  }
  if (i < tokens.length && (colours.length !== 2 || !pattern)) throw new Error(`caption "${text}": unexpected word '${tokens[i]}'`);
  if (colours.length !== 2) throw new Error(`caption "${text}": expected two colour names (${COLOUR_NAMES.join(', ')}); found ${colours.length}${colours.length ? ` (${colours.join(', ')})` : ''}`);
  if (!pattern) throw new Error(`caption "${text}": expected a pattern (${PATTERNS.join(', ')}); found none`);
  const spec: TextureSpec = { pattern, colours: [colours[0], colours[1]], scale: scale ?? 'medium', rotation };
  try {
    validateSpec(spec);
  } catch (e) {
    throw new Error(`caption "${text}": ${(e as Error).message.replace(/^texture spec: /, '')}`);
  }
  return { spec, rest: tokens.slice(i) };
}

/** A parsed edit instruction. */
export type Instruction = { kind: 'colour'; colour: ColourName } | { kind: 'pattern'; pattern: Pattern } | { kind: 'finer' } | { kind: 'coarser' };

/** Reads "make it <colour|pattern|finer|coarser>" (case and spacing free). */
export function parseInstruction(text: string): Instruction {
  const t = words(text);
  const target = t[2];
  if (t.length !== 3 || t[0] !== 'make' || t[1] !== 'it') {
    throw new Error(`instruction "${text}": expected "make it <colour | pattern | finer | coarser>"`);
  }
  if (isColourName(target)) return { kind: 'colour', colour: target };
  if (isPattern(target)) return { kind: 'pattern', pattern: target };
  if (target === 'finer' || target === 'coarser') return { kind: target };
  throw new Error(`instruction "${text}": '${target}' is not a colour, a pattern, 'finer' or 'coarser'`);
}

/** The text of an instruction, e.g. "make it blue". */
export function instructionText(instruction: Instruction): string {
  const target = instruction.kind === 'colour' ? instruction.colour : instruction.kind === 'pattern' ? instruction.pattern : instruction.kind;
  return `make it ${target}`;
}

/** The spec after an instruction (rules in the file's header); throws when it does not apply. */
export function applyInstruction(spec: TextureSpec, instruction: string | Instruction): TextureSpec {
  validateSpec(spec);
  const ins = typeof instruction === 'string' ? parseInstruction(instruction) : instruction;
  const [a, b] = spec.colours;
  const text = instructionText(ins);
  switch (ins.kind) {
    case 'colour':
      if (ins.colour === a) throw new Error(`"${text}" does not apply to "${caption(spec)}": its first colour is already ${a}`);
      return { ...spec, colours: ins.colour === b ? [b, a] : [ins.colour, b] };
    case 'pattern': {
      if (ins.pattern === spec.pattern) throw new Error(`"${text}" does not apply to "${caption(spec)}": it is already ${spec.pattern}`);
      const rotation = PATTERN_ROTATIONS[ins.pattern].includes(spec.rotation) ? spec.rotation : 0;
      return { ...spec, pattern: ins.pattern, rotation };
    }
    case 'finer':
    case 'coarser': {
      const s = SCALES.indexOf(spec.scale) + (ins.kind === 'finer' ? -1 : 1);
      if (s < 0 || s >= SCALES.length) throw new Error(`"${text}" does not apply to "${caption(spec)}": it is already ${spec.scale}`);
      return { ...spec, scale: SCALES[s] };
    }
  }
}

/** Every instruction that changes the spec, grouped by kind (colour, pattern, finer/coarser). */
export function instructionsFor(spec: TextureSpec): Instruction[][] {
  const colours: Instruction[] = COLOUR_NAMES.filter((c) => c !== spec.colours[0]).map((colour) => ({ kind: 'colour', colour }));
  const patterns: Instruction[] = PATTERNS.filter((p) => p !== spec.pattern).map((pattern) => ({ kind: 'pattern', pattern }));
  const scale: Instruction[] = [];
  if (spec.scale !== 'fine') scale.push({ kind: 'finer' });
  if (spec.scale !== 'coarse') scale.push({ kind: 'coarser' });
  return [colours, patterns, scale];
}

/** One training (or evaluation) edit. */
export interface Edit {
  instruction: string;
  src: TextureSpec;
  dst: TextureSpec;
}

/**
 * A random edit: a kind (colour, pattern, scale) uniformly, then an instruction of that kind. With
 * split 'train' neither spec is held out; with 'heldout' at least one is.
 */
export function sampleEdit(rng: Rng, split: Split = 'train'): Edit {
  for (;;) {
    const src = sampleSpec(rng, split === 'heldout' ? 'all' : split);
    const ins = rng.pick(instructionsFor(src));
    const instruction = rng.pick(ins);
    const dst = applyInstruction(src, instruction);
    const held = isHeldOut(src) || isHeldOut(dst);
    if (split === 'all' || (split === 'train') === !held) return { instruction: instructionText(instruction), src, dst };
  }
}

/** The caption phrase of a motion, e.g. "scrolling up left", "changing hue". */
export function motionPhrase(motion: Motion): string {
  switch (motion.kind) {
    case 'scroll': {
      const parts = [motion.dy < 0 ? 'up' : motion.dy > 0 ? 'down' : '', motion.dx < 0 ? 'left' : motion.dx > 0 ? 'right' : ''].filter(Boolean);
      if (parts.length === 0) throw new Error('scroll motion: dx and dy are both 0');
      return `scrolling ${parts.join(' ')}`;
    }
    case 'drift':
      return 'changing hue';
    case 'grow':
      return motion.rate >= 0 ? 'growing' : 'shrinking';
    case 'flow':
      return 'flowing';
  }
}

/** The caption of a clip, e.g. "red and blue stripes, medium, scrolling left". */
export function clipCaption(spec: TextureSpec, motion: Motion): string {
  return `${caption(spec)}, ${motionPhrase(motion)}`;
}

/**
 * Reads a clip caption: the spec, and the motion with default speeds (scroll 1 pixel a frame in each
 * named direction, hue 6 degrees, growth ±2%, flow 0.05 periods a frame).
 */
export function parseClipCaption(text: string): { spec: TextureSpec; motion: Motion } {
  const { spec, rest } = parseSpecWords(words(text), text);
  const phrase = rest.join(' ');
  const scroll = /^scrolling( up| down)?( left| right)?$/.exec(phrase);
  let motion: Motion | undefined;
  if (scroll && (scroll[1] || scroll[2])) {
    motion = { kind: 'scroll', dx: scroll[2] === ' left' ? -1 : scroll[2] ? 1 : 0, dy: scroll[1] === ' up' ? -1 : scroll[1] ? 1 : 0 };
  } else if (phrase === 'changing hue') motion = { kind: 'drift', degrees: 6 };
  else if (phrase === 'growing' || phrase === 'shrinking') motion = { kind: 'grow', rate: phrase === 'growing' ? 0.02 : -0.02 };
  else if (phrase === 'flowing') motion = { kind: 'flow', rate: 0.05 };
  if (!motion) throw new Error(`clip caption "${text}": expected a motion (scrolling up/down/left/right, changing hue, growing, shrinking, flowing) after the texture; found '${phrase || 'nothing'}'`);
  return { spec, motion };
}

/** Every motion phrase the world writes. */
export const MOTION_PHRASES: readonly string[] = [
  ...[-1, 0, 1].flatMap((dy) => [-1, 0, 1].filter((dx) => dx || dy).map((dx) => motionPhrase({ kind: 'scroll', dx, dy }))),
  'changing hue',
  'growing',
  'shrinking',
  'flowing',
];

/**
 * The motion phrases a pattern shows: all of them, but a checker neither grows nor shrinks. Its squares
 * have no width of their own to scale (growth keeps the period, which tiling fixes), so its frames
 * would stand still under a caption that says they move.
 */
export function motionPhrasesFor(pattern: Pattern): readonly string[] {
  return pattern === 'checker' ? MOTION_PHRASES.filter((p) => p !== 'growing' && p !== 'shrinking') : MOTION_PHRASES;
}

/** A random clip: a texture of the split, one of the motion phrases it shows, its caption, and the motion at the caption's speeds. */
export function sampleClip(rng: Rng, split: Split = 'train'): { spec: TextureSpec; text: string; motion: Motion } {
  const spec = sampleSpec(rng, split);
  const phrases = motionPhrasesFor(spec.pattern);
  const text = `${caption(spec)}, ${phrases[rng.int(phrases.length)]}`;
  return { spec, text, motion: parseClipCaption(text).motion };
}

/**
 * Every word of every caption, instruction and motion phrase, sorted (the tokenizer's vocabulary):
 * the words of one caption per (pattern, scale, rotation), every colour through its instruction, and
 * the rest of the instructions and motion phrases.
 */
export function vocabulary(): string[] {
  const all = new Set<string>();
  const add = (text: string) => text.split(/[\s,]+/).filter(Boolean).forEach((w) => all.add(w));
  for (const pattern of PATTERNS)
    for (const scale of SCALES) for (const rotation of PATTERN_ROTATIONS[pattern]) add(caption({ pattern, colours: [COLOUR_NAMES[0], COLOUR_NAMES[1]], scale, rotation }));
  for (const c of COLOUR_NAMES) add(`make it ${c}`);
  for (const p of PATTERNS) add(`make it ${p}`);
  add('make it finer');
  add('make it coarser');
  MOTION_PHRASES.forEach(add);
  return [...all].sort();
}
