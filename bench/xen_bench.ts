/**
 * Benchmarks of the Xen model (SPEC §4): a 16 GiB machine must start instantly, a 2 GiB
 * guest must build in well under 100 ms, and the swiotlb-xen fixup's exchanges (SPEC §5:
 * 256 segments of order 6 for the default 64 MiB pool) must be cheap.
 *
 * @module
 */

import { createContiguousRegion, Machine, Xen } from "../lib/xen/mod.ts";

const GiB = 2 ** 30;
const GUEST_PAGES = 2 ** 19; // 2 GiB
const SEGMENT_ORDER = 6; // 256 KiB = 64 pages
const SEGMENTS = 256; // 64 MiB pool
const SEGMENT_BYTES = 4096 * 2 ** SEGMENT_ORDER;

Deno.bench("Machine: construct 16 GiB", { group: "machine" }, () => {
  new Machine({ bytes: 16 * GiB });
});

for (const layout of ["contiguous", "fragmented", "reverse"] as const) {
  Deno.bench(`Xen.createDomain: 2 GiB ${layout} guest on 8 GiB`, { group: "build" }, (b) => {
    const xen = new Xen({ machineBytes: 8 * GiB, seed: 1 });
    b.start();
    xen.createDomain({
      nrPages: GUEST_PAGES,
      autotranslate: false,
      iommu: false,
      dom0: true,
      arch: "x86",
      layout,
    });
    b.end();
  });
}

for (
  const [name, arch, autotranslate] of [["x86 PV", "x86", false], ["arm", "arm", true]] as const
) {
  Deno.bench(`createContiguousRegion: ${SEGMENTS} exchanges of order ${SEGMENT_ORDER} (${name})`, {
    group: "exchange",
  }, (b) => {
    const xen = new Xen({ machineBytes: 8 * GiB, seed: 1 });
    const dom = xen.createDomain({
      nrPages: GUEST_PAGES,
      autotranslate,
      iommu: false,
      dom0: true,
      arch,
      layout: "fragmented",
    });
    const pool = dom.allocPhys(SEGMENTS * SEGMENT_BYTES, 4096);
    b.start();
    for (let j = 0; j < SEGMENTS; j++) {
      const r = createContiguousRegion(xen, dom, pool + j * SEGMENT_BYTES, SEGMENT_ORDER, 32);
      if (!r.ok) throw new Error(r.reason);
    }
    b.end();
  });
}
