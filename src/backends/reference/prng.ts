/**
 * The seeded random number generator of the reference models: xoshiro128** (Blackman and
 * Vigna, 2018) with its 128-bit state filled by splitmix32. Only 32-bit integer operations
 * (`Math.imul`, shifts, xor, `>>> 0`) are used, so every engine produces the same stream.
 *
 * splitmix32 step, with x a uint32:
 *   x = (x + 0x9E3779B9) mod 2^32
 *   z = x; z = (z ^ (z >>> 16)) · 0x85EBCA6B; z = (z ^ (z >>> 13)) · 0xC2B2AE35; z ^= z >>> 16
 *   (· is multiplication mod 2^32), output z.
 *
 * Seeding from the words w0, w1, ..., wn (each a uint32) absorbs them one at a time, then
 * squeezes out the state: x = 0; for each word, x = mix(x xor word), where mix(v) is the
 * splitmix32 output for state v (that is, fmix((v + 0x9E3779B9) mod 2^32)); then the state
 * (a, b, c, d) is the next four splitmix32 outputs from x. Each absorption is a bijection, so
 * for fixed other words, different values of one word give different states. If the state is
 * all zero, a = 1.
 *
 * xoshiro128** step, with a, b, c, d uint32 and rotl a 32-bit left rotation:
 *   result = rotl(b · 5, 7) · 9
 *   t = b << 9
 *   c ^= a; d ^= b; b ^= c; a ^= d; c ^= t; d = rotl(d, 11)
 * and the output is result as a uint32.
 */
export class Xoshiro128 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A generator whose state is seeded from `seedWords` (uint32 each) as described above. */
  static fromSeedWords(seedWords: readonly number[]): Xoshiro128 {
    let x = 0;
    for (const word of seedWords) x = splitmix32Output((x ^ word) >>> 0);
    const state: number[] = [];
    for (let i = 0; i < 4; i++) {
      state.push(splitmix32Output(x));
      x = (x + 0x9e3779b9) >>> 0;
    }
    const [a = 0, b = 0, c = 0, d = 0] = state;
    return new Xoshiro128(a, b, c, d);
  }

  /** A generator with the given raw state (uint32 each; not all zero). */
  constructor(a: number, b: number, c: number, d: number) {
    this.a = a === 0 && b === 0 && c === 0 && d === 0 ? 1 : a;
    this.b = b;
    this.c = c;
    this.d = d;
  }

  /** The next uint32 of the stream. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /**
   * A uniform integer in [0, bound), for 1 <= bound <= 2^32, by rejection: draws below
   * 2^32 − (2^32 mod bound) are reduced mod bound, others are redrawn. No modulo bias.
   */
  below(bound: number): number {
    if (!Number.isInteger(bound) || bound < 1 || bound > 0x100000000) {
      throw new RangeError(`bound ${bound}`);
    }
    const limit = 0x100000000 - (0x100000000 % bound);
    for (;;) {
      const draw = this.next();
      if (draw < limit) return draw % bound;
    }
  }
}

/** The output of a splitmix32 step from state `x`: the murmur3 finaliser of x + 0x9E3779B9. */
function splitmix32Output(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(value: number, shift: number): number {
  return (value << shift) | (value >>> (32 - shift));
}
