/**
 * The arch helpers swiotlb-xen calls to make guest memory machine-contiguous and low:
 * xen_create_contiguous_region / xen_destroy_contiguous_region (SPEC §4, §5, §7).
 *
 * Three behaviours, by guest kind:
 * - x86 PV: scrub, then exchange 2^order single pages for one extent below the limit;
 *   the handle is the machine address of the new extent.
 * - x86 autotranslated (PVH): Linux 3.11 returns success at once and writes no handle,
 *   so callers keep dma_handle = 0 and every pool segment gets bus address 0 (SPEC §4).
 * - ARM (always autotranslated): the RFC's "exchange and pin": the pfns stay, their
 *   backing becomes one pinned extent below the limit, and its bus address comes back.
 *
 * @module
 */

import { PAGE_SIZE } from "../addr.ts";
import { addr, LabError, msg } from "../errors.ts";
import type { Domain } from "./domain.ts";
import { exchange, maxExchangeOrder } from "./exchange.ts";
import type { Xen } from "./xen.ts";

/** Result of {@link createContiguousRegion}. */
export type CreateContiguousResult =
  /** `dmaHandle` is absent exactly when the helper is the x86 autotranslate no-op. */
  | { ok: true; dmaHandle?: number }
  /** `injected`: the exchange failed by fault injection (SPEC §4). */
  | { ok: false; reason: string; injected?: boolean };

/** Result of {@link destroyContiguousRegion}. */
export type DestroyContiguousResult = { ok: true } | { ok: false; reason: string };

/** True for the x86 autotranslated guest, where both helpers do nothing (SPEC §4). */
function isX86Autotranslated(dom: Domain): boolean {
  return dom.arch === "x86" && dom.autotranslate;
}

/** The pfn of a region start, checking the alignment the callers guarantee. */
function regionPfn(dom: Domain, pstart: number, order: number, what: string): number {
  const bytes = PAGE_SIZE * 2 ** order;
  if (!Number.isInteger(order) || order < 0) {
    throw new LabError(`Cannot ${what} a region of order ${order}: expected 0 or more`);
  }
  // The kernel asks only for page alignment: the 2^order pages from pstart are traded,
  // wherever they start (a page-aligned pool is the rfc-v1 demo, SPEC §6).
  if (pstart % PAGE_SIZE !== 0) {
    throw new LabError(msg`Cannot ${what} at ${addr(pstart)}: not page aligned`, "bug");
  }
  const pfn = dom.physToPfn(pstart);
  dom.physToPfn(pstart + bytes - 1);
  return pfn;
}

/**
 * xen_create_contiguous_region: makes the 2^order pages at guest-physical `pstart`
 * machine-contiguous below 2^addressBits. On failure the old frames stay (the chunk is
 * restored by the exchange) and the region has still been scrubbed.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Xen, createContiguousRegion } from "./mod.ts";
 * const xen = new Xen({ machineBytes: 2 ** 33, seed: 1 });
 * const dom = xen.createDomain({
 *   nrPages: 4096, autotranslate: false, iommu: false, dom0: true, arch: "x86",
 *   layout: "fragmented",
 * });
 * const pool = dom.allocPhys(256 * 1024, 256 * 1024);
 * const r = createContiguousRegion(xen, dom, pool, 6, 32);
 * // The handle: the machine address of an aligned 256 KiB extent below 4 GiB.
 * const handle = r.ok ? r.dmaHandle ?? NaN : NaN;
 * assert(handle % (256 * 1024) === 0 && handle < 2 ** 32);
 * ```
 */
export function createContiguousRegion(
  xen: Xen,
  dom: Domain,
  pstart: number,
  order: number,
  addressBits: number,
  skewBytes = 0,
): CreateContiguousResult {
  const pfn = regionPfn(dom, pstart, order, "make contiguous");
  if (skewBytes > 0 && !isX86Autotranslated(dom)) {
    return skewedRegion(xen, dom, pfn, order, addressBits, skewBytes);
  }
  if (isX86Autotranslated(dom)) {
    if (xen.events.tracing) {
      xen.events.trace(
        "xen",
        msg`xen_create_contiguous_region(${
          addr(pstart)
        }, order ${order}): ${dom.name} is x86 autotranslated: no-op, no dma handle`,
      );
    }
    return { ok: true };
  }
  // Checked before the scrub, as the kernel refuses an oversized order without
  // touching the pages.
  const maxOrder = maxExchangeOrder(dom);
  if (order > maxOrder) {
    return { ok: false, reason: `order ${order} is above ${dom.name}'s limit of ${maxOrder}` };
  }
  // The kernel scrubs pages before handing them to Xen, so nothing leaks to whoever
  // gets the old frames next (SPEC §4: new contents are undefined).
  const count = 2 ** order;
  dom.zero(pstart, count * PAGE_SIZE);
  const inPfns: number[] = [];
  for (let i = 0; i < count; i++) inPfns.push(pfn + i);
  const r = exchange(xen, dom, { inPfns, inOrder: 0, outOrder: order, addressBits });
  if (r.error !== undefined) return { ok: false, reason: r.error, injected: r.injected === true };
  return { ok: true, dmaHandle: r.outMfns[0] * PAGE_SIZE };
}

/**
 * xen_destroy_contiguous_region: gives the extent behind `pstart` back for ordinary
 * single frames with no address limit (the low memory returns to Xen's pool).
 */
export function destroyContiguousRegion(
  xen: Xen,
  dom: Domain,
  pstart: number,
  order: number,
): DestroyContiguousResult {
  const pfn = regionPfn(dom, pstart, order, "release");
  if (isX86Autotranslated(dom)) {
    if (xen.events.tracing) {
      xen.events.trace(
        "xen",
        msg`xen_destroy_contiguous_region(${
          addr(pstart)
        }, order ${order}): ${dom.name} is x86 autotranslated: no-op`,
      );
    }
    return { ok: true };
  }
  const maxOrder = maxExchangeOrder(dom);
  if (order > maxOrder) {
    return { ok: false, reason: `order ${order} is above ${dom.name}'s limit of ${maxOrder}` };
  }
  dom.zero(pstart, 2 ** order * PAGE_SIZE);
  const r = exchange(xen, dom, { inPfns: [pfn], inOrder: order, outOrder: 0, addressBits: 0 });
  return r.error === undefined ? { ok: true } : { ok: false, reason: r.error };
}

/**
 * The `--bus-skew` what-if: a machine-contiguous region whose start is NOT aligned to its
 * size, `skewBytes` into an aligned extent of twice the size. Xen's buddy allocator never
 * hands such a region out (every extent is naturally aligned); the lab builds it so the
 * cost of the RFC's seg[0] table base can be shown (SPEC §7, the seed's "At 0?").
 */
function skewedRegion(
  xen: Xen,
  dom: Domain,
  pfn: number,
  order: number,
  addressBits: number,
  skewBytes: number,
): CreateContiguousResult {
  const count = 2 ** order;
  const skew = Math.floor(skewBytes / PAGE_SIZE) % count;
  const ext = xen.machine.alloc(order + 1, { addressBits, owner: dom.domid });
  if (ext === undefined) {
    return { ok: false, reason: `no extent of order ${order + 1} below 2^${addressBits}` };
  }
  dom.zero(pfn * PAGE_SIZE + dom.physBase, count * PAGE_SIZE);
  const old: number[] = [];
  for (let i = 0; i < count; i++) {
    old.push(dom.p2m.get(pfn + i));
    dom.remap(pfn + i, ext + skew + i);
  }
  for (const mfn of old) xen.machine.freeRange(mfn, 1);
  if (skew > 0) xen.machine.freeRange(ext, skew);
  xen.machine.freeRange(ext + skew + count, count - skew);
  return { ok: true, dmaHandle: (ext + skew) * PAGE_SIZE };
}
