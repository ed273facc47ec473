/**
 * The DMA-API debug layer's entry pool (SPEC §8; lib/dma-debug.c in 3.11): a live record
 * takes one of the arch's PREALLOC_DMA_DEBUG_ENTRIES (4,096 on arm, 65,536 on x86), an
 * unmap gives it back, and a map that finds none left prints "DMA-API: debugging out of
 * memory - disabling" once and disables the layer (global_disable): nothing more is
 * checked or recorded, the records it holds stay, so memory stays bounded.
 */

import { assertEquals } from "@std/assert";
import { DMA_TO_DEVICE, DmaDebug, EventLog, Guest, type NewMapping } from "../mod.ts";
import { runLine, Session } from "../lib/repl/mod.ts";

const OOM = "DMA-API: debugging out of memory - disabling";

function logLines(events: EventLog): string[] {
  return events.drain().filter((e) => e.kind === "log").map((e) => e.message);
}

Deno.test("DmaDebug pool: the arch's PREALLOC_DMA_DEBUG_ENTRIES, or dma_debug_entries=", () => {
  const events = new EventLog();
  const sizes = [
    new DmaDebug({ enabled: true, arch: "x86", events }),
    new DmaDebug({ enabled: true, arch: "arm", events }),
    new DmaDebug({ enabled: true, arch: "x86", events, entries: 7 }),
  ].map((d) => d.view().entries);
  assertEquals(sizes, [
    { total: 65536, free: 65536, minFree: 65536 },
    { total: 4096, free: 4096, minFree: 4096 },
    { total: 7, free: 7, minFree: 7 },
  ]);
});

Deno.test("DmaDebug pool: a scatterlist that runs it dry keeps the elements recorded before", () => {
  const events = new EventLog();
  const debug = new DmaDebug({ enabled: true, arch: "x86", events, entries: 2 });
  const element = (k: number): NewMapping => ({
    device: "nic",
    type: "sg",
    phys: 0x10000 + k * 0x1000,
    bus: 0x10000 + k * 0x1000,
    size: 4096,
    dir: DMA_TO_DEVICE,
    sgCount: 3,
    fn: "dma_map_sg",
    slot: null,
    nslots: 0,
  });
  // debug_dma_map_sg takes an entry per element and returns at the first it cannot get.
  const got = [0, 1, 2].map((k) => debug.debugDmaMapPage(element(k)) !== undefined);
  assertEquals(got, [true, true, false]);
  assertEquals(logLines(events), [OOM]);
  assertEquals(debug.enabled, false);
  const v = debug.view();
  assertEquals([v.live.length, v.entries, v.outOfMemory], [
    2,
    { total: 2, free: 0, minFree: 0 },
    true,
  ]);
  // Disabled: no more records, no second message.
  assertEquals(debug.debugDmaMapPage(element(3)), undefined);
  assertEquals(logLines(events), []);
});

Deno.test("DmaDebug pool: an arm guest's 4,097th live mapping disables the layer once; debug off/on starts afresh", () => {
  const g = Guest.create({ preset: "arm-dom0" });
  g.addDevice({ name: "nic", maskBits: 32 });
  const rx = g.allocBuffer("rx", 2048);
  g.events.drain();
  const maps = [];
  for (let i = 0; i < 4096; i++) {
    const r = g.map("nic", rx.phys, 2048, DMA_TO_DEVICE);
    g.mappingError("nic", r.bus);
    maps.push(r);
  }
  assertEquals(logLines(g.events), []);
  assertEquals(g.debugReport().entries, { total: 4096, free: 0, minFree: 0 });
  // The next map finds no entry: the kernel's one line, then nothing is checked.
  const extra = g.map("nic", rx.phys, 2048, DMA_TO_DEVICE);
  assertEquals(logLines(g.events), [OOM]);
  assertEquals(g.debugEnabled, false);
  for (let i = 0; i < 10; i++) g.map("nic", rx.phys, 2048, DMA_TO_DEVICE);
  // A wrong-size unmap and an unchecked handle go unreported; the DMA itself still happens.
  g.unmap("nic", maps[0].bus, 2048, DMA_TO_DEVICE);
  g.unmap("nic", extra.bus, 2048, DMA_TO_DEVICE);
  assertEquals(g.events.drain().filter((e) => e.kind === "debug" || e.kind === "log"), []);
  const v = g.debugReport();
  assertEquals([v.enabled, v.outOfMemory, v.live.length], [false, true, 4096]);
  assertEquals(g.removeDevice("nic").leaks, [], "no leak report from a disabled layer");
  // The lab's knob starts the layer again with an empty record and a full pool.
  g.setDebug(false);
  g.setDebug(true);
  g.addDevice({ name: "nic", maskBits: 32 });
  const again = g.map("nic", rx.phys, 2048, DMA_TO_DEVICE);
  const w = g.debugReport();
  assertEquals([w.enabled, w.outOfMemory, w.live.map((m) => m.bus)], [true, false, [again.bus]]);
  assertEquals(w.entries, { total: 4096, free: 4095, minFree: 0 });
});

Deno.test("REPL debug: the out-of-memory line prints once, and debug says why the layer is off", () => {
  const s = new Session({ json: false, color: false, cwd: "/lab" });
  for (const l of ["guest new --preset arm-dom0", "device add nic --mask 32", "buf alloc rx 2K"]) {
    runLine(s, l);
  }
  const out: string[] = [];
  for (let i = 0; i < 4100; i++) out.push(...runLine(s, "map nic rx 2K to").output);
  assertEquals(out.filter((l) => l.includes("DMA-API: debugging out of memory")), ["  " + OOM]);
  const text = runLine(s, "debug").output.join("\n");
  assertEquals(text.split("\n")[0], "DMA-API debug off: 4096 live mappings, 0 reports");
  assertEquals(
    text.split("\n")[1],
    "  it switched itself off: all 4096 of its entries were in use (" + OOM +
      "); the records it holds stay",
  );
});
