/**
 * Strict readers of a model folder's config.json, shared by every family's config: each key has a
 * type, bounds and maybe a default, and anything else is refused with the file, the key, the value
 * found and what is allowed.
 */

export type Json = Record<string, unknown>;

/** Inclusive bounds of a numeric key; `above` makes the lower one exclusive (eps > 0). */
export interface Bounds {
  min: number;
  max: number;
  above?: boolean;
}

const show = (x: unknown) => (x === undefined ? 'nothing' : JSON.stringify(x));

/**
 * Readers of config.json keys, strict: a key that is absent takes its default (a key without one is
 * required); a key that is present must have the right type and lie in its bounds (`null` is not
 * absent). Errors name the section, the key, the value found and what is allowed.
 */
export const field = {
  /** A whole number in bounds. */
  int(o: Json, k: string, where: string, b: Bounds, dflt?: number): number {
    const x = o[k] === undefined ? dflt : o[k];
    if (!Number.isInteger(x) || (x as number) < b.min || (x as number) > b.max) {
      throw new Error(`${where}: "${k}" must be a whole number from ${b.min} to ${b.max}, found ${show(o[k])}`);
    }
    return x as number;
  },
  /** A finite number in bounds. */
  num(o: Json, k: string, where: string, b: Bounds, dflt?: number): number {
    const x = o[k] === undefined ? dflt : o[k];
    if (typeof x !== 'number' || !Number.isFinite(x) || (b.above ? x <= b.min : x < b.min) || x > b.max) {
      throw new Error(`${where}: "${k}" must be a number ${b.above ? 'above' : 'from'} ${b.min} ${b.above ? 'and at most' : 'to'} ${b.max}, found ${show(o[k])}`);
    }
    return x;
  },
  /** true or false. */
  bool(o: Json, k: string, where: string, dflt: boolean): boolean {
    const x = o[k] === undefined ? dflt : o[k];
    if (typeof x !== 'boolean') throw new Error(`${where}: "${k}" must be true or false, found ${show(o[k])}`);
    return x;
  },
  /** A list of 1 to `maxLength` whole numbers from 1 to `max`. */
  ints(o: Json, k: string, where: string, max: number, maxLength = 32): number[] {
    const x = o[k];
    if (!Array.isArray(x) || x.length === 0 || x.length > maxLength || !x.every((n) => Number.isInteger(n) && n >= 1 && n <= max)) {
      throw new Error(`${where}: "${k}" must be a list of 1 to ${maxLength} whole numbers from 1 to ${max}, found ${show(x)}`);
    }
    return x as number[];
  },
  /** Refuses keys outside `known` (a misspelt key would otherwise silently take its default). */
  only(o: Json, known: readonly string[], where: string): void {
    const unknown = Object.keys(o).filter((k) => !known.includes(k));
    if (unknown.length) throw new Error(`${where}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${known.join(', ')})`);
  },
};

/** Bounds of the sizes a config may declare: generous for real models, far from what would exhaust memory. */
export const LIMITS = {
  vocab: { min: 1, max: 1 << 20 },
  channels: { min: 1, max: 8192 },
  depth: { min: 1, max: 256 },
  heads: { min: 1, max: 256 },
  side: 1024,
  eps: { min: 0, max: 1, above: true },
} as const;

export function asObject(x: unknown, where: string): Json {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new Error(`${where}: expected an object, found ${JSON.stringify(x)}`);
  return x as Json;
}
