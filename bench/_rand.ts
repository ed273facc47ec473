/**
 * Seeded random integers for the benchmarks, so every run measures the same trees and
 * addresses: pure-rand's xoroshiro128+, as the Xen model's fragmented layout uses.
 */

import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

/** A function returning a seeded integer in [0, below). */
export function seededBelow(seed: number): (below: number) => number {
  const gen = xoroshiro128plus(seed);
  return (below) => uniformInt(gen, 0, below - 1);
}
