/**
 * The editor's settings: defaults, checks, and where they come from at start. Stored settings
 * (localStorage) override the defaults and URL parameters override both, so a shared link
 * (`?model=<url>&class=3&seed=7&scene=studio`) always opens as written. A value that fails its check is
 * refused with a message that says what was expected and what was found, and the previous value stays.
 */
import { SAMPLING_DEFAULTS, type ModelFamily } from '../runtime/generate/sampling.ts';
import { SCENE_NAMES, STUDIO_MESHES, type SceneName, type StudioMesh } from '../scenes/index.ts';

export interface EditorSettings {
  /** URL of a model folder (config.json + weights.safetensors), absolute or relative to the page. */
  model: string;
  /** What a unified model generates (class-conditional models read the class instead). */
  prompt: string;
  classLabel: number;
  seed: number;
  /** Classifier-free guidance at the last scale. */
  cfg: number;
  topK: number;
  topP: number;
  temperature: number;
  /** GPU milliseconds of generation work per frame. */
  budgetMs: number;
  scene: SceneName;
  /** The studio's mesh and tiling. */
  mesh: StudioMesh;
  tiling: number;
  /** The studio lights its mesh with the generation's normal, roughness and ambient-occlusion maps. */
  maps: boolean;
}

/** The built-in model's folder, served beside the editor (vite.config.ts): the model of a first start. */
export const BUILTIN_MODEL_URL = './models/builtin';
/** The prompt on first start. */
export const DEFAULT_PROMPT = 'red and blue checker, fine';
/** Longest prompt the pane takes, in characters (the model's context refuses long ones in tokens). */
export const PROMPT_LIMIT = 1000;

export const DEFAULT_SETTINGS: Readonly<EditorSettings> = {
  model: BUILTIN_MODEL_URL,
  prompt: DEFAULT_PROMPT,
  classLabel: 3,
  seed: 0,
  ...SAMPLING_DEFAULTS.unified,
  budgetMs: 8,
  scene: 'studio',
  mesh: 'cube',
  tiling: 1,
  maps: true,
};

/** The sampling settings a model family starts from. */
export const SAMPLING_KEYS = ['cfg', 'topK', 'topP', 'temperature'] as const;

/**
 * The sampling settings to switch to when a model of `family` replaces one of `previous`: `family`'s
 * defaults for each setting still at `previous`'s default (one the user or the URL set stays as set).
 */
export function familySampling(settings: EditorSettings, previous: ModelFamily, family: ModelFamily): Partial<EditorSettings> {
  const out: Partial<EditorSettings> = {};
  for (const k of SAMPLING_KEYS) if (previous !== family && settings[k] === SAMPLING_DEFAULTS[previous][k]) out[k] = SAMPLING_DEFAULTS[family][k];
  return out;
}

/** What the checks know of the loaded model (nothing before one has loaded). */
export interface ModelLimits {
  numClasses?: number;
}

export const SEED_LIMIT = 2 ** 32;
const STORAGE_KEY = 'nextscale.editor.settings';

/** URL parameter names of the settings. */
const URL_PARAMS: Record<string, keyof EditorSettings> = {
  model: 'model',
  prompt: 'prompt',
  class: 'classLabel',
  seed: 'seed',
  cfg: 'cfg',
  topk: 'topK',
  topp: 'topP',
  temperature: 'temperature',
  budget: 'budgetMs',
  scene: 'scene',
  mesh: 'mesh',
  tiling: 'tiling',
  maps: 'maps',
};

/**
 * Checks one setting; returns the message that refuses it, or undefined when it is fine.
 *
 * @example
 *   checkSetting('classLabel', 12, { numClasses: 10 }); // 'class must be a whole number in [0, 9], found 12'
 */
export function checkSetting<K extends keyof EditorSettings>(key: K, value: EditorSettings[K], limits: ModelLimits = {}): string | undefined {
  const v = value as unknown;
  const whole = (name: string, lo: number, hi: number) =>
    typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? undefined : `${name} must be a whole number in [${lo}, ${hi}], found ${show(v)}`;
  const real = (name: string, ok: (x: number) => boolean, range: string) =>
    typeof v === 'number' && Number.isFinite(v) && ok(v) ? undefined : `${name} must be ${range}, found ${show(v)}`;
  switch (key) {
    case 'model':
      return typeof v === 'string' && v.trim() !== '' ? undefined : `model must be the URL of a model folder, found ${show(v)}`;
    case 'prompt':
      if (typeof v !== 'string' || v.trim() === '') return `prompt must be some text, found ${show(v)}`;
      return v.length <= PROMPT_LIMIT ? undefined : `prompt must be at most ${PROMPT_LIMIT} characters, found ${v.length}`;
    case 'classLabel':
      return whole('class', 0, limits.numClasses !== undefined ? limits.numClasses - 1 : Number.MAX_SAFE_INTEGER);
    case 'seed':
      return whole('seed', 0, SEED_LIMIT - 1);
    case 'cfg':
      return real('guidance', (x) => x >= 0 && x <= 100, 'in [0, 100]');
    case 'topK':
      return whole('top-k', 0, 1_000_000);
    case 'topP':
      return real('top-p', (x) => x >= 0 && x <= 1, 'in [0, 1]');
    case 'temperature':
      return real('temperature', (x) => x > 0 && x <= 100, 'in (0, 100]');
    case 'budgetMs':
      return real('budget', (x) => x > 0 && x <= 1000, 'a number of milliseconds in (0, 1000]');
    case 'scene':
      return (SCENE_NAMES as readonly unknown[]).includes(v) ? undefined : `scene must be one of ${SCENE_NAMES.join(', ')}, found ${show(v)}`;
    case 'mesh':
      return (STUDIO_MESHES as readonly unknown[]).includes(v) ? undefined : `mesh must be one of ${STUDIO_MESHES.join(', ')}, found ${show(v)}`;
    case 'tiling':
      return whole('tiling', 1, 16);
    case 'maps':
      return typeof v === 'boolean' ? undefined : `maps must be true or false, found ${show(v)}`;
  }
  return `unknown setting '${String(key)}'`;
}

/** The start settings and the messages of any refused stored value or URL parameter. */
export interface StartSettings {
  settings: EditorSettings;
  messages: string[];
}

/**
 * Defaults, overridden by the stored settings, overridden by the URL's parameters.
 *
 * @example
 *   startSettings('?class=3&seed=7&scene=gallery', undefined).settings.scene; // 'gallery'
 */
export function startSettings(search: string, storage: Storage | undefined): StartSettings {
  const settings: EditorSettings = { ...DEFAULT_SETTINGS };
  const messages: string[] = [];
  let stored: Record<string, unknown> = {};
  try {
    const text = storage?.getItem(STORAGE_KEY);
    if (text) stored = JSON.parse(text) as Record<string, unknown>;
  } catch {
    stored = {};
  }
  for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof EditorSettings)[]) {
    if (key in stored && checkSetting(key, stored[key] as never) === undefined) assign(settings, key, stored[key]);
  }
  const params = new URLSearchParams(search);
  for (const [name, raw] of params) {
    const key = URL_PARAMS[name.toLowerCase()];
    if (!key) {
      messages.push(`URL parameter '${name}' is not a setting (known: ${Object.keys(URL_PARAMS).join(', ')})`);
      continue;
    }
    const kind = typeof DEFAULT_SETTINGS[key];
    const value = kind === 'number' ? (raw.trim() === '' ? NaN : Number(raw)) : kind === 'boolean' ? parseFlag(raw) : raw;
    const error = checkSetting(key, value as never);
    if (error) messages.push(`URL parameter ${name}: ${error}`);
    else assign(settings, key, value);
  }
  return { settings, messages };
}

/** Stores the settings for the next visit (silently skipped where storage is unavailable). */
export function saveSettings(settings: EditorSettings, storage: Storage | undefined): void {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(settings));
  } catch {
    // Private browsing or a full quota: the settings still apply to this visit.
  }
}

function assign<K extends keyof EditorSettings>(settings: EditorSettings, key: K, value: unknown): void {
  settings[key] = value as EditorSettings[K];
}

/** 'true' / '1' and 'false' / '0' as booleans; anything else as given, for the check to refuse. */
function parseFlag(raw: string): boolean | string {
  const t = raw.trim().toLowerCase();
  return t === 'true' || t === '1' ? true : t === 'false' || t === '0' ? false : raw;
}

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}
