/**
 * The world's palette: twelve named colours far apart in OKLab (a perceptual space where Euclidean
 * distance follows perceived difference), so that a colour still reads as its name after a lossy
 * 64x64 tokenizer. The renderer paints with the sRGB values; the checker clusters pixels in OKLab
 * and names each cluster centre by its nearest palette entry. Hue drift (a motion of the video
 * world) rotates a colour around OKLab's neutral axis.
 */

/** The palette's names, in a fixed order (the order of enumeration and of the vocabulary). */
export const COLOUR_NAMES = ['red', 'orange', 'yellow', 'green', 'teal', 'blue', 'purple', 'pink', 'brown', 'black', 'white', 'gray'] as const;

export type ColourName = (typeof COLOUR_NAMES)[number];

/** sRGB bytes of each named colour. */
export const PALETTE: Readonly<Record<ColourName, readonly [number, number, number]>> = {
  red: [214, 36, 42],
  orange: [242, 130, 22],
  yellow: [246, 216, 46],
  green: [46, 158, 58],
  teal: [8, 130, 138],
  blue: [42, 82, 206],
  purple: [140, 42, 172],
  pink: [242, 128, 188],
  brown: [112, 66, 30],
  black: [24, 24, 28],
  white: [242, 242, 236],
  gray: [160, 160, 160],
};

/** True for one of the palette's names. */
export function isColourName(word: string): word is ColourName {
  return (COLOUR_NAMES as readonly string[]).includes(word);
}

const toLinear = new Float32Array(256);
for (let i = 0; i < 256; i++) {
  const c = i / 255;
  toLinear[i] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

function linearToByte(c: number): number {
  const v = c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055;
  return Math.round(Math.min(1, Math.max(0, v)) * 255);
}

/** OKLab of linear-light RGB in [0, 1]; writes [L, a, b] into `out` at `o`. */
function linearToOklab(r: number, g: number, b: number, out: Float32Array | number[], o: number): void {
  const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
  const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
  const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
  out[o] = 0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s;
  out[o + 1] = 1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s;
  out[o + 2] = 0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s;
}

/** The table index of an sRGB level (rounded, clamped to 0..255). */
const level = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/** OKLab [L, a, b] of sRGB levels (0..255, rounded). */
export function srgbToOklab(r: number, g: number, b: number): [number, number, number] {
  const out = [0, 0, 0];
  linearToOklab(toLinear[level(r)], toLinear[level(g)], toLinear[level(b)], out, 0);
  return out as [number, number, number];
}

/** sRGB bytes of OKLab [L, a, b] (clamped into the gamut by channel). */
export function oklabToSrgb(L: number, a: number, b: number): [number, number, number] {
  const l = (L + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m = (L - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s = (L - 0.0894841775 * a - 1.291485548 * b) ** 3;
  return [
    linearToByte(4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s),
    linearToByte(-1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s),
    linearToByte(-0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s),
  ];
}

/**
 * OKLab of every pixel of an interleaved RGB (or RGBA, `channels` 4) image of sRGB levels (bytes or
 * floats, rounded), as [n, 3] floats. A 256-entry table linearises the levels, so the cost is three
 * cube roots a pixel.
 */
export function imageToOklab(rgb: ArrayLike<number>, pixels: number, channels = 3): Float32Array {
  const out = new Float32Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const o = i * channels;
    linearToOklab(toLinear[level(rgb[o])], toLinear[level(rgb[o + 1])], toLinear[level(rgb[o + 2])], out, i * 3);
  }
  return out;
}

const PALETTE_LAB: readonly (readonly [number, number, number])[] = COLOUR_NAMES.map((name) => srgbToOklab(...PALETTE[name]));

/** OKLab of a named colour. */
export function colourLab(name: ColourName): readonly [number, number, number] {
  return PALETTE_LAB[COLOUR_NAMES.indexOf(name)];
}

/** The palette entry nearest to an OKLab colour, and its distance. */
export function nearestColour(L: number, a: number, b: number, exclude?: ColourName): { name: ColourName; distance: number } {
  let best = -1;
  let bestD = Infinity;
  for (let i = 0; i < PALETTE_LAB.length; i++) {
    if (COLOUR_NAMES[i] === exclude) continue;
    const p = PALETTE_LAB[i];
    const d = (p[0] - L) ** 2 + (p[1] - a) ** 2 + (p[2] - b) ** 2;
    if (d < bestD) [best, bestD] = [i, d];
  }
  return { name: COLOUR_NAMES[best], distance: Math.sqrt(bestD) };
}

/** sRGB bytes of an sRGB colour with its OKLab hue turned by `degrees` (greys stay grey). */
export function rotateHue(rgb: readonly [number, number, number], degrees: number): [number, number, number] {
  const [L, a, b] = srgbToOklab(rgb[0], rgb[1], rgb[2]);
  const c = Math.cos((degrees * Math.PI) / 180);
  const s = Math.sin((degrees * Math.PI) / 180);
  return oklabToSrgb(L, a * c - b * s, a * s + b * c);
}
