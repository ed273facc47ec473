/**
 * Test helper: the engine's addresses are `number | ALL_ONES`; a test that does
 * arithmetic on one asserts first that it is a number.
 */

import type { Addr } from "../lib/addr.ts";

/** `x` as a number, failing the test when it is the all-ones error value. */
export function n(x: Addr): number {
  if (typeof x !== "number") throw new Error(`expected an address, got ${x.toString(16)}`);
  return x;
}
