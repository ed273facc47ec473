/**
 * The REPL's words for the engine's codes: why a map bounced or failed, why a guest
 * runs swiotlb-xen, which translation rule answered, who holds a frame, and the hints
 * an error code earns. One place, in the session's radix (addresses through `fmt.num`,
 * counts and indices decimal), so text answers and help speak with one voice.
 *
 * @module
 */

import type { Mask } from "../../addr.ts";
import { bitsFromMask } from "../../addr.ts";
import type { ErrorCode } from "../../errors.ts";
import type { CoherentRoute, FreeCoherentHow, MapFailure, MapRoute } from "../../dma/ops.ts";
import type {
  EraseCaseStep,
  EraseColorStep,
  FrameOwner,
  InsertCaseStep,
  LookupRule,
  SwiotlbVerdict,
  TreeRow,
  UseReason,
  VisitView,
} from "../../guest/mod.ts";
import type { Fmt } from "./format.ts";

/** "32-bit mask 0xffffffff", or "mask 0x…" when it is not 2^n - 1. */
export function maskWords(mask: Mask | undefined, fmt: Fmt): string {
  if (mask === undefined) return "no dma_mask";
  try {
    return `${bitsFromMask(mask)}-bit mask ${fmt.num(mask)}`;
  } catch {
    return `mask ${fmt.num(mask)}`;
  }
}

/** Why a map bounced, or why it did not (SPEC §7). */
export function routeWords(r: MapRoute, dev: string, fmt: Fmt): string {
  switch (r.code) {
    case "fast-path":
      return `fast path: bus ${fmt.num(r.bus)} is under the device mask and machine-contiguous`;
    case "direct":
      return `direct: bus = guest-physical ${fmt.num(r.bus)} is under ${dev}'s DMA mask`;
    case "autotranslate":
      return "autotranslated guests always bounce (the p2m of a random page is unknown)";
    case "force":
      return "swiotlb_force";
    case "beyond-mask":
      return `bus ${fmt.num(r.bus)}+${r.size} is beyond ${dev}'s DMA mask (${
        maskWords(r.mask, fmt)
      })`;
    case "no-mask":
      return `${dev} has no dma_mask, so dma_capable() is false for every address`;
    case "straddles":
      return "the buffer straddles a page boundary onto a non-consecutive machine frame";
  }
}

/** Why a map failed, or why its handle is a trap. */
export function failureWords(f: MapFailure, dev: string, arch: string, fmt: Fmt): string {
  switch (f.code) {
    case "swiotlb-full":
      return `swiotlb buffer is full: no free run of ${f.nslots} slots for ${f.size} bytes ` +
        `(${f.probes} slots probed)`;
    case "over-segment":
      return `${f.size} bytes need ${f.nslots} slots, larger than one segment ` +
        `(IO_TLB_SEGSIZE = ${f.segmentSlots} slots): can never succeed`;
    case "bounce-not-capable": {
      const beyond = `bounce buffer bus ${fmt.num(f.bus)}+${f.size} is beyond ${dev}'s ${
        maskWords(f.mask, fmt)
      }`;
      if (f.caught) {
        return `${beyond}: xen_swiotlb_map_page unmaps it and returns 0, ${arch}'s DMA error code`;
      }
      const returned = `3.11 unmaps it and returns 0, which ${arch}'s dma_mapping_error does ` +
        `not recognise (it only catches ${fmt.num(f.errorCode)})`;
      return f.handedOut === 0
        ? `${beyond}; the slots were given back and ${returned}: the driver takes 0 for a valid handle`
        : `${beyond}; ${returned}; the checked policy returns ${arch}'s error code instead`;
    }
  }
}

/** How a coherent buffer was made reachable. */
export function coherentWords(r: CoherentRoute): string {
  switch (r.code) {
    case "under-mask":
      return "already under the coherent mask and machine-contiguous";
    case "exchanged":
      return `exchanged with Xen for memory under ${r.bits} bits` +
        (r.treeNode ? "; bus→phys tree node added" : "");
    case "pool-slots":
      return `taken from the swiotlb pool (slot ${r.slot}): the pages were beyond the coherent mask`;
  }
}

/** What dma_free_coherent did. */
export function freeWords(how: FreeCoherentHow): string {
  switch (how) {
    case "region-destroyed":
      return "region given back to Xen (xen_destroy_contiguous_region)";
    case "region-destroyed-node-erased":
      return "region given back to Xen and its tree node erased";
    case "pages-freed":
      return "pages freed";
    case "slots-freed":
      return "swiotlb slots freed";
    case "leaked":
      return "3.11 leaks the exchanged region (faithful): it is never given back to Xen";
  }
}

/** Why a guest runs swiotlb-xen or not (SPEC §5). */
export function useWords(u: UseReason): string {
  switch (u) {
    case "pv-dom0":
      return "PV dom0 always uses swiotlb-xen";
    case "pv-force":
      return "PV domU with swiotlb_force";
    case "pv-passthrough":
      return "PV domU with a passed-through device";
    case "pv-domu":
      return "PV domU without swiotlb_force or passthrough: no swiotlb-xen (bus = guest-physical, which is wrong on PV)";
    case "auto-iommu":
      return "autotranslated guest with an IOMMU: no swiotlb-xen, bus = guest-physical (the RFC author's answer)";
    case "auto-no-iommu":
      return "autotranslated guest without an IOMMU: swiotlb-xen with the RFC's segment array and bus→phys tree";
  }
}

/** The DMA ops' name. */
export function opsWords(kind: string | null, variant: string): string {
  switch (kind) {
    case "swiotlb-xen-pv":
      return "swiotlb-xen (PV)";
    case "swiotlb-xen-auto":
      return `swiotlb-xen (autotranslate, ${variant})`;
    case "direct":
      return "direct + native swiotlb";
    default:
      return "none (swiotlb-xen failed to initialise)";
  }
}

/** The rule of a translation, as the kernel computes it. */
export function ruleWords(rule: LookupRule, dir: "bus" | "phys", j: number | string = "j"): string {
  switch (rule) {
    case "rfc":
      return dir === "phys"
        ? `seg[${j}].dma_addr + (phys - seg[${j}].phys_addr)`
        : "node.phys_addr + (bus - node.dma_addr)";
    case "rfc-v1":
      return dir === "phys"
        ? `seg[${j}].dma_addr + (phys & (256K - 1))`
        : "node.phys_addr + (bus & (256K - 1))";
    case "pv-p2m":
      return "PV: p2m(pfn) << 12 | offset";
    case "pv-m2p":
      return "PV: m2p(mfn) << 12 | offset";
    case "direct":
      return "no swiotlb-xen: bus = guest-physical";
  }
}

/** "segment 2 [0x180000,+256K)", "coherent node [0x…,+8K)". */
export function nodeWords(
  n: Pick<TreeRow, "kind" | "segment" | "dmaAddr" | "size">,
  fmt: Fmt,
): string {
  const what = n.kind === "segment"
    ? `segment ${n.segment}`
    : n.kind === "coherent"
    ? "coherent node"
    : "node put in by 'tree insert'";
  return `${what} ${fmt.interval(n.dmaAddr, n.size)}`;
}

/** Which node a lookup landed in, in one phrase. */
export function hitWords(v: VisitView, fmt: Fmt): string {
  return v.kind === "segment"
    ? `segment ${v.segment}`
    : v.kind === "coherent"
    ? "coherent buffer"
    : `node put in by 'tree insert' at phys ${fmt.num(v.physAddr)}`;
}

/** is_xen_swiotlb_buffer's answer, and why. */
export function verdictWords(v: SwiotlbVerdict): string {
  switch (v.rule) {
    case "autotranslate":
      return "1: autotranslate always says yes (the RFC), whatever the address";
    case "pv-pool":
      return "1: the m2p gives a frame of this guest inside the pool";
    case "pv-elsewhere":
      return "0: the m2p gives a frame of this guest outside the pool";
    case "pv-foreign":
      return "0: the m2p has no frame of this guest there";
  }
}

/** What breaking a tree rule means (`tree --validate`; SPEC §9). */
export function problemWords(rule: string): string {
  switch (rule) {
    case "order":
      return "out of BST order with an ancestor (an in-order walk goes backwards here)";
    case "black root":
      return "the root is red";
    case "red-red":
      return "a red node with a red child";
    case "black height":
      return "its two subtrees hold different numbers of black nodes";
    case "parent link":
      return "its parent pointer does not point at the node that links to it";
    case "equal keys":
      return "its dma_addr equals its in-order neighbour's";
    case "overlap":
      return "its bus interval overlaps the node before it in bus order (the RFC's insert does not check)";
    case "color":
      return "a colour that is neither red nor black";
    case "cycle":
      return "a child link leads back to a node above";
    case "size":
      return "the tree counts a different number of nodes than are reachable";
    default:
      return rule;
  }
}

/** A fix-up case as a step names it. */
export type RbCase =
  | Pick<InsertCaseStep, "kind" | "case" | "mirror">
  | Pick<EraseCaseStep, "kind" | "case" | "mirror">
  | Pick<EraseColorStep, "kind" | "case" | "mirror">;

/**
 * The kernel's title of a red-black tree fix-up case: `rb_insert_color` and
 * `____rb_erase_color` in Linux 3.11's `lib/rbtree.c`, `__rb_erase_augmented` in
 * `include/linux/rbtree_augmented.h`; null for the insert loop's end (Case 0), which has
 * none. A mirror half carries its mirrored title: 3.11's mirror branch of
 * `____rb_erase_color` repeats the left-hand titles of Cases 3 and 4, later kernels
 * correct them, and the corrected ones say what the branch does.
 */
export function rbCaseTitle(s: RbCase): string | null {
  const lr = s.mirror ? ["right", "left"] : ["left", "right"];
  switch (s.kind) {
    case "insert-case":
      return s.case === 1
        ? "Case 1 - color flips"
        : s.case === 2
        ? `Case 2 - ${lr[0]} rotate at parent`
        : s.case === 3
        ? `Case 3 - ${lr[1]} rotate at gparent`
        : null;
    case "erase-case":
      return s.case === 1
        ? s.mirror
          ? "Still case 1, but this time the child is node->rb_left"
          : "Case 1: node to erase has no more than 1 child (easy!)"
        : s.case === 2
        ? "Case 2: node's successor is its right child"
        : "Case 3: node's successor is leftmost under node's right child subtree";
    case "erase-color":
      switch (s.case) {
        case 1:
          return `Case 1 - ${lr[0]} rotate at parent`;
        case 2:
          return s.mirror
            ? "Case 2 - sibling color flip"
            : "Case 2 - sibling color flip (p could be either color here)";
        case 3:
          return `Case 3 - ${lr[1]} rotate at sibling`;
        case 4:
          return `Case 4 - ${lr[0]} rotate at parent + color flips`;
      }
  }
}

/** The kernel function a fix-up step belongs to. */
export function rbCaseFn(kind: RbCase["kind"]): string {
  return kind === "insert-case"
    ? "rb_insert_color"
    : kind === "erase-case"
    ? "__rb_erase_augmented"
    : "____rb_erase_color";
}

/** Who holds a machine frame. */
export function ownerWords(o: FrameOwner, fmt: Fmt, frames = 1): string {
  switch (o.kind) {
    case "domain":
      return frames > 1
        ? `dom${o.domid} pfns ${fmt.num(o.pfn)}-${fmt.num(o.pfn + frames - 1)}`
        : `dom${o.domid} pfn ${fmt.num(o.pfn)}`;
    case "domain-no-m2p":
      return `dom${o.domid} (no m2p entry)`;
    case "free":
      return "free";
    case "xen":
      return "xen";
    case "outside":
      return "outside machine memory";
  }
}

/** The hint an error code earns at the prompt (the engine's errors carry no REPL word). */
export function errorHint(code: ErrorCode): string | undefined {
  switch (code) {
    case "unknown-device":
      return "add one with 'device add NAME --mask 32' (device list shows them)";
    case "unknown-buffer":
      return "allocate one with 'buf alloc NAME SIZE'";
    case "no-sg-list":
      return "map it with map-sg first (unmap-sg and sync-sg take the same elements)";
    case "guest-dead":
      return "a panicked kernel runs nothing: start another guest with 'guest new' (or try --late-init)";
    case "no-dma-ops":
      return "this guest has no DMA ops: see 'guest show', or start another with 'guest new'";
    case "no-tree":
      return "only swiotlb-xen guests have a bus→phys tree (guest presets)";
    case "unknown-preset":
      return "see 'guest presets'";
    case "arm-is-autotranslated":
      return "use --mode auto (or leave --mode out with --arch arm)";
    default:
      return undefined;
  }
}
