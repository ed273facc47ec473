/**
 * LiveMappings (lib/dma/debug_live.ts, SPEC §8): the debug layer's live records keep an
 * emptied handle instead of deleting it (issue 14: the delete and re-add of one map entry
 * a map/unmap pair was most of a replay's old-generation garbage), and order a device's
 * handles by when each last went from none to some. Checked here against a plain model
 * that deletes a handle when its last mapping goes, as the layer did before: every look-up
 * answers the same record, through enough distinct handles to pass the sweep's bound.
 */

import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { type Direction, DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE } from "../mod.ts";
import { LiveMappings } from "../lib/dma/debug_live.ts";
import type { DebugEntry, DebugRef, MappingType } from "../lib/dma/debug_types.ts";

/** The layer before: a handle's map entry goes with its last mapping. */
class DeletingModel {
  readonly live = new Map<string, Map<number, DebugEntry[]>>();

  add(e: DebugEntry): void {
    let byBus = this.live.get(e.device);
    if (!byBus) this.live.set(e.device, byBus = new Map());
    const list = byBus.get(e.bus as number);
    if (list) list.push(e);
    else byBus.set(e.bus as number, [e]);
  }

  delete(e: DebugEntry): boolean {
    const byBus = this.live.get(e.device);
    const list = byBus?.get(e.bus as number);
    if (!byBus || !list || !list.includes(e)) return false;
    list.splice(list.indexOf(e), 1);
    if (list.length === 0) byBus.delete(e.bus as number);
    return true;
  }

  exact(ref: DebugRef): DebugEntry | undefined {
    const list = this.live.get(ref.device)?.get(ref.bus as number);
    let best: DebugEntry | undefined;
    let bestScore = -1;
    for (const e of list ?? []) {
      const score = (e.size === ref.size ? 1 : 0) + (e.type === ref.type ? 1 : 0) +
        (e.dir === ref.dir ? 1 : 0) + (e.sgCount === (ref.sgCount ?? 0) ? 1 : 0);
      if (score > bestScore) [best, bestScore] = [e, score];
      if (score === 4) break;
    }
    return best;
  }

  /** The first in the device's order with the best score, as the old loop found it. */
  containing(ref: DebugRef): DebugEntry | undefined {
    const exact = this.exact(ref);
    if (exact && exact.size >= ref.size) return exact;
    const bus = ref.bus as number;
    let best = exact;
    let bestScore = exact ? 0 : -1;
    for (const list of this.live.get(ref.device)?.values() ?? []) {
      for (const e of list) {
        if ((e.bus as number) > bus || bus >= (e.bus as number) + e.size) continue;
        const score = (bus + ref.size <= (e.bus as number) + e.size ? 2 : 0) +
          (e.dir === DMA_BIDIRECTIONAL || e.dir === ref.dir ? 1 : 0);
        if (score > bestScore) [best, bestScore] = [e, score];
      }
    }
    return best;
  }
}

/** A live record as the layer makes one for a single mapping. */
function record(
  id: number,
  bus: number,
  size = 4096,
  dir: Direction = DMA_TO_DEVICE,
  type: MappingType = "single",
  device = "nic",
): DebugEntry {
  const fn = type === "page" ? "dma_map_page" : "dma_map_single";
  return {
    id,
    device,
    type,
    phys: bus,
    bus,
    size,
    dir,
    sgCount: 0,
    mapErrorChecked: false,
    fn,
    slot: null,
    nslots: 0,
  };
}

const DIRS: Direction[] = [DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE];
const TYPES: MappingType[] = ["single", "page"];

type Op =
  | { op: "add"; device: number; page: number; size: number; dir: number; type: number }
  | { op: "del"; pick: number }
  | { op: "find"; device: number; page: number; off: number; size: number; dir: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant("add" as const),
    device: fc.nat(1),
    // Mostly a few pages that fill and empty again; sometimes one of very many, so the
    // emptied handles pass the sweep's bound (512).
    page: fc.oneof({ arbitrary: fc.nat(4), weight: 6 }, { arbitrary: fc.nat(20_000), weight: 1 }),
    size: fc.constantFrom(512, 4096, 8192, 12288),
    dir: fc.nat(2),
    type: fc.nat(1),
  }),
  fc.record({ op: fc.constant("del" as const), pick: fc.nat() }),
  fc.record({
    op: fc.constant("find" as const),
    device: fc.nat(1),
    page: fc.nat(5),
    off: fc.constantFrom(0, 256, 4096),
    size: fc.constantFrom(1, 512, 4096, 8192),
    dir: fc.nat(2),
  }),
);

Deno.test("LiveMappings: findExact, findContaining and at answer as a handle-deleting model", () => {
  fc.assert(
    fc.property(
      fc.array(op, { minLength: 100, maxLength: 400, size: "max" }),
      fc.nat(),
      (ops, churn) => {
        const live = new LiveMappings();
        const model = new DeletingModel();
        const held: DebugEntry[] = [];
        let id = 0;
        const entry = (
          device: string,
          bus: number,
          size: number,
          dir: Direction,
          type: MappingType,
        ) => {
          const e = record(id++, bus, size, dir, type, device);
          live.add(e);
          model.add(e);
          held.push(e);
        };
        // Churn first through distinct pages, so some runs start past a sweep.
        for (let i = 0; i < churn % 6000; i++) {
          entry("nic", 0x100000000 + i * 4096, 4096, DMA_TO_DEVICE, "single");
          const e = held.pop()!;
          assert(live.delete(e) && model.delete(e));
        }
        for (const o of ops) {
          if (o.op === "add") {
            entry(`dev${o.device}`, o.page * 4096, o.size, DIRS[o.dir], TYPES[o.type]);
          } else if (o.op === "del") {
            if (held.length === 0) continue;
            const [e] = held.splice(o.pick % held.length, 1);
            assertEquals(live.delete(e), model.delete(e));
            assertEquals(live.delete(e), false);
          } else {
            const ref: DebugRef = {
              device: `dev${o.device}`,
              type: "single",
              bus: o.page * 4096 + o.off,
              size: o.size,
              dir: DIRS[o.dir],
              fn: "dma_sync_single_for_cpu",
            };
            assertEquals(live.findContaining(ref)?.id, model.containing(ref)?.id);
            assertEquals(live.findExact(ref)?.id, model.exact(ref)?.id);
            assertEquals(
              live.at(ref.device, ref.bus)?.map((e) => e.id),
              model.live.get(ref.device)?.get(ref.bus as number)?.map((e) => e.id),
            );
          }
        }
        assertEquals(live.all().map((e) => e.id), held.map((e) => e.id).sort((a, b) => a - b));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("LiveMappings: a map and unmap at one handle, repeated, keeps that handle", () => {
  // The order a re-filled handle takes is its newest fill: a mapping there now comes
  // after one made meanwhile at another handle, as when the handle was deleted and re-added.
  const live = new LiveMappings();
  const mk = (id: number, bus: number, size: number) => record(id, bus, size);
  const a = mk(0, 0x1000, 0x2000);
  live.add(a);
  live.add(mk(1, 0x2000, 0x1000));
  live.delete(a);
  assertEquals(live.at("nic", 0x1000), undefined);
  const a2 = mk(2, 0x1000, 0x2000);
  live.add(a2);
  // Both hold 0x2000 whole with a fitting direction: the one filled first wins.
  const ref: DebugRef = {
    device: "nic",
    type: "single",
    bus: 0x2000,
    size: 0x800,
    dir: DMA_TO_DEVICE,
    fn: "dma_sync_single_for_cpu",
  };
  assertEquals(live.findContaining({ ...ref, bus: 0x2100 })?.id, 1);
});

Deno.test("LiveMappings: handles emptied at ever other addresses are swept, a reused one is kept", () => {
  const live = new LiveMappings();
  const mk = (id: number, bus: number) => record(id, bus);
  const held = Array.from({ length: 100 }, (_, i) => mk(i, 0x1_0000_0000 + i * 4096));
  for (const e of held) live.add(e);
  let most = 0;
  for (let i = 0; i < 20_000; i++) {
    const e = mk(1000 + i, i * 4096);
    live.add(e);
    live.delete(e);
    most = Math.max(most, live.handles);
  }
  // 100 live, at most 512 empty before a sweep (and the one that triggers it).
  assert(most <= 100 + 513, `${most} handles kept`);
  assertEquals(live.all().length, 100);
  for (let i = 0; i < 20_000; i++) {
    const e = mk(30_000 + i, 0x5000);
    live.add(e);
    live.delete(e);
  }
  assertEquals(live.at("nic", 0x5000), undefined);
  assert(live.handles <= 100 + 513);
  live.dropDevice("nic");
  assertEquals(live.handles, 0);
});
