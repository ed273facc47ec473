/**
 * check_unmap's comparisons of an unmap (or free) with the mapping it releases, in the
 * kernel's words (lib/dma-debug.c in 3.11, SPEC §8): size, function, sg entry count and
 * direction. Moved out of debug.ts.
 *
 * @module
 */

import { directionName } from "../direction.ts";
import { at } from "./debug_slots.ts";
import type { DebugEntry, DebugKind, DebugRef } from "./debug_types.ts";

/** One mismatch: its kind and its report text. */
export interface UnmapMismatch {
  kind: DebugKind;
  text: string;
}

/** No mismatch: shared, so a clean unmap allocates nothing here. */
const NONE: readonly UnmapMismatch[] = Object.freeze([]);

/** Every way `ref` differs from the mapping `e` it releases, in check_unmap's order. */
export function unmapMismatches(e: DebugEntry, ref: DebugRef): readonly UnmapMismatch[] {
  const sg = ref.sgCount ?? 0;
  if (
    e.size === ref.size && e.type === ref.type && e.dir === ref.dir &&
    !(ref.type === "sg" && e.type === "sg" && sg !== e.sgCount)
  ) return NONE;
  const out: UnmapMismatch[] = [];
  if (e.size !== ref.size) {
    out.push({
      kind: "free-size",
      text: `device driver frees DMA memory with different size ${
        at(ref.bus)
      } [map size=${e.size} bytes] [unmap size=${ref.size} bytes]`,
    });
  }
  if (e.type !== ref.type) {
    out.push({
      kind: "free-function",
      text: `device driver frees DMA memory with wrong function ${
        at(ref.bus)
      } [size=${ref.size} bytes] [mapped as ${e.type}] [unmapped as ${ref.type}]`,
    });
  }
  if (ref.type === "sg" && e.type === "sg" && sg !== e.sgCount) {
    out.push({
      kind: "free-sg-count",
      text: `device driver frees DMA sg list with different entry count ${
        at(ref.bus)
      } [map count=${e.sgCount}] [unmap count=${sg}]`,
    });
  }
  if (e.dir !== ref.dir) {
    out.push({
      kind: "free-direction",
      text: `device driver frees DMA memory with different direction ${
        at(ref.bus)
      } [size=${ref.size} bytes] [mapped with ${directionName(e.dir)}] [unmapped with ${
        directionName(ref.dir)
      }]`,
    });
  }
  return out;
}
