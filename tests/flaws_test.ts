/**
 * The kernel's flaws, reproducible on demand (SPEC §3, §5, §6, §7): each is run under
 * `--policy faithful`, where the lab does what Linux 3.11 + the RFC would and records
 * the undefined behaviour, and under `checked`, where the same call is refused (or
 * flagged) and nothing changes. Every expected counter below is worked out by hand from
 * the rules of SPEC §3; examples/flaw-*.txt show the same runs at the REPL.
 */

import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  ALL_ONES,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
  dmaMappingError,
  Guest,
  type GuestInput,
  IO_TLB_SIZE,
  LabError,
  type Policy,
} from "../mod.ts";
import { runLine, Session } from "../lib/repl/mod.ts";
import { n } from "./_addr.ts";

const POLICIES: Policy[] = ["faithful", "checked"];

function guest(input: GuestInput, maskBits = 32): Guest {
  const g = Guest.create(input);
  g.addDevice({ name: "nic", maskBits });
  return g;
}

/** The undefined-behaviour messages recorded since the last call (other events dropped). */
function ubs(g: Guest): string[] {
  return g.events.drain().filter((e) => e.kind === "ub").map((e) => e.message);
}

/** Everything a refused call must leave as it was. */
function snapshot(g: Guest) {
  const core = g.core!;
  return {
    list: Array.from(core.freeRun),
    orig: Array.from(core.origAddr),
    hint: core.hint,
    live: core.liveMappings(),
    core: { ...core.stats },
    stats: g.stats(),
    tree: g.tree()?.preorder.map((r) =>
      `${r.dmaAddr}:${r.physAddr}:${r.size}:${r.color}:${r.path}`
    ),
  };
}

function assertRefused(fn: () => unknown, text: string): void {
  const e = assertThrows(fn, LabError);
  assertEquals(e.kind, "refused", e.message);
  assertStringIncludes(e.message, text);
}

/** Boot counters of slots [from, to): 128, 127, …, 1 per segment (SPEC §3). */
function boot(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, k) => 128 - ((from + k) % 128));
}

function fill(n: number, byte: number): Uint8Array {
  return new Uint8Array(n).fill(byte);
}

// ---- 1. double unmap ------------------------------------------------------------------

/**
 * A 128-slot pool: A (8 KiB) at slots 0-3, pad (248 KiB) at 4-127 so the hint wraps to 0,
 * A unmapped, B (4 KiB) reusing slots 0-1 with its bytes (0xb0) bounced in.
 */
function doubleUnmapSetup(policy: Policy) {
  const g = guest({ preset: "arm-dom0", swiotlb: 128, policy });
  const core = g.core!;
  const bus0 = g.segments().rows[0].dmaAddr;
  const a = g.allocBuffer("a", 8192);
  const pad = g.allocBuffer("pad", 248 * 1024);
  const b = g.allocBuffer("b", 4096);
  const c = g.allocBuffer("c", 8192);
  g.writeBuffer("b", 0, fill(4096, 0xb0));
  assertEquals(g.map("nic", a.phys, 8192, DMA_TO_DEVICE).slot, 0);
  assertEquals(g.map("nic", pad.phys, 248 * 1024, DMA_TO_DEVICE).slot, 4);
  assertEquals(core.hint, 0, "4 + 124 = 128 slots: the hint wraps to 0");
  g.unmap("nic", bus0, 8192, DMA_TO_DEVICE);
  // count = list[4] = 0 (pad), so list[3..0] = 1, 2, 3, 4.
  assertEquals(Array.from(core.freeRun.subarray(0, 5)), [4, 3, 2, 1, 0]);
  const mb = g.map("nic", b.phys, 4096, DMA_TO_DEVICE);
  // 4096 is not > 4096: stride 1, index 0, list[0] = 4 >= 2.
  assertEquals([mb.slot, mb.bus, core.hint], [0, bus0, 2]);
  assertEquals(Array.from(core.freeRun.subarray(0, 5)), [0, 0, 2, 1, 0]);
  assertEquals(core.stats.slotsUsed, 126);
  ubs(g);
  return { g, core, bus0, c };
}

Deno.test("flaw 1 (faithful): a double unmap frees B's slots, C is mapped over B, the device's writes to C destroy B's bytes", () => {
  const { g, core, bus0, c } = doubleUnmapSetup("faithful");
  const pool = core.start;
  // The stale second unmap of A (8 KiB at slot 0): count = list[4] = 0, list[3..0] = 1..4.
  g.unmap("nic", bus0, 8192, DMA_TO_DEVICE);
  const expected = [4, 3, 2, 1, ...new Array(124).fill(0)];
  assertEquals(Array.from(core.freeRun), expected);
  // Only B's two slots held 0 among 0-3: 126 - 2 = 124 "in use", though 126 are.
  assertEquals(core.stats.slotsUsed, 124);
  assertEquals(core.hint, 2, "unmap never touches the hint");
  const ub = ubs(g);
  assertEquals(ub.length, 1);
  assertStringIncludes(
    ub[0],
    `swiotlb_tbl_unmap_single(0x${pool.toString(16)}, 8192, DMA_TO_DEVICE)`,
  );
  assertStringIncludes(ub[0], "but it was mapped with 4096 bytes");

  // C (8 KiB: 4 slots, stride 2) from hint 2: list[2] = 2 < 4, slots 4..126 are pad's (0),
  // wrap to 0: list[0] = 4 >= 4 → slots 0-3, over live B.
  const mc = g.map("nic", c.phys, 8192, DMA_FROM_DEVICE);
  assertEquals([mc.slot, mc.bus, mc.error], [0, bus0, false]);
  assertEquals(Array.from(core.freeRun), new Array(128).fill(0));
  assertEquals(core.stats.slotsUsed, 128);
  assertEquals(core.hint, 4);

  // The device fills C's slots 1-2 (bus +0x800, 4 KiB) with 0xc1. B's bounce data — what
  // the device will send for B — loses bytes 0x800-0xfff; 0x0-0x7ff survive.
  g.dmaWrite("nic", n(mc.bus) + 0x800, fill(4096, 0xc1));
  const sent = g.dmaRead("nic", bus0, 4096).bytes;
  assertEquals(sent.subarray(0, 0x800), fill(0x800, 0xb0));
  assertEquals(sent.subarray(0x800), fill(0x800, 0xc1));
  assertEquals(g.readPhys(pool, 4096), sent, "the bytes the device reads are B's bounce slots");
  assertEquals(g.stats().ub_events, 1);
});

Deno.test("flaw 1 (checked): the double unmap is refused and nothing changes; C finds no room", () => {
  const { g, core, bus0, c } = doubleUnmapSetup("checked");
  const before = snapshot(g);
  assertRefused(
    () => g.unmap("nic", bus0, 8192, DMA_TO_DEVICE),
    "but it was mapped with 4096 bytes",
  );
  assertEquals(snapshot(g), before);
  assertEquals(ubs(g), []);
  // Really full: slots 2-3 are a run of 2, C needs 4.
  const mc = g.map("nic", c.phys, 8192, DMA_FROM_DEVICE);
  assert(mc.error);
  assertEquals(mc.failure?.code, "swiotlb-full");
  assertEquals(Array.from(core.freeRun), before.list);
  assertEquals(g.dmaRead("nic", bus0, 4096).bytes, fill(4096, 0xb0));
});

// ---- 2. unmap with a smaller size ----------------------------------------------------

Deno.test("flaw 2 (faithful): unmapping 4 KiB of an 8 KiB mapping leaks slots 2-3 for good", () => {
  const g = guest({ preset: "arm-dom0", swiotlb: 128, policy: "faithful" });
  const core = g.core!;
  const rx = g.allocBuffer("rx", 8192);
  const big = g.allocBuffer("big", 256 * 1024);
  const m = g.map("nic", rx.phys, 8192, DMA_TO_DEVICE);
  assertEquals(m.slot, 0);
  g.unmap("nic", m.bus, 4096, DMA_TO_DEVICE);
  // nslots 2: count = list[2] = 0, list[1] = 1, list[0] = 2; slots 2-3 keep 0.
  assertEquals(Array.from(core.freeRun), [2, 1, 0, 0, ...boot(4, 128)]);
  assertEquals(core.stats.slotsUsed, 2);
  assertEquals(core.liveMappings(), [], "no mapping starts at slot 2: nobody owns it");
  const ub = ubs(g);
  assertEquals(ub.length, 1);
  assertStringIncludes(ub[0], "mapped with 8192 bytes");

  // Life goes on around them: the next 8 KiB map starts at the hint (4) and comes back.
  const m2 = g.map("nic", rx.phys, 8192, DMA_TO_DEVICE);
  assertEquals(m2.slot, 4);
  g.unmap("nic", m2.bus, 8192, DMA_TO_DEVICE);
  // count = list[8] = 120 → list[7..4] = 121..124; the left walk stops at list[3] = 0.
  assertEquals(Array.from(core.freeRun), [2, 1, 0, 0, ...boot(4, 128)]);
  // ... but no run of 128 slots exists any more: the largest mapping fails.
  const whole = g.map("nic", big.phys, 256 * 1024, DMA_TO_DEVICE);
  assert(whole.error);
  assertEquals(whole.failure?.code, "swiotlb-full");
  const st = g.stats();
  assertEquals([st.slots_used, st.failed_maps, st.ub_events], [2, 1, 1]);
});

Deno.test("flaw 2 (checked): the short unmap is refused; the right one frees all four slots", () => {
  const g = guest({ preset: "arm-dom0", swiotlb: 128, policy: "checked" });
  const core = g.core!;
  const rx = g.allocBuffer("rx", 8192);
  const big = g.allocBuffer("big", 256 * 1024);
  const m = g.map("nic", rx.phys, 8192, DMA_TO_DEVICE);
  const before = snapshot(g);
  assertRefused(() => g.unmap("nic", m.bus, 4096, DMA_TO_DEVICE), "mapped with 8192 bytes");
  assertEquals(snapshot(g), before);
  g.unmap("nic", m.bus, 8192, DMA_TO_DEVICE);
  assertEquals(Array.from(core.freeRun), boot(0, 128));
  assertEquals(g.map("nic", big.phys, 256 * 1024, DMA_TO_DEVICE).slot, 0);
  assertEquals(g.stats().ub_events, 0);
});

// ---- 3. an unknown bus address under autotranslate -----------------------------------

Deno.test("flaw 3 (faithful): unmap / sync of a bus address no tree node holds index outside the pool", () => {
  const g = guest({ preset: "arm-dom0", swiotlb: 512, policy: "faithful" });
  const core = g.core!;
  const bus = 0x40000000;
  assertEquals(g.lookupBus(bus).found, false);
  assertEquals(g.swiotlbXen!.busToPhys(bus), ALL_ONES, "arm's DMA error code comes back as phys");
  assertEquals(g.unmap("nic", bus, 4096, DMA_TO_DEVICE).copied, 0);
  const ub = ubs(g);
  assertEquals(ub.length, 3);
  assertStringIncludes(ub[0], "bus 0x40000000 is in no tree node");
  assertStringIncludes(ub[1], "0xffffffffffffffff is outside the swiotlb pool");
  // The index lies in a segment of its own: read list[index+2], write list[index+1] and
  // list[index]; the left walk starts at a segment's last slot and stops at once.
  assertStringIncludes(ub[2], "3 access(es) to io_tlb_list[");
  assertStringIncludes(ub[2], "outside the 512-slot pool");
  // The pool itself is untouched.
  assertEquals(Array.from(core.freeRun), boot(0, 512));
  assertEquals([core.stats.slotsUsed, core.stats.unmaps], [0, 1]);

  assertEquals(g.sync("nic", bus, 4096, DMA_FROM_DEVICE, "cpu").copied, 0);
  const ub2 = ubs(g);
  assertEquals(ub2.length, 2);
  assertStringIncludes(ub2[0], "sync: bus 0x40000000 is in no tree node");
  assertStringIncludes(ub2[1], "is outside the swiotlb pool");
  assertEquals(g.stats().ub_events, 5);
});

Deno.test("flaw 3 (checked): unmap and sync of an unknown bus address are refused before the core", () => {
  const g = guest({ preset: "arm-dom0", swiotlb: 512, policy: "checked" });
  const before = snapshot(g);
  assertRefused(() => g.unmap("nic", 0x40000000, 4096, DMA_TO_DEVICE), "is in no tree node");
  assertRefused(
    () => g.sync("nic", 0x40000000, 4096, DMA_FROM_DEVICE, "cpu"),
    "the core would index outside the pool",
  );
  assertEquals(snapshot(g), before);
  assertEquals(ubs(g), []);
});

// ---- 4. an overlapping interval in the tree ----------------------------------------------

Deno.test("flaw 4 (faithful): the tree takes an overlapping node, --validate names it, lookups answer wrongly", () => {
  const g = guest({ preset: "arm-dom0", swiotlb: 512, policy: "faithful" });
  const x = g.swiotlbXen!;
  const seg = g.segments().rows;
  assertEquals(seg.map((s) => s.dmaAddr), [0x100000, 0x140000, 0x180000, 0x1c0000]);
  // Before: root 0x140000 (B), l 0x100000 (B), r 0x180000 (B), r/r 0x1c0000 (R).
  assertEquals(g.lookupBus(0x1b8000).phys, seg[2].physAddr + 0x38000);

  const r = x.insertEntry(0x1b0000, 0x1a0000000, 0x40000);
  assert(r.ok);
  assertEquals(r.overlaps.map((e) => e.index), [2, 3]);
  // It descends root → r (0x180000) → r (0x1c0000) → l: red under red, uncle nil, so a
  // right rotation at 0x1c0000 and a left one at 0x180000 lift it to root/r, black.
  assertEquals(r.path, "root/r");
  assertEquals(
    g.tree()!.preorder.map((n) => [n.dmaAddr, n.color, n.path, n.kind]),
    [
      [0x140000, "black", "root", "segment"],
      [0x100000, "black", "root/l", "segment"],
      [0x1b0000, "black", "root/r", "manual"],
      [0x180000, "red", "root/r/l", "segment"],
      [0x1c0000, "red", "root/r/r", "segment"],
    ],
  );
  const ub = ubs(g);
  assertEquals(ub.length, 1);
  assertStringIncludes(ub[0], "overlaps segment 2 [0x180000, 0x1c0000) and segment 3");
  const problems = g.tree()!.problems;
  assertEquals(problems.length, 2);
  assert(problems.every((p) => p.rule === "overlap"), problems.map((p) => p.message).join("\n"));
  assertStringIncludes(problems[0].message, "dma=0x180000");
  assertStringIncludes(problems[1].message, "dma=0x1c0000");

  // Segment 2's tail and segment 3's head now translate through the new node.
  const tail = g.lookupBus(0x1b8000);
  assertEquals([tail.phys, tail.segment], [0x1a0008000, null]);
  assertEquals(tail.visited.map((v) => [v.dmaAddr, v.cmp]), [[0x140000, "right"], [
    0x1b0000,
    "hit",
  ]]);
  assertEquals(g.lookupBus(0x1c0000).phys, 0x1a0010000);
  // Below the node's start the walk goes left, to segment 2: right.
  const head = g.lookupBus(0x1a0000);
  assertEquals([head.phys, head.segment], [seg[2].physAddr + 0x20000, 2]);

  // The wrong answer at work: a bounce buffer at bus 0x1b8000 (slot 368) cannot be unmapped.
  const b = g.allocBuffer("b", 256 * 1024);
  g.map("nic", b.phys, 256 * 1024, DMA_TO_DEVICE);
  g.map("nic", b.phys, 256 * 1024, DMA_TO_DEVICE);
  g.map("nic", b.phys, 224 * 1024, DMA_TO_DEVICE);
  const m = g.map("nic", b.phys, 4096, DMA_TO_DEVICE);
  assertEquals([m.slot, m.bus], [368, 0x1b8000]);
  ubs(g);
  g.unmap("nic", m.bus, 4096, DMA_TO_DEVICE);
  assertStringIncludes(ubs(g)[0], "maps to phys 0x1a0008000, outside the swiotlb pool");
  assertEquals(Array.from(g.core!.freeRun.subarray(368, 370)), [0, 0], "its slots stay in use");

  // The insert's own check: an equal dma_addr met on the way down (the root) is refused.
  const eq = x.insertEntry(0x140000, 0x1b0000000, 4096);
  assertEquals(eq.ok, false);
  assertStringIncludes(eq.warning!, "already exists");
  assertEquals(g.tree()!.preorder.length, 5);
});

Deno.test("flaw 4 (checked): the overlapping insert is refused and the tree is unchanged", () => {
  const g = guest({ preset: "arm-dom0", swiotlb: 512, policy: "checked" });
  const x = g.swiotlbXen!;
  const before = snapshot(g);
  assertRefused(() => x.insertEntry(0x1b0000, 0x1a0000000, 0x40000), "overlaps segment 2");
  assertEquals(snapshot(g), before);
  assertEquals(g.tree()!.problems, []);
  assertEquals(g.lookupBus(0x1b8000).segment, 2);
  // An interval that overlaps nothing goes in under both policies: red under red
  // 0x1c0000 with no uncle, so a left rotation at 0x180000 makes 0x1c0000 root/r.
  const r = x.insertEntry(0x300000, 0x1a0000000, 4096);
  assert(r.ok);
  assertEquals([r.path, r.overlaps.length, x.tree.size], ["root/r/r", 0, 5]);
  assertEquals(
    g.tree()!.preorder.map((n) => [n.dmaAddr, n.color, n.path]),
    [
      [0x140000, "black", "root"],
      [0x100000, "black", "root/l"],
      [0x1c0000, "black", "root/r"],
      [0x180000, "red", "root/r/l"],
      [0x300000, "red", "root/r/r"],
    ],
  );
  assertEquals(g.tree()!.problems, []);
});

// ---- 5. a short last segment ---------------------------------------------------------

/** swiotlb=2432 (19 segments); 15 failed exchanges sink attempt 1; attempt 2 has 1216 slots. */
function shortSegmentSetup(policy: Policy) {
  const g = guest({ preset: "arm-dom0", swiotlb: 2432, policy, faults: { failNext: 15 } });
  const core = g.core!;
  assert(g.init.ok);
  assert(g.init.log.some((l) => l.includes("Lowering to 2MB")), g.init.log.join("\n"));
  assertEquals(g.init.nslabs, 1216);
  const seg = g.segments().rows;
  assertEquals(seg.map((s) => s.size / IO_TLB_SIZE), [...new Array(9).fill(128), 64]);
  // The short segment's counters start at 128 like any other.
  assertEquals(Array.from(core.freeRun.subarray(1152)), boot(1152, 1216));
  const victim = g.allocBuffer("victim", 128 * 1024);
  assertEquals(victim.phys, core.end, "the first buffer after init sits right behind the pool");
  g.writeBuffer("victim", 0, fill(128 * 1024, 0x77));
  const big = g.allocBuffer("big", 256 * 1024);
  g.writeBuffer("big", 0, fill(128 * 1024, 0x11));
  g.writeBuffer("big", 128 * 1024, fill(128 * 1024, 0x22));
  for (let j = 0; j < 9; j++) {
    assertEquals(g.map("nic", big.phys, 256 * 1024, DMA_TO_DEVICE).slot, j * 128);
  }
  assertEquals(core.hint, 1152);
  ubs(g);
  return { g, core, big };
}

Deno.test("flaw 5 (faithful): a 256 KiB map in the 64-slot last segment runs 128 KiB past the pool", () => {
  const { g, core, big } = shortSegmentSetup("faithful");
  const m = g.map("nic", big.phys, 256 * 1024, DMA_TO_DEVICE);
  assertEquals([m.slot, m.segment, m.error], [1152, 9, false]);
  const ub = ubs(g);
  assertEquals(ub.length, 1);
  assertStringIncludes(ub[0], "at slot 1152 runs 64 slot(s) past the end of the 1216-slot pool");
  // The bounce copy's second half (big's 0x22 half) landed on all of victim.
  assertEquals(g.readBuffer("victim", 0, 128 * 1024), fill(128 * 1024, 0x22));
  // The 64 slots past the end are no slots: slots_used counts what the free list gave.
  assertEquals(core.stats.slotsUsed, 1216);
  assertEquals(Array.from(core.freeRun), new Array(1216).fill(0));
  assertEquals(core.hint, 0, "1152 + 128 >= 1216: the hint wraps");
  assertEquals(g.segments().rows[9].slotsInUse, 64);
});

Deno.test("flaw 5 (checked): the overrunning map is refused; what segment 9 really holds still fits", () => {
  const { g, core, big } = shortSegmentSetup("checked");
  const before = snapshot(g);
  assertRefused(
    () => g.map("nic", big.phys, 256 * 1024, DMA_TO_DEVICE),
    "runs 64 slot(s) past the end of the 1216-slot pool",
  );
  assertEquals(snapshot(g), before);
  assertEquals(g.readBuffer("victim", 0, 128 * 1024), fill(128 * 1024, 0x77));
  const m = g.map("nic", big.phys, 128 * 1024, DMA_TO_DEVICE);
  assertEquals([m.slot, core.hint], [1152, 0]);
  assertEquals(g.stats().ub_events, 0);
});

// ---- 6. PV free_coherent leaks exchanged memory --------------------------------------

for (const policy of POLICIES) {
  Deno.test(`flaw 6 (${policy}): PV free_coherent ${policy === "faithful" ? "leaks" : "returns"} the exchanged low memory`, () => {
    const g = guest({ preset: "pv-dom0", swiotlb: 512, policy });
    const machine = g.xen.machine;
    const low = machine.freeFrames(32);
    const c = g.allocCoherent("nic", 16384);
    assert(c.exchanged);
    const mfn = n(c.bus) / 4096;
    assertEquals(machine.owner(mfn), g.domain.domid);
    // An order-2 extent under 2^32 went to dom0; the frames it gave back lie above 4 GiB.
    assertEquals(machine.freeFrames(32), low - 4);
    ubs(g);
    const f = g.freeCoherent("nic", c.bus, 16384);
    if (policy === "faithful") {
      assert(f.leaked);
      assertEquals(machine.freeFrames(32), low - 4, "Xen never gets the low frames back");
      assertEquals(machine.owner(mfn), g.domain.domid);
      const ub = ubs(g);
      assertEquals(ub.length, 1);
      assertStringIncludes(ub[0], "16384 bytes of low machine memory leak");
      assertEquals(g.stats().leaked_coherent_bytes, 16384);
    } else {
      assertEquals(f.leaked, false);
      assertEquals(machine.freeFrames(32), low);
      assertEquals(ubs(g), []);
      assertEquals(g.stats().leaked_coherent_bytes, 0);
    }
    // Seven more rounds: the guest's allocator hands the freed pages back each time.
    // Under faithful they are still on the leaked low frames (no exchange, no new leak);
    // under checked they were given back and are exchanged again, then destroyed again.
    for (let i = 0; i < 7; i++) {
      const again = g.allocCoherent("nic", 16384);
      assertEquals(again.phys, c.phys, "the freed pages are reused");
      assertEquals(again.exchanged, policy === "checked");
      g.freeCoherent("nic", again.bus, 16384);
    }
    const lost = policy === "faithful" ? 4 : 0;
    assertEquals(machine.freeFrames(32), low - lost);
    assertEquals(g.stats().leaked_coherent_bytes, lost * 4096);
  });
}

// ---- 7. arm's dma_mapping_error misses the "not capable" 0 ---------------------------------

Deno.test("flaw 7 (faithful): arm gets bus 0 that dma_mapping_error passes; the device then DMAs to Xen's frame", () => {
  const g = guest({ preset: "arm-dom0", swiotlb: 512, policy: "faithful" }, 20);
  const core = g.core!;
  const rx = g.allocBuffer("rx", 4096);
  // The pool's first bounce bus address, 0x100000, is beyond a 20-bit mask (0xfffff).
  assertEquals(g.segments().rows[0].dmaAddr, 0x100000);
  const m = g.map("nic", rx.phys, 4096, DMA_TO_DEVICE);
  assertEquals([m.bus, m.error, m.slot], [0, false, 0]);
  assertEquals(dmaMappingError("arm", m.bus), false);
  const ub = ubs(g);
  assertEquals(ub.length, 1);
  assertStringIncludes(ub[0], "returns 0, which arm's dma_mapping_error does not recognise");
  // The slots were given back (map, then unmap): counters as at boot, the hint moved on.
  assertEquals(Array.from(core.freeRun), boot(0, 512));
  assertEquals([core.stats.slotsUsed, core.hint], [0, 2]);
  assertEquals(g.stats().map_errors, 0);
  const w = g.dmaWrite("nic", m.bus, fill(4, 0xee));
  const stray = w.pieces.filter((p) => p.stray);
  assertEquals(stray.length, 1);
  assertEquals(stray[0].owner.kind, "xen");
});

Deno.test("flaw 7 (checked): the same map is a flagged error with arm's own error code", () => {
  const g = guest({ preset: "arm-dom0", swiotlb: 512, policy: "checked" }, 20);
  const core = g.core!;
  const rx = g.allocBuffer("rx", 4096);
  const m = g.map("nic", rx.phys, 4096, DMA_TO_DEVICE);
  assert(m.error);
  assertEquals(m.bus, ALL_ONES);
  assertEquals(dmaMappingError("arm", m.bus), true);
  // 3.11 unmaps it and returns 0, which arm misses: checked hands out arm's error code.
  const f = m.failure;
  if (f?.code !== "bounce-not-capable" || !m.released) {
    throw new Error("expected the not-capable path");
  }
  assertEquals([f.caught, f.handedOut], [false, ALL_ONES]);
  assertEquals(Array.from(core.freeRun), boot(0, 512));
  assertEquals(g.stats().slots_used, 0);
  assertEquals(g.stats().map_errors, 1);
  assertEquals(ubs(g), []);
});

for (const policy of POLICIES) {
  Deno.test(`flaw 7 (x86, ${policy}): the same 0 is x86's error code and is caught`, () => {
    const g = guest({ preset: "pv-dom0", swiotlb: 512, policy }, 20);
    const rx = g.allocBuffer("rx", 4096);
    const m = g.map("nic", rx.phys, 4096, DMA_TO_DEVICE);
    assert(m.error);
    assertEquals(m.bus, 0);
    assertEquals(dmaMappingError("x86", m.bus), true);
    // 3.11 returns 0, which is x86's own error code: caught.
    const f = m.failure;
    if (f?.code !== "bounce-not-capable") throw new Error("expected the not-capable path");
    assertEquals([f.caught, f.handedOut], [true, 0]);
    assertEquals(ubs(g), []);
  });
}

// ---- the REPL's `tree insert` ---------------------------------------------------------

Deno.test("tree insert at the REPL: JSON fields, the RFC's refusal, no tree without swiotlb-xen", () => {
  const s = new Session({ json: true });
  const run = (line: string) => runLine(s, line);
  assert(run("guest new --preset arm-dom0 --swiotlb 1M --policy faithful").ok);
  const r = run("tree insert 0x1b0000 0x1a0000000 256K");
  assert(r.ok, r.error);
  const j = r.json!;
  assertEquals([j.ok, j.dma_addr, j.phys_addr, j.size, j.path, j.nodes], [
    true,
    0x1b0000,
    0x1a0000000,
    0x40000,
    "root/r",
    5,
  ]);
  assertEquals((j.overlaps as { index: number }[]).map((o) => o.index), [2, 3]);
  assertEquals((j.events as { kind: string }[]).map((e) => e.kind), ["ub"]);
  assertEquals(run("tree --validate").json!.valid, false);
  const eq = run("tree insert 0x100000 0x1b0000000 4K");
  assert(!eq.ok);
  assertStringIncludes(eq.error!, "xen_dma_add_entry refused it");
  assertStringIncludes(JSON.stringify(eq.json!.events), "already exists");
  assert(!run("tree insert 0x400000 0x1b0000000 0").ok, "size 0 is refused");
  assert(run("guest new --preset arm-dom0-smmu --swiotlb 1M").ok);
  assertStringIncludes(run("tree insert 0x0 0x0 4K").error!, "No bus→phys tree");
  const help = runLine(new Session(), "help tree insert").output.join("\n");
  assertStringIncludes(help, "tree insert DMA PHYS SIZE");
  assertStringIncludes(help, "swiotlb> tree insert 0x120000 0x1a0000000 256K");
  // The example's real answer: checked refuses the overlap.
  assertStringIncludes(help, "overlaps segment 0 [0x100000, 0x140000) and segment 1");
});

Deno.test("every flaw has its example script, run under both policies", () => {
  const names = [
    "double-unmap",
    "size-leak",
    "unknown-bus",
    "tree-overlap",
    "short-segment",
    "coherent-leak",
    "arm-map-error",
  ];
  for (const name of names) {
    const text = Deno.readTextFileSync(new URL(`../examples/flaw-${name}.txt`, import.meta.url));
    const guests = text.split("\n").filter((l) => l.startsWith("guest new "));
    assert(guests.some((l) => l.includes("--policy faithful")), `flaw-${name}: no faithful run`);
    assert(guests.some((l) => !l.includes("--policy")), `flaw-${name}: no checked run`);
  }
});
