import { assert, assertEquals, assertFalse, assertMatch, assertThrows } from "@std/assert";
import fc from "fast-check";
import { LabError, renderParts } from "../lib/errors.ts";
import { EventLog } from "../lib/events.ts";
import {
  createContiguousRegion,
  destroyContiguousRegion,
  deviceAccessFault,
  type DmaRangeResult,
  type Domain,
  type DomainConfig,
  DOMID_XEN,
  exchange,
  FREE,
  Iommu,
  type IommuResult,
  translateDeviceAccess,
  Xen,
} from "../lib/xen/mod.ts";
import { p2mOf } from "./_p2m.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function setup(cfg: Partial<DomainConfig> = {}, machineBytes = 64 * MiB) {
  const events = new EventLog();
  const xen = new Xen({ machineBytes, seed: 5, events });
  const dom = xen.createDomain({
    nrPages: 4096,
    autotranslate: false,
    iommu: false,
    dom0: false,
    arch: "x86",
    layout: "fragmented",
    ...cfg,
  });
  return { xen, dom, events };
}

/** The reason of a failed helper call (the std asserts do not narrow: untyped JS). */
function reasonOf(r: { ok: true } | { ok: false; reason: string }): string {
  if (r.ok) throw new Error("expected a failure");
  return r.reason;
}

/** The fault of a translation that must fault (in hex), with its bus address when a range. */
function faultOf(r: IommuResult | DmaRangeResult): { fault: string; bus?: number } {
  if (!("fault" in r)) throw new Error(`expected a fault, got ${JSON.stringify(r)}`);
  const fault = renderParts(r.fault);
  return "bus" in r ? { fault, bus: r.bus } : { fault };
}

const range = (start: number, n: number) => Array.from({ length: n }, (_, i) => start + i);

/** p2m and m2p agree and the domain owns every frame it maps. */
function assertConsistent(xen: Xen, dom: Domain): void {
  for (let pfn = 0; pfn < dom.nrPages; pfn++) {
    const mfn = dom.p2m.get(pfn);
    if (xen.machine.owner(mfn) !== dom.domid || xen.machine.m2p(mfn) !== pfn) {
      throw new Error(`pfn ${pfn} → mfn ${mfn} is inconsistent`);
    }
  }
}

// ---- XENMEM_exchange --------------------------------------------------------------

Deno.test("exchange: PV guest gets one low extent and its p2m/m2p follow", () => {
  const { xen, dom } = setup();
  const old = range(256, 64).map((p) => dom.p2m.get(p));
  const free0 = xen.machine.freeFrames();
  const r = exchange(xen, dom, {
    inPfns: range(256, 64),
    inOrder: 0,
    outOrder: 6,
    addressBits: 32,
  });
  // Xen holds the first MiB (frames 0..255): the lowest free order-6 extent is 256.
  assertEquals(r, { nrExchanged: 64, outMfns: [256] });
  for (let i = 0; i < 64; i++) assertEquals(dom.pfnToMfn(256 + i), 256 + i);
  assert(dom.isMachineContiguous(256 * 4096, 64 * 4096));
  for (const mfn of old) assertEquals(xen.machine.owner(mfn), FREE, "old frames are free again");
  assertEquals(xen.machine.freeFrames(), free0);
  assertConsistent(xen, dom);
});

Deno.test("exchange: new frames hold whatever they held (undefined contents)", () => {
  const { xen, dom } = setup();
  xen.machine.write(0x105 * 4096, Uint8Array.of(0xaa, 0xbb));
  dom.write(0, Uint8Array.of(1, 2));
  const r = exchange(xen, dom, { inPfns: range(0, 8), inOrder: 0, outOrder: 3, addressBits: 21 });
  assertEquals(r.outMfns, [0x100]);
  assertEquals(dom.read(5 * 4096, 2), Uint8Array.of(0xaa, 0xbb), "pfn 5 now shows frame 5's bytes");
  assertEquals(dom.read(0, 2), Uint8Array.of(0, 0), "the guest's own bytes are gone");
});

Deno.test("exchange: failure at chunk k restores that chunk and reports nr_exchanged", () => {
  const { xen, dom } = setup();
  // Below 2^21 (frames 0..511) Xen holds 0..255; take 256..383 too, leaving room for
  // two order-6 extents.
  xen.machine.claim(256, 128, DOMID_XEN);
  const before = p2mOf(dom);
  const r = exchange(xen, dom, { inPfns: range(0, 256), inOrder: 0, outOrder: 6, addressBits: 21 });
  assertEquals(r.nrExchanged, 128);
  assertEquals(r.outMfns, [384, 448]);
  assertEquals(r.error, "chunk 2: no free extent of order 6 below 2^21 (2 MiB)");
  assertEquals(dom.pfnToMfn(0), 384);
  assertEquals(dom.pfnToMfn(127), 511);
  assertEquals(p2mOf(dom, 128), before.subarray(128), "chunks 2 and 3 untouched");
  assertConsistent(xen, dom);
});

Deno.test("exchange: extent order limits are 9 for a domU and 10 for dom0", () => {
  const { xen, dom } = setup();
  const r = exchange(xen, dom, {
    inPfns: range(0, 1024),
    inOrder: 0,
    outOrder: 10,
    addressBits: 0,
  });
  assertEquals(r.nrExchanged, 0);
  assertEquals(r.error, "output extent order 10 is not allowed for dom1 (at most 9)");
  const ok9 = exchange(xen, dom, {
    inPfns: range(0, 512),
    inOrder: 0,
    outOrder: 9,
    addressBits: 32,
  });
  assertEquals(ok9.nrExchanged, 512);

  const d0 = setup({ dom0: true });
  const r10 = exchange(d0.xen, d0.dom, {
    inPfns: range(0, 1024),
    inOrder: 0,
    outOrder: 10,
    addressBits: 32,
  });
  assertEquals(r10, { nrExchanged: 1024, outMfns: [1024] }, "0..1023 holds Xen's frames");
  const r11 = exchange(d0.xen, d0.dom, { inPfns: [0], inOrder: 11, outOrder: 0, addressBits: 0 });
  assertEquals(r11.error, "input extent order 11 is not allowed for dom0 (at most 10)");
});

Deno.test("exchange: one input extent split into several outputs", () => {
  const { xen, dom } = setup();
  const made = exchange(xen, dom, {
    inPfns: range(64, 64),
    inOrder: 0,
    outOrder: 6,
    addressBits: 24,
  });
  assertEquals(made.outMfns, [256]);
  // Give it back as 64 single frames with no limit: they come from the top (SPEC §4).
  const r = exchange(xen, dom, { inPfns: [64], inOrder: 6, outOrder: 0, addressBits: 0 });
  assertEquals(r.nrExchanged, 1);
  assertEquals(r.outMfns.length, 64);
  assert(r.outMfns.every((m) => m >= 64 * MiB / 4096 - 4096 - 64), "high frames");
  assertEquals(xen.machine.owner(256), FREE, "the low extent went back to the pool");
  assertConsistent(xen, dom);
});

Deno.test("exchange: several input extents merged per chunk", () => {
  const { xen, dom } = setup();
  const r = exchange(xen, dom, {
    inPfns: [0, 2, 4, 6, 100, 102, 104, 106],
    inOrder: 1,
    outOrder: 3,
    addressBits: 32,
  });
  assertEquals(r, { nrExchanged: 8, outMfns: [256, 264] });
  assertEquals([...p2mOf(dom, 0, 8)], range(256, 8));
  assertEquals([...p2mOf(dom, 100, 108)], range(264, 8));
});

Deno.test("exchange: refuses malformed requests without changing anything", () => {
  const { xen, dom } = setup();
  const before = p2mOf(dom);
  assertEquals(
    exchange(xen, dom, { inPfns: range(0, 3), inOrder: 0, outOrder: 2, addressBits: 32 }).error,
    "3 input extent(s) of order 0 do not make whole order-2 extents",
  );
  assertEquals(
    exchange(xen, dom, { inPfns: [0, 4095, 4096, 7], inOrder: 0, outOrder: 2, addressBits: 32 })
      .error,
    "chunk 0: input extent pfn 0x1000 is outside dom1's memory",
  );
  assertEquals(
    exchange(xen, dom, { inPfns: [3, 3], inOrder: 0, outOrder: 1, addressBits: 32 }).error,
    "chunk 0: the same pfn is given twice",
  );
  assertEquals(p2mOf(dom), before);
});

Deno.test("exchange: autotranslated guest keeps its pfns, gets bus frame numbers", () => {
  const { xen, dom } = setup({ autotranslate: true, arch: "arm" });
  dom.write(10 * 4096, Uint8Array.of(9));
  const r = exchange(xen, dom, { inPfns: range(8, 8), inOrder: 0, outOrder: 3, addressBits: 32 });
  assertEquals(r, { nrExchanged: 8, outMfns: [256] });
  assertEquals(dom.physToMachine(8 * 4096), MiB, "pfn 8 is now backed by frame 256");
  assertEquals(dom.physToPfn(8 * 4096), 8, "the guest-physical address did not move");
  assertEquals(dom.read(10 * 4096, 1), Uint8Array.of(0), "contents are not carried over");
  assertConsistent(xen, dom);
});

Deno.test("exchange: records one trace line per exchange", () => {
  const { xen, dom, events } = setup();
  events.tracing = true;
  exchange(xen, dom, { inPfns: range(0, 2), inOrder: 0, outOrder: 1, addressBits: 32 });
  xen.faults.failNext(1);
  exchange(xen, dom, { inPfns: range(0, 2), inOrder: 0, outOrder: 1, addressBits: 32 });
  const lines = events.drain().map((e) => e.message);
  assertEquals(lines, [
    "XENMEM_exchange: dom1 2 extent(s) of order 0 -> order 1 below 2^32 (4 GiB): ok, out 0x100",
    "XENMEM_exchange: dom1 2 extent(s) of order 0 -> order 1 below 2^32 (4 GiB): 0/2 exchanged: chunk 0: fault injection: failing the next exchanges (0 more after this)",
  ]);
});

// ---- xen_create_contiguous_region / xen_destroy_contiguous_region -------------------

Deno.test("createContiguousRegion on x86 PV: scrub, exchange, machine address back", () => {
  const { xen, dom } = setup({ dom0: true }, 8 * GiB);
  const pool = dom.allocPhys(256 * 1024, 4096);
  dom.write(pool + 100, Uint8Array.of(7, 7, 7));
  const oldMfn = dom.pfnToMfn(dom.physToPfn(pool));
  const r = createContiguousRegion(xen, dom, pool, 6, 32);
  assertEquals(r, { ok: true, dmaHandle: MiB }, "the first extent above Xen's low MiB");
  assert(dom.isMachineContiguous(pool, 256 * 1024));
  assertEquals(dom.physToMachine(pool), MiB);
  assertEquals(xen.machine.read(oldMfn * 4096 + 100, 3), new Uint8Array(3), "old frame scrubbed");
  assertEquals(dom.read(pool + 100, 3), new Uint8Array(3));
  // The next chunk gets the next extent up.
  assertEquals(createContiguousRegion(xen, dom, pool, 6, 32), {
    ok: true,
    dmaHandle: MiB + 64 * 4096,
  });
});

Deno.test("createContiguousRegion on x86 PV: failure keeps the old frames", () => {
  const { xen, dom } = setup();
  const pstart = 64 * 4096;
  const before = p2mOf(dom, 64, 128);
  xen.faults.failNext(1);
  assertMatch(reasonOf(createContiguousRegion(xen, dom, pstart, 6, 18)), /fault injection/);
  assertEquals(p2mOf(dom, 64, 128), before);
  const tooBig = createContiguousRegion(xen, dom, 0, 10, 32);
  assertEquals(tooBig, { ok: false, reason: "order 10 is above dom1's limit of 9" });
  assertThrows(() => createContiguousRegion(xen, dom, 4097, 6, 32), LabError, "not page aligned");
});

Deno.test("createContiguousRegion on x86 autotranslated (PVH) is a no-op with no handle", () => {
  const { xen, dom, events } = setup({ autotranslate: true, dom0: true });
  events.tracing = true;
  const before = p2mOf(dom);
  const r = createContiguousRegion(xen, dom, 0, 6, 32);
  assertEquals(r, { ok: true });
  assertFalse("dmaHandle" in r, "callers keep dma_handle = 0");
  assertEquals(p2mOf(dom), before);
  assertEquals(destroyContiguousRegion(xen, dom, 0, 6), { ok: true });
  assertEquals(events.drain().length, 2);
});

Deno.test("createContiguousRegion on ARM: exchange and pin, bus address back", () => {
  const { xen, dom } = setup({ autotranslate: true, arch: "arm", dom0: true }, 8 * GiB);
  const pool = dom.allocPhys(512 * 1024, 256 * 1024);
  const r0 = createContiguousRegion(xen, dom, pool, 6, 32);
  const r1 = createContiguousRegion(xen, dom, pool + 256 * 1024, 6, 32);
  assertEquals(r0, { ok: true, dmaHandle: 0x100000 });
  assertEquals(r1, { ok: true, dmaHandle: 0x140000 });
  assertEquals(dom.physToMachine(pool + 0x40123), 0x140123, "pfns stay, backing moved");
  assert(dom.isMachineContiguous(pool, 512 * 1024));
});

Deno.test("destroyContiguousRegion gives the low extent back for high single frames", () => {
  const { xen, dom } = setup({}, 8 * GiB);
  assertEquals(createContiguousRegion(xen, dom, 0, 6, 32), { ok: true, dmaHandle: MiB });
  const low = xen.machine.freeFrames(32);
  dom.write(100, Uint8Array.of(5));
  assertEquals(destroyContiguousRegion(xen, dom, 0, 6), { ok: true });
  assertEquals(xen.machine.freeFrames(32), low + 64);
  assertEquals(xen.machine.owner(256), FREE);
  assert(dom.physToMachine(0) >= 4 * GiB);
  assertEquals(xen.machine.read(MiB + 100, 1), Uint8Array.of(0), "scrubbed before it went back");
  assertConsistent(xen, dom);
});

// ---- IOMMU --------------------------------------------------------------------------

Deno.test("Iommu for an autotranslated guest maps guest-physical through the p2m", () => {
  const { xen, dom } = setup({ autotranslate: true, arch: "arm", iommu: true, layout: "reverse" });
  const iommu = new Iommu(dom);
  assertEquals(iommu.translate(0x1234), { maddr: dom.physToMachine(0x1234) });
  assertEquals(
    faultOf(iommu.translate(4096 * 4096)).fault,
    "IOMMU fault: dom1's IOMMU has no guest-physical mapping for bus address 0x1000000",
  );
  // A range is translated page by page; the reverse layout gives descending frames.
  const rr = iommu.translateRange(0xff0, 0x20);
  assertEquals(rr, {
    pieces: [
      { bus: 0xff0, maddr: dom.physToMachine(0xff0), len: 0x10 },
      { bus: 0x1000, maddr: dom.physToMachine(0x1000), len: 0x10 },
    ],
  });
  assertEquals(faultOf(iommu.translateRange(4096 * 4095, 8192)).bus, 4096 * 4096);
  // After an exchange the IOMMU follows the new p2m.
  createContiguousRegion(xen, dom, 0, 6, 32);
  assertEquals(iommu.translate(0x10), { maddr: MiB + 0x10 });
});

Deno.test("Iommu for a PV dom0 maps bus = machine address for its own frames only", () => {
  const { xen, dom } = setup({ dom0: true, iommu: true });
  const other = xen.createDomain({
    nrPages: 16,
    autotranslate: false,
    iommu: true,
    dom0: false,
    arch: "x86",
    layout: "contiguous",
  });
  const iommu = new Iommu(dom);
  const own = dom.physToMachine(0x2000) + 5;
  assertEquals(iommu.translate(own), { maddr: own });
  assertMatch(faultOf(iommu.translate(other.physToMachine(0))).fault, /no own-frame mapping/);
  assertMatch(faultOf(iommu.translate(0)).fault, /0x0$/, "a free frame");
  assertMatch(faultOf(iommu.translate(2 ** 45)).fault, /0x200000000000$/, "beyond the machine");
});

Deno.test("translateDeviceAccess without an IOMMU reaches any machine address", () => {
  const { xen, dom } = setup();
  const r = translateDeviceAccess(dom, 0x1ff8, 16);
  assertEquals(r, {
    pieces: [{ bus: 0x1ff8, maddr: 0x1ff8, len: 8 }, { bus: 0x2000, maddr: 0x2000, len: 8 }],
  });
  assertEquals(renderParts(xen.whoseFrame(2)), "xen", "a stray write would hit Xen's own frame");
  assertEquals(faultOf(translateDeviceAccess(dom, 64 * MiB - 4, 8)), {
    fault: "Bus address 0x4000000 is beyond machine memory",
    bus: 64 * MiB,
  });
  const { dom: guarded } = setup({ iommu: true, dom0: true });
  assertEquals(faultOf(translateDeviceAccess(guarded, 0x1ff8, 16)).bus, 0x1ff8);
});

// ---- fault injection ----------------------------------------------------------------

Deno.test("Faults.failNext fails the next N exchanges, optionally after some chunks", () => {
  const { xen, dom } = setup();
  const req = { inPfns: range(0, 4), inOrder: 0, outOrder: 1, addressBits: 32 };
  xen.faults.failNext(2);
  assertEquals(xen.faults.state.failNext, 2);
  assertEquals(exchange(xen, dom, req).nrExchanged, 0);
  assertEquals(exchange(xen, dom, req).nrExchanged, 0);
  assertEquals(exchange(xen, dom, req).nrExchanged, 4);
  xen.faults.failNext(1, 1);
  assertEquals(xen.faults.describe(), "next 1 exchange(s) fail after 1 chunk(s)");
  const partial = exchange(xen, dom, req);
  assertEquals(partial.nrExchanged, 2);
  assertMatch(partial.error!, /^chunk 1: fault injection/);
  assertEquals(xen.faults.describe(), "no fault injection");
});

Deno.test("Faults.failNext after K calls: K exchanges go through untouched, then N fail", () => {
  const { xen, dom } = setup();
  const req = { inPfns: range(0, 4), inOrder: 0, outOrder: 1, addressBits: 32 };
  xen.faults.failNext(2, 0, 3);
  assertEquals(xen.faults.describe(), "next 2 exchange(s) fail, after 3 more go through");
  const got = Array.from({ length: 6 }, () => exchange(xen, dom, req).nrExchanged);
  assertEquals(got, [4, 4, 4, 0, 0, 4]);
  assertEquals(xen.faults.describe(), "no fault injection");
  // Without failures to come, nothing is held back.
  xen.faults.failNext(0, 0, 3);
  assertEquals(xen.faults.state.failAfterExchanges, 0);
});

Deno.test("Faults.failBelow fails every exchange under a width", () => {
  const { xen, dom } = setup();
  xen.faults.failBelow(30);
  const at = (addressBits: number) =>
    exchange(xen, dom, { inPfns: [0, 1], inOrder: 0, outOrder: 1, addressBits });
  assertEquals(at(29).error, "chunk 0: fault injection: exchanges below 30 bits fail");
  assertEquals(at(30).nrExchanged, 2);
  assertEquals(at(0).nrExchanged, 2, "no limit is not below anything");
  xen.faults.failBelow(0);
  assertEquals(at(21).nrExchanged, 2);
});

Deno.test("Faults.exhaustLow hands low memory to Xen until restored", () => {
  const { xen, dom } = setup({}, 8 * GiB);
  assertEquals(xen.machine.freeFrames(24), 4096 - 256);
  assertEquals(xen.faults.exhaustLow(24), 4096 - 256);
  assertEquals(xen.machine.freeFrames(24), 0);
  assertEquals(renderParts(xen.whoseFrame(0x300)), "xen");
  assertEquals(xen.faults.describe(), "15 MiB of low memory held by xen");
  assertEquals(
    reasonOf(createContiguousRegion(xen, dom, 0, 6, 24)),
    "chunk 0: no free extent of order 6 below 2^24 (16 MiB)",
  );
  const wider = createContiguousRegion(xen, dom, 0, 6, 25);
  assertEquals(wider, { ok: true, dmaHandle: 16 * MiB });
  assertEquals(xen.faults.restoreLow(), 4096 - 256);
  assertEquals(xen.machine.freeFrames(24), 4096 - 256, "the 25-bit extent lies above");
  assertEquals(xen.machine.owner(0x300), FREE);
  assertEquals(xen.machine.owner(17), DOMID_XEN, "Xen's own low MiB stays");
  xen.faults.failNext(3, 0, 2);
  xen.faults.failBelow(20);
  xen.faults.exhaustLow(20);
  xen.faults.reset();
  assertEquals(xen.faults.state, {
    failNext: 0,
    failAfterChunks: 0,
    failAfterExchanges: 0,
    failBelowBits: 0,
    exhaustedFrames: 0,
  });
});

Deno.test("deviceAccessFault: the fault translateDeviceAccess finds, without its pieces", () => {
  const xen = new Xen({ machineBytes: 2 ** 28, seed: 3 });
  const doms = [
    { autotranslate: true, iommu: true, arch: "arm" as const },
    { autotranslate: false, iommu: true, arch: "x86" as const },
    { autotranslate: false, iommu: false, arch: "x86" as const },
  ].map((c) => xen.createDomain({ nrPages: 512, dom0: false, layout: "fragmented", ...c }));
  // Where each domain's reachable addresses end: accesses ending there, or a byte past.
  const ends = [doms[0].physEnd, doms[1].physToMachine(511 * 4096) + 4096, 2 ** 28];
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: doms.length - 1 }),
      fc.oneof(
        fc.integer({ min: -4096, max: 2 ** 28 + 8192 }),
        fc.constantFrom(0.5, NaN, 2 ** 28 - 1),
        fc.integer({ min: 0, max: 600 }).map((p) => doms[0].physBase + p * 4096 - 1),
        fc.integer({ min: 0, max: 511 }).map((p) => doms[1].physToMachine(p * 4096)),
      ),
      fc.integer({ min: 0, max: 5 * 4096 }),
      fc.option(fc.integer({ min: -1, max: 1 }), { nil: undefined }),
      (d, anyBus, len, atEnd) => {
        const bus = atEnd === undefined ? anyBus : ends[d] - len + atEnd;
        const t = translateDeviceAccess(doms[d], bus, len);
        assertEquals(deviceAccessFault(doms[d], bus, len), "fault" in t ? t.fault : undefined);
      },
    ),
    { numRuns: 3000 },
  );
});
