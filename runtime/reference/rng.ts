/**
 * The counter-based RNG of shaders/rng.wgsl in TypeScript, bit for bit: Philox4x32-10 keyed by the seed,
 * counted by a 64-bit counter. Used by the CPU side (tests, references, anything that must agree with
 * the GPU's draws), never to produce tokens in production.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32 (the same 16-bit split as the WGSL). */
function mulHi(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const m1 = a1 * b0 + ((a0 * b0) >>> 16);
  const m2 = a0 * b1 + (m1 & 0xffff);
  return (a1 * b1 + (m1 >>> 16) + (m2 >>> 16)) >>> 0;
}

/** Philox4x32 with 10 rounds: four u32 words from a counter of four words and a key of two. */
export function philox4x32(counter: ArrayLike<number>, key: ArrayLike<number>): Uint32Array {
  let [c0, c1, c2, c3] = [counter[0] >>> 0, counter[1] >>> 0, counter[2] >>> 0, counter[3] >>> 0];
  let [k0, k1] = [key[0] >>> 0, key[1] >>> 0];
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulHi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulHi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

function checkArgs(seed: number, counter: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`rng: seed must be a whole number in [0, 2^32), found ${seed}`);
  if (!Number.isSafeInteger(counter) || counter < 0) throw new Error(`rng: counter must be a whole number in [0, 2^53), found ${counter}`);
}

/** 32 random bits (a u32) for (seed, counter): Philox at counter (low word, high word, 0, 0), key (seed, 0). */
export function uniformBits(seed: number, counter: number): number {
  checkArgs(seed, counter);
  const lo = counter % 0x100000000;
  const hi = (counter - lo) / 0x100000000;
  return philox4x32([lo, hi, 0, 0], [seed, 0])[0];
}

/** A uniform value strictly inside (0, 1): (top 23 bits + 1/2) / 2^23, the same number the GPU draws. */
export function uniform(seed: number, counter: number): number {
  return ((uniformBits(seed, counter) >>> 9) + 0.5) / 8388608;
}
