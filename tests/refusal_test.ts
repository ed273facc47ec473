/**
 * Issue reproductions of the checked policy's promise: each refusal below used to change
 * state (slots taken, counters bumped, a prefix left mapped, a node inserted).
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { runLine, Session } from "../lib/repl/mod.ts";
import { snapshot } from "./_refusal.ts";

function session(start: string, ...setup: string[]): Session {
  const s = new Session({ json: true });
  for (const l of [start, ...setup]) assert(runLine(s, l).ok, l);
  return s;
}

/** Runs `line`, requires a refusal with `code`, and an unchanged guest. */
function refused(s: Session, line: string, code: string): string {
  const before = snapshot(s);
  const r = runLine(s, line);
  assertEquals([r.ok, r.json?.code], [false, code], `${line} → ${r.error}`);
  assertEquals(snapshot(s), before, `${line} changed state`);
  return r.error ?? "";
}

Deno.test("checked: a map outside guest memory takes no slot, and 256 of them fill nothing", () => {
  const s = session("guest new --preset arm-dom0 --swiotlb 1M", "device add nic --mask 32");
  const err = refused(s, "map nic 0x1000 4K to", "outside-memory");
  assertStringIncludes(err, "not this guest's memory");
  for (let i = 0; i < 256; i++) runLine(s, "map nic 0x1000 4K to");
  runLine(s, "buf alloc rx 4K");
  const r = runLine(s, "map nic rx 4K to");
  assertEquals([r.ok, r.json?.slot], [true, 0], "the 512-slot pool is still empty");
  refused(s, "map nic 0x1000 4K from", "outside-memory");
});

Deno.test("checked: a scatterlist with an element outside memory or of 0 bytes maps nothing", () => {
  const s = session(
    "guest new --preset arm-dom0 --swiotlb 1M",
    "device add old --mask 24 --boundary 0xffff",
    "buf alloc rx 8K",
  );
  refused(s, "map-sg old rx:0:4K rx:4K:0 to", "kernel-bug");
  refused(s, "map-sg old rx:0:4K 0x1000:4K to", "outside-memory");
  assertEquals(runLine(s, "debug").json?.live, []);
  // The same list without the bad element maps, from slot 0.
  const ok = runLine(s, "map-sg old rx:0:4K to").json?.elements as Array<{ slot: number }>;
  assertEquals(ok.map((e) => e.slot), [0]);
});

Deno.test("native alloc-coherent beyond the coherent mask gives its slots back (3.11)", () => {
  // pvh-dom0-iommu runs native swiotlb: pages beyond a 20-bit coherent mask fall back to
  // the pool, whose slots are beyond it too, so the call fails — with the slots freed.
  const s = session("guest new --preset pvh-dom0-iommu --swiotlb 1M", "device add tiny --mask 20");
  const r = runLine(s, "alloc-coherent tiny 6K");
  assertEquals([r.ok, r.json?.code], [false, "coherent-failed"]);
  const slots = runLine(s, "slots").json as { used: number };
  assertEquals(slots.used, 0);
  assertEquals((runLine(s, "stats").json as { slots_used: number }).slots_used, 0);
});

Deno.test("checked: alloc-coherent refuses a tree node overlapping a `tree insert` node", () => {
  const s = session(
    "guest new --preset arm-dom0 --swiotlb 1M",
    "device add nic --mask 32",
    "alloc-coherent nic 4K",
    "free-coherent nic $bus 4K",
    // Half a page into where the next exchange lands: an overlap the RFC's insert passes.
    "tree insert $bus+0x800 0x180000000 4K",
  );
  const err = refused(s, "alloc-coherent nic 4K", "tree-overlap");
  assertStringIncludes(err, "overlaps manual node");
  const f = session(
    "guest new --preset arm-dom0 --swiotlb 1M --policy faithful",
    "device add nic --mask 32",
    "alloc-coherent nic 4K",
    "free-coherent nic $bus 4K",
    "tree insert $bus+0x800 0x180000000 4K",
  );
  const r = runLine(f, "alloc-coherent nic 4K");
  assert(r.ok, r.error);
  const ub = (r.json?.events as Array<{ kind: string; message: string }>).filter((e) =>
    e.kind === "ub"
  );
  assertEquals(ub.length, 1);
  assertStringIncludes(ub[0].message, "overlaps manual node");
});

Deno.test("a refused lookup bus counts in no statistic; a miss is an answer and counts", () => {
  const dead = session("guest new --preset pvh-dom0");
  refused(dead, "lookup bus 0x0", "guest-dead");
  const s = session("guest new --preset arm-dom0 --swiotlb 1M");
  const miss = runLine(s, "lookup bus 0x0");
  assertEquals([miss.ok, miss.json?.found], [true, false]);
  const visited = (miss.json?.visited as unknown[]).length;
  const st = runLine(s, "stats").json as { lookups: number; lookup_nodes_visited: number };
  assertEquals([st.lookups, st.lookup_nodes_visited], [1, visited]);
});

Deno.test("a failed map-sg FROM_DEVICE: 3.11's stale copy back is kept, and reported", () => {
  for (const policy of ["checked", "faithful"]) {
    const s = session(
      `guest new --preset arm-dom0 --swiotlb 1M --policy ${policy}`,
      "device add nic --mask 32",
      "buf alloc a 256K",
      "buf alloc b 256K",
      "buf write a --pattern 11",
      // 4 × 100 slots leave 28 free slots per segment: 16 fit, 64 do not.
      ...new Array(4).fill("map nic b 200K to"),
    );
    const r = runLine(s, "map-sg nic a:0:32K a:32K:128K from");
    assertEquals(r.ok, false);
    const failure = r.json?.failure as { element: number; undone: number; stale_copied: number };
    assertEquals([failure.element, failure.undone, failure.stale_copied], [1, 1, 32768]);
    // The prefix's bounce slots (never written by a device) landed on the driver's bytes.
    assertEquals(runLine(s, "buf read a 0 4").json?.bytes, "00000000");
    assertEquals(runLine(s, "buf read a 32K 4").json?.bytes, "11111111");
    const events = r.json?.events as Array<{ kind: string; message: string }>;
    const debug = events.filter((e) => e.kind === "debug").map((e) => e.message);
    assertEquals(debug, [
      "nic 0000:00:01.0: DMA-API: device driver's failed scatterlist map copied 32768 stale " +
      "bounce bytes back into its buffers while unmapping 1 mapped element(s)",
    ]);
    assertEquals(events.filter((e) => e.kind === "ub").length, policy === "faithful" ? 1 : 0);
  }
});

Deno.test("checked: an unmap inside the first slot of a mapping is refused, not a free of it", () => {
  const s = session(
    "guest new --preset arm-dom0 --swiotlb 1M",
    "device add nic --mask 32",
    "buf alloc rx 8K",
    "map nic rx 8K to",
  );
  const err = refused(s, "unmap nic $bus+0x10 8K to", "not-mapped");
  assertStringIncludes(err, "inside the mapping at slot 0, not its start");
  assert(runLine(s, "unmap nic $bus 8K to").ok);
});

Deno.test("checked: a wrong-direction unmap names both directions in words", () => {
  const s = session(
    "guest new --preset arm-dom0 --swiotlb 1M",
    "device add nic --mask 32",
    "buf alloc rx 8K",
    "map nic rx 8K to",
  );
  const err = refused(s, "unmap nic $bus 8K from", "wrong-direction");
  assertEquals(
    err.split("\n")[0],
    "bus 0x100000: unmap of slot 0 (0x180100000) with DMA_FROM_DEVICE, but it was mapped with " +
      "DMA_TO_DEVICE: " +
      "the direction differs from the mapping's",
  );
});
