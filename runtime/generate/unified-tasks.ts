/**
 * The unified family's three capabilities as one call each, in Node and in the browser: text to image,
 * image to text, instruction editing. Each makes a session, asks for the work, steps it to the end
 * and reads the result back. For frame-by-frame work, use `UnifiedSession` directly.
 */
import type { UnifiedModel } from '../models/unified/model.ts';
import { SAMPLING_DEFAULTS } from './sampling.ts';
import type { ImageInput, TextSettings } from './unified-jobs.ts';
import { UnifiedSession, type ImageSettings, type UnifiedSessionOptions } from './unified-session.ts';

/** The unified family's sampling defaults (`SAMPLING_DEFAULTS.unified`). */
export const UNIFIED_SAMPLING = SAMPLING_DEFAULTS.unified;

/** Session options a task passes on (guidance and batch are decided by the task). */
export type TaskOptions = Omit<UnifiedSessionOptions, 'guidance' | 'batch'>;

export interface GeneratedImage {
  /** [3, size, size] in [0, 1]. */
  image: Float32Array;
  size: number;
  /** Codes per scale, [pn²] each. */
  tokens: Int32Array[];
}

/**
 * `<text> prompt <image>`, then the image scale by scale.
 *
 * @example
 *   const { image, size } = await textToImage(model, 'red and blue checker', { cfg: 1.5, topK: 1 });
 */
export async function textToImage(model: UnifiedModel, prompt: string, settings: ImageSettings & TaskOptions = {}): Promise<GeneratedImage> {
  return withSession(model, (settings.cfg ?? UNIFIED_SAMPLING.cfg) > 0, settings, async (session) => {
    session.appendText(prompt);
    return finishImage(session, session.generateImage(settings));
  });
}

/**
 * `count` images of one prompt in one batch through the transformer: image b is the image
 * `textToImage` makes with seed + b, for much less than `count` runs of it.
 *
 * @example
 *   const four = await variations(model, 'blue and yellow stripes, coarse', 4, { seed: 10 }); // seeds 10..13
 */
export async function variations(model: UnifiedModel, prompt: string, count: number, settings: ImageSettings & TaskOptions = {}): Promise<GeneratedImage[]> {
  const guidance = (settings.cfg ?? UNIFIED_SAMPLING.cfg) > 0;
  const session = new UnifiedSession(model, { guidance, batch: count, blocksPerStep: settings.blocksPerStep, tap: settings.tap, onWarning: settings.onWarning });
  try {
    session.appendText(prompt);
    const job = session.generateImage(settings);
    await session.run();
    const [images, tokens] = [await job.readImage(), await job.readTokens()];
    const size = model.imageSize;
    const plane = 3 * size * size;
    return Array.from({ length: count }, (_, b) => ({
      image: images.slice(b * plane, (b + 1) * plane),
      size,
      tokens: tokens.map((t) => t.slice((b * t.length) / count, ((b + 1) * t.length) / count)),
    }));
  } finally {
    session.dispose();
  }
}

/**
 * `<text> <image> B1..BS </image>`, then text until `<eos>`; a model with `caption_view` reads the image
 * by its full view only, `<text> <image> BS </image>`.
 *
 * @example
 *   await caption(model, { data: rgba, width: 32, height: 32 }); // { text: 'red checker', ids: [369, 430, 1] }
 */
export async function caption(model: UnifiedModel, image: ImageInput, opts: TextSettings & TaskOptions = {}): Promise<{ text: string; ids: number[] }> {
  return withSession(model, false, opts, async (session) => {
    session.appendImage(image, { view: model.config.unified.captionView });
    const job = session.generateText(opts);
    await session.run();
    return { text: await job.text(), ids: await job.ids };
  });
}

/**
 * `<text> <image> B1..BS </image> instruction <image>`, then the new image scale by scale, guidance
 * hiding the instruction from the unconditional row.
 *
 * @example
 *   const edited = await edit(model, source, 'make it green', { cfg: 1.5, topK: 1 });
 */
export async function edit(model: UnifiedModel, image: ImageInput, instruction: string, settings: ImageSettings & TaskOptions = {}): Promise<GeneratedImage> {
  return withSession(model, (settings.cfg ?? UNIFIED_SAMPLING.cfg) > 0, settings, async (session) => {
    session.appendImage(image);
    session.appendText(instruction);
    return finishImage(session, session.generateImage(settings));
  });
}

async function withSession<R>(model: UnifiedModel, guidance: boolean, opts: TaskOptions, work: (s: UnifiedSession) => Promise<R>): Promise<R> {
  const session = new UnifiedSession(model, { guidance, blocksPerStep: opts.blocksPerStep, tap: opts.tap, onWarning: opts.onWarning });
  try {
    return await work(session);
  } finally {
    session.dispose();
  }
}

async function finishImage(session: UnifiedSession, job: ReturnType<UnifiedSession['generateImage']>): Promise<GeneratedImage> {
  await session.run();
  return { image: await job.readImage(), size: session.model.imageSize, tokens: await job.readTokens() };
}
