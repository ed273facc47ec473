/**
 * Where the tool differed from the real RFC code and from Linux 3.11 (each test failed
 * before its fix): the coherent node's requested size, the pr_fmt prefix, -EINVAL, the
 * kernel strings' own newline, the checked refusal that tells the RFC's insert right,
 * freed pools reused on retry, boot-time panics, and the kernel's 32-bit slot index.
 */

import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  ALL_ONES,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
  EventLog,
  Guest,
  LabError,
  type XenPlatform,
  xenSwiotlbInit,
} from "../mod.ts";
import { runLine, Session } from "../lib/repl/mod.ts";
import { n } from "./_addr.ts";

function json(s: Session, line: string): Record<string, unknown> {
  const r = runLine(s, line);
  return JSON.parse(r.output[r.output.length - 1]);
}

Deno.test("coherent node: the tree holds the requested size, not the page-rounded one", () => {
  const g = Guest.create({ preset: "arm-dom0", swiotlb: 512 });
  g.addDevice({ name: "nic", maskBits: 32 });
  const c = g.allocCoherent("nic", 5000);
  const b = n(c.bus);
  assertEquals(g.lookupBus(b + 4999).phys, c.phys + 4999);
  const tail = g.lookupBus(b + 5000);
  assertEquals([tail.found, tail.phys], [false, ALL_ONES]);
});

Deno.test("the add-entry warning carries the file's pr_fmt prefix", () => {
  const g = Guest.create({ preset: "pvh-dom0", swiotlb: 512, lateInit: true });
  const warn = g.init.log.filter((l) => l.includes("xen_dma_add_entry"));
  assert(warn.length > 0);
  for (const l of warn) assert(l.startsWith("xen:swiotlb_xen: xen_dma_add_entry: cannot add "), l);
});

Deno.test("a refused insert is -EINVAL (-22), at init and at `tree insert`", () => {
  const g = Guest.create({ preset: "pvh-dom0", swiotlb: 512, lateInit: true });
  assertStringIncludes(g.init.log[g.init.log.length - 1], "(rc:-22)");
  const s = new Session({ json: true });
  runLine(s, "guest new --preset arm-dom0 --swiotlb 1M");
  const r = json(s, "tree insert 0x100000 0x1b0000000 4K");
  assertEquals(r.errno, -22);
  assertStringIncludes(String(r.error), "-EINVAL");
});

Deno.test("Cannot allocate Xen-SWIOTLB buffer keeps its own newline before (rc:-12)", () => {
  const g = Guest.create({ preset: "pv-domu-passthrough", mem: 16 * 2 ** 20, swiotlb: 262144 });
  assertEquals(g.init.panic, null, "the late path returns the error");
  assertEquals(
    g.init.log[g.init.log.length - 1],
    "xen:swiotlb_xen: Cannot allocate Xen-SWIOTLB buffer\n (rc:-12)",
  );
});

Deno.test("checked tree insert: an equal dma_addr on the path is the RFC's own refusal", () => {
  const g = Guest.create({ preset: "arm-dom0", swiotlb: 512 });
  const seg0 = g.segments().rows[0];
  // Equal to segment 0's dma_addr, overlapping it: the RFC rejects it, it does not accept it.
  const r = g.treeInsert(seg0.dmaAddr, 0x1b0000000, 4096);
  assertEquals([r.ok, r.errno], [false, -22]);
  assertStringIncludes(r.warning ?? "", "already exists");
  assertEquals(g.tree().nodes, 4);
  // Overlapping without an equal key: the RFC would accept it; checked refuses and says so.
  const e = assertThrows(() => g.treeInsert(seg0.dmaAddr + 0x1000, 0x1b0000000, 4096), LabError);
  assertStringIncludes(e.message, "the RFC's insert would accept it");
});

Deno.test("retries reuse the freed pool: x86 top-down, the halved pool in the top half", () => {
  const g = Guest.create({ preset: "pvh-dom0", lateInit: true });
  const MiB = 2 ** 20;
  const at = g.init.attempts.map((a) => a.poolPhys);
  // 64 MiB at 1 MiB, then 32 MiB in its top half, 16 MiB, 8 MiB likewise.
  assertEquals(at, [MiB, MiB + 32 * MiB, MiB + 48 * MiB, MiB + 56 * MiB]);
});

Deno.test("retries reuse the freed pool: ARM first fit, same start for the halved pool", () => {
  // Segment 0 fails at every width 18…32 (15 exchanges): the pool is halved.
  const f = Guest.create({ preset: "arm-dom0", swiotlb: 2432, faults: { failNext: 15 } });
  assertEquals(f.init.ok, true);
  assertEquals(f.init.attempts.map((a) => a.poolPhys), [0x180100000, 0x180100000]);
});

/** A platform whose exchanges succeed `ok` times, then fail, then succeed again. */
function flakyPlatform(events: EventLog, pattern: boolean[]): XenPlatform {
  let next = 0x40000000;
  let calls = 0;
  let cursor = 0x10000000;
  const freed: { start: number; bytes: number }[] = [];
  return {
    arch: "arm",
    autotranslate: true,
    memory: { read: (_a, len) => new Uint8Array(len), write: () => {}, copy: () => {} },
    physToMachine: (p) => p,
    machineToPhys: (m) => m,
    isMachineContiguous: () => true,
    allocPages: (bytes) => {
      const i = freed.findIndex((f) => f.bytes >= bytes);
      if (i >= 0) return freed.splice(i, 1)[0].start; // first fit, from the bottom
      const p = cursor;
      cursor += bytes;
      return p;
    },
    freePages: (phys, bytes) => {
      freed.push({ start: phys, bytes });
    },
    createContiguousRegion: () => {
      const ok = pattern[calls++] ?? true;
      if (!ok) return { ok: false, reason: "no memory", injected: true };
      // Handles count down, so a retry's segment 0 sorts before the stale nodes.
      next -= 0x40000;
      return { ok: true, dmaHandle: next };
    },
    destroyContiguousRegion: () => {
      events.trace("test", "destroy");
    },
  };
}

Deno.test("faithful: a stale node of the failed attempt refuses a retry segment with its phys_addr", () => {
  // 16 segments: 0-2 exchange at 18 bits, segment 3 fails at all 15 widths, then all succeed.
  const pattern = [true, true, true, ...new Array(15).fill(false)];
  for (const policy of ["faithful", "checked"] as const) {
    const events = new EventLog();
    const r = xenSwiotlbInit(flakyPlatform(events, pattern), {
      nslabs: 2048,
      policy,
      early: false,
      events,
    });
    const phys = r.attempts.map((a) => a.poolPhys);
    assertEquals(phys[0], phys[1], "the halved pool starts where the freed one did");
    const stale = r.log.find((l) => l.includes("already exists"));
    if (policy === "faithful") {
      assert(stale !== undefined, "the RFC's stale node refuses the retry");
      // The retry's segment 0 has the stale segment 0's phys_addr but a smaller dma_addr:
      // its descent never meets that node, so it goes in (SPEC §6). Segment 1's descent
      // meets the stale segment 1 at the root: equal phys_addr, refused.
      const seg1 = `phys=0x${((phys[0] as number) + 0x40000).toString(16).padStart(16, "0")}`;
      assertEquals((stale ?? "").split(seg1).length, 3, stale);
      assertEquals(r.ok, false);
    } else {
      assertEquals(stale, undefined);
      assertEquals(r.ok, true);
    }
  }
});

Deno.test("faithful: a fixup failing part-way leaves stale nodes that refuse the retry, end to end", () => {
  // Six exchange calls go through (segment 0 at dma_bits 18…21, segments 1 and 2 at 21),
  // then twelve fail: segment 3 exhausts 21…32 with segments 0-2 in the tree.
  const faults = { failAfter: 6, failNext: 12 };
  const checked = Guest.create({ preset: "arm-dom0", swiotlb: 2048, faults });
  assertEquals(checked.init.attempts.map((a) => a.fixup.okSegments), [3, 8]);
  assertEquals([checked.init.ok, checked.tree().nodes], [true, 8]);
  const faithful = Guest.create({ preset: "arm-dom0", swiotlb: 2048, faults, policy: "faithful" });
  const starts = faithful.init.attempts.map((a) => a.poolPhys);
  assertEquals(new Set(starts).size, 1, "each retry's pool starts where the freed one did");
  const refused = faithful.init.log.filter((l) => l.includes("already exists"));
  assertEquals(refused.length, 3, "attempts 2-4 each meet a stale node");
  assertStringIncludes(
    refused[0],
    "phys=0x0000000180140000 -> dma=0x0000000000140000 already exists",
  );
  assertEquals(faithful.init.ok, false);
  assertStringIncludes(faithful.init.panic ?? "", "Failed to get contiguous memory");
});

Deno.test("the early path panics: the kernel's line, then every DMA command is refused", () => {
  const s = new Session({ color: false });
  const out = runLine(s, "guest new --preset pvh-dom0").output.join("\n");
  assertStringIncludes(
    out,
    "Kernel panic - not syncing: Failed to get contiguous memory for DMA from Xen!\n" +
      "  You either: don't have the permissions, do not have enough free memory under 4GB, " +
      "or the hypervisor memory is too fragmented! (rc:-22)",
  );
  // Every command that would run the dead kernel's code says so first — not that its
  // device or buffer is unknown (none could be made); inspection still answers.
  for (
    const line of [
      "device add nic --mask 32",
      "device remove nic",
      "buf alloc b 4K",
      "buf write b 0 aa",
      "map nic 0x1000 4K to",
      "unmap nic 0x100000 4K to",
      "sync nic 0x100000 4K to --for cpu",
      "map-sg nic 0x1000:0:4K to",
      "unmap-sg nic 0x1000:0:4K to",
      "sync-sg nic 0x1000:0:4K to --for cpu",
      "alloc-coherent nic 4K",
      "free-coherent nic 0x0 4K",
      "map-error nic 0x0",
      "dma-supported nic 32",
      "dma read nic 0x0 16",
      "dma write nic 0x0 aa",
      "tree insert 0x100000 0x1b0000000 4K",
    ]
  ) {
    const r = runLine(s, line);
    assert(!r.ok, line);
    assertStringIncludes(r.error ?? "", "The guest is dead", line);
  }
  for (const line of ["segments", "tree", "stats", "guest show"]) assert(runLine(s, line).ok, line);
  // The library's facade says the same, before it looks for the device or allocates.
  const dead = Guest.create({ preset: "pvh-dom0" });
  for (
    const call of [
      () => dead.map("nic", 0x1000, 4096, DMA_TO_DEVICE),
      () => dead.allocBuffer("b", 4096),
    ]
  ) {
    assertThrows(call, Error, "The guest is dead");
  }
  assert(runLine(s, "guest new --preset arm-dom0 --swiotlb 1M").ok, "a new guest lives");
  assert(runLine(s, "device add nic --mask 32").ok);
  // The boot allocator panics by itself when there is no memory for the pool.
  const oom = Guest.create({ preset: "pv-dom0", mem: 16 * 2 ** 20, swiotlb: 262144 });
  assertEquals(oom.init.panic, "Out of memory");
  assertEquals(oom.init.attempts.length, 1);
  assertEquals(oom.init.log, [
    "bootmem alloc of 536870912 bytes failed!",
    "Kernel panic - not syncing: Out of memory",
  ]);
});

Deno.test("faithful index of the all-ones address: the kernel's int, about 3 M slots before the array", () => {
  const g = Guest.create({ preset: "arm-dom0", policy: "faithful" });
  assertEquals(g.core?.start, 0x180100000);
  assertEquals(g.core?.slotIndex(ALL_ONES), -3146241);
  g.addDevice({ name: "nic", maskBits: 32 });
  g.events.drain();
  g.unmap("nic", ALL_ONES, 4096, DMA_FROM_DEVICE);
  const ub = g.events.drain().filter((e) => e.kind === "ub").map((e) => e.message);
  assert(ub.some((m) => m.includes("index -3146241")), ub.join("\n"));
});

Deno.test("without an IOMMU a device cannot reach past its mask: checked refuses, faithful truncates", () => {
  const s = new Session({ color: false });
  runLine(s, "guest new --preset arm-dom0 --swiotlb 1M");
  runLine(s, "device add tiny --mask 20");
  runLine(s, "buf alloc rx 4K");
  const r = runLine(s, "dma read tiny 0x184100000 16");
  assert(!r.ok);
  assertEquals(r.error, "tiny cannot address 0x184100000+16: 20-bit mask (no data moved)");
  const f = new Session({ json: true });
  runLine(f, "guest new --preset arm-dom0 --swiotlb 1M --policy faithful");
  runLine(f, "device add tiny --mask 20");
  const w = json(f, "dma write tiny 0x184100000 de:ad:be:ef");
  // 0x184100000 keeps its low 20 bits: 0x0.
  assertEquals(w.truncated, { from: 0x184100000, to: 0, maskBits: 20 });
  const pieces = w.pieces as { maddr: number; owner: { kind: string } }[];
  assertEquals(pieces[0].maddr, 0);
  assertEquals(pieces[0].owner.kind, "xen", "frame 0 is Xen's: the write hit it");
  const events = w.events as { kind: string; message: string }[];
  assert(events.some((e) => e.kind === "ub" && e.message.includes("drops the high bits")));
});

Deno.test("pv-dom0: the pool's guest-physical and bus addresses differ (no teaching coincidence)", () => {
  const g = Guest.create({ preset: "pv-dom0" });
  const r = g.lookupPhys(g.init.poolPhys);
  assert(r.bus !== g.init.poolPhys, `pool phys ${g.init.poolPhys.toString(16)} = bus`);
  assertEquals(g.init.poolPhys, 16 * 2 ** 20, "above the kernel image at 16 MiB");
});

/** Everything a refusal must leave as it was (the debug layer's reports may grow). */
function snapshot(s: Session): string {
  const state = ["stats", "slots", "tree"].map((l) => JSON.stringify(json(s, l)));
  return [...state, JSON.stringify(json(s, "debug").live)].join("\n");
}

Deno.test("checked: an unmap-sg with fewer elements than mapped is refused, nothing changes", () => {
  const s = new Session({ json: true });
  for (const l of ["guest new --preset arm-dom0 --swiotlb 1M", "device add nic --mask 32"]) {
    runLine(s, l);
  }
  runLine(s, "buf alloc rx 8K");
  runLine(s, "map-sg nic rx:0:2K rx:2K:2K rx:4K:2K to");
  const before = snapshot(s);
  const r = json(s, "unmap-sg nic rx:0:2K rx:2K:2K to");
  assertEquals(r.code, "sg-count");
  assertStringIncludes(String(r.error), "the other 1 would stay mapped");
  assertEquals(snapshot(s), before);
  assertEquals(json(s, "unmap-sg nic rx:0:2K rx:2K:2K rx:4K:2K to").ok, true);
  assertEquals(json(s, "stats").slots_used, 0, "the whole list unmaps cleanly");
});

Deno.test("checked: a direction mismatch is refused and says the device's bytes would be dropped", () => {
  const g = Guest.create({ preset: "arm-dom0", swiotlb: 512 });
  g.addDevice({ name: "nic", maskBits: 32 });
  const rx = g.allocBuffer("rx", 4096);
  const m = g.map("nic", rx.phys, 4096, DMA_FROM_DEVICE);
  const e = assertThrows(() => g.unmap("nic", m.bus, 4096, 1), LabError);
  assertEquals(e.code, "wrong-direction");
  assertStringIncludes(e.message, "the device's bytes are dropped");
  assertEquals(g.stats().slots_used, 2, "still mapped");
  const se = assertThrows(() => g.sync("nic", m.bus, 4096, 1, "cpu"), LabError);
  assertEquals(se.code, "wrong-direction");
  // faithful does it, and its UB event says what is lost.
  const f = Guest.create({ preset: "arm-dom0", swiotlb: 512, policy: "faithful" });
  f.addDevice({ name: "nic", maskBits: 32 });
  const fm = f.map("nic", f.allocBuffer("rx", 4096).phys, 4096, DMA_FROM_DEVICE);
  f.events.drain();
  assertEquals(f.unmap("nic", fm.bus, 4096, 1).copied, 0);
  const ub = f.events.drain().filter((x) => x.kind === "ub").map((x) => x.message);
  assert(ub.some((x) => x.includes("the device's bytes are dropped")), ub.join("\n"));
});

Deno.test("diagnoses: over a segment is said once; rfc-v1's round trip; PV lookups speak of the m2p", () => {
  const s = new Session({ color: false });
  for (const l of ["guest new --preset arm-dom0 --swiotlb 1M", "device add nic --mask 32"]) {
    runLine(s, l);
  }
  runLine(s, "buf alloc huge 1M");
  const big = runLine(s, "map nic huge 1M to");
  const text = big.output.join("\n");
  assertEquals(text.split("larger than one segment (IO_TLB_SEGSIZE = 128 slots)").length, 2);
  assert(!text.includes("swiotlb buffer is full"), text);
  // rfc-v1 on a pool 8 KiB off a 256 KiB boundary.
  runLine(s, "guest new --preset arm-dom0 --swiotlb 1M --variant rfc-v1 --pool-offset 8K");
  runLine(s, "device add nic --mask 32");
  runLine(s, "buf alloc rx 8K");
  const m = runLine(s, "map nic rx 8K to");
  assertStringIncludes(m.output.join("\n"), "stands for phys 0x180104000");
  const u = runLine(s, "unmap nic $bus 8K to");
  assertStringIncludes(u.error ?? "", "not the bounce slot 0x180102000");
  assert(!(u.error ?? "").includes("double unmap"), u.error);
  // PV: the m2p, not tree nodes.
  runLine(s, "guest new --preset pv-dom0 --swiotlb 1M");
  const pv = runLine(s, "lookup bus 0x7ff00000").output.join("\n");
  assertStringIncludes(pv, "the m2p has no frame of this guest there");
  assert(!pv.includes("node"), pv);
});

Deno.test("faithful: a map whose bounce was given back does not describe its slots as mapped", () => {
  const s = new Session({ color: false });
  for (
    const l of [
      "guest new --preset arm-dom0 --swiotlb 1M --policy faithful",
      "device add tiny --mask 20",
      "buf alloc rx 4K",
    ]
  ) runLine(s, l);
  const out = runLine(s, "map tiny rx 4K to").output.join("\n");
  assertStringIncludes(out, "were taken and given back at once");
  assert(!out.includes("→ bounce phys"), out);
});

function session(lines: string[]): Session {
  const s = new Session({ color: false });
  for (const l of lines) runLine(s, l);
  return s;
}

const ARM = [
  "guest new --preset arm-dom0 --swiotlb 1M",
  "device add nic --mask 32",
  "buf alloc rx 8K",
];

Deno.test("DMA-API reports in the kernel's format: '<driver> <dev_name>: DMA-API:', %016llx", () => {
  const s = session([...ARM, "map nic rx 8K to"]);
  const out = runLine(s, "unmap nic $bus 4K to").output;
  assert(
    out.includes(
      "  nic 0000:00:01.0: DMA-API: device driver frees DMA memory with different size " +
        "[device address=0x0000000000100000] [map size=8192 bytes] [unmap size=4096 bytes]",
    ),
    out.join("\n"),
  );
  runLine(s, "device add disk --mask 32");
  runLine(s, "map disk rx 4K to");
  const disk = runLine(s, "unmap disk $bus 2K to").output.join("\n");
  assertStringIncludes(disk, "disk 0000:00:02.0: DMA-API:");
});

Deno.test("debug filter DRIVER and debug errors N: the kernel's knobs, every report still counted", () => {
  const s = session([...ARM, "device add disk --mask 32", "debug errors 1", "map nic rx 8K to"]);
  const dma = (r: { output: string[] }) => r.output.filter((l) => l.includes("DMA-API:")).length;
  assertEquals(dma(runLine(s, "unmap nic $bus 4K to")), 1, "the one report allowed");
  assertEquals(dma(runLine(s, "unmap nic $bus 2K to")), 0, "the budget is spent");
  runLine(s, "debug errors all");
  runLine(s, "debug filter disk");
  assertEquals(dma(runLine(s, "unmap nic $bus 1K to")), 0, "nic is filtered out");
  runLine(s, "map disk rx 4K to");
  assert(dma(runLine(s, "unmap disk $bus 2K to")) > 0, "disk passes the filter");
  const view = JSON.stringify(runLine(s, "debug").json);
  assertStringIncludes(view, '"free-size":4', "all four wrong-size unmaps are counted");
});

Deno.test("the seed's questions on screen: ==, the index arithmetic, is_xen_swiotlb_buffer, the tree", () => {
  const s = session([...ARM, "map nic rx 8K to"]);
  const bus = runLine(s, "lookup bus $bus+0x1010").output.join("\n");
  assertStringIncludes(bus, "    [0x100000,+256K): 0x100000 <= 0x101010 < 0x140000 ✓ contains");
  assertStringIncludes(
    bus,
    "the reviewer's ==: 0x101010 == 0x100000? no → the walk goes on and misses",
  );
  assertStringIncludes(bus, "is_xen_swiotlb_buffer: 1: autotranslate always says yes");
  const phys = runLine(s, "lookup phys $phys+0x40010").output.join("\n");
  assertStringIncludes(
    phys,
    "j = (phys - pool) / 256 KiB = (0x180140010 - 0x180100000) / 256 KiB = 1: an array access, 0 tree nodes visited",
  );
  assertStringIncludes(
    runLine(s, "unmap nic $bus 8K to").output.join("\n"),
    "is_xen_swiotlb_buffer: 1",
  );
  assertStringIncludes(
    runLine(s, "tree").output.join("\n"),
    "map and unmap never change this tree",
  );
  const pv = session(["guest new --preset pv-dom0 --swiotlb 1M"]);
  assertStringIncludes(
    runLine(pv, "lookup bus 0x100000").output.join("\n"),
    "is_xen_swiotlb_buffer: 1: the m2p gives a frame of this guest inside the pool",
  );
});

Deno.test("trace on shows xen_phys_to_bus, xen_bus_to_phys and the tree walk", () => {
  const s = session([...ARM, "trace on", "map nic rx 8K to"]);
  const out = runLine(s, "unmap nic $bus 8K to").output.join("\n");
  assertStringIncludes(
    out,
    "xen_bus_to_phys(0x100000) = 0x180100000 (tree walk: 0x140000 → left, 0x100000 holds it)",
  );
  const m = session([...ARM, "trace on"]);
  assertStringIncludes(
    runLine(m, "map nic rx 8K to").output.join("\n"),
    "xen_phys_to_bus(0x180100000) = 0x100000 (seg[0]: j = (phys - 0x180100000) / 256 KiB, no tree walk)",
  );
});

/** The SPEC's boundary rule: [bus, bus + size) crosses a multiple of mask + 1. */
function crosses(bus: number, size: number, mask: number): boolean {
  return Math.floor(bus / (mask + 1)) !== Math.floor((bus + size - 1) / (mask + 1));
}

/** Four 62K maps fill segment 0; the fifth lands at slot 128, the start of segment 1. */
function fifthMap(skew: string | null, preset: string): {
  map: Record<string, unknown>;
  segs: Array<Record<string, number>>;
} {
  const s = new Session({ json: true });
  const g = json(
    s,
    `guest new --preset ${preset} --swiotlb 1M${skew === null ? "" : ` --bus-skew ${skew}`}`,
  );
  assertEquals(g.bus_skew, skew === null ? 0 : 4096);
  runLine(s, "device add nic --mask 32 --boundary 0xffff");
  runLine(s, "buf alloc rx 62K");
  for (let i = 0; i < 4; i++) runLine(s, "map nic rx 62K to");
  const map = json(s, "map nic rx 62K to");
  const segs = json(s, "segments").segments as Array<Record<string, number>>;
  return { map, segs };
}

/** The seed's autotranslated guest, and a PV dom0 (whose 32-bit device bounces too). */
const SKEW_PRESETS = ["arm-dom0", "pv-dom0"];

Deno.test("--bus-skew: the core's boundary check uses seg[0] + slot × 2048, the bus does not", () => {
  for (const preset of SKEW_PRESETS) {
    const { map, segs } = fifthMap("4K", preset);
    assertEquals(map.bounced, true, preset);
    assertEquals([map.slot, map.segment], [128, 1], preset);
    // The bus address is segment 1's own, skewed by 1 × 4K off its 256K alignment.
    assertEquals(map.bus, segs[1].dma_addr);
    assertEquals(segs[1].dma_addr % 0x40000, 0x1000);
    const assumed = segs[0].dma_addr + 128 * 2048;
    assert(!crosses(assumed, 62 * 1024, 0xffff), "the core saw no crossing");
    assert(crosses(map.bus as number, 62 * 1024, 0xffff), "the bus range crosses");
    assertEquals(map.crosses_boundary, { mask: 0xffff, assumed_bus: assumed });
    const events = (map.events as Array<{ kind: string; message: string }>).map((e) => e.message);
    assertEquals(events, [
      "nic 0000:00:01.0: DMA-API: device driver maps DMA memory across its segment boundary " +
      `[device address=0x${(map.bus as number).toString(16).padStart(16, "0")}] ` +
      "[size=63488 bytes] [boundary=0xffff]",
    ]);
  }
});

Deno.test("without --bus-skew every segment is aligned and no map is flagged", () => {
  for (const preset of SKEW_PRESETS) {
    const { map, segs } = fifthMap(null, preset);
    assertEquals(map.segment, 1, preset);
    for (const seg of segs) assertEquals(seg.dma_addr % 0x40000, 0);
    assertEquals(map.crosses_boundary, null);
    assertEquals(map.events ?? [], []);
  }
});

Deno.test("a failed fixup says why: the tree's refusal (PVH's bus 0) or a segment out of widths", () => {
  const s = new Session({ json: true });
  const pvh = json(s, "guest new --preset pvh-dom0 --swiotlb 1M");
  const a = (pvh.attempts as Array<Record<string, unknown>>)[0];
  assertEquals([a.refused_insert, a.exhausted_segment], [{ segment: 1, dma_addr: 0 }, null]);
  const arm = json(s, "guest new --preset arm-dom0 --swiotlb 4M --fail-exchanges 15");
  const b = (arm.attempts as Array<Record<string, unknown>>)[0];
  assertEquals([b.refused_insert, b.exhausted_segment], [null, 0]);
  const text = runLine(new Session(), "guest new --preset pvh-dom0 --swiotlb 1M").output.join("\n");
  assertStringIncludes(
    text,
    "→ fixup failed: xen_dma_add_entry refused segment 1's node at dma 0x0 (-EINVAL)",
  );
});
