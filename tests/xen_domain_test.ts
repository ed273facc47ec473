import { assert, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { LabError, renderParts } from "../lib/errors.ts";
import { type Domain, type DomainConfig, DOMID_XEN, FREE, Xen } from "../lib/xen/mod.ts";
import { p2mOf } from "./_p2m.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function pv(layout: DomainConfig["layout"], nrPages = 1024, extra: Partial<DomainConfig> = {}) {
  return {
    nrPages,
    autotranslate: false,
    iommu: false,
    dom0: false,
    arch: "x86" as const,
    layout,
    ...extra,
  };
}

/** Every p2m entry has the matching m2p entry and owner. */
function assertP2mM2pConsistent(xen: Xen, dom: Domain): void {
  const seen = new Uint8Array(xen.machine.nrFrames);
  for (let pfn = 0; pfn < dom.nrPages; pfn++) {
    const mfn = dom.pfnToMfn(pfn);
    if (seen[mfn] || xen.machine.owner(mfn) !== dom.domid || dom.mfnToPfn(mfn) !== pfn) {
      assertEquals(
        { pfn, mfn, twice: seen[mfn] === 1, owner: xen.machine.owner(mfn), m2p: dom.mfnToPfn(mfn) },
        { pfn, mfn, twice: false, owner: dom.domid, m2p: pfn },
      );
    }
    seen[mfn] = 1;
  }
}

Deno.test("Xen.createDomain builds a contiguous guest from the top of memory down", () => {
  const xen = new Xen({ machineBytes: 8 * GiB, seed: 1 });
  const t = performance.now();
  const dom = xen.createDomain(pv("contiguous", 2 ** 19));
  const ms = performance.now() - t;
  // The bench measures a few ms; the bound here only catches a blow-up (a cold JIT and
  // a busy CI machine must not fail it).
  assert(ms < 250, `building a 2 GiB guest took ${ms} ms`);
  assertEquals(dom.domid, 1);
  assertEquals(dom.pfnToMfn(0), 6 * GiB / 4096);
  assertEquals(dom.pfnToMfn(2 ** 19 - 1), 8 * GiB / 4096 - 1);
  assertEquals(dom.contiguityRuns(0, dom.nrPages), [
    { pfn: 0, mfn: 6 * GiB / 4096, count: 2 ** 19 },
  ]);
  // The second guest goes right below the first; domids count up.
  const dom2 = xen.createDomain(pv("contiguous", 256));
  assertEquals(dom2.domid, 2);
  assertEquals(dom2.pfnToMfn(255), 6 * GiB / 4096 - 1);
  // Xen keeps the first MiB (256 frames) for itself.
  assertEquals(xen.machine.freeFrames(), 2 ** 21 - 2 ** 19 - 256 - 256);
  // A guest above 4 GiB: nothing of it is reachable by a 32-bit device (SPEC §4).
  assert(dom.physToMachine(0) >= 4 * GiB);
  assertP2mM2pConsistent(xen, dom);
});

Deno.test("Xen.createDomain fragmented layout: deterministic runs of 1-64 pages", () => {
  const build = (seed: number) => {
    const xen = new Xen({ machineBytes: 8 * GiB, seed });
    const dom = xen.createDomain(pv("fragmented", 2 ** 19));
    return { xen, dom };
  };
  const t = performance.now();
  const a = build(42);
  const ms = performance.now() - t;
  assert(ms < 250, `building a fragmented 2 GiB guest took ${ms} ms`);
  const b = build(42);
  const c = build(43);
  assertEquals(p2mOf(a.dom), p2mOf(b.dom), "same seed, same frames");
  assertNotEquals(p2mOf(a.dom), p2mOf(c.dom), "another seed, another shuffle");
  const runs = a.dom.contiguityRuns(0, a.dom.nrPages);
  assert(runs.length > 2 ** 19 / 64, `only ${runs.length} runs`);
  for (const r of runs) assert(r.count >= 1 && r.count <= 64, `run of ${r.count}`);
  // A permutation of the top 2 GiB of frames.
  const sorted = Float64Array.from(p2mOf(a.dom)).sort();
  for (let i = 0; i < sorted.length; i++) assertEquals(sorted[i], 6 * GiB / 4096 + i);
  assertP2mM2pConsistent(a.xen, a.dom);
});

Deno.test("Xen.createDomain fragmented layout: seed in the config overrides Xen's", () => {
  const xen = new Xen({ machineBytes: 64 * MiB, seed: 1 });
  const d1 = xen.createDomain(pv("fragmented", 512, { seed: 9 }));
  const other = new Xen({ machineBytes: 64 * MiB, seed: 2 });
  const d2 = other.createDomain(pv("fragmented", 512, { seed: 9 }));
  assertEquals(p2mOf(d1), p2mOf(d2));
});

Deno.test("Xen.createDomain reverse layout maps pfn i to descending frames", () => {
  const xen = new Xen({ machineBytes: 64 * MiB, seed: 1 });
  const dom = xen.createDomain(pv("reverse", 300));
  const top = 64 * MiB / 4096 - 1;
  for (let pfn = 0; pfn < 300; pfn++) assertEquals(dom.pfnToMfn(pfn), top - pfn);
  assertEquals(dom.contiguityRuns(0, 3), [
    { pfn: 0, mfn: top, count: 1 },
    { pfn: 1, mfn: top - 1, count: 1 },
    { pfn: 2, mfn: top - 2, count: 1 },
  ]);
  assertEquals(dom.isMachineContiguous(0, 4096), true);
  assertEquals(dom.isMachineContiguous(0, 4097), false);
  assertP2mM2pConsistent(xen, dom);
});

Deno.test("Xen.createDomain explicit runs: frames as given, checked", () => {
  const xen = new Xen({ machineBytes: 64 * MiB, seed: 1 });
  const dom = xen.createDomain(
    pv({ runs: [{ mfn: 0x200, count: 3 }, { mfn: 0x150, count: 2 }] }, 5),
  );
  assertEquals([...p2mOf(dom)], [0x200, 0x201, 0x202, 0x150, 0x151]);
  assertP2mM2pConsistent(xen, dom);
  assertThrows(
    () => xen.createDomain(pv({ runs: [{ mfn: 0x201, count: 1 }] }, 1)),
    LabError,
    "frame 0x201 is not free (dom1 pfn 0x1)",
  );
  assertThrows(
    () => xen.createDomain(pv({ runs: [{ mfn: 0x10, count: 1 }] }, 1)),
    LabError,
    "frame 0x10 is not free (xen)",
  );
  assertThrows(
    () => xen.createDomain(pv({ runs: [{ mfn: 0x310, count: 4 }, { mfn: 0x312, count: 2 }] }, 6)),
    LabError,
    "runs overlap at frame 0x312",
  );
  assertThrows(
    () => xen.createDomain(pv({ runs: [{ mfn: 0x310, count: 4 }] }, 5)),
    LabError,
    "hold 4 pages, not 5",
  );
  assertEquals(xen.machine.owner(0x310), FREE, "a refused build takes nothing");
});

Deno.test("Xen.createDomain identity-maps an ARM dom0 (guest phys = machine address)", () => {
  const xen = new Xen({ machineBytes: 64 * MiB, seed: 1 });
  const dom0 = xen.createDomain({
    nrPages: 1024,
    autotranslate: true,
    iommu: false,
    dom0: true,
    arch: "arm",
    layout: "contiguous",
    identity: true,
  });
  assertEquals(dom0.domid, 0);
  assertEquals(dom0.physBase, (64 * MiB / 4096 - 1024) * 4096);
  for (const pfn of [0, 1, 500, 1023]) {
    const phys = dom0.pfnToPhys(pfn);
    assertEquals(phys / 4096, dom0.pfnToMfn(pfn));
    assertEquals(dom0.physToMachine(phys + 12), phys + 12);
    assertEquals(dom0.physToPfn(phys), pfn);
  }
  assertEquals(dom0.machineToPhys(dom0.physBase + 5), dom0.physBase + 5);
  assertThrows(() => dom0.physToPfn(0), LabError, "outside dom0's memory");
});

Deno.test("Xen.createDomain refuses impossible guests with clear messages", () => {
  const xen = new Xen({ machineBytes: 16 * MiB, seed: 1 });
  assertThrows(
    () => xen.createDomain(pv("fragmented", 8192)),
    LabError,
    "Cannot build dom1: it needs 8192 pages (32 MiB) but only 3840 frames are free",
  );
  xen.machine.claim(2048, 1, DOMID_XEN);
  assertThrows(
    () => xen.createDomain(pv("contiguous", 3000)),
    LabError,
    "no run of 3000 free frames",
  );
  assertThrows(
    () => xen.createDomain({ ...pv("contiguous", 16), arch: "arm" }),
    LabError,
    "ARM guests are always autotranslated",
  );
  assertThrows(
    () => xen.createDomain({ ...pv("fragmented", 16), autotranslate: true, identity: true }),
    LabError,
    "Cannot identity-map",
  );
  assertThrows(() => xen.createDomain(pv("contiguous", 0)), LabError, "positive whole number");
  xen.createDomain(pv("contiguous", 16, { dom0: true }));
  assertThrows(
    () => xen.createDomain(pv("contiguous", 16, { dom0: true })),
    LabError,
    "dom0 already exists",
  );
});

Deno.test("Domain.isMachineContiguous follows page boundaries (range_straddles_page_boundary)", () => {
  const xen = new Xen({ machineBytes: 64 * MiB, seed: 1 });
  // pfn 0,1 adjacent; pfn 2 elsewhere; pfn 3 follows pfn 2.
  const dom = xen.createDomain(
    pv({ runs: [{ mfn: 0x200, count: 2 }, { mfn: 0x300, count: 2 }] }, 4),
  );
  assertEquals(dom.isMachineContiguous(0, 8192), true);
  assertEquals(dom.isMachineContiguous(0x100, 4096), true, "crosses 0→1");
  assertEquals(dom.isMachineContiguous(0x1000, 4097), false, "crosses 1→2");
  assertEquals(dom.isMachineContiguous(0x1fff, 2), false);
  assertEquals(dom.isMachineContiguous(0x1fff, 1), true, "inside one page");
  assertEquals(dom.isMachineContiguous(0x2000, 8192), true);
  assertEquals(dom.isMachineContiguous(0x3000, 0), true);
  assertThrows(() => dom.isMachineContiguous(0x3000, 4097), LabError, "outside dom1's memory");
  assertEquals(dom.contiguityRuns(0, 4), [
    { pfn: 0, mfn: 0x200, count: 2 },
    { pfn: 2, mfn: 0x300, count: 2 },
  ]);
});

Deno.test("Domain reads and writes guest-physical memory through the p2m", () => {
  const xen = new Xen({ machineBytes: 64 * MiB, seed: 1 });
  const dom = xen.createDomain(pv("reverse", 16));
  const bytes = Uint8Array.from({ length: 9000 }, (_, i) => i % 251);
  dom.write(0x1ff0, bytes);
  assertEquals(dom.read(0x1ff0, 9000), bytes);
  // Byte 0x10 of the write sits at the start of pfn 2, i.e. on that pfn's frame.
  assertEquals(xen.machine.read(dom.pfnToMfn(2) * 4096, 1), Uint8Array.of(0x10));
  assertEquals(xen.machine.read(dom.physToMachine(0x1ff0), 1), Uint8Array.of(0));
  dom.copy(0x8000, 0x1ff0, 100);
  assertEquals(dom.read(0x8000, 100), bytes.subarray(0, 100));
  dom.zero(0x1ff0, 9000);
  assertEquals(dom.read(0x1ff0, 9000), new Uint8Array(9000));
  assertThrows(() => dom.read(16 * 4096 - 1, 2), LabError, "outside dom1's memory");
  assertThrows(() => dom.write(-4096, Uint8Array.of(1)), LabError, "outside dom1's memory");
});

Deno.test("Domain.mfnToPfn answers only for the domain's own frames", () => {
  const xen = new Xen({ machineBytes: 64 * MiB, seed: 1 });
  const a = xen.createDomain(pv("contiguous", 4));
  const b = xen.createDomain(pv("contiguous", 4));
  assertEquals(a.mfnToPfn(a.pfnToMfn(3)), 3);
  assertEquals(a.mfnToPfn(b.pfnToMfn(3)), undefined);
  assertEquals(a.mfnToPfn(0), undefined, "a free frame");
  assertEquals(a.mfnToPfn(2 ** 40), undefined, "beyond the machine");
  assertEquals(a.machineToPhys(b.physToMachine(0)), undefined);
});

Deno.test("Domain.allocPhys: pages for big requests, kmalloc-style packing for small ones", () => {
  const xen = new Xen({ machineBytes: 64 * MiB, seed: 1 });
  const dom = xen.createDomain(pv("fragmented", 1024)); // 4 MiB: allocations start at 1 MiB
  assertEquals(dom.allocCursor, MiB);
  const pool = dom.allocPhys(256 * 1024, 4096);
  assertEquals(pool, MiB);
  const a = dom.allocPhys(100, 128);
  assertEquals(a, MiB + 256 * 1024);
  assertEquals(dom.allocPhys(64, 64), a + 128, "packed after a, aligned to 64");
  assertEquals(dom.allocPhys(3000, 8), a + 192, "still fits in the same page");
  const big = dom.allocPhys(5000, 16);
  assertEquals(big, a + 4096, "a request over a page takes whole pages");
  assertEquals(dom.allocPhys(10, 1), a + 3192, "the slab page survives page allocations");
  assertEquals(dom.allocPhys(1000, 8), big + 8192, "the slab page is full: a new one");
  assertEquals(dom.allocPhys(8192, 65536) % 65536, 0);
  assertThrows(() => dom.allocPhys(0, 8), LabError, "positive size");
  assertThrows(() => dom.allocPhys(8, 3), LabError, "power of two");
  assertThrows(() => dom.allocPhys(4 * MiB, 4096), LabError, "Cannot allocate 4 MiB");
});

Deno.test("Domain.reserve offsets the next allocation (rfc-v1 demo)", () => {
  const xen = new Xen({ machineBytes: 64 * MiB, seed: 1 });
  const dom = xen.createDomain(pv("contiguous", 4096));
  assertEquals(dom.reserve(100), MiB);
  const pool = dom.allocPhys(64 * 4096, 4096);
  assertEquals(pool, MiB + 4096, "the pool is no longer 256 KiB aligned");
  assertEquals(dom.reserve(0), pool + 64 * 4096);
});

Deno.test("Domain.allocPhys on a tiny guest starts after its first page", () => {
  const xen = new Xen({ machineBytes: 64 * MiB, seed: 1 });
  const dom = xen.createDomain(pv("contiguous", 16));
  assertEquals(dom.allocPhys(8, 8), 4096);
});

Deno.test("Xen.whoseFrame names the owner of a machine frame", () => {
  const xen = new Xen({ machineBytes: 64 * MiB, seed: 1 });
  const dom = xen.createDomain(pv("reverse", 8));
  const whose = (mfn: number) => renderParts(xen.whoseFrame(mfn));
  assertEquals(whose(dom.pfnToMfn(5)), "dom1 pfn 0x5");
  assertEquals(whose(0), "xen", "Xen keeps the first MiB");
  assertEquals(whose(0x100), "free");
  xen.machine.claim(0x100, 1, DOMID_XEN);
  assertEquals(whose(0x100), "xen");
  assertEquals(whose(2 ** 30), "outside machine memory (frame 0x40000000)");
  // The frame numbers are address parts: a face prints them in its own radix.
  assertEquals(
    renderParts(xen.whoseFrame(2 ** 30), String),
    "outside machine memory (frame 1073741824)",
  );
  assertEquals(renderParts(xen.whoseFrame(dom.pfnToMfn(5)), String), "dom1 pfn 5");
});

Deno.test("Xen reserves low memory for itself, 1 MiB unless told otherwise", () => {
  const xen = new Xen({ machineBytes: 64 * MiB, seed: 1 });
  assertEquals(xen.machine.freeFrames(20), 0);
  assertEquals(xen.machine.owner(255), DOMID_XEN);
  assertEquals(xen.machine.owner(256), FREE);
  const bare = new Xen({ machineBytes: 64 * MiB, seed: 1, reservedLowBytes: 0 });
  assertEquals(bare.machine.freeFrames(), 64 * MiB / 4096);
  assertThrows(
    () => new Xen({ machineBytes: MiB, seed: 1 }),
    LabError,
    "Cannot reserve 1048576 bytes of low memory",
  );
});

Deno.test("Xen.destroyDomain returns every frame", () => {
  const xen = new Xen({ machineBytes: 64 * MiB, seed: 1 });
  const dom = xen.createDomain(pv("fragmented", 1000));
  xen.destroyDomain(dom);
  assertEquals(xen.machine.freeFrames(), 64 * MiB / 4096 - 256);
  assertEquals(xen.domains.size, 0);
  assertThrows(() => xen.destroyDomain(dom), LabError, "not running");
});
