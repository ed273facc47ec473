/**
 * xen_swiotlb_init with the RFC's fixup (SPEC §5): size the pool, allocate it, ask Xen
 * to make each 256 KiB chunk machine-contiguous under a growing address width, record
 * every chunk in the segment array and the bus→phys tree, and retry with a halved pool
 * when something fails.
 *
 * @module
 */

import { getOrder, IO_TLB_SEGSIZE, IO_TLB_SIZE, PAGE_SHIFT, SEGMENT_BYTES } from "../addr.ts";
import { addrPa, msg } from "../errors.ts";
import type { EventLog } from "../events.ts";
import type { Policy } from "../swiotlb/mod.ts";
import type { XenPlatform } from "../dma/platform.ts";
import {
  type BusTree,
  newBusTree,
  xenDmaAddEntry,
  type XenDmaInfo,
  xenDmaRemoveEntry,
} from "./tree.ts";

/** Default pool: 64 MiB of slots. */
export const DEFAULT_NSLABS = (64 * 1024 * 1024) / IO_TLB_SIZE;
/** dma_bits the fixup starts at: get_order(256 KiB) + PAGE_SHIFT = 18. */
export const FIXUP_FIRST_DMA_BITS = 6 + PAGE_SHIFT;
/** The fixup gives up after this width (max_dma_bits). */
export const FIXUP_MAX_DMA_BITS = 32;
/** Retries after the first attempt, each with half the slots (never below 1024). */
export const INIT_RETRIES = 3;

/** One xen_create_contiguous_region call the fixup made. */
export interface FixupTry {
  segment: number;
  dmaBits: number;
  ok: boolean;
  /** The failure was injected (SPEC §4), not Xen running out of low memory. */
  injected: boolean;
  /** The bus address Xen handed back (0 on x86 autotranslate); null when the try failed. */
  dmaAddr: number | null;
  /** Whether xen_dma_add_entry took the new segment; null when the try failed. */
  inserted: boolean | null;
}

/** The fixup of one attempt in numbers (SPEC §5 step 3). */
export interface FixupSummary {
  /** xen_create_contiguous_region calls (every try, failed ones too). */
  exchanges: number;
  /** Segments the fixup reached, and how many of them were made contiguous. */
  segments: number;
  okSegments: number;
  /** dma_bits of the first and of the last try (it only grows: SPEC §5). */
  dmaBitsFirst: number | null;
  dmaBitsLast: number | null;
  /** The first try that succeeded. */
  firstSuccess: { segment: number; dmaBits: number } | null;
  /** Tries that failed by fault injection. */
  injectedFailures: number;
  /**
   * The segment whose node xen_dma_add_entry refused (-EINVAL: the RFC's duplicate test,
   * SPEC §6), which aborts the fixup; null when every insert went in.
   */
  refusedInsert: { segment: number; dmaAddr: number } | null;
  /** The segment no width up to max_dma_bits could make contiguous; null when none. */
  exhausted: number | null;
}

/** Sums up the tries of one attempt. */
export function summarizeFixup(tries: readonly FixupTry[]): FixupSummary {
  const first = tries.find((t) => t.ok);
  const refused = tries.find((t) => t.inserted === false);
  const last = tries[tries.length - 1];
  return {
    exchanges: tries.length,
    segments: new Set(tries.map((t) => t.segment)).size,
    okSegments: tries.filter((t) => t.ok).length,
    dmaBitsFirst: tries.length ? tries[0].dmaBits : null,
    dmaBitsLast: tries.length ? tries[tries.length - 1].dmaBits : null,
    firstSuccess: first ? { segment: first.segment, dmaBits: first.dmaBits } : null,
    injectedFailures: tries.filter((t) => !t.ok && t.injected).length,
    refusedInsert: refused ? { segment: refused.segment, dmaAddr: refused.dmaAddr ?? 0 } : null,
    exhausted: last && !last.ok ? last.segment : null,
  };
}

/** One pass of the retry loop. */
export interface InitAttempt {
  nslabs: number;
  poolPhys: number | undefined;
  tries: FixupTry[];
  /** undefined on success, else "enomem" (no pool) or "efixup" (fixup failed). */
  failure?: "enomem" | "efixup";
}

/** What xen_swiotlb_init produced. */
export interface XenSwiotlbInit {
  ok: boolean;
  nslabs: number;
  poolPhys: number;
  /** xen_dma_seg: one entry per chunk of up to 128 slots. */
  seg: XenDmaInfo[];
  tree: BusTree;
  /** Kernel-style messages, in order. */
  log: string[];
  attempts: InitAttempt[];
  /** panic()'s message when the early path failed (the guest is dead), else null. */
  panic: string | null;
}

/** Options of {@link xenSwiotlbInit}. */
export interface InitOptions {
  /** `swiotlb=` in slots (already rounded up to 128), or undefined for the default. */
  nslabs?: number;
  /** faithful keeps the RFC's retry flaws (stale tree nodes); checked cleans up. */
  policy: Policy;
  /**
   * The boot-time path (`xen_swiotlb_init(verbose, early = true)`: PV dom0, PVH dom0, the
   * RFC series' ARM dom0): the pool comes from the boot allocator, which panics when it
   * has no memory, and a failed init ends in panic(). The late path
   * (pci_xen_swiotlb_init_late) returns the error instead (SPEC §5 step 4).
   */
  early: boolean;
  /** The lab's what-if: segment j's bus base shifted by (j × busSkew) mod 256 KiB. */
  busSkew?: number;
  events: EventLog;
}

const PREFIX = "xen:swiotlb_xen: ";

/**
 * xen_swiotlb_init(verbose, early) + the RFC's xen_swiotlb_fixup. Never throws for a
 * failed init: the result says why, with the kernel's messages.
 */
export function xenSwiotlbInit(platform: XenPlatform, opts: InitOptions): XenSwiotlbInit {
  const { events, policy } = opts;
  const log: string[] = [];
  const say = (m: string) => {
    log.push(m);
    events.log("swiotlb-xen", m);
  };
  const tree = newBusTree();
  const attempts: InitAttempt[] = [];
  let nslabs = opts.nslabs ?? DEFAULT_NSLABS;
  let repeat = INIT_RETRIES;
  let rc = 0;
  for (;;) {
    const bytes = nslabs * IO_TLB_SIZE;
    const attempt: InitAttempt = { nslabs, poolPhys: undefined, tries: [] };
    attempts.push(attempt);
    const pool = platform.allocPages(bytes);
    let seg: XenDmaInfo[] = [];
    if (pool === undefined) {
      attempt.failure = "enomem";
      if (opts.early) {
        // alloc_bootmem_pages: the boot allocator itself gives up (no retry, no return).
        say(`bootmem alloc of ${bytes} bytes failed!`);
        say(`Kernel panic - not syncing: Out of memory`);
        return {
          ok: false,
          nslabs,
          poolPhys: 0,
          seg: [],
          tree,
          log,
          attempts,
          panic: "Out of memory",
        };
      }
    } else {
      attempt.poolPhys = pool;
      const skew = opts.busSkew ?? 0;
      const fixed = fixup(platform, tree, pool, nslabs, attempt.tries, events, say, skew);
      seg = fixed.seg;
      rc = fixed.rc;
      if (rc === 0) {
        if (events.tracing) {
          events.trace(
            "swiotlb-xen",
            msg`pool ${nslabs} slots at phys ${addrPa(pool)}, start_dma_addr ${
              addrPa(seg[0].dmaAddr)
            }`,
          );
        }
        return { ok: true, nslabs, poolPhys: pool, seg, tree, log, attempts, panic: null };
      }
      attempt.failure = "efixup";
      platform.freePages(pool, bytes);
      if (policy === "checked") {
        // The RFC leaves this attempt's nodes in the tree and its exchanged chunks with the
        // freed pool; checked cleans up so the retry is judged on its own. (faithful
        // keeps both: SPEC §5 step 4.)
        for (const s of seg) {
          xenDmaRemoveEntry(tree, s, events);
          platform.destroyContiguousRegion(s.physAddr, getOrder(s.size));
        }
      }
    }
    if (repeat-- > 0) {
      nslabs = Math.max(1024, Math.floor(nslabs / 2));
      say(`${PREFIX}Lowering to ${Math.floor((nslabs * IO_TLB_SIZE) / (1024 * 1024))}MB`);
      continue;
    }
    const what = attempt.failure === "enomem"
      ? "Cannot allocate Xen-SWIOTLB buffer\n"
      : "Failed to get contiguous memory for DMA from Xen!\n" +
        "You either: don't have the permissions, do not have enough free memory under 4GB, or the hypervisor memory is too fragmented!";
    const error = `${what} (rc:${attempt.failure === "enomem" ? -12 : rc})`;
    say(`${PREFIX}${error}`);
    // The early path: panic("%s (rc:%d)") — panic() prints no pr_fmt prefix.
    const panic = opts.early ? error : null;
    if (panic !== null) say(`Kernel panic - not syncing: ${panic}`);
    return {
      ok: false,
      nslabs,
      poolPhys: attempt.poolPhys ?? 0,
      seg: [],
      tree,
      log,
      attempts,
      panic,
    };
  }
}

/**
 * xen_swiotlb_fixup: per chunk j of up to 128 slots, create a contiguous region with
 * `dma_bits` growing from 18 to 32 on failure. dma_bits is not reset between chunks.
 */
function fixup(
  platform: XenPlatform,
  tree: BusTree,
  pool: number,
  nslabs: number,
  tries: FixupTry[],
  events: EventLog,
  say: (m: string) => void,
  busSkew: number,
): { rc: number; seg: XenDmaInfo[] } {
  const seg: XenDmaInfo[] = [];
  let dmaBits = FIXUP_FIRST_DMA_BITS;
  for (let i = 0, j = 0; i < nslabs; j++) {
    const slabs = Math.min(nslabs - i, IO_TLB_SEGSIZE);
    const pstart = pool + i * IO_TLB_SIZE;
    const order = getOrder(slabs * IO_TLB_SIZE);
    let res;
    for (;;) {
      // The --bus-skew what-if shifts segment j's bus base by (j × skew) mod 256 KiB.
      const skew = (j * busSkew) % SEGMENT_BYTES;
      res = platform.createContiguousRegion(pstart, order, dmaBits, skew);
      tries.push({
        segment: j,
        dmaBits,
        ok: res.ok,
        injected: !res.ok && res.injected === true,
        dmaAddr: res.ok ? res.dmaHandle ?? 0 : null,
        inserted: null,
      });
      // Built only when it is printed: a 16 GiB request makes tens of thousands of tries.
      if (events.tracing) {
        events.trace(
          "fixup",
          msg`segment ${j}: xen_create_contiguous_region(${
            addrPa(pstart)
          }, order ${order}, dma_bits ${dmaBits}) → ${res.ok ? "ok" : res.reason}`,
        );
      }
      // `while (rc && dma_bits++ < max_dma_bits)`: the width grows after every failure.
      if (res.ok || !(dmaBits++ < FIXUP_MAX_DMA_BITS)) break;
    }
    if (!res.ok) return { rc: -12, seg };
    // x86 autotranslate writes no handle: the caller's variable stays 0 (SPEC §4).
    const info: XenDmaInfo = {
      dmaAddr: res.dmaHandle ?? 0,
      physAddr: pstart,
      size: slabs * IO_TLB_SIZE,
      kind: "segment",
      index: j,
    };
    seg.push(info);
    const added = xenDmaAddEntry(tree, info, events);
    tries[tries.length - 1].inserted = !("warning" in added);
    if ("warning" in added) {
      say(added.warning);
      return { rc: -22, seg: seg.slice(0, -1) };
    }
    i += slabs;
  }
  return { rc: 0, seg };
}
