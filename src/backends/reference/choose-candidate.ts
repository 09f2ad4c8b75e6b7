import type { Xoshiro128 } from "./prng";

/** round(2^24 · 2^(−i/16)) for i = 0..15: the fractional part of 2^(−x/16) in fixed point. */
export const EXP2_FRACTION = [
  16777216, 16065917, 15384775, 14732511, 14107901, 13509772, 12937002, 12388516, 11863283,
  11360319, 10878679, 10417458, 9975792, 9552851, 9147842, 8760003,
] as const;

/** Weights are at most 2^24, so with at most 256 candidates every sum fits in a uint32. */
export const MAX_CANDIDATES = 256;

/** How a token is picked among candidates. All fields are integers. */
export interface Decoding {
  /** round(temperature · 1000); 0 means greedy. */
  temperatureMilli: number;
  /** round(top_p · 1,000,000). */
  topPMicro: number;
}

/** Turns the request's floats into the integers decoding uses; `x · 1000` is exact in IEEE-754 and `Math.round` is exact. */
export function decodingOf(temperature: number, topP: number): Decoding {
  return {
    temperatureMilli: Math.max(0, Math.round(temperature * 1000)),
    topPMicro: Math.min(1_000_000, Math.max(0, Math.round(topP * 1_000_000))),
  };
}

// Beyond this x every weight is 0 (the shift reaches 25), so larger x need not be told apart.
const MAX_X = 25 * 16;
// Sort keys x · 2^16 + id, reused across calls: picking a token is synchronous.
const sortKeys = new Int32Array(MAX_CANDIDATES);

/**
 * Picks one of `count` candidates, given their ids (< 2^16) and integer costs (−log2 p in
 * 1/16 bit units, lower is likelier), with integer arithmetic only, and returns its id.
 *
 * Greedy (temperatureMilli 0): the lowest cost, ties to the lowest id; `rng` is not used.
 * Otherwise each candidate gets x = min(400, floor((cost − minCost) · 1000 / temperatureMilli))
 * and the weight 2^24 · 2^(−x/16) = EXP2_FRACTION[x mod 16] >> floor(x / 16) (0 for x ≥ 400),
 * i.e. p^(1/T) up to fixed-point rounding. With topPMicro < 1,000,000 the candidates are
 * ordered by (x, id) and only the shortest prefix whose weight sum S satisfies
 * S · 1,000,000 ≥ topPMicro · total is kept (at least one). Then r = rng.below(kept total),
 * and the first candidate, in that order (in candidate order without top_p), whose running
 * weight sum exceeds r is chosen.
 */
export function chooseCandidate(
  ids: Int32Array,
  costs: Int32Array,
  count: number,
  decoding: Decoding,
  rng: Xoshiro128,
): number {
  if (count <= 0 || count > MAX_CANDIDATES) throw new RangeError(`${count} candidates`);
  let best = 0;
  for (let i = 1; i < count; i++) {
    const cost = costs[i] ?? 0;
    const bestCost = costs[best] ?? 0;
    if (cost < bestCost || (cost === bestCost && (ids[i] ?? 0) < (ids[best] ?? 0))) best = i;
  }
  const bestId = ids[best] ?? 0;
  if (decoding.temperatureMilli <= 0 || count === 1) return bestId;

  const minCost = costs[best] ?? 0;
  const scaled = (i: number) =>
    Math.min(MAX_X, Math.floor((((costs[i] ?? 0) - minCost) * 1000) / decoding.temperatureMilli));
  let total = 0;
  for (let i = 0; i < count; i++) total += weightOf(scaled(i));

  if (decoding.topPMicro >= 1_000_000) {
    const r = rng.below(total);
    let running = 0;
    for (let i = 0; i < count; i++) {
      running += weightOf(scaled(i));
      if (running > r) return ids[i] ?? 0;
    }
    return bestId;
  }

  for (let i = 0; i < count; i++) sortKeys[i] = scaled(i) * 0x10000 + (ids[i] ?? 0);
  const order = sortKeys.subarray(0, count).sort();
  let kept = 0;
  let length = 0;
  while (length < count) {
    kept += weightOf((order[length] ?? 0) >>> 16);
    length++;
    if (kept * 1_000_000 >= decoding.topPMicro * total) break;
  }
  const r = rng.below(kept);
  let running = 0;
  for (let k = 0; k < length; k++) {
    const key = order[k] ?? 0;
    running += weightOf(key >>> 16);
    if (running > r) return key & 0xffff;
  }
  return bestId;
}

function weightOf(x: number): number {
  return x >= MAX_X ? 0 : (EXP2_FRACTION[x & 15] ?? 0) >>> (x >> 4);
}
