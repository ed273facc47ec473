/**
 * Whole-guest tests (SPEC §4–§7, §12): real bytes through every preset, the PV fast
 * path rules, autotranslate translations, init under fault injection, rfc vs rfc-v1.
 */

import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
  Guest,
  type GuestInput,
  LabError,
  PRESETS,
  SEGMENT_BYTES,
} from "../mod.ts";
import { n } from "./_addr.ts";

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

/** Presets whose DMA ops come up (pvh-dom0 fails at init by design). */
const WORKING = Object.keys(PRESETS).filter((p) => p !== "pvh-dom0");

function guest(input: GuestInput): Guest {
  const g = Guest.create(input);
  g.addDevice({ name: "nic", maskBits: 32 });
  return g;
}

for (const preset of WORKING) {
  Deno.test(`${preset}: TO_DEVICE map lets the device read the CPU's bytes`, () => {
    const g = guest({ preset });
    const b = g.allocBuffer("tx", 8192);
    const data = pattern(8192, 1);
    g.writeBuffer("tx", 0, data);
    const m = g.map("nic", b.phys, 8192, DMA_TO_DEVICE);
    assert(!m.error, m.failure?.code);
    assertEquals(g.dmaRead("nic", m.bus, 8192).bytes, data);
    g.unmap("nic", m.bus, 8192, DMA_TO_DEVICE);
  });

  Deno.test(`${preset}: FROM_DEVICE map, device write, unmap: the CPU sees the device's bytes`, () => {
    const g = guest({ preset });
    const b = g.allocBuffer("rx", 4096);
    const m = g.map("nic", b.phys, 4096, DMA_FROM_DEVICE);
    const data = pattern(4096, 9);
    g.dmaWrite("nic", m.bus, data);
    g.unmap("nic", m.bus, 4096, DMA_FROM_DEVICE);
    assertEquals(g.readBuffer("rx", 0, 4096), data);
  });

  Deno.test(`${preset}: BIDIRECTIONAL with syncs both ways`, () => {
    const g = guest({ preset });
    const b = g.allocBuffer("io", 2048);
    g.writeBuffer("io", 0, pattern(2048, 3));
    const m = g.map("nic", b.phys, 2048, DMA_BIDIRECTIONAL);
    assertEquals(g.dmaRead("nic", m.bus, 2048).bytes, pattern(2048, 3));
    g.dmaWrite("nic", m.bus, pattern(2048, 4));
    g.sync("nic", m.bus, 2048, DMA_BIDIRECTIONAL, "cpu");
    assertEquals(g.readBuffer("io", 0, 2048), pattern(2048, 4));
    g.writeBuffer("io", 0, pattern(2048, 5));
    g.sync("nic", m.bus, 2048, DMA_BIDIRECTIONAL, "device");
    assertEquals(g.dmaRead("nic", m.bus, 2048).bytes, pattern(2048, 5));
    g.unmap("nic", m.bus, 2048, DMA_BIDIRECTIONAL);
  });

  Deno.test(`${preset}: scatter-gather with mixed element sizes`, () => {
    const g = guest({ preset });
    const sizes = [512, 4096, 12000, 100];
    const elems = sizes.map((n, i) => {
      const b = g.allocBuffer(`sg${i}`, n);
      g.writeBuffer(`sg${i}`, 0, pattern(n, i));
      return { phys: b.phys, length: n };
    });
    const r = g.mapSg("nic", elems, DMA_BIDIRECTIONAL);
    assert(!r.error, r.failure?.failure.code);
    assertEquals(r.ret, sizes.length);
    r.elements.forEach((e, i) => {
      assertEquals(e.dmaLength, sizes[i]);
      assertEquals(g.dmaRead("nic", e.dmaAddress, sizes[i]).bytes, pattern(sizes[i], i));
      g.dmaWrite("nic", e.dmaAddress, pattern(sizes[i], 50 + i));
    });
    g.unmapSg("nic", elems, DMA_BIDIRECTIONAL);
    sizes.forEach((n, i) => assertEquals(g.readBuffer(`sg${i}`, 0, n), pattern(n, 50 + i)));
  });
}

Deno.test("PV: a machine-contiguous buffer under a 64-bit mask takes the fast path", () => {
  const g = Guest.create({ preset: "pv-dom0", layout: "contiguous" });
  g.addDevice({ name: "nvme", maskBits: 64 });
  const b = g.allocBuffer("buf", 16384);
  const m = g.map("nvme", b.phys, 16384, DMA_TO_DEVICE);
  assertEquals(m.bounced, false);
  assertEquals(m.bus, g.domain.physToMachine(b.phys));
  assertEquals(g.stats().fast_paths, 1);
});

Deno.test("PV: a buffer straddling non-consecutive frames bounces even for a 64-bit device", () => {
  const g = Guest.create({ preset: "pv-dom0", layout: "reverse" });
  g.addDevice({ name: "nvme", maskBits: 64 });
  const b = g.allocBuffer("buf", 8192);
  assert(!g.domain.isMachineContiguous(b.phys, 8192));
  const m = g.map("nvme", b.phys, 8192, DMA_TO_DEVICE);
  assert(m.bounced);
  assertEquals(m.route.code, "straddles");
});

Deno.test("PV: a 32-bit device with guest memory above 4 GiB bounces", () => {
  const g = guest({ preset: "pv-dom0", layout: "contiguous" });
  const b = g.allocBuffer("buf", 4096);
  assert(g.domain.physToMachine(b.phys) >= 2 ** 32);
  const m = g.map("nic", b.phys, 4096, DMA_TO_DEVICE);
  assert(m.bounced);
  assert(n(m.bus) + 4096 - 1 <= 0xffffffff);
});

Deno.test("autotranslate: every map bounces and phys→bus→phys is the identity on every segment", () => {
  const g = guest({ preset: "arm-dom0" });
  const x = g.swiotlbXen!;
  for (const s of x.seg) {
    for (const off of [0, s.size / 2, s.size - 1]) {
      const phys = s.physAddr + off;
      const bus = x.physToBus(phys);
      assertEquals(bus, s.dmaAddr + off);
      assertEquals(x.busToPhys(bus), phys);
    }
  }
  const b = g.allocBuffer("b", 64);
  assert(g.map("nic", b.phys, 64, DMA_TO_DEVICE).bounced);
});

Deno.test("autotranslate: an unknown bus address is refused (checked) or recorded as UB (faithful)", () => {
  const checked = guest({ preset: "arm-dom0" });
  const e = assertThrows(() => checked.unmap("nic", 0x1234_5000, 4096, DMA_TO_DEVICE), LabError);
  assertEquals(e.kind, "refused");
  assertStringIncludes(e.message, "in no tree node");

  const faithful = guest({ preset: "arm-dom0", policy: "faithful" });
  faithful.unmap("nic", 0x1234_5000, 4096, DMA_TO_DEVICE);
  assert(faithful.events.counts.ub >= 1);
  assert(faithful.stats().ub_events >= 1);
});

Deno.test("autotranslate: coherent buffers appear in the tree and leave it", () => {
  const g = guest({ preset: "arm-dom0" });
  const before = g.tree()!.preorder.length;
  const c = g.allocCoherent("nic", 8192);
  assert(c.exchanged);
  assertEquals(g.tree()!.preorder.length, before + 1);
  assert(g.tree()!.preorder.some((n) => n.kind === "coherent" && n.dmaAddr === c.bus));
  g.freeCoherent("nic", c.bus, 8192);
  assertEquals(g.tree()!.preorder.length, before);
  assertEquals(g.tree()!.problems, []);
});

Deno.test("pvh-dom0: init fails on the duplicate bus address 0 with the 'already exists' warning", () => {
  const g = Guest.create({ preset: "pvh-dom0" });
  assertEquals(g.init.swiotlbXen, true);
  assertEquals(g.init.ok, false);
  assert(g.init.log.some((l) => l.includes("already exists")));
  assertStringIncludes(
    g.init.log[g.init.log.length - 1],
    "Failed to get contiguous memory for DMA from Xen!",
  );
  assertThrows(() => g.map("x", 0, 1, DMA_TO_DEVICE), LabError);
});

Deno.test("fixup under fault injection: dma_bits 18…32, halving 64→32→16→8 MiB, final error", () => {
  const g = Guest.create({ preset: "pv-dom0", faults: { failBelowBits: 64 } });
  assertEquals(g.init.ok, false);
  assertEquals(g.init.attempts.map((a) => a.nslabs), [32768, 16384, 8192, 4096]);
  const f = g.init.attempts[0].fixup;
  // One segment tried at every width 18…32, each a failure; no success.
  assertEquals([f.exchanges, f.segments, f.dmaBitsFirst, f.dmaBitsLast], [15, 1, 18, 32]);
  assertEquals([f.firstSuccess, f.okSegments, f.injectedFailures], [null, 0, 15]);
  assertEquals(g.init.log.filter((l) => l.includes("Lowering")), [
    "xen:swiotlb_xen: Lowering to 32MB",
    "xen:swiotlb_xen: Lowering to 16MB",
    "xen:swiotlb_xen: Lowering to 8MB",
  ]);
  assertStringIncludes(g.init.log[g.init.log.length - 1], "Failed to get contiguous memory");
});

Deno.test("fixup: dma_bits is not reset between segments", () => {
  const g = Guest.create({ preset: "arm-dom0", swiotlb: 512 });
  const f = g.init.attempts[0].fixup;
  // Every later segment starts at the width that worked, not at 18: one exchange each
  // after segment 0's climb, so exchanges = climb + segments - 1 and the last width is
  // the first success's.
  if (f.firstSuccess === null) throw new Error("the fixup never succeeded");
  assertEquals(f.firstSuccess.segment, 0);
  assertEquals(f.dmaBitsLast, f.firstSuccess.dmaBits);
  assertEquals(f.exchanges, f.firstSuccess.dmaBits - 18 + f.segments);
});

Deno.test("faithful keeps a failed attempt's tree nodes; checked does not", () => {
  const faithful = Guest.create({ preset: "pvh-dom0", policy: "faithful" });
  const checked = Guest.create({ preset: "pvh-dom0" });
  assert(faithful.tree()!.preorder.length > checked.tree()!.preorder.length);
});

Deno.test("rfc and rfc-v1 agree on a 256 KiB aligned pool and disagree on a page-aligned one", () => {
  const a = Guest.create({ preset: "arm-dom0", variant: "rfc" }).swiotlbXen!;
  const b = Guest.create({ preset: "arm-dom0", variant: "rfc-v1" }).swiotlbXen!;
  assertEquals(a.poolPhys % SEGMENT_BYTES, 0);
  for (const off of [0, 0x1234, SEGMENT_BYTES + 17]) {
    assertEquals(b.physToBus(a.poolPhys + off), a.physToBus(a.poolPhys + off));
  }
  const c = Guest.create({ preset: "arm-dom0", variant: "rfc", poolOffset: 4096 }).swiotlbXen!;
  const d = Guest.create({ preset: "arm-dom0", variant: "rfc-v1", poolOffset: 4096 }).swiotlbXen!;
  assert(c.poolPhys % SEGMENT_BYTES !== 0);
  const p = c.poolPhys + 0x100;
  assertEquals(c.busToPhys(c.physToBus(p)), p);
  assert(d.physToBus(p) !== c.physToBus(p), "rfc-v1 masks the offset and lands elsewhere");
});
