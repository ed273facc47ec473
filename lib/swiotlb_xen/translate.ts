/**
 * swiotlb-xen's address translations (SPEC §6): `xen_phys_to_bus`, `xen_bus_to_phys`
 * and `is_xen_swiotlb_buffer`, for PV guests (the p2m / m2p) and for autotranslated
 * guests (the RFC's segment array phys→bus, its red-black tree bus→phys), and the
 * lookups that show the path each took.
 *
 * @module
 */

import { formatHex, SEGMENT_BYTES } from "../addr.ts";
import { type Arch, dmaErrorCode } from "../dma/device.ts";
import type { XenPlatform } from "../dma/platform.ts";
import { type BusTree, type IntervalStep, type XenDmaInfo, xenGetDmaInfoFromDma } from "./tree.ts";

/** The two RFC revisions (SPEC §6). */
export type Variant = "rfc" | "rfc-v1";

/** How `lookup phys` answered (SPEC §9). */
export interface PhysLookup {
  bus: number;
  /** Segment index used, or null when the address is not in the pool / PV translation. */
  segment: number | null;
  how: string;
}

/** How `lookup bus` answered (SPEC §9). */
export interface BusLookup {
  phys: number;
  segment: number | null;
  /** The tree node found, if any (segment or coherent). */
  node: XenDmaInfo | null;
  visited: IntervalStep[];
  how: string;
}

/** The translation state of one swiotlb-xen instance. */
export interface XenTranslation {
  readonly arch: Arch;
  readonly autotranslate: boolean;
  readonly variant: Variant;
  readonly poolPhys: number;
  readonly poolEnd: number;
  readonly seg: readonly XenDmaInfo[];
  readonly tree: BusTree;
  readonly platform: XenPlatform;
}

const SEG_MASK = SEGMENT_BYTES - 1;

/** xen_phys_to_bus (SPEC §6). */
export function xenPhysToBus(t: XenTranslation, phys: number): number {
  if (!t.autotranslate) return t.platform.physToMachine(phys);
  if (phys < t.poolPhys || phys >= t.poolEnd) return dmaErrorCode(t.arch);
  const s = t.seg[Math.floor((phys - t.poolPhys) / SEGMENT_BYTES)];
  return t.variant === "rfc" ? s.dmaAddr + (phys - s.physAddr) : s.dmaAddr + (phys % SEGMENT_BYTES);
}

/** xen_bus_to_phys (SPEC §6); the error code when the tree knows no such bus address. */
export function xenBusToPhys(t: XenTranslation, bus: number, steps?: IntervalStep[]): number {
  if (!t.autotranslate) {
    const p = t.platform.machineToPhys(bus);
    return p === undefined ? dmaErrorCode(t.arch) : p;
  }
  const e = xenGetDmaInfoFromDma(t.tree, bus, steps);
  if (e === null) return dmaErrorCode(t.arch);
  return t.variant === "rfc" ? e.physAddr + (bus - e.dmaAddr) : e.physAddr + (bus & SEG_MASK);
}

/** is_xen_swiotlb_buffer: PV — the frame is ours and inside the pool; autotranslate — always. */
export function isXenSwiotlbBuffer(t: XenTranslation, bus: number): boolean {
  if (t.autotranslate) return true;
  const p = t.platform.machineToPhys(bus);
  return p !== undefined && p >= t.poolPhys && p < t.poolEnd;
}

/** `lookup phys`: the translation and the path it took. */
export function lookupPhys(t: XenTranslation, phys: number): PhysLookup {
  const bus = xenPhysToBus(t, phys);
  if (!t.autotranslate) {
    return { bus, segment: segmentIn(t, phys), how: "PV: p2m(pfn) << 12 | offset" };
  }
  const segment = segmentIn(t, phys);
  if (segment === null) {
    return { bus, segment, how: "outside the pool: the RFC has no translation (DMA error code)" };
  }
  const s = t.seg[segment];
  return {
    bus,
    segment,
    how: t.variant === "rfc"
      ? `seg[${segment}].dma_addr + (phys - seg[${segment}].phys_addr) = ${
        formatHex(s.dmaAddr)
      } + ${formatHex(phys - s.physAddr)}`
      : `seg[${segment}].dma_addr + (phys & (256K - 1)) = ${formatHex(s.dmaAddr)} + ${
        formatHex(phys % SEGMENT_BYTES)
      }`,
  };
}

/** `lookup bus`: the translation and every tree node compared on the way. */
export function lookupBus(t: XenTranslation, bus: number): BusLookup {
  const visited: IntervalStep[] = [];
  const phys = xenBusToPhys(t, bus, t.autotranslate ? visited : undefined);
  if (!t.autotranslate) {
    return {
      phys,
      segment: phys === dmaErrorCode(t.arch) ? null : segmentIn(t, phys),
      node: null,
      visited,
      how: "PV: m2p(mfn) << 12 | offset",
    };
  }
  const hit = visited.length > 0 && visited[visited.length - 1].cmp === "hit"
    ? visited[visited.length - 1].node as XenDmaInfo
    : null;
  return {
    phys,
    segment: hit && hit.kind === "segment" ? hit.index : null,
    node: hit,
    visited,
    how: hit
      ? (hit.kind === "segment"
        ? `segment ${hit.index}`
        : hit.kind === "coherent"
        ? "coherent buffer"
        : `node put in by 'tree insert' at phys ${formatHex(hit.physAddr)}`)
      : "no node holds it",
  };
}

/** The segment of a pool address, or null outside the pool. */
export function segmentIn(t: XenTranslation, phys: number): number | null {
  if (phys < t.poolPhys || phys >= t.poolEnd) return null;
  return Math.floor((phys - t.poolPhys) / SEGMENT_BYTES);
}
