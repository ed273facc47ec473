/**
 * The DMA-API debug layer (SPEC §8): one test per report kind through the guest API,
 * with the exact line computed from the mapping the engine returned; the layer off; and
 * the REPL's `debug`, `map-error` and `device remove` in process.
 */

import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  type Addr,
  ALL_ONES,
  DEBUG_KINDS,
  type DebugKind,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
  formatHex,
  Guest,
  type GuestInput,
  LabError,
  renderParts,
  slotsFor,
  translateDeviceAccess,
} from "../mod.ts";
import { runLine, Session } from "../lib/repl/mod.ts";
import { n } from "./_addr.ts";

const ARM: GuestInput = { preset: "arm-dom0", swiotlb: 512 };

/** An arm-dom0 guest (the RFC case) with device nic (32-bit mask) and an 8 KiB buffer rx. */
function armGuest(extra: GuestInput = {}) {
  const g = Guest.create({ ...ARM, ...extra });
  g.addDevice({ name: "nic", maskBits: 32 });
  const rx = g.allocBuffer("rx", 8192);
  g.events.drain();
  return { g, rx };
}

/** The debug lines recorded since the last drain. */
function debugLines(g: Guest): string[] {
  return g.events.drain().filter((e) => e.kind === "debug").map((e) => e.message);
}

/** Counts with only the given kinds non-zero. */
function counts(nonZero: Partial<Record<DebugKind, number>>): Record<DebugKind, number> {
  return Object.fromEntries(DEBUG_KINDS.map((k) => [k, nonZero[k] ?? 0])) as Record<
    DebugKind,
    number
  >;
}

const at = (bus: Addr) => `[device address=0x${bus.toString(16).padStart(16, "0")}]`;

Deno.test("DmaDebug: a clean map / dma_mapping_error / unmap reports nothing", () => {
  const { g, rx } = armGuest();
  const r = g.map("nic", rx.phys, 8192, DMA_TO_DEVICE);
  assertEquals(g.debugReport().live.length, 1);
  assertEquals(g.mappingError("nic", r.bus), { error: false, marked: true });
  g.unmap("nic", r.bus, 8192, DMA_TO_DEVICE);
  assertEquals(debugLines(g), []);
  assertEquals(g.debugReport(), {
    enabled: true,
    live: [],
    released: [],
    reports: [],
    counts: counts({}),
    dropped: 0,
    // arm's 4,096 entries, one taken and given back.
    entries: { total: 4096, free: 4096, minFree: 4095 },
    outOfMemory: false,
    seenAll: true,
  });
});

Deno.test("DmaDebug: free of an unmapped address (a double unmap) is reported before the refusal", () => {
  const { g, rx } = armGuest();
  const r = g.map("nic", rx.phys, 8192, DMA_TO_DEVICE);
  g.mappingError("nic", r.bus);
  g.unmap("nic", r.bus, 8192, DMA_TO_DEVICE);
  assertThrows(() => g.unmap("nic", r.bus, 8192, DMA_TO_DEVICE), LabError, "double unmap");
  assertEquals(debugLines(g), [
    `nic 0000:00:01.0: DMA-API: device driver tries to free DMA memory it has not allocated ${
      at(r.bus)
    } [size=8192 bytes]`,
  ]);
  assertEquals(g.debugReport().counts, counts({ "free-unmapped": 1 }));
});

Deno.test("DmaDebug: wrong size; the checked refusal keeps the mapping, the right unmap is clean", () => {
  const { g, rx } = armGuest();
  const r = g.map("nic", rx.phys, 8192, DMA_TO_DEVICE);
  g.mappingError("nic", r.bus);
  assertThrows(() => g.unmap("nic", r.bus, 4096, DMA_TO_DEVICE), LabError, "8192 bytes");
  const line = `nic 0000:00:01.0: DMA-API: device driver frees DMA memory with different size ${
    at(r.bus)
  } [map size=8192 bytes] [unmap size=4096 bytes]`;
  assertEquals(debugLines(g), [line]);
  const view = g.debugReport();
  assertEquals(view.live.map((m) => [m.bus, m.size, m.call]), [[
    r.bus,
    8192,
    `dma_map_single(nic, ${formatHex(rx.phys)}, 8192, DMA_TO_DEVICE)`,
  ]]);
  assertEquals(view.reports[0].kind, "free-size");
  g.unmap("nic", r.bus, 8192, DMA_TO_DEVICE);
  assertEquals(debugLines(g), []);
  assertEquals(g.debugReport().live, []);
});

Deno.test("DmaDebug: faithful reports the wrong size alongside the UB event, and in that order", () => {
  const { g, rx } = armGuest({ policy: "faithful" });
  const r = g.map("nic", rx.phys, 8192, DMA_TO_DEVICE);
  g.mappingError("nic", r.bus);
  g.unmap("nic", r.bus, 4096, DMA_TO_DEVICE);
  const ev = g.events.drain().filter((e) => e.kind !== "trace");
  assertEquals(ev.map((e) => [e.kind, e.source]), [["debug", "nic"], ["ub", "swiotlb"]]);
  assert(ev[0].message.includes("[map size=8192 bytes] [unmap size=4096 bytes]"));
  // The kernel drops the record at check_unmap, whatever it found.
  assertEquals(g.debugReport().live, []);
});

Deno.test("DmaDebug: wrong function — single vs page, single vs coherent", () => {
  const { g, rx } = armGuest();
  const r = g.map("nic", rx.phys, 8192, DMA_TO_DEVICE);
  g.mappingError("nic", r.bus);
  g.unmap("nic", r.bus, 8192, DMA_TO_DEVICE, true);
  assertEquals(debugLines(g), [
    `nic 0000:00:01.0: DMA-API: device driver frees DMA memory with wrong function ${
      at(r.bus)
    } [size=8192 bytes] [mapped as single] [unmapped as page]`,
  ]);
  const r2 = g.map("nic", rx.phys, 8192, DMA_TO_DEVICE, true);
  g.mappingError("nic", r2.bus);
  assertThrows(() => g.freeCoherent("nic", r2.bus, 8192), LabError, "not a coherent buffer");
  assertEquals(debugLines(g), [
    `nic 0000:00:01.0: DMA-API: device driver frees DMA memory with wrong function ${
      at(r2.bus)
    } [size=8192 bytes] [mapped as page] [unmapped as coherent]`,
    // dma_free_coherent frees with DMA_BIDIRECTIONAL, as the kernel's check does.
    `nic 0000:00:01.0: DMA-API: device driver frees DMA memory with different direction ${
      at(r2.bus)
    } [size=8192 bytes] [mapped with DMA_TO_DEVICE] [unmapped with DMA_BIDIRECTIONAL]`,
  ]);
  assertEquals(g.debugReport().counts, counts({ "free-function": 2, "free-direction": 1 }));
});

Deno.test("DmaDebug: a coherent buffer freed with the right call is clean, unmapped as single is not", () => {
  const { g } = armGuest();
  const c = g.allocCoherent("nic", 16384);
  const live = g.debugReport().live;
  assertEquals(live.map((m) => [m.type, m.bus, m.dir, m.mapErrorChecked]), [
    ["coherent", c.bus, DMA_BIDIRECTIONAL, null],
  ]);
  g.freeCoherent("nic", c.bus, 16384);
  assertEquals(debugLines(g), []);
  const c2 = g.allocCoherent("nic", 16384);
  g.events.drain();
  // swiotlb-xen refuses (the coherent node's phys is outside the pool); the report comes first.
  assertThrows(() => g.unmap("nic", c2.bus, 16384, DMA_BIDIRECTIONAL), LabError);
  assertEquals(debugLines(g), [
    `nic 0000:00:01.0: DMA-API: device driver frees DMA memory with wrong function ${
      at(c2.bus)
    } [size=16384 bytes] [mapped as coherent] [unmapped as single]`,
  ]);
});

Deno.test("DmaDebug: wrong direction (faithful: the engine does it; checked refuses it)", () => {
  const { g, rx } = armGuest({ policy: "faithful" });
  const r = g.map("nic", rx.phys, 8192, DMA_TO_DEVICE);
  g.mappingError("nic", r.bus);
  const copied = g.unmap("nic", r.bus, 8192, DMA_FROM_DEVICE).copied;
  assertEquals(copied, 8192, "the engine still does what it is told (FROM_DEVICE copies back)");
  assertEquals(debugLines(g), [
    `nic 0000:00:01.0: DMA-API: device driver frees DMA memory with different direction ${
      at(r.bus)
    } [size=8192 bytes] [mapped with DMA_TO_DEVICE] [unmapped with DMA_FROM_DEVICE]`,
  ]);
});

Deno.test("DmaDebug: sg count mismatch at unmap_sg (nents smaller than mapped)", () => {
  const { g, rx } = armGuest({ policy: "faithful" });
  const elems = [0, 2048, 4096].map((o) => ({ phys: rx.phys + o, length: 2048 }));
  const sg = g.mapSg("nic", elems, DMA_TO_DEVICE);
  assertEquals(g.debugReport().live.map((m) => [m.type, m.sgCount]), [
    ["sg", 3],
    ["sg", 3],
    ["sg", 3],
  ]);
  g.unmapSg("nic", elems.slice(0, 2), DMA_TO_DEVICE);
  assertEquals(
    debugLines(g),
    sg.elements.slice(0, 2).map((e) =>
      `nic 0000:00:01.0: DMA-API: device driver frees DMA sg list with different entry count ${
        at(e.dmaAddress)
      } [map count=3] [unmap count=2]`
    ),
  );
  // The third element stays mapped, as it would for a driver passing the wrong nents.
  assertEquals(g.debugReport().live.map((m) => m.bus), [sg.elements[2].dmaAddress]);
  g.unmapSg("nic", elems.slice(2), DMA_TO_DEVICE);
  assertEquals(debugLines(g), [
    `nic 0000:00:01.0: DMA-API: device driver frees DMA sg list with different entry count ${
      at(sg.elements[2].dmaAddress)
    } [map count=3] [unmap count=1]`,
  ]);
  assertEquals(g.debugReport().live, []);
  assertEquals(g.stats().slots_used, 0);
});

Deno.test("DmaDebug: sg count mismatch at sync_sg", () => {
  const { g, rx } = armGuest();
  const elems = [0, 4096].map((o) => ({ phys: rx.phys + o, length: 4096 }));
  const sg = g.mapSg("nic", elems, DMA_FROM_DEVICE);
  g.syncSg("nic", elems.slice(0, 1), DMA_FROM_DEVICE, "cpu");
  assertEquals(debugLines(g), [
    `nic 0000:00:01.0: DMA-API: device driver syncs DMA sg list with different entry count ${
      at(sg.elements[0].dmaAddress)
    } [map count=2] [sync count=1]`,
  ]);
  g.syncSg("nic", elems, DMA_FROM_DEVICE, "cpu");
  g.unmapSg("nic", elems, DMA_FROM_DEVICE);
  assertEquals(debugLines(g), []);
});

Deno.test("DmaDebug: sync of an unmapped range", () => {
  const { g, rx } = armGuest();
  const r = g.map("nic", rx.phys, 8192, DMA_FROM_DEVICE);
  g.mappingError("nic", r.bus);
  g.unmap("nic", r.bus, 8192, DMA_FROM_DEVICE);
  assertThrows(() => g.sync("nic", r.bus, 4096, DMA_FROM_DEVICE, "cpu"), LabError);
  assertEquals(debugLines(g), [
    `nic 0000:00:01.0: DMA-API: device driver tries to sync DMA memory it has not allocated ${
      at(r.bus)
    } [size=4096 bytes]`,
  ]);
});

Deno.test("DmaDebug: sync outside the allocated range, and a sync inside it", () => {
  const { g, rx } = armGuest();
  const r = g.map("nic", rx.phys, 8192, DMA_FROM_DEVICE);
  // Inside: from offset 4096, 4096 bytes — clean.
  g.sync("nic", n(r.bus) + 4096, 4096, DMA_FROM_DEVICE, "cpu");
  assertEquals(debugLines(g), []);
  // From offset 4096, 8192 bytes: ends at 12288 > 8192.
  assertThrows(() => g.sync("nic", n(r.bus) + 4096, 8192, DMA_FROM_DEVICE, "cpu"), LabError);
  assertEquals(debugLines(g), [
    `nic 0000:00:01.0: DMA-API: device driver syncs DMA memory outside allocated range ${
      at(r.bus)
    } [allocation size=8192 bytes] [sync offset+size=${4096 + 8192}]`,
  ]);
});

Deno.test("DmaDebug: sync with another direction; a BIDIRECTIONAL mapping takes any", () => {
  const { g, rx } = armGuest({ policy: "faithful" });
  const r = g.map("nic", rx.phys, 8192, DMA_TO_DEVICE);
  g.sync("nic", r.bus, 8192, DMA_FROM_DEVICE, "cpu");
  assertEquals(debugLines(g), [
    `nic 0000:00:01.0: DMA-API: device driver syncs DMA memory with different direction ${
      at(r.bus)
    } [size=8192 bytes] [mapped with DMA_TO_DEVICE] [synced with DMA_FROM_DEVICE]`,
  ]);
  const b = g.map("nic", rx.phys, 4096, DMA_BIDIRECTIONAL);
  g.sync("nic", b.bus, 4096, DMA_TO_DEVICE, "device");
  g.sync("nic", b.bus, 4096, DMA_FROM_DEVICE, "cpu");
  assertEquals(debugLines(g), []);
});

Deno.test("DmaDebug: map error never checked; dma_mapping_error marks one mapping, per arch", () => {
  const { g, rx } = armGuest();
  const r = g.map("nic", rx.phys, 8192, DMA_TO_DEVICE, true);
  assertEquals(g.debugReport().live[0].mapErrorChecked, false);
  g.unmap("nic", r.bus, 8192, DMA_TO_DEVICE, true);
  assertEquals(debugLines(g), [
    `nic 0000:00:01.0: DMA-API: device driver failed to check map error ${
      at(r.bus)
    } [size=8192 bytes] [mapped as page]`,
  ]);
  // arm's dma_mapping_error knows only all-ones (SPEC §7); x86 only 0.
  assertEquals(g.mappingError("nic", ALL_ONES), { error: true, marked: false });
  assertEquals(g.mappingError("nic", 0), { error: false, marked: false });
  const x86 = Guest.create({ preset: "pv-dom0", swiotlb: 512 });
  x86.addDevice({ name: "nic", maskBits: 32 });
  assertEquals(x86.mappingError("nic", 0), { error: true, marked: false });
  assertEquals(x86.mappingError("nic", ALL_ONES), { error: false, marked: false });
});

Deno.test("DmaDebug: an unchecked map error is shown once per device, then only counted", () => {
  const { g, rx } = armGuest();
  for (let i = 0; i < 3; i++) {
    const r = g.map("nic", rx.phys, 4096, DMA_TO_DEVICE);
    g.unmap("nic", r.bus, 4096, DMA_TO_DEVICE);
  }
  const lines = debugLines(g);
  assertEquals(lines.length, 1);
  assertStringIncludes(lines[0], "failed to check map error");
  assertEquals(g.debugReport().counts["map-error-unchecked"], 3);
});

Deno.test("DmaDebug: arm's 0 handle (bounce not capable) is recorded, since arm's check misses it", () => {
  const g = Guest.create({ ...ARM, policy: "faithful" });
  // A 12-bit device cannot reach segment 0's bounce bus address: 3.11 returns 0.
  g.addDevice({ name: "tiny", maskBits: 12 });
  const buf = g.allocBuffer("b", 4096);
  const r = g.map("tiny", buf.phys, 4096, DMA_TO_DEVICE);
  assertEquals(r.bus, 0);
  // The slots went back to the pool: the record holds none.
  assertEquals(g.debugReport().live.map((m) => [m.device, m.bus, m.slot]), [["tiny", 0, null]]);
  assertEquals(g.mappingError("tiny", 0), { error: false, marked: true });
  // x86's error code is not recorded at all (debug_dma_map_page returns early).
  const pv = Guest.create({ preset: "pv-dom0", swiotlb: 512, force: true });
  pv.addDevice({ name: "tiny", maskBits: 12 });
  const pb = pv.allocBuffer("b", 4096);
  const pr = pv.map("tiny", pb.phys, 4096, DMA_TO_DEVICE);
  assertEquals([pr.error, pr.bus], [true, 0]);
  assertEquals(pv.debugReport().live, []);
});

Deno.test("DmaDebug: leaked mappings at device removal, one line each", () => {
  const { g, rx } = armGuest();
  const a = g.map("nic", rx.phys, 8192, DMA_TO_DEVICE);
  const c = g.allocCoherent("nic", 4096);
  g.addDevice({ name: "disk", maskBits: 32 });
  g.map("disk", rx.phys, 4096, DMA_FROM_DEVICE);
  g.events.drain();
  const { leaks } = g.removeDevice("nic");
  const details = [
    `nic 0000:00:01.0: DMA-API: leaked DMA memory ${
      at(a.bus)
    } [size=8192 bytes] [mapped with DMA_TO_DEVICE] [mapped as single] made by 'dma_map_single(nic, ${
      formatHex(rx.phys)
    }, 8192, DMA_TO_DEVICE)'`,
    `nic 0000:00:01.0: DMA-API: leaked DMA memory ${
      at(c.bus)
    } [size=4096 bytes] [mapped with DMA_BIDIRECTIONAL] [mapped as coherent] made by 'dma_alloc_coherent(nic, 4096)'`,
  ];
  assertEquals(leaks, details);
  assertEquals(debugLines(g), [
    "nic 0000:00:01.0: DMA-API: device driver has pending DMA allocations while released from device [count=2]",
    ...details,
  ]);
  assertEquals(g.debugReport().live.map((m) => m.device), ["disk"]);
  assertEquals(g.debugReport().counts, counts({ leak: 1, "leaked-mapping": 2 }));
  assertEquals(g.removeDevice("disk").leaks.length, 1);
});

Deno.test("DmaDebug: after a faithful corruption a new map lands on a live mapping's slots", () => {
  // One 128-slot segment. A takes slots 0-3, a 248 KiB filler the rest (124 slots at even
  // index 4), so the hint wraps to 0. Unmapping from A's third slot (not a mapping's start)
  // frees slots 2-3 in faithful; the next 4 KiB map finds them first (SPEC §3 next fit).
  const g = Guest.create({ ...ARM, swiotlb: 128, policy: "faithful" });
  g.addDevice({ name: "nic", maskBits: 32 });
  const a = g.allocBuffer("a", 8192);
  const big = g.allocBuffer("big", 248 * 1024);
  const c = g.allocBuffer("c", 4096);
  const ra = g.map("nic", a.phys, 8192, DMA_TO_DEVICE);
  const rf = g.map("nic", big.phys, 248 * 1024, DMA_TO_DEVICE);
  assertEquals([ra.slot, rf.slot, g.core?.hint], [0, 4, 0]);
  g.events.drain();
  g.unmap("nic", n(ra.bus) + 4096, 4096, DMA_TO_DEVICE);
  assertEquals(debugLines(g), [
    `nic 0000:00:01.0: DMA-API: device driver tries to free DMA memory it has not allocated ${
      at(n(ra.bus) + 4096)
    } [size=4096 bytes]`,
  ]);
  const rc = g.map("nic", c.phys, 4096, DMA_TO_DEVICE);
  assertEquals(rc.slot, 2);
  const first = Math.max(ra.slot ?? 0, rc.slot ?? 0);
  const last = Math.min((ra.slot ?? 0) + slotsFor(8192), (rc.slot ?? 0) + slotsFor(4096)) - 1;
  assertEquals(debugLines(g), [
    `nic 0000:00:01.0: DMA-API: bounce slots ${first}-${last} of this mapping overlap live mapping of nic ${
      at(ra.bus)
    } [size=8192 bytes] [slots 0-3] made by 'dma_map_single(nic, ${
      formatHex(a.phys)
    }, 8192, DMA_TO_DEVICE)'`,
  ]);
  assertEquals(g.debugReport().counts["slot-overlap"], 1);
});

Deno.test("DmaDebug: a handle the device's IOMMU does not map is reported at map time", () => {
  const g = Guest.create({ preset: "arm-dom0-smmu", swiotlb: 512 });
  g.addDevice({ name: "nic", maskBits: 64 });
  const buf = g.allocBuffer("rx", 4096);
  g.map("nic", buf.phys, 4096, DMA_TO_DEVICE);
  assertEquals(debugLines(g), [], "bus = guest-physical inside the guest: the SMMU maps it");
  // Direct DMA takes any address under the mask as bus = phys: one past the guest's memory.
  const outside = g.domain.physEnd;
  const r = g.map("nic", outside, 4096, DMA_TO_DEVICE);
  assertEquals([r.bounced, r.bus], [false, outside]);
  const t = translateDeviceAccess(g.domain, outside, 4096);
  const fault = "fault" in t ? renderParts(t.fault) : "";
  assert(fault.startsWith("IOMMU fault:"), fault);
  assertEquals(debugLines(g), [
    `nic 0000:00:01.0: DMA-API: device would fault on this mapping ${
      at(outside)
    } [size=4096 bytes]: ${fault}`,
  ]);
  assertEquals(g.debugReport().counts, counts({ "iommu-fault": 1 }));
});

Deno.test("DmaDebug: off — no reports, no records, no leaks; switching forgets the live set", () => {
  const { g, rx } = armGuest({ debug: false, policy: "faithful" });
  assertEquals(g.debugEnabled, false);
  const r = g.map("nic", rx.phys, 8192, DMA_TO_DEVICE);
  g.sync("nic", r.bus, 8192, DMA_FROM_DEVICE, "cpu");
  assertEquals(g.mappingError("nic", r.bus), { error: false, marked: false });
  g.map("nic", rx.phys, 4096, DMA_TO_DEVICE);
  assertEquals(g.removeDevice("nic").leaks, []);
  assertEquals(debugLines(g), []);
  assertEquals(g.events.counts.debug, 0);
  assertEquals(g.debugReport(), {
    enabled: false,
    live: [],
    released: [],
    reports: [],
    counts: counts({}),
    dropped: 0,
    entries: { total: 4096, free: 4096, minFree: 4096 },
    outOfMemory: false,
    seenAll: false,
  });

  const on = armGuest();
  const m = on.g.map("nic", on.rx.phys, 8192, DMA_TO_DEVICE);
  on.g.setDebug(false);
  assertEquals(on.g.debugReport().live, []);
  on.g.setDebug(true);
  assertEquals(on.g.debugReport().seenAll, false, "it missed what was mapped meanwhile");
  // Made before the layer came back: it has no record of it.
  on.g.unmap("nic", m.bus, 8192, DMA_TO_DEVICE);
  assertEquals(debugLines(on.g).length, 1);
  assertEquals(on.g.debugReport().counts["free-unmapped"], 1);
});

// ---- the REPL ------------------------------------------------------------------------

const SETUP = [
  "guest new --preset arm-dom0 --swiotlb 1M",
  "device add nic --mask 32",
  "buf alloc rx 8K",
];

function repl(json: boolean, ...lines: string[]): Session {
  const s = new Session({ json, color: false, cwd: "/lab" });
  for (const l of [...SETUP, ...lines]) {
    const r = runLine(s, l);
    assert(r.ok || l.startsWith("unmap"), `${l}: ${r.error}`);
  }
  return s;
}

Deno.test("REPL debug: --json lists live mappings with their line, the reports and the counts", () => {
  const s = repl(true, "map nic rx 8K to  # tx ring", "unmap nic $bus 4K to");
  const bus = s.vars.get("bus") as number;
  const r = runLine(s, "debug");
  assert(r.ok);
  const j = JSON.parse(r.output[0]);
  assertEquals(Object.keys(j), [
    "enabled",
    "live",
    "reports",
    "counts",
    "entries",
    "out_of_memory",
  ]);
  assertEquals([j.entries, j.out_of_memory], [{ total: 4096, free: 4095, min_free: 4095 }, false]);
  assertEquals(j.enabled, true);
  assertEquals(j.live, [{
    id: 1,
    device: "nic",
    type: "single",
    phys: s.guest?.buffer("rx").phys,
    bus,
    size: 8192,
    dir: "to",
    sg_count: 0,
    map_error_checked: false,
    slot: 0,
    nslots: 4,
    call: `dma_map_single(nic, ${formatHex(s.guest?.buffer("rx").phys ?? 0)}, 8192, DMA_TO_DEVICE)`,
  }]);
  assertEquals(j.reports.map((x: { kind: string; call: string }) => [x.kind, x.call]), [
    ["free-size", "dma_unmap_single(nic, 0x100000, 4096, DMA_TO_DEVICE)"],
    ["map-error-unchecked", "dma_unmap_single(nic, 0x100000, 4096, DMA_TO_DEVICE)"],
  ]);
  assertEquals(j.counts, counts({ "free-size": 1, "map-error-unchecked": 1 }));
});

Deno.test("REPL debug: text view, the refused unmap's DMA-API line, map-error, debug off", () => {
  const s = repl(false, "map nic rx 8K to");
  const bus = formatHex(s.vars.get("bus") as number);
  const u = runLine(s, "unmap nic $bus 4K to");
  assertEquals(u.output.slice(0, 2), [
    `error: bus ${bus}: unmap of slot 0 (0x180100000) with 4096 bytes, but it was mapped with 8192 bytes`,
    `  nic 0000:00:01.0: DMA-API: device driver frees DMA memory with different size ${
      at(Number(bus))
    } [map size=8192 bytes] [unmap size=4096 bytes]`,
  ]);
  assertEquals(
    u.output[u.output.length - 1],
    "  nothing changed (policy checked; use --policy faithful to see what Linux would do)",
  );
  const me = runLine(s, "map-error nic $bus");
  assertEquals(me.json, { mapping_error: false, marked: true });
  assertEquals(me.output, [
    `dma_mapping_error(nic, ${bus}) = false (arm compares with all-ones); the debug layer notes the handle as checked`,
  ]);
  const d = runLine(s, "debug").output;
  assertEquals(d, [
    "DMA-API debug on: 1 live mapping, 2 reports",
    "live mappings (oldest first):",
    `  #1 nic single: bus ${bus} +8 KiB, phys 0x180200000, DMA_TO_DEVICE, slots 0-3, map error checked — 'dma_map_single(nic, 0x180200000, 8192, DMA_TO_DEVICE)'`,
    "reports (oldest first):",
    `  nic 0000:00:01.0: DMA-API: device driver frees DMA memory with different size ${
      at(Number(bus))
    } [map size=8192 bytes] [unmap size=4096 bytes]`,
    `  nic 0000:00:01.0: DMA-API: device driver failed to check map error ${
      at(Number(bus))
    } [size=4096 bytes] [mapped as single]`,
    "counts: free-size 1, map-error-unchecked 1",
  ]);
  assertEquals(runLine(s, "debug off").output, [
    "DMA-API debug off for this guest and the next ones",
  ]);
  assertEquals(s.guest?.debugEnabled, false);
  const quiet = runLine(s, "unmap nic $bus 4K to");
  assert(!quiet.output.some((l) => l.includes("DMA-API")), quiet.output.join("\n"));
  // The session default carries over to the next guest; --debug overrides it.
  runLine(s, SETUP[0]);
  assertEquals(s.guest?.debugEnabled, false);
  runLine(s, SETUP[0] + " --debug");
  assertEquals(s.guest?.debugEnabled, true);
});

Deno.test("REPL: guest new --no-debug, and device remove prints the leak reports once", () => {
  const off = new Session({ json: true, color: false, cwd: "/lab" });
  runLine(off, SETUP[0] + " --no-debug");
  assertEquals(off.guest?.debugEnabled, false);
  assertEquals(JSON.parse(runLine(off, "debug").output[0]).enabled, false);

  const s = repl(false, "map nic rx 8K to");
  const bus = formatHex(s.vars.get("bus") as number);
  const out = runLine(s, "device remove nic").output;
  assertEquals(out, [
    "device nic removed with 1 live mapping(s): the driver leaked them",
    "  nic 0000:00:01.0: DMA-API: device driver has pending DMA allocations while released from device [count=1]",
    `  nic 0000:00:01.0: DMA-API: leaked DMA memory ${
      at(Number(bus))
    } [size=8192 bytes] [mapped with DMA_TO_DEVICE] [mapped as single] made by 'dma_map_single(nic, 0x180200000, 8192, DMA_TO_DEVICE)'`,
  ]);
});

Deno.test("REPL debug: reports counted but not printed are said to be, so the summary and the list agree", () => {
  const s = new Session({ color: false });
  for (const l of ["guest new --preset arm-dom0", "device add nic --mask 32", "buf alloc rx 8K"]) {
    runLine(s, l);
  }
  for (let i = 0; i < 3; i++) {
    runLine(s, "map nic rx 8K to");
    runLine(s, "unmap nic $bus 8K to");
  }
  const out = runLine(s, "debug").output;
  assertEquals(out[0], "DMA-API debug on: 0 live mappings, 3 reports");
  assertEquals(out.filter((l) => l.includes("DMA-API: device driver")).length, 1);
  assertEquals(
    out.at(-1)?.startsWith("  (2 counted but not printed: 'failed to check map error'"),
    true,
  );
});
