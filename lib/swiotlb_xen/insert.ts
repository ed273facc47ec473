/**
 * The lab's `tree insert` (SPEC §6): an entry put into the live bus→phys tree exactly as
 * the RFC's xen_dma_add_entry would, so the overlaps its insert lets through can be built,
 * validated and looked up. Moved out of engine.ts.
 *
 * @module
 */

import { formatHex } from "../addr.ts";
import { addr, joinParts, LabError, type MessagePart, msg, renderParts } from "../errors.ts";
import type { EventLog } from "../events.ts";
import { positionPath } from "../rbtree.ts";
import type { Policy } from "../swiotlb/mod.ts";
import type { XenTranslation } from "./translate.ts";
import { xenDmaAddEntry, xenDmaAddEntryClash, type XenDmaInfo, xenDmaOverlaps } from "./tree.ts";

/** What {@link insertEntry} did. */
export interface InsertEntryResult {
  /** False when xen_dma_add_entry refused it (an equal dma_addr or phys_addr on its path). */
  ok: boolean;
  /** The entry as inserted (kind "manual"). */
  entry: XenDmaInfo;
  /** The kernel's warning when refused. */
  warning?: string;
  /** The errno xen_dma_add_entry returned: 0, or -EINVAL (-22) when refused (SPEC §6). */
  errno: number;
  /** Nodes whose bus interval the new one overlaps (accepted under faithful only). */
  overlaps: XenDmaInfo[];
  /** Where the node ended up after the insert's rebalancing (`root/r/l`), null if refused. */
  path: string | null;
}

/** "segment 2 [0x180000, 0x1c0000)": a node as engine messages name it (as parts). */
export function nodeName(e: XenDmaInfo): MessagePart[] {
  const what = e.kind === "segment" ? `segment ${e.index}` : `${e.kind} node`;
  return msg`${what} [${addr(e.dmaAddr)}, ${addr(e.dmaAddr + e.size)})`;
}

/**
 * `tree insert`: puts `{dma, phys, size}` into the bus→phys tree the way the RFC's
 * xen_dma_add_entry would — refused only when a node met on the way down has an EQUAL
 * dma_addr or phys_addr (the kernel's warning is logged). An interval overlapping other
 * nodes goes in under faithful (recorded as undefined behaviour: lookups there then
 * answer by the tree's shape); checked refuses it and changes nothing (SPEC §6).
 */
export function insertEntry(
  t: XenTranslation & { readonly policy: Policy },
  events: EventLog,
  dmaAddr: number,
  physAddr: number,
  size: number,
): InsertEntryResult {
  for (const [what, v] of [["dma_addr", dmaAddr], ["phys_addr", physAddr]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new LabError(
        `xen_dma_add_entry: ${what} ${v} is not an address`,
        "usage",
        "bad-number",
      );
    }
  }
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new LabError(
      `xen_dma_add_entry: size ${size} must be a positive number of bytes`,
      "usage",
      "bad-number",
    );
  }
  const entry: XenDmaInfo = { dmaAddr, physAddr, size, kind: "manual", index: -1 };
  const overlaps = xenDmaOverlaps(t.tree, dmaAddr, size);
  // An equal key on the descent path: the RFC itself refuses it (below), nothing changes.
  const rfcRefuses = xenDmaAddEntryClash(t.tree, entry) !== null;
  if (overlaps.length > 0 && !rfcRefuses && t.policy === "checked") {
    throw new LabError(
      msg`xen_dma_add_entry(phys=${addr(physAddr)} -> dma=${addr(dmaAddr)}, size ${addr(size)}): [${
        addr(dmaAddr)
      }, ${addr(dmaAddr + size)}) overlaps ${
        joinParts(overlaps.map(nodeName), " and ")
      }; the RFC's insert would accept it (it only rejects an equal dma_addr or phys_addr met on its way down) and bus→phys lookups there would answer by the tree's shape`,
      "refused",
      "tree-overlap",
    );
  }
  const added = xenDmaAddEntry(t.tree, entry, events);
  if ("warning" in added) {
    events.log("swiotlb-xen", added.warning);
    return { ok: false, entry, warning: added.warning, errno: -22, overlaps, path: null };
  }
  if (overlaps.length > 0) {
    events.ub(
      "swiotlb-xen",
      `xen_dma_add_entry(phys=${formatHex(physAddr)} -> dma=${formatHex(dmaAddr)}, size ${
        formatHex(size)
      }): accepted although [${formatHex(dmaAddr)}, ${formatHex(dmaAddr + size)}) overlaps ${
        renderParts(joinParts(overlaps.map(nodeName), " and "))
      }; a lookup there returns whichever node the tree walk meets first`,
    );
  }
  return { ok: true, entry, errno: 0, overlaps, path: positionPath(added.node) };
}
