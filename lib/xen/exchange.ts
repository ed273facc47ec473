/**
 * XENMEM_exchange (SPEC §4): a guest trades some of its frames for new extents below an
 * address limit. This is how swiotlb-xen makes its pool machine-contiguous and low
 * (SPEC §5 fixup) and how coherent allocations get memory a device can reach (SPEC §7).
 *
 * The work goes chunk by chunk, as Xen's memory_exchange does: a chunk is the input
 * that makes one output extent (2^(out-in) input extents) or one input extent split
 * into 2^(in-out) outputs. A chunk either completes or is left exactly as it was, so a
 * failure at chunk k reports the input extents of chunks 0…k-1 as exchanged.
 *
 * @module
 */

import { formatHex, formatSize } from "../addr.ts";
import { addr, joinParts, msg } from "../errors.ts";
import type { Domain } from "./domain.ts";
import type { Xen } from "./xen.ts";

/** Largest extent order a domU may exchange (2 MiB). */
export const MAX_EXCHANGE_ORDER_DOMU = 9;
/** Largest extent order dom0 may exchange (4 MiB). */
export const MAX_EXCHANGE_ORDER_DOM0 = 10;

/** Arguments of {@link exchange} (struct xen_memory_exchange, in guest terms). */
export interface ExchangeRequest {
  /** First guest pfn of each input extent. */
  inPfns: number[];
  /** Order of every input extent. */
  inOrder: number;
  /** Order of every output extent. */
  outOrder: number;
  /** Output extents must lie below 2^addressBits; 0 = no limit. */
  addressBits: number;
}

/** What the exchange reports back. */
export interface ExchangeResult {
  /** Input extents exchanged (nr_exchanged): all of them on success. */
  nrExchanged: number;
  /**
   * First frame of each output extent produced, in order: the new mfns for a PV guest,
   * the bus frame numbers for an autotranslated one ("exchange and pin").
   */
  outMfns: number[];
  /** Why the exchange stopped short, when it did. */
  error?: string;
  /** True when the failure was injected (SPEC §4 fault injection), not Xen's own. */
  injected?: boolean;
}

/** The largest extent order `dom` may exchange: 10 for dom0, 9 for a domU (SPEC §4). */
export function maxExchangeOrder(dom: Domain): number {
  return dom.dom0 ? MAX_EXCHANGE_ORDER_DOM0 : MAX_EXCHANGE_ORDER_DOMU;
}

/** "below 2^32 (4 GiB)" or "anywhere". */
function describeLimit(addressBits: number): string {
  return addressBits === 0
    ? "anywhere"
    : `below 2^${addressBits} (${formatSize(2 ** addressBits)})`;
}

/**
 * Performs XENMEM_exchange for `dom`. Both kinds of guest end with their pfns backed by
 * the new frames (p2m and m2p updated): Xen does it for an autotranslated guest, and a
 * PV guest does it itself on return, which the model folds into the call. The old
 * frames go back to the free pool with their contents; the new ones keep whatever they
 * held (SPEC §4: undefined to the guest). Extents under a limit are the lowest free
 * ones (Machine.alloc); with no limit (address_bits 0) the highest.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Xen, exchange } from "./mod.ts";
 * const xen = new Xen({ machineBytes: 2 ** 33, seed: 1 });
 * const dom = xen.createDomain({
 *   nrPages: 1024, autotranslate: false, iommu: false, dom0: false, arch: "x86",
 *   layout: "fragmented",
 * });
 * const inPfns = Array.from({ length: 64 }, (_, i) => 256 + i);
 * const r = exchange(xen, dom, { inPfns, inOrder: 0, outOrder: 6, addressBits: 32 });
 * // Pfns 256…319 now sit on one aligned 256 KiB extent below 4 GiB.
 * assertEquals([r.nrExchanged, r.outMfns.length, r.error], [64, 1, undefined]);
 * assertEquals(dom.isMachineContiguous(256 * 4096, 64 * 4096), true);
 * ```
 */
export function exchange(xen: Xen, dom: Domain, req: ExchangeRequest): ExchangeResult {
  const { inPfns, inOrder, outOrder, addressBits } = req;
  const result = doExchange(xen, dom, req);
  if (xen.events.tracing) {
    const outcome = result.error === undefined
      ? msg`ok, out ${joinParts(result.outMfns.map((m) => [addr(m)]), " ")}`
      : msg`${result.nrExchanged}/${inPfns.length} exchanged: ${result.error}`;
    xen.events.trace(
      "xen",
      msg`XENMEM_exchange: ${dom.name} ${inPfns.length} extent(s) of order ${inOrder} -> order ${outOrder} ${
        describeLimit(addressBits)
      }: ${outcome}`,
    );
  }
  return result;
}

function doExchange(xen: Xen, dom: Domain, req: ExchangeRequest): ExchangeResult {
  const { inPfns, inOrder, outOrder, addressBits } = req;
  const maxOrder = maxExchangeOrder(dom);
  const badOrder = !orderOk(inOrder, maxOrder)
    ? "input"
    : !orderOk(outOrder, maxOrder)
    ? "output"
    : null;
  if (badOrder !== null) {
    const order = badOrder === "input" ? inOrder : outOrder;
    return refused(
      `${badOrder} extent order ${order} is not allowed for ${dom.name} (at most ${maxOrder})`,
    );
  }
  if (!Number.isInteger(addressBits) || addressBits < 0 || addressBits > 64) {
    return refused(`address_bits ${addressBits} is not a width from 0 to 64`);
  }
  const inPerChunk = outOrder > inOrder ? 2 ** (outOrder - inOrder) : 1;
  const outPerChunk = inOrder > outOrder ? 2 ** (inOrder - outOrder) : 1;
  if (inPfns.length % inPerChunk !== 0) {
    return refused(
      `${inPfns.length} input extent(s) of order ${inOrder} do not make whole order-${outOrder} extents`,
    );
  }

  const machine = xen.machine;
  const injected = xen.faults.consult(addressBits);
  const outMfns: number[] = [];
  const inSize = 2 ** inOrder;
  const outSize = 2 ** outOrder;
  const chunks = inPfns.length / inPerChunk;
  for (let k = 0; k < chunks; k++) {
    const done = (error: string, fault = false): ExchangeResult =>
      stopped(k * inPerChunk, outMfns, `chunk ${k}: ${error}`, fault);
    if (injected && injected.atChunk === k) return done(injected.reason, true);

    // Gather the chunk's guest pages and check that they are the guest's own
    // (Xen's steal_page refuses anything else).
    const pfns: number[] = [];
    for (let e = k * inPerChunk; e < (k + 1) * inPerChunk; e++) {
      const first = inPfns[e];
      if (!Number.isInteger(first) || first < 0 || first + inSize > dom.nrPages) {
        return done(`input extent pfn ${formatHex(first)} is outside ${dom.name}'s memory`);
      }
      for (let p = first; p < first + inSize; p++) pfns.push(p);
    }
    // Rising pages (a region's, every fixup chunk's) cannot repeat: no set to build.
    if (!rising(pfns) && new Set(pfns).size !== pfns.length) {
      return done("the same pfn is given twice");
    }
    const oldMfns: number[] = [];
    for (const p of pfns) oldMfns.push(dom.p2m.get(p));
    const stranger = firstNotOwned(xen, oldMfns, dom.domid);
    if (stranger !== undefined) {
      return done(`frame ${formatHex(stranger)} does not belong to ${dom.name}`);
    }

    // Allocate every output extent of the chunk before touching the guest, so that a
    // failure leaves the chunk as it was. An unrestricted request is served from the
    // top of memory, as Xen keeps low memory for DMA (SPEC §4): otherwise giving a
    // contiguous region back would just take other low frames.
    // Single frames from the top (giving a region back) come in one pass.
    const top = outOrder === 0 && addressBits === 0
      ? machine.allocTopFrames(outPerChunk, dom.domid)
      : undefined;
    if (outOrder === 0 && addressBits === 0 && top === undefined) {
      return done(`no free extent of order 0 ${describeLimit(0)}`);
    }
    const extents: number[] = top ?? [];
    for (let o = extents.length; o < outPerChunk; o++) {
      const mfn = machine.alloc(outOrder, {
        addressBits,
        fromTop: addressBits === 0,
        owner: dom.domid,
      });
      if (mfn === undefined) {
        for (const got of extents) machine.free(got, outOrder);
        return done(`no free extent of order ${outOrder} ${describeLimit(addressBits)}`);
      }
      extents.push(mfn);
    }

    // Point the pages at the new frames in order, then release the old frames. The
    // pages of an extent are usually consecutive pfns: then they move as one run.
    let i = 0;
    for (const first of extents) {
      if (outSize === 1) {
        dom.remap(pfns[i++], first);
      } else if (pfns[i + outSize - 1] === pfns[i] + outSize - 1 && consecutive(pfns, i, outSize)) {
        dom.remapRun(pfns[i], first, outSize);
        i += outSize;
      } else {
        for (let f = first; f < first + outSize; f++) dom.remap(pfns[i++], f);
      }
    }
    freeFrames(xen, oldMfns);
    outMfns.push(...extents);
  }
  return { nrExchanged: inPfns.length, outMfns };
}

/** True when `pfns[at…at+count)` are consecutive page numbers. */
function consecutive(pfns: number[], at: number, count: number): boolean {
  for (let k = 1; k < count; k++) if (pfns[at + k] !== pfns[at] + k) return false;
  return true;
}

/** Is `order` an extent order the guest may exchange? */
function orderOk(order: number, maxOrder: number): boolean {
  return Number.isInteger(order) && order >= 0 && order <= maxOrder;
}

/** The result of an exchange refused before it started. */
function refused(error: string): ExchangeResult {
  return { nrExchanged: 0, outMfns: [], error };
}

/** The result of an exchange that stopped after `nrExchanged` input extents. */
function stopped(
  nrExchanged: number,
  outMfns: number[],
  error: string,
  fault: boolean,
): ExchangeResult {
  return { nrExchanged, outMfns, error, ...(fault ? { injected: true } : {}) };
}

/**
 * The first of `mfns` that `owner` does not hold, or undefined. A run of consecutive
 * frames, rising or falling, is one look at the owner table.
 */
function firstNotOwned(xen: Xen, mfns: readonly number[], owner: number): number | undefined {
  const machine = xen.machine;
  for (let i = 0; i < mfns.length;) {
    const step = i + 1 < mfns.length && mfns[i + 1] === mfns[i] - 1 ? -1 : 1;
    let j = i + 1;
    while (j < mfns.length && mfns[j] === mfns[j - 1] + step) j++;
    const low = Math.min(mfns[i], mfns[j - 1]);
    if (!machine.ownsRun(low, j - i, owner)) {
      for (let k = i; k < j; k++) if (machine.owner(mfns[k]) !== owner) return mfns[k];
    }
    i = j;
  }
  return undefined;
}

/** True when every entry of `xs` is above the one before. */
function rising(xs: readonly number[]): boolean {
  for (let k = 1; k < xs.length; k++) if (xs[k] <= xs[k - 1]) return false;
  return true;
}

/** True when every entry of `xs` is below the one before. */
function falling(xs: readonly number[]): boolean {
  for (let k = 1; k < xs.length; k++) if (xs[k] >= xs[k - 1]) return false;
  return true;
}

/**
 * Frees a set of frames as runs of consecutive mfns (fewer, larger buddy merges), in
 * rising order. Frames handed out from the top come back falling: read them backwards
 * rather than sort them.
 */
function freeFrames(xen: Xen, mfns: number[]): void {
  if (rising(mfns)) freeRuns(xen, mfns);
  else if (falling(mfns)) freeRuns(xen, mfns.slice().reverse());
  else freeRuns(xen, Float64Array.from(mfns).sort());
}

/** Frees rising frames `sorted` as runs of consecutive frames. */
function freeRuns(xen: Xen, sorted: ArrayLike<number>): void {
  let start = 0;
  for (let i = 1; i <= sorted.length; i++) {
    if (i === sorted.length || sorted[i] !== sorted[i - 1] + 1) {
      xen.machine.freeRange(sorted[start], i - start);
      start = i;
    }
  }
}
