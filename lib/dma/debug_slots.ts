/**
 * Which live mapping owns each bounce slot, for the debug layer's check beyond the
 * kernel: a new bounce mapping whose slots overlap a live one's (only possible after a
 * faithful corruption of the free list, SPEC §8) — and the texts of the other reports
 * beyond the kernel (a mapping across its segment boundary, a failed map_sg's stale copy
 * back). Moved out of debug.ts.
 *
 * @module
 */

import type { Addr, Mask } from "../addr.ts";
import { callText } from "./debug_calls.ts";
import type { DebugEntry } from "./debug_types.ts";

/** "[device address=0x…]". */
export function at(bus: Addr): string {
  // lib/dma-debug.c prints it with %016llx.
  return `[device address=0x${bus.toString(16).padStart(16, "0")}]`;
}

/** The report of a mapping that crosses its device's segment boundary (beyond the kernel). */
export function boundaryCrossText(bus: Addr, size: number, mask: Mask): string {
  return `device driver maps DMA memory across its segment boundary ${
    at(bus)
  } [size=${size} bytes] [boundary=0x${mask.toString(16)}]`;
}

/** The report of a failed map_sg whose undo copied stale bounce bytes (beyond the kernel). */
export function staleCopyText(elements: number, bytes: number): string {
  return `device driver's failed scatterlist map copied ${bytes} stale bounce bytes back into its buffers while unmapping ${elements} mapped element(s)`;
}

/** "slots 4-7" or "slot 4". */
function slotText(first: number, last: number): string {
  return first === last ? `slot ${first}` : `slots ${first}-${last}`;
}

/** The slot → live mapping table. */
export class SlotOwners {
  /**
   * By slot index. An array, not a Map: a replay bounces through every slot of the pool,
   * and a Map's set and delete of ever other keys rebuilt its table over and over, in the
   * old generation (issue 14).
   */
  readonly #owner: (DebugEntry | undefined)[] = [];

  /** Forgets every owner (the layer was switched off). */
  clear(): void {
    this.#owner.length = 0;
  }

  /** Takes the new mapping's slots; returns the report text of every live mapping it lands on. */
  claim(entry: DebugEntry): string[] {
    const out: string[] = [];
    const first = entry.slot as number;
    const owners = this.#owner;
    let hit: DebugEntry | undefined;
    let hitFirst = 0;
    const flush = (last: number) => {
      if (!hit) return;
      const h = hit;
      out.push(
        `bounce ${slotText(hitFirst, last)} of this mapping overlap live mapping of ${h.device} ${
          at(h.bus)
        } [size=${h.size} bytes] [${
          slotText(h.slot ?? 0, (h.slot ?? 0) + h.nslots - 1)
        }] made by '${callText(h)}'`,
      );
      hit = undefined;
    };
    for (let k = first; k < first + entry.nslots; k++) {
      const o = owners[k];
      if (o !== hit) {
        flush(k - 1);
        if (o) {
          hit = o;
          hitFirst = k;
        }
      }
      owners[k] = entry;
    }
    flush(first + entry.nslots - 1);
    return out;
  }

  /** Gives a mapping's slots back. */
  release(entry: DebugEntry): void {
    if (entry.slot === null) return;
    for (let k = entry.slot; k < entry.slot + entry.nslots; k++) {
      if (this.#owner[k] === entry) this.#owner[k] = undefined;
    }
  }
}
