/**
 * Test helper: a guest's p2m is a run table (lib/xen/_runs.ts); a test that compares
 * whole p2ms reads it out page by page into a plain array first.
 */

import type { Domain } from "../lib/xen/mod.ts";

/** The p2m entries of pfns `[from, to)` as a plain array. */
export function p2mOf(dom: Domain, from = 0, to = dom.nrPages): Uint32Array {
  const out = new Uint32Array(to - from);
  for (let pfn = from; pfn < to; pfn++) out[pfn - from] = dom.p2m.get(pfn);
  return out;
}
