/**
 * swiotlb-xen's address translations (SPEC §6): `xen_phys_to_bus`, `xen_bus_to_phys`
 * and `is_xen_swiotlb_buffer`, for PV guests (the p2m / m2p) and for autotranslated
 * guests (the RFC's segment array phys→bus, its red-black tree bus→phys), and the
 * lookups that show the path each took.
 *
 * The two RFC revisions differ in how they take the offset inside a segment, cited as
 * drgn cites commits:
 * - `rfc-v1`: "[PATCH RFC 7/8] swiotlb-xen: support autotranslate guests" (Stefano
 *   Stabellini, posted 2013-07-31, reviewed on 2013-08-02 — the seed thread): masks the
 *   address with 256 KiB − 1, right only when the pool's phys and bus bases are 256 KiB
 *   aligned; its tree is guarded by a spinlock.
 * - `rfc` (default): the revision of the same patch that followed that review: subtracts
 *   the segment's base, and stores the requested size in coherent nodes (SPEC §7).
 *
 * @module
 */

import { type Addr, pageOffset, SEGMENT_BYTES, segmentOf } from "../addr.ts";
import { type Arch, dmaErrorCode } from "../dma/device.ts";
import type { XenPlatform } from "../dma/platform.ts";
import { addr, joinParts, msg } from "../errors.ts";
import type { EventLog } from "../events.ts";
import { type BusTree, type IntervalStep, type XenDmaInfo, xenGetDmaInfoFromDma } from "./tree.ts";

/** The two RFC revisions (SPEC §6). */
export type Variant = "rfc" | "rfc-v1";

/** Which rule a translation followed (SPEC §6). */
export type LookupRule =
  /** The RFC as revised: `seg[j].dma_addr + (phys - seg[j].phys_addr)` and back. */
  | "rfc"
  /** The first posting: `seg[j].dma_addr + (phys & (256K - 1))` and back. */
  | "rfc-v1"
  /** PV phys→bus: `p2m(pfn) << 12 | offset`. */
  | "pv-p2m"
  /** PV bus→phys: `m2p(mfn) << 12 | offset`. */
  | "pv-m2p"
  /** No swiotlb-xen: bus = guest-physical. */
  | "direct";

/** What `lookup phys` answers (SPEC §9). */
export interface PhysLookup {
  phys: number;
  bus: Addr;
  /** False when the rule has no answer (autotranslate: outside the pool → error code). */
  found: boolean;
  rule: LookupRule;
  /** Autotranslate: the array index `j = (phys - pool) / 256 KiB`, else the pool segment or null. */
  segment: number | null;
  /** seg[j].dma_addr and seg[j].phys_addr used by the RFC's arithmetic. */
  segDmaAddr: number | null;
  segPhysAddr: number | null;
  /** The offset the rule added to seg[j].dma_addr. */
  offset: number | null;
  /** The pool's first byte (the index arithmetic starts there). */
  poolPhys: number;
}

/** What `lookup bus` answers (SPEC §9). */
export interface BusLookup {
  bus: Addr;
  phys: Addr;
  found: boolean;
  rule: LookupRule;
  /** The segment the answer lies in, or null. */
  segment: number | null;
  /** The tree node found, if any (segment, coherent or lab-inserted). */
  node: XenDmaInfo | null;
  /** The offset the rule added to node.phys_addr. */
  offset: number | null;
  /** Every tree node compared on the way (autotranslate only). */
  visited: IntervalStep[];
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
  /** Where `trace on` lines go (xen_phys_to_bus, xen_bus_to_phys and the walk). */
  readonly events?: EventLog;
}

/** The segment of a pool address, or null outside the pool. */
export function segmentIn(t: XenTranslation, phys: Addr): number | null {
  if (typeof phys !== "number" || phys < t.poolPhys || phys >= t.poolEnd) return null;
  return segmentOf(phys - t.poolPhys);
}

/** xen_phys_to_bus (SPEC §6): PV through the p2m, autotranslate through the segment array. */
export function xenPhysToBus(t: XenTranslation, phys: number): Addr {
  const bus = translatePhys(t, phys);
  if (t.events?.tracing) {
    const j = segmentIn(t, phys);
    t.events.trace(
      "swiotlb-xen",
      msg`xen_phys_to_bus(${addr(phys)}) = ${addr(bus)}${
        !t.autotranslate
          ? " (p2m)"
          : j === null
          ? " (outside the pool: DMA error code)"
          : msg` (seg[${j}]: j = (phys - ${addr(t.poolPhys)}) / 256 KiB, no tree walk)`
      }`,
    );
  }
  return bus;
}

/** xen_phys_to_bus without its trace line (views ask it for every segment). */
export function translatePhys(t: XenTranslation, phys: number): Addr {
  if (!t.autotranslate) return t.platform.physToMachine(phys);
  const j = segmentIn(t, phys);
  if (j === null) return dmaErrorCode(t.arch);
  const s = t.seg[j];
  return t.variant === "rfc" ? s.dmaAddr + (phys - s.physAddr) : s.dmaAddr + (phys % SEGMENT_BYTES);
}

/** xen_bus_to_phys (SPEC §6): PV through the m2p, autotranslate through the tree walk. */
export function xenBusToPhys(t: XenTranslation, bus: Addr, steps?: IntervalStep[]): Addr {
  if (!t.events?.tracing) return busToPhys(t, bus, steps);
  const walk: IntervalStep[] = steps ?? [];
  const phys = busToPhys(t, bus, walk);
  const path = walk.map((s) =>
    msg`${addr(s.node.dmaAddr)} ${s.cmp === "hit" ? "holds it" : `→ ${s.cmp}`}`
  );
  t.events.trace(
    "swiotlb-xen",
    msg`xen_bus_to_phys(${addr(bus)}) = ${addr(phys)}${
      t.autotranslate
        ? msg` (tree walk: ${path.length === 0 ? "empty" : joinParts(path, ", ")})`
        : " (m2p)"
    }`,
  );
  return phys;
}

/** PV bus→phys through the m2p: the guest-physical address, or undefined (not its frame). */
export function pvBusToPhys(t: XenTranslation, bus: Addr): number | undefined {
  return typeof bus === "number" ? t.platform.machineToPhys(bus) : undefined;
}

/** Is guest-physical `p` (undefined: no page of this guest) inside the pool? */
export function inPool(t: XenTranslation, p: number | undefined): boolean {
  return p !== undefined && p >= t.poolPhys && p < t.poolEnd;
}

function busToPhys(t: XenTranslation, bus: Addr, steps?: IntervalStep[]): Addr {
  if (!t.autotranslate) {
    // pvBusToPhys written out: with the call here V8 stops inlining the tree walk below
    // into this function (every autotranslated unmap and sync measured ~10% slower).
    const p = typeof bus === "number" ? t.platform.machineToPhys(bus) : undefined;
    return p === undefined ? dmaErrorCode(t.arch) : p;
  }
  const e = xenGetDmaInfoFromDma(t.tree, bus, steps);
  if (e === null || typeof bus !== "number") return dmaErrorCode(t.arch);
  return t.variant === "rfc" ? e.physAddr + (bus - e.dmaAddr) : e.physAddr + (bus % SEGMENT_BYTES);
}

/**
 * is_xen_swiotlb_buffer: PV — the frame is this guest's and inside the pool;
 * autotranslate — always 1 (the RFC: every buffer it is asked about is a bounce buffer).
 */
export function isXenSwiotlbBuffer(t: XenTranslation, bus: Addr): boolean {
  return t.autotranslate || inPool(t, pvBusToPhys(t, bus));
}

/** is_xen_swiotlb_buffer's answer and the rule that gave it. */
export interface SwiotlbVerdict {
  verdict: boolean;
  /** autotranslate: always 1 (the RFC); pv-pool / pv-elsewhere / pv-foreign: the m2p's frame. */
  rule: "autotranslate" | "pv-pool" | "pv-elsewhere" | "pv-foreign";
}

/** The four verdicts, made once: every unmap and sync reports one. */
const VERDICTS = {
  autotranslate: Object.freeze({ verdict: true, rule: "autotranslate" }),
  pool: Object.freeze({ verdict: true, rule: "pv-pool" }),
  elsewhere: Object.freeze({ verdict: false, rule: "pv-elsewhere" }),
  foreign: Object.freeze({ verdict: false, rule: "pv-foreign" }),
} as const satisfies Record<string, SwiotlbVerdict>;

/** is_xen_swiotlb_buffer(bus), with why (a shared, frozen value). */
export function swiotlbVerdict(t: XenTranslation, bus: Addr): Readonly<SwiotlbVerdict> {
  return t.autotranslate ? VERDICTS.autotranslate : pvVerdict(t, pvBusToPhys(t, bus));
}

/** A PV guest's verdict on the guest-physical address its m2p gave (undefined: none). */
export function pvVerdict(t: XenTranslation, p: number | undefined): Readonly<SwiotlbVerdict> {
  if (p === undefined) return VERDICTS.foreign;
  return inPool(t, p) ? VERDICTS.pool : VERDICTS.elsewhere;
}

/** `lookup phys`: xen_phys_to_bus and the arithmetic it did. */
export function lookupPhys(t: XenTranslation, phys: number): PhysLookup {
  const bus = xenPhysToBus(t, phys);
  const segment = segmentIn(t, phys);
  const base = { phys, bus, segment, poolPhys: t.poolPhys };
  if (!t.autotranslate) {
    return {
      ...base,
      found: true,
      rule: "pv-p2m",
      segDmaAddr: null,
      segPhysAddr: null,
      offset: null,
    };
  }
  const rule = t.variant;
  if (segment === null) {
    return { ...base, found: false, rule, segDmaAddr: null, segPhysAddr: null, offset: null };
  }
  const s = t.seg[segment];
  return {
    ...base,
    found: true,
    rule,
    segDmaAddr: s.dmaAddr,
    segPhysAddr: s.physAddr,
    offset: rule === "rfc" ? phys - s.physAddr : phys % SEGMENT_BYTES,
  };
}

/** `lookup bus`: xen_bus_to_phys and every tree node compared on the way. */
export function lookupBus(t: XenTranslation, bus: Addr): BusLookup {
  const visited: IntervalStep[] = [];
  const phys = xenBusToPhys(t, bus, t.autotranslate ? visited : undefined);
  if (!t.autotranslate) {
    // The m2p knows a frame only when it is this guest's.
    const found = typeof bus === "number" && t.platform.machineToPhys(bus) !== undefined;
    return {
      bus,
      phys,
      found,
      rule: "pv-m2p",
      segment: segmentIn(t, phys),
      node: null,
      offset: found ? pageOffset(bus) : null,
      visited,
    };
  }
  const last = visited[visited.length - 1];
  const hit = last !== undefined && last.cmp === "hit" ? last.node as XenDmaInfo : null;
  return {
    bus,
    phys,
    found: hit !== null,
    rule: t.variant,
    segment: hit && hit.kind === "segment" ? hit.index : null,
    node: hit,
    offset: hit && typeof bus === "number"
      ? (t.variant === "rfc" ? bus - hit.dmaAddr : bus % SEGMENT_BYTES)
      : null,
    visited,
  };
}

/**
 * The pool address whose xen_phys_to_bus is `bus` under the segment array, when there is
 * one: what a handle handed out by map_page stands for. Under rfc-v1 on an unaligned pool
 * it differs from xen_bus_to_phys(bus) — the round trip that loses the bounce slot.
 */
export function rfcV1BouncePhys(t: XenTranslation, bus: number): number | null {
  const node = xenGetDmaInfoFromDma(t.tree, bus);
  if (node === null || node.kind !== "segment") return null;
  const off = bus - node.dmaAddr;
  const base = node.physAddr - (node.physAddr % SEGMENT_BYTES);
  const p = base + off < node.physAddr ? base + off + SEGMENT_BYTES : base + off;
  return p < node.physAddr + node.size && xenPhysToBus(t, p) === bus ? p : null;
}
