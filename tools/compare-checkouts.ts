/**
 * Text to image with the built-in model in two checkouts of nextscale, alternating in one process: the
 * A/B behind the kernel speed-ups in docs/kernels.md. A shared, noisy machine slows both alike within a
 * round, so the fastest of the rounds is compared, and the images must be identical.
 *
 *   git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   node --import ./tools/wgsl-register.mjs --import tsx tools/compare-checkouts.ts /tmp/before . [--rounds 5]
 *
 * Prints, per round and checkout, the GPU ms of the transformer steps, of the decode and in all (timestamp
 * queries), then the fastest of each and their ratio (before / after), and the largest difference between
 * the two checkouts' images.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '5' }, prompt: { type: 'string', default: 'red and blue checker, fine' } },
});
if (positionals.length !== 2) throw new Error('compare-checkouts: give two checkout folders, before and after');
const rounds = Number(values.rounds);
if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`compare-checkouts: --rounds must be a whole number ≥ 1, found ${values.rounds}`);

interface Checkout {
  dir: string;
  model: unknown;
  UnifiedSession: new (model: unknown, opts: { guidance: boolean }) => Session;
  sampling: Record<string, unknown>;
}
interface Session {
  appendText(text: string): void;
  generateImage(settings: Record<string, unknown>): { readImage(): Promise<Float32Array> };
  run(opts: { timing: boolean; onStep: (info: Step) => void }): Promise<void>;
  dispose(): void;
}
interface Step {
  kind: string;
  gpuDone: Promise<{ ms?: number }[]>;
}

async function open(dir: string): Promise<Checkout> {
  const at = (path: string) => import(resolve(dir, path));
  const [{ Gpu }, { loadUnifiedFolder }, { UnifiedSession }, { UNIFIED_SAMPLING }] = await Promise.all([
    at('runtime/gpu/index.ts'), at('runtime/models/unified/load.ts'), at('runtime/generate/unified-session.ts'), at('runtime/generate/unified-tasks.ts'),
  ]);
  const gpu = await Gpu.create();
  return { dir, model: await loadUnifiedFolder(gpu, resolve(dir, 'models/builtin')), UnifiedSession, sampling: UNIFIED_SAMPLING };
}

/** GPU ms of one text to image, by part, and its image. */
async function generate(c: Checkout): Promise<{ ms: Record<string, number>; image: Float32Array }> {
  const session = new c.UnifiedSession(c.model, { guidance: false });
  const steps: Step[] = [];
  try {
    session.appendText(values.prompt!);
    const job = session.generateImage({ ...c.sampling, seed: 1 });
    await session.run({ timing: true, onStep: (info) => steps.push(info) });
    const image = await job.readImage();
    const ms = { transformer: 0, decode: 0, total: 0 };
    for (const step of steps) {
      const t = (await step.gpuDone).reduce((a, s) => a + (s.ms ?? 0), 0);
      ms[step.kind === 'decode' ? 'decode' : 'transformer'] += t;
      ms.total += t;
    }
    return { ms, image };
  } finally {
    session.dispose();
  }
}

const checkouts = [await open(positionals[0]), await open(positionals[1])];
const best = checkouts.map(() => ({ transformer: Infinity, decode: Infinity, total: Infinity } as Record<string, number>));
const images = await Promise.all(checkouts.map(async (c) => (await generate(c)).image)); // warm-up: compiles every pipeline
// The order swaps every round: whichever runs second in a pair tends to read faster on this machine.
for (let r = 0; r < rounds; r++) {
  for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
    const c = checkouts[i];
    const { ms } = await generate(c);
    for (const k of Object.keys(ms)) best[i][k] = Math.min(best[i][k], ms[k]);
    console.log(`round ${r + 1} ${c.dir}: ` + Object.entries(ms).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', '));
  }
}
for (const k of ['transformer', 'decode', 'total']) {
  console.log(`${k}: fastest ${best[0][k].toFixed(0)} ms before, ${best[1][k].toFixed(0)} ms after: ${(best[0][k] / best[1][k]).toFixed(2)}x`);
}
let diff = 0;
for (let j = 0; j < images[0].length; j++) diff = Math.max(diff, Math.abs(images[0][j] - images[1][j]));
console.log(`largest difference between the images: ${diff}`);
process.exit(0);
