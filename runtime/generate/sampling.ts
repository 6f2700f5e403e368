/**
 * Sampling: the settings every family's sessions take, their check, and one row of defaults per model
 * family, read by everything that samples (sessions, tasks, the engine, video, the CLIs, the bench and
 * the editor). VAR's row is its reference demo's; the unified row is what the built-in model is
 * evaluated with: no guidance (one row instead of two, half the work of an image, and the model keeps
 * its colours better unguided: docs/builtin-model.md), top-k 16, top-p 0.9.
 */

export const SAMPLING_DEFAULTS = {
  var: { cfg: 1.5, topK: 900, topP: 0.96, temperature: 1 },
  unified: { cfg: 0, topK: 16, topP: 0.9, temperature: 1 },
} as const;

export type ModelFamily = keyof typeof SAMPLING_DEFAULTS;

export interface SamplingSettings {
  /** Classifier-free guidance ratio (0 disables). Default: the family's. */
  cfg?: number;
  /** Keep the k most likely tokens (0: all; 1: greedy). Default: the family's. */
  topK?: number;
  /** Keep the smallest set of tokens with this much probability (0: off). Default: the family's. */
  topP?: number;
  /** Softmax temperature. Default 1. */
  temperature?: number;
  seed?: number;
}

/**
 * Fills unset settings with `family`'s defaults and validates them; errors name the setting, its range
 * and the value found. top-k is capped at the vocabulary.
 */
export function checkSampling(s: SamplingSettings, vocab: number, family: ModelFamily): Required<SamplingSettings> {
  const d = SAMPLING_DEFAULTS[family];
  const out = { cfg: s.cfg ?? d.cfg, topK: s.topK ?? d.topK, topP: s.topP ?? d.topP, temperature: s.temperature ?? d.temperature, seed: s.seed ?? 0 };
  const bad = (what: string, range: string, v: number) => new Error(`${what} must be ${range}, found ${v}`);
  if (!Number.isFinite(out.cfg) || out.cfg < 0 || out.cfg > 100) throw bad('cfg', 'in [0, 100]', out.cfg);
  out.topK = checkTopK('top-k', out.topK, vocab);
  if (!(out.topP >= 0 && out.topP <= 1)) throw bad('top-p', 'in [0, 1]', out.topP);
  if (!(out.temperature > 0 && out.temperature <= 100)) throw bad('temperature', 'in (0, 100]', out.temperature);
  if (!Number.isInteger(out.seed) || out.seed < 0 || out.seed > 0xffffffff) throw bad('seed', 'a whole number in [0, 2^32)', out.seed);
  return out;
}

/** A top-k setting (0: all; 1: greedy), capped at the vocabulary; the error names `what` and the value found. */
export function checkTopK(what: string, k: number, vocab: number): number {
  if (!Number.isInteger(k) || k < 0) throw new Error(`${what} must be a whole number >= 0, found ${k}`);
  return Math.min(k, vocab);
}
