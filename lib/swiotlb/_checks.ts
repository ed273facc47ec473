/**
 * The checked policy's questions about an unmap or a sync (SPEC §3): is the address in
 * the pool, is a mapping there, does the size match — answered before the core changes
 * anything. The kernel asks none of them.
 *
 * @module
 */

import type { Addr } from "../addr.ts";
import { type Direction, directionName, DMA_BIDIRECTIONAL, DMA_FROM_DEVICE } from "../direction.ts";
import { addr, LabError, msg } from "../errors.ts";
import { slotsFor } from "./types.ts";
import type { SwiotlbCore } from "./core.ts";
import type { PhysMemory } from "../memory.ts";

function outside(core: SwiotlbCore, tlbAddr: Addr): LabError {
  return new LabError(
    msg`${addr(tlbAddr)} is outside the swiotlb pool [${addr(core.start)}, ${
      addr(core.end)
    }): the kernel's int index (tlb_addr - io_tlb_start) >> IO_TLB_SHIFT is index ${
      core.slotIndex(tlbAddr)
    } of ${core.nslabs}`,
    "refused",
    "outside-pool",
  );
}

/** Why the checked policy refuses this unmap, or undefined when it is right (SPEC §3). */
export function unmapProblem(
  core: SwiotlbCore,
  tlbAddr: Addr,
  index: number,
  nslots: number,
  size: number,
  dir: Direction,
): LabError | undefined {
  if (!core.isSwiotlbBuffer(tlbAddr)) return outside(core, tlbAddr);
  const mapped = core.mappedSizeAt(index);
  // The kernel's index drops the low 11 bits: an address inside the first slot would
  // free the whole mapping while the driver still holds its real handle.
  if (mapped !== 0 && typeof tlbAddr === "number" && tlbAddr !== core.slotAddr(index)) {
    return new LabError(
      msg`${addr(tlbAddr)} is inside the mapping at slot ${index}, not its start ${
        addr(core.slotAddr(index))
      }`,
      "refused",
      "not-mapped",
    );
  }
  if (mapped === 0) {
    const inside = core.mappingAt(index);
    return inside
      ? new LabError(
        msg`${addr(tlbAddr)} is inside the mapping at slot ${inside.index}, not its start`,
        "refused",
        "not-mapped",
      )
      : new LabError(
        msg`slot ${index} (${addr(tlbAddr)}) is not mapped (double unmap?)`,
        "refused",
        "not-mapped",
      );
  }
  if (slotsFor(mapped) !== nslots) {
    return new LabError(
      msg`unmap of slot ${index} (${
        addr(tlbAddr)
      }) with ${size} bytes, but it was mapped with ${mapped} bytes`,
      "refused",
      "wrong-size",
    );
  }
  const made = core.mappedDirAt(index);
  // A mapping with no original (native coherent memory) has no bytes at stake.
  if (made !== dir && core.origAddr[index] !== 0) {
    const dropped = copiesBack(made) && !copiesBack(dir);
    return new LabError(
      [
        ...msg`unmap of slot ${index} (${addr(tlbAddr)}) with ${
          directionName(dir)
        }, but it was mapped with ${directionName(made)}`,
        dropped
          ? ": nothing is copied back, so the device's bytes are dropped"
          : ": the direction differs from the mapping's",
      ],
      "refused",
      "wrong-direction",
    );
  }
  return undefined;
}

/** Does an unmap (or a sync for the CPU) in this direction copy bounce → original? */
function copiesBack(dir: Direction): boolean {
  return dir === DMA_FROM_DEVICE || dir === DMA_BIDIRECTIONAL;
}

/** Why the checked policy refuses this sync, or undefined when it is right (SPEC §3). */
export function syncProblem(
  core: SwiotlbCore,
  tlbAddr: Addr,
  size: number,
  dir: Direction,
): LabError | undefined {
  if (!core.isSwiotlbBuffer(tlbAddr) || typeof tlbAddr !== "number") {
    return outside(core, tlbAddr);
  }
  const m = core.mappingAt(core.slotIndex(tlbAddr));
  if (!m) {
    return new LabError(
      msg`sync of ${addr(tlbAddr)}: no live mapping there`,
      "refused",
      "not-mapped",
    );
  }
  const mStart = core.slotAddr(m.index);
  if (tlbAddr + size > mStart + m.size) {
    return new LabError(
      msg`sync of ${addr(tlbAddr)}+${size} runs past the mapping [${addr(mStart)}, +${m.size})`,
      "refused",
      "out-of-range",
    );
  }
  const made = core.mappedDirAt(m.index);
  if (made !== DMA_BIDIRECTIONAL && made !== dir) {
    return new LabError(
      msg`sync of ${addr(tlbAddr)} with ${directionName(dir)}, but it was mapped with ${
        directionName(made)
      }: the copy it asks for is not the one the mapping needs, the bytes do not move`,
      "refused",
      "wrong-direction",
    );
  }
  return undefined;
}

/**
 * A bounce copy must stay in memory: the kernel's memcpy past it would fault, which the
 * model cannot run on. Refused before anything changes, under either policy.
 */
export function copyProblem(
  mem: PhysMemory | undefined,
  tlbAddr: Addr,
  orig: number,
  size: number,
): LabError | undefined {
  if (mem?.contains === undefined) return undefined;
  const bounce = typeof tlbAddr === "number" && mem.contains(tlbAddr, size);
  if (bounce && mem.contains(orig, size)) return undefined;
  return new LabError(
    msg`A bounce copy of ${size} bytes between ${addr(tlbAddr)} and ${
      addr(orig)
    } runs outside guest memory: the kernel's memcpy would fault there`,
    "refused",
    "outside-memory",
  );
}
