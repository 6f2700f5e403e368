// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC 2011). A snippet, not a kernel family: the TS wrappers prepend it to the sources that draw random
// numbers. Every draw is a pure function of (seed, 64-bit counter), so any thread, any frame and the CPU
// (runtime/reference/rng.ts, bit for bit the same) can reproduce it without carrying state around.
// WGSL has no 32x32 -> 64-bit multiply, so the high word is built from 16-bit halves.

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// High 32 bits of the 64-bit product a * b (every partial product of halves fits a u32).
fn mul_hi(a: u32, b: u32) -> u32 {
  let a0 = a & 0xFFFFu;
  let a1 = a >> 16u;
  let b0 = b & 0xFFFFu;
  let b1 = b >> 16u;
  let m1 = a1 * b0 + ((a0 * b0) >> 16u);
  let m2 = a0 * b1 + (m1 & 0xFFFFu);
  return a1 * b1 + (m1 >> 16u) + (m2 >> 16u);
}

// Philox4x32 with 10 rounds: four random words from a 128-bit counter and a 64-bit key.
fn philox4x32_10(counter: vec4u, key: vec2u) -> vec4u {
  var c = counter;
  var k = key;
  for (var round = 0u; round < 10u; round++) {
    if (round > 0u) { k += vec2u(PHILOX_W0, PHILOX_W1); }
    let hi0 = mul_hi(PHILOX_M0, c.x);
    let lo0 = PHILOX_M0 * c.x;
    let hi1 = mul_hi(PHILOX_M1, c.z);
    let lo1 = PHILOX_M1 * c.z;
    c = vec4u(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
  }
  return c;
}

// counter + n for a 64-bit counter held as (low word, high word).
fn counter_add(counter: vec2u, n: u32) -> vec2u {
  let lo = counter.x + n;
  return vec2u(lo, counter.y + select(0u, 1u, lo < n));
}

// 32 random bits for (seed, counter): the first word of Philox at counter (lo, hi, 0, 0), key (seed, 0).
fn rng_bits(seed: u32, counter: vec2u) -> u32 {
  return philox4x32_10(vec4u(counter, 0u, 0u), vec2u(seed, 0u)).x;
}

// A uniform value strictly inside (0, 1): (top 23 bits + 1/2) / 2^23, exact in f32 and in float64.
fn rng_uniform(seed: u32, counter: vec2u) -> f32 {
  return (f32(rng_bits(seed, counter) >> 9u) + 0.5) * (1.0 / 8388608.0);
}
