/**
 * The world exporter: writes the procedural texture world as a training set for the Python trainer.
 *
 *   npm run world -- --out DIR --count N [--size 64] [--seed S] [--edits M] [--clips M] [--clip-frames 8]
 *       [--heldout] [--aligned] [--preview sheet.png] [--list-heldout] [--check N] [--grade DIR]
 *
 * DIR/images.npy      uint8 [N, size, size, 3]
 * DIR/captions.jsonl  {"caption", "pattern", "colors": [a, b], "scale", "rotation", "heldout"} per line
 * DIR/words.json      {"words": [...]}: every word of every caption, instruction and motion phrase
 * with --edits M:     DIR/edit_src.npy, DIR/edit_dst.npy uint8 [M, size, size, 3] and DIR/edits.jsonl
 *                     {"instruction", "src_caption", "dst_caption", "heldout"}
 * with --clips M:     DIR/clips.npy uint8 [M, F, size, size, 3] (F = --clip-frames) and DIR/clips.jsonl
 *                     {"caption", "texture", "motion", "heldout"}: clip m's frames under one motion at the
 *                     speeds its caption implies (parseClipCaption), e.g. "red and blue stripes, medium, scrolling left"
 *
 * Training sets never contain a held-out (pattern, colour pair); --heldout writes only those (the
 * evaluation set). --aligned draws every image and clip at phase 0 (render.ts `RenderOptions`): the
 * same textures and captions, each shifted so that its pattern starts at the origin. --preview writes
 * a contact sheet (a row per pattern), --list-heldout prints the held-out combinations, --check N
 * grades N fresh images with the checker and prints its accuracy (clean and degraded, at 64 and 128). Images stream to disk in chunks, so the memory use does not
 * grow with N. `runWorld` is the same command as a function.
 *
 * --grade DIR grades what another program made in the export's format (training/sample_world.py writes
 * it from a PyTorch checkpoint): each record of DIR/captions.jsonl with a "predicted" caption is a
 * captioning answer, graded against its "caption"; every other record's image in DIR/images.npy is a
 * generated texture, graded by the checker against its "caption" (the prompt). Seen and held-out
 * combinations are counted apart; a table, then one JSON line, whose `textures` holds each generated
 * texture's grade in record order ({ pattern, colours } right), for readings per prompt (best of several
 * samples, training/ladder.py). DIR/clips.npy [M, F, S, S, 3] with
 * DIR/clips.jsonl ({"caption", "mode"}) are graded as clips against their captions' motion, per mode
 * (world/eval/clip-grade.ts).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  PATTERNS,
  PATTERN_ROTATIONS,
  Rng,
  SCALES,
  caption,
  compareToCaption,
  evaluateChecker,
  gradeCaption,
  hash32,
  heldOutCombinations,
  isHeldOut,
  npyHeader,
  parseCaption,
  parseNpyHeader,
  render,
  renderFrame,
  sampleClip,
  sampleEdit,
  sampleSpec,
  vocabulary,
  type CaptionMatch,
  type Degradation,
  type RenderOptions,
  type TextureSpec,
} from './index.ts';
import { gradeClip, summarizeClips } from './eval/clip-grade.ts';
import { encodePng } from '../runtime/io/png.ts';

const USAGE = `usage: npm run world -- --out DIR --count N [--size 64] [--seed 0] [--edits M] [--clips M] [--clip-frames 8]
       [--heldout] [--aligned] [--preview sheet.png] [--list-heldout] [--check N] [--grade DIR]`;

/** Images per write: bounds memory whatever the count. */
const CHUNK = 512;

function usageError(message: string): Error {
  return new Error(`${message}\n${USAGE}`);
}

function wholeNumber(flag: string, text: string | undefined, fallback: number, min = 0): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw usageError(`${flag} must be a whole number >= ${min}; found '${text}'`);
  return n;
}

/** Writes `count` images made by `make(i)` to an .npy file of shape [...lead, size, size, 3] (lead's product is count), CHUNK at a time. */
function writeImages(path: string, count: number, size: number, make: (i: number) => Uint8ClampedArray, lead: number[] = [count]): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, npyHeader([...lead, size, size, 3]));
    const bytes = size * size * 3;
    const buffer = new Uint8Array(Math.min(count, CHUNK) * bytes);
    for (let start = 0; start < count; start += CHUNK) {
      const n = Math.min(CHUNK, count - start);
      for (let k = 0; k < n; k++) buffer.set(make(start + k), k * bytes);
      writeSync(fd, buffer, 0, n * bytes);
    }
  } finally {
    closeSync(fd);
  }
}

function captionRecord(spec: TextureSpec): string {
  return JSON.stringify({ caption: caption(spec), pattern: spec.pattern, colors: spec.colours, scale: spec.scale, rotation: spec.rotation, heldout: isHeldOut(spec) });
}

/** Progress lines go here (stderr from the command line). */
type Log = (line: string) => void;

/** What an export draws: the image count, size, seed, split, edit pairs, and the render options (--aligned). */
interface WorldExport {
  count: number;
  size: number;
  seed: number;
  edits: number;
  heldout: boolean;
  render: RenderOptions;
}

function exportWorld(out: string, { count, size, seed, edits, heldout, render: options }: WorldExport, log: Log): void {
  mkdirSync(out, { recursive: true });
  const split = heldout ? 'heldout' : 'train';
  const rng = new Rng(seed);
  const specs = Array.from({ length: count }, () => sampleSpec(rng, split));
  writeImages(join(out, 'images.npy'), count, size, (i) => render(specs[i], size, hash32(seed, i), options));
  writeFileSync(join(out, 'captions.jsonl'), specs.map((s) => captionRecord(s) + '\n').join(''));
  writeFileSync(join(out, 'words.json'), JSON.stringify({ words: vocabulary() }, null, 1) + '\n');
  log(`wrote ${count} images of ${size}x${size} (${split}) to ${out}`);
  if (edits === 0) return;
  const editRng = new Rng(hash32(seed, 0xed17));
  const pairs = Array.from({ length: edits }, () => sampleEdit(editRng, split));
  const editSeed = (i: number) => hash32(hash32(seed, 0xed17), i);
  writeImages(join(out, 'edit_src.npy'), edits, size, (i) => render(pairs[i].src, size, editSeed(i), options));
  writeImages(join(out, 'edit_dst.npy'), edits, size, (i) => render(pairs[i].dst, size, editSeed(i), options));
  const lines = pairs.map((e) => JSON.stringify({ instruction: e.instruction, src_caption: caption(e.src), dst_caption: caption(e.dst), heldout: isHeldOut(e.src) || isHeldOut(e.dst) }) + '\n');
  writeFileSync(join(out, 'edits.jsonl'), lines.join(''));
  log(`wrote ${edits} edit pairs to ${out}`);
}

/** What --clips writes beside the images (see the header). */
export interface ClipExport {
  clips: number;
  frames: number;
}

/** Clips of `frames` frames: a texture and a motion phrase drawn at random, the motion at its caption's speeds. */
function exportClips(out: string, size: number, seed: number, heldout: boolean, { clips, frames }: ClipExport, options: RenderOptions, log: Log): void {
  const rng = new Rng(hash32(seed, 0xc11b));
  const split = heldout ? 'heldout' : 'train';
  const drawn = Array.from({ length: clips }, () => sampleClip(rng, split));
  const clipSeed = (m: number) => hash32(hash32(seed, 0xc11b), m);
  writeImages(join(out, 'clips.npy'), clips * frames, size, (i) => {
    const c = drawn[Math.floor(i / frames)];
    return renderFrame(c.spec, c.motion, i % frames, size, clipSeed(Math.floor(i / frames)), options);
  }, [clips, frames]);
  const lines = drawn.map((c) => JSON.stringify({ caption: c.text, texture: caption(c.spec), motion: c.text.slice(caption(c.spec).length + 2), heldout: isHeldOut(c.spec) }) + '\n');
  writeFileSync(join(out, 'clips.jsonl'), lines.join(''));
  log(`wrote ${clips} clips of ${frames} frames to ${out}`);
}

/** A contact sheet: one row per pattern, `columns` random textures of it across scales and rotations. */
function writePreview(path: string, size: number, seed: number, options: RenderOptions, log: Log, columns = 12): void {
  const gap = 4;
  const width = columns * (size + gap) + gap;
  const height = PATTERNS.length * (size + gap) + gap;
  const rgba = new Uint8Array(width * height * 4).fill(255);
  const rng = new Rng(hash32(seed, 0x5ee7));
  PATTERNS.forEach((pattern, row) => {
    for (let col = 0; col < columns; col++) {
      const rotations = PATTERN_ROTATIONS[pattern];
      const spec: TextureSpec = { ...sampleSpec(rng, 'all'), pattern, scale: SCALES[col % 3], rotation: rotations[Math.floor(col / 3) % rotations.length] };
      const img = render(spec, size, hash32(seed, row * columns + col), options);
      const x0 = gap + col * (size + gap);
      const y0 = gap + row * (size + gap);
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const i = (y * size + x) * 3;
          const o = ((y0 + y) * width + x0 + x) * 4;
          rgba[o] = img[i];
          rgba[o + 1] = img[i + 1];
          rgba[o + 2] = img[i + 2];
        }
    }
  });
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, encodePng(rgba, width, height));
  log(`wrote ${path} (rows: ${PATTERNS.join(', ')}; columns cycle fine, medium, coarse)`);
}

function printCheck(count: number, seed: number, log: Log): void {
  const cases: [string, number, Degradation | undefined][] = [
    ['64 clean', 64, undefined],
    ['128 clean', 128, undefined],
    ['64 blur+noise4', 64, { blur: true, noise: 4 }],
    ['128 blur+noise4', 128, { blur: true, noise: 4 }],
    ['64 blur+resample+noise8', 64, { blur: true, resample: true, noise: 8 }],
  ];
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  for (const [name, size, degradation] of cases) {
    const r = evaluateChecker({ count, size, seed, degradation });
    const weakest = Object.entries(r.perPattern).sort((a, b) => a[1] - b[1])[0];
    log(`${name.padEnd(24)} pattern ${pct(r.pattern)}  colours (set) ${pct(r.coloursAsSet)}  colours (ordered) ${pct(r.coloursOrdered)}  scale ${pct(r.scale)}  weakest ${weakest[0]} ${pct(weakest[1])}`);
  }
}

interface Graded {
  count: number;
  colours: number;
  pattern: number;
}

/** The share of `items` for which each test holds. */
function tally<T>(items: T[], colours: (t: T) => boolean, pattern: (t: T) => boolean): Graded {
  const share = (f: (t: T) => boolean) => (items.length ? items.filter(f).length / items.length : 0);
  return { count: items.length, colours: share(colours), pattern: share(pattern) };
}

/** Grades generated textures, captions and clips written in the export's format (see the header). */
function gradeExported(dir: string, print: Log): void {
  const clips = existsSync(join(dir, 'clips.npy'));
  if (clips) gradeClips(dir, print);
  if (clips && !existsSync(join(dir, 'images.npy'))) return;
  const records = readFileSync(join(dir, 'captions.jsonl'), 'utf8').split('\n').filter((l) => l.trim())
    .map((l, i) => {
      const r = JSON.parse(l) as { caption?: unknown; predicted?: unknown; heldout?: unknown };
      if (typeof r.caption !== 'string') throw new Error(`${dir}/captions.jsonl line ${i + 1}: expected a "caption" string, found ${JSON.stringify(r.caption)}`);
      return { caption: r.caption, predicted: typeof r.predicted === 'string' ? r.predicted : undefined, heldout: r.heldout === true, index: i };
    });
  const bytes = new Uint8Array(readFileSync(join(dir, 'images.npy')));
  const h = parseNpyHeader(bytes);
  const [n, size] = h.shape;
  if (h.descr !== '|u1' || h.shape.length !== 4 || h.shape[2] !== size || h.shape[3] !== 3 || n !== records.length) {
    throw new Error(`${dir}/images.npy: expected uint8 [${records.length}, S, S, 3] (one image per caption record), found ${h.descr} [${h.shape.join(', ')}]`);
  }
  const image = (i: number) => bytes.subarray(h.dataOffset + i * size * size * 3, h.dataOffset + (i + 1) * size * size * 3);
  const generated = records.filter((r) => r.predicted === undefined)
    .map((r) => ({ heldout: r.heldout, spec: parseCaption(r.caption), match: compareToCaption(image(r.index), size, r.caption) }));
  const captioned = records.filter((r) => r.predicted !== undefined).map((r) => gradeCaption(r.predicted!, parseCaption(r.caption)));
  type G = (typeof generated)[number];
  const grade = (items: G[]) => tally(items, (g) => g.match.coloursOk, (g) => g.match.patternOk);
  const report = {
    size,
    generation: { all: grade(generated), seen: grade(generated.filter((g) => !g.heldout)), heldOut: grade(generated.filter((g) => g.heldout)) },
    captioning: { ...tally(captioned, (c) => c.colours, (c) => c.pattern), right: captioned.length ? captioned.filter((c) => c.colours && c.pattern).length / captioned.length : 0 },
    textures: generated.map((g) => ({ pattern: g.match.patternOk, colours: g.match.coloursOk })),
  };
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const g = report.generation;
  print(`generated textures (${g.all.count}): colours ${pct(g.all.colours)}, pattern ${pct(g.all.pattern)}`);
  print(`  seen combinations (${g.seen.count}): colours ${pct(g.seen.colours)}, pattern ${pct(g.seen.pattern)}`);
  print(`  held-out combinations (${g.heldOut.count}): colours ${pct(g.heldOut.colours)}, pattern ${pct(g.heldOut.pattern)}`);
  if (generated.length) for (const line of patternBreakdown(generated)) print(`  ${line}`);
  print(`captions (${report.captioning.count}): right ${pct(report.captioning.right)} (pattern ${pct(report.captioning.pattern)}, colours ${pct(report.captioning.colours)})`);
  print(JSON.stringify({ graded: dir, ...report }));
}

/**
 * Where generated patterns go wrong: the share right by the prompt's pattern (with the pattern the
 * checker saw most often instead) and by its scale.
 */
function patternBreakdown(generated: { spec: TextureSpec; match: CaptionMatch }[]): string[] {
  const share = (items: typeof generated) => `${items.filter((g) => g.match.patternOk).length}/${items.length}`;
  const byPattern = PATTERNS.map((p) => {
    const items = generated.filter((g) => g.spec.pattern === p);
    if (!items.length) return undefined;
    const wrong = new Map<string, number>();
    for (const g of items) if (!g.match.patternOk) wrong.set(g.match.seen.pattern, (wrong.get(g.match.seen.pattern) ?? 0) + 1);
    const [instead, n] = [...wrong].sort((a, b) => b[1] - a[1])[0] ?? [];
    return `${p} ${share(items)}${instead ? ` (else mostly ${instead}, ${n})` : ''}`;
  }).filter((x) => x !== undefined);
  const byScale = SCALES.map((sc) => `${sc} ${share(generated.filter((g) => g.spec.scale === sc))}`);
  return [`pattern right by prompt: ${byPattern.join(', ')}`, `pattern right by scale: ${byScale.join(', ')}`];
}

/** Grades the clips of DIR/clips.npy against their captions' motion, by the records' "mode" (see world/eval/clip-grade.ts). */
function gradeClips(dir: string, print: Log): void {
  const lines = readFileSync(join(dir, 'clips.jsonl'), 'utf8').split('\n').filter((l) => l.trim());
  const records = lines.map((l, i) => {
    const r = JSON.parse(l) as { caption?: unknown; mode?: unknown };
    if (typeof r.caption !== 'string') throw new Error(`${dir}/clips.jsonl line ${i + 1}: expected a "caption" string, found ${JSON.stringify(r.caption)}`);
    return { caption: r.caption, mode: typeof r.mode === 'string' ? r.mode : 'clip' };
  });
  const bytes = new Uint8Array(readFileSync(join(dir, 'clips.npy')));
  const h = parseNpyHeader(bytes);
  const [m, frames, size] = h.shape;
  if (h.descr !== '|u1' || h.shape.length !== 5 || h.shape[3] !== size || h.shape[4] !== 3 || m !== records.length) {
    throw new Error(`${dir}/clips.npy: expected uint8 [${records.length}, F, S, S, 3] (one clip per record), found ${h.descr} [${h.shape.join(', ')}]`);
  }
  const frameBytes = size * size * 3;
  const clipFrames = (i: number) => Array.from({ length: frames }, (_, t) => {
    const at = h.dataOffset + (i * frames + t) * frameBytes;
    return new Uint8ClampedArray(bytes.buffer, bytes.byteOffset + at, frameBytes);
  });
  const grades = records.map((r, i) => ({ mode: r.mode, grade: gradeClip(clipFrames(i), size, r.caption, hash32(7, i)) }));
  const report: Record<string, ReturnType<typeof summarizeClips>> = {};
  for (const mode of [...new Set(records.map((r) => r.mode))]) report[mode] = summarizeClips(grades.filter((g) => g.mode === mode).map((g) => g.grade));
  const db = (x: number) => `${x.toFixed(1)} dB`;
  const ratio = (x: number) => (Number.isNaN(x) ? '-' : `${x.toFixed(2)}x`);
  for (const [mode, s] of Object.entries(report)) {
    print(`clips ${mode} (${s.clips} of ${frames} frames): follow ${db(s.followPsnr)} vs still ${db(s.stillPsnr)} (scroll and hue clips), change ${ratio(s.change)} the world's, colours kept ${(100 * s.colours).toFixed(0)}%, pattern kept ${(100 * s.pattern).toFixed(0)}%`);
    for (const [kind, k] of Object.entries(s.byMotion)) {
      print(`  ${kind.padEnd(7)} (${k.clips}): follow ${Number.isNaN(k.followPsnr) ? '-' : db(k.followPsnr)}, still ${Number.isNaN(k.stillPsnr) ? '-' : db(k.stillPsnr)}, change ${ratio(k.change)}`);
    }
  }
  print(JSON.stringify({ graded: dir, clips: report }));
}

/**
 * Runs the command line `args` (as after `npm run world --`); throws on bad arguments. Progress and
 * reports go to `log`, the held-out list to `print`.
 */
export function runWorld(args: string[], log: Log = (line) => process.stderr.write(`${line}\n`), print: Log = (line) => process.stdout.write(`${line}\n`)): void {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: 'string' },
      count: { type: 'string' },
      size: { type: 'string' },
      seed: { type: 'string' },
      edits: { type: 'string' },
      clips: { type: 'string' },
      'clip-frames': { type: 'string' },
      heldout: { type: 'boolean' },
      aligned: { type: 'boolean' },
      preview: { type: 'string' },
      'list-heldout': { type: 'boolean' },
      check: { type: 'string' },
      grade: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return print(USAGE);
  const size = wholeNumber('--size', values.size, 64, 8);
  const seed = wholeNumber('--seed', values.seed, 0);
  if (values['list-heldout']) print(heldOutCombinations().map((c) => `${c.pattern}: ${c.colours[0]} and ${c.colours[1]}`).join('\n'));
  const options: RenderOptions = { aligned: values.aligned ?? false };
  if (values.preview) writePreview(values.preview, size, seed, options, log);
  if (values.check) printCheck(wholeNumber('--check', values.check, 0, 1), seed, print);
  if (values.grade) gradeExported(values.grade, print);
  if (values.out) {
    if (values.count === undefined) throw usageError('--count is required with --out');
    const clips = { clips: wholeNumber('--clips', values.clips, 0), frames: wholeNumber('--clip-frames', values['clip-frames'], 8, 2) };
    const heldout = values.heldout ?? false;
    exportWorld(values.out, { count: wholeNumber('--count', values.count, 0, 1), size, seed, edits: wholeNumber('--edits', values.edits, 0), heldout, render: options }, log);
    if (clips.clips > 0) exportClips(values.out, size, seed, heldout, clips, options, log);
  } else if (!values.preview && !values['list-heldout'] && !values.check && !values.grade) {
    throw usageError('nothing to do: give --out DIR --count N, --preview PNG, --list-heldout, --check N or --grade DIR');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // A closed pipe (`| head`) ends the listing quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => process.exit(e.code === 'EPIPE' ? 0 : 1));
  try {
    runWorld(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`world: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
