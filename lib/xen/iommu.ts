/**
 * Where a device access lands in machine memory (SPEC §4 "IOMMU").
 *
 * With an IOMMU, Xen programs it per domain: an autotranslated guest's devices use
 * guest-physical addresses as bus addresses, a PV dom0's devices use machine addresses
 * but only for the frames it owns. An access to anything unmapped is an IOMMU fault and
 * moves no data. Without an IOMMU the bus address is the machine address, and a wrong
 * one silently hits whatever frame is there (the caller names it with Xen.whoseFrame).
 *
 * @module
 */

import { PAGE_SIZE } from "../addr.ts";
import { addr, type MessagePart, msg } from "../errors.ts";
import type { Domain } from "./domain.ts";

/**
 * Translation of one bus address: a machine address, or a fault message (as parts, so
 * that a face prints the address in its radix).
 */
export type IommuResult = { maddr: number } | { fault: readonly MessagePart[] };

/** One page-bounded piece of a device access. */
export interface DmaPiece {
  /** Bus address of the piece's first byte. */
  bus: number;
  /** Machine address it reaches. */
  maddr: number;
  len: number;
}

/** Translation of a device access range: every piece, or the first faulting address. */
export type DmaRangeResult =
  | { pieces: DmaPiece[] }
  | { fault: readonly MessagePart[]; bus: number };

/**
 * The IOMMU context Xen sets up for one domain.
 *
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { Iommu, Xen } from "./mod.ts";
 * const xen = new Xen({ machineBytes: 2 ** 33, seed: 1 });
 * const dom = xen.createDomain({
 *   nrPages: 256, autotranslate: true, iommu: true, dom0: false, arch: "arm",
 *   layout: "reverse",
 * });
 * const iommu = new Iommu(dom);
 * assertEquals(iommu.translate(0x1000), { maddr: dom.physToMachine(0x1000) });
 * assert("fault" in iommu.translate(256 * 4096), "past the guest's memory: an IOMMU fault");
 * ```
 */
export class Iommu {
  readonly domain: Domain;

  constructor(domain: Domain) {
    this.domain = domain;
  }

  /** Translates one bus address (its page decides validity). */
  translate(bus: number): IommuResult {
    const dom = this.domain;
    if (!iommuMaps(dom, bus)) return { fault: iommuFault(dom, bus) };
    return { maddr: dom.autotranslate ? dom.physToMachine(bus) : bus };
  }

  /** Translates a device access of `len` bytes page by page; stops at the first fault. */
  translateRange(bus: number, len: number): DmaRangeResult {
    return splitByPage(bus, len, (b) => this.translate(b));
  }
}

/** Does `dom`'s IOMMU map bus address `bus` (guest-physical or one of its own frames)? */
function iommuMaps(dom: Domain, bus: number): boolean {
  if (!Number.isInteger(bus) || bus < 0) return false;
  if (dom.autotranslate) return bus >= dom.physBase && bus < dom.physEnd;
  return dom.mfnToPfn(Math.floor(bus / PAGE_SIZE)) !== undefined;
}

function iommuFault(dom: Domain, bus: number): MessagePart[] {
  const space = dom.autotranslate ? "guest-physical" : "own-frame";
  return msg`IOMMU fault: ${dom.name}'s IOMMU has no ${space} mapping for bus address ${addr(bus)}`;
}

/** Can a device without an IOMMU reach machine address `bus`? */
function inMachine(dom: Domain, bus: number): boolean {
  return Number.isInteger(bus) && bus >= 0 && bus < dom.machine.bytes;
}

function beyondMachine(bus: number): MessagePart[] {
  return msg`Bus address ${addr(bus)} is beyond machine memory`;
}

/**
 * Translates a device access for `dom`'s devices: through its IOMMU when it has one,
 * else bus = machine address, which only has to exist.
 */
export function translateDeviceAccess(dom: Domain, bus: number, len: number): DmaRangeResult {
  if (dom.iommu) return new Iommu(dom).translateRange(bus, len);
  return splitByPage(
    bus,
    len,
    (b) => inMachine(dom, b) ? { maddr: b } : { fault: beyondMachine(b) },
  );
}

/**
 * The fault message {@link translateDeviceAccess} would give for the same access, or
 * undefined when it would reach every page — without building pieces (the DMA-API debug
 * layer asks it on every map, SPEC §8). Where the reachable addresses are one range (no
 * IOMMU: the machine; an autotranslated guest's IOMMU: its guest-physical memory, both
 * page-aligned), the first page outside it is found by arithmetic; a PV guest's IOMMU is
 * asked frame by frame.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { renderParts } from "../errors.ts";
 * import { deviceAccessFault, Xen } from "./mod.ts";
 * const xen = new Xen({ machineBytes: 2 ** 30, seed: 1 });
 * const dom = xen.createDomain({
 *   nrPages: 256, autotranslate: true, iommu: true, dom0: false, arch: "arm",
 *   layout: "fragmented",
 * });
 * assertEquals(deviceAccessFault(dom, 0x1000, 8192), undefined);
 * // The last page runs past the guest's memory: the fault names where it starts.
 * assertEquals(
 *   renderParts(deviceAccessFault(dom, 255 * 4096, 8192) ?? []),
 *   "IOMMU fault: dom1's IOMMU has no guest-physical mapping for bus address 0x100000",
 * );
 * ```
 */
export function deviceAccessFault(
  dom: Domain,
  bus: number,
  len: number,
): readonly MessagePart[] | undefined {
  if (!(len > 0)) return undefined;
  if (!dom.iommu) return rangeFault(bus, len, 0, dom.machine.bytes, beyondMachine);
  if (dom.autotranslate) {
    return rangeFault(bus, len, dom.physBase, dom.physEnd, (b) => iommuFault(dom, b));
  }
  if (!iommuMaps(dom, bus)) return iommuFault(dom, bus);
  const last = Math.floor((bus + len - 1) / PAGE_SIZE);
  for (let mfn = Math.floor(bus / PAGE_SIZE) + 1; mfn <= last; mfn++) {
    if (dom.mfnToPfn(mfn) === undefined) return iommuFault(dom, mfn * PAGE_SIZE);
  }
  return undefined;
}

/**
 * The fault of an access of `len` (> 0) bytes at `bus` when exactly the whole numbers of
 * `[lo, hi)` are reachable, `hi` page-aligned: at `bus` itself, or at `hi`, the first
 * page past the range, or none.
 */
function rangeFault(
  bus: number,
  len: number,
  lo: number,
  hi: number,
  fault: (bus: number) => MessagePart[],
): MessagePart[] | undefined {
  if (!Number.isInteger(bus) || bus < lo || bus >= hi) return fault(bus);
  return bus + len > hi ? fault(hi) : undefined;
}

function splitByPage(
  bus: number,
  len: number,
  translate: (bus: number) => IommuResult,
): DmaRangeResult {
  const pieces: DmaPiece[] = [];
  let done = 0;
  while (done < len) {
    const b = bus + done;
    const n = Math.min(len - done, PAGE_SIZE - b % PAGE_SIZE);
    const t = translate(b);
    if ("fault" in t) return { fault: t.fault, bus: b };
    pieces.push({ bus: b, maddr: t.maddr, len: n });
    done += n;
  }
  return { pieces };
}
