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

import { formatHex, PAGE_SIZE } from "../addr.ts";
import type { Domain } from "./domain.ts";

/** Translation of one bus address: a machine address, or a fault message. */
export type IommuResult = { maddr: number } | { fault: string };

/** One page-bounded piece of a device access. */
export interface DmaPiece {
  /** Bus address of the piece's first byte. */
  bus: number;
  /** Machine address it reaches. */
  maddr: number;
  len: number;
}

/** Translation of a device access range: every piece, or the first faulting address. */
export type DmaRangeResult = { pieces: DmaPiece[] } | { fault: string; bus: number };

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
    if (!Number.isInteger(bus) || bus < 0) return this.#fault(bus);
    if (dom.autotranslate) {
      if (bus < dom.physBase || bus >= dom.physEnd) return this.#fault(bus);
      return { maddr: dom.physToMachine(bus) };
    }
    if (dom.mfnToPfn(Math.floor(bus / PAGE_SIZE)) === undefined) return this.#fault(bus);
    return { maddr: bus };
  }

  /** Translates a device access of `len` bytes page by page; stops at the first fault. */
  translateRange(bus: number, len: number): DmaRangeResult {
    return splitByPage(bus, len, (b) => this.translate(b));
  }

  #fault(bus: number): { fault: string } {
    const dom = this.domain;
    const space = dom.autotranslate ? "guest-physical" : "own-frame";
    return {
      fault: `IOMMU fault: ${dom.name}'s IOMMU has no ${space} mapping for bus address ${
        formatHex(bus)
      }`,
    };
  }
}

/**
 * Translates a device access for `dom`'s devices: through its IOMMU when it has one,
 * else bus = machine address, which only has to exist.
 */
export function translateDeviceAccess(dom: Domain, bus: number, len: number): DmaRangeResult {
  if (dom.iommu) return new Iommu(dom).translateRange(bus, len);
  const machineBytes = dom.machine.bytes;
  return splitByPage(
    bus,
    len,
    (b) =>
      Number.isInteger(b) && b >= 0 && b < machineBytes
        ? { maddr: b }
        : { fault: `Bus address ${formatHex(b)} is beyond machine memory` },
  );
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
