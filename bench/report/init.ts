/**
 * Children `core-init`, `guest-init` and `preset-init`: init time and resident memory of
 * a pool, each in a process that has done nothing else, so the deltas are its own.
 *
 * @module
 */

import { Guest } from "../../lib/guest/guest.ts";
import { SwiotlbCore } from "../../lib/swiotlb/mod.ts";
import { POOL_START } from "./core.ts";
import { threadCpuMs } from "./stats.ts";
import { SLOT } from "./units.ts";

/**
 * Time (wall, and the thread's CPU time: other sessions share this machine's cores) and
 * resident-memory delta of `build`, in a process that has done nothing else.
 */
function measureBuild<T>(
  build: () => T,
): { ms: number; cpuMs: number; rssBytes: number; value: T } {
  const rss0 = Deno.memoryUsage().rss;
  const c0 = threadCpuMs();
  const t0 = performance.now();
  const value = build();
  const ms = performance.now() - t0;
  return { ms, cpuMs: threadCpuMs() - c0, rssBytes: Deno.memoryUsage().rss - rss0, value };
}

/** A bare SwiotlbCore of `poolBytes`: the pool's own cost, without a guest. */
export function childCoreInit(a: { poolBytes: number }): { ms: number; rssBytes: number } {
  const r = measureBuild(() => new SwiotlbCore({ nslabs: a.poolBytes / SLOT, start: POOL_START }));
  if (r.value.nslabs !== a.poolBytes / SLOT) throw new Error("core init: wrong size");
  return { ms: r.ms, rssBytes: r.rssBytes };
}

/** A whole arm-dom0 guest with a pool of `poolBytes`, sized by the parent to hold it. */
export function childGuestInit(
  a: { poolBytes: number; mem: number; machine: number },
): { ms: number; cpuMs: number; rssBytes: number; nslabs: number; log: string[] } {
  const r = measureBuild(() =>
    Guest.create({
      preset: "arm-dom0",
      swiotlb: a.poolBytes / SLOT,
      mem: a.mem,
      machine: a.machine,
      debug: false,
    })
  );
  return {
    ms: r.ms,
    cpuMs: r.cpuMs,
    rssBytes: r.rssBytes,
    nslabs: r.value.init.nslabs,
    log: r.value.init.log,
  };
}

/** What `preset-init` prints: the parent subtracts a small-pool run to cost the pool. */
export interface PresetChild {
  ms: number;
  rssBytes: number;
  ok: boolean;
  nslabs: number;
  opsName: string;
  swiotlbXen: boolean;
}

/** One preset's Guest.create, with its default pool or the `swiotlb` slots given. */
export function childPresetInit(a: { preset: string; swiotlb?: number }): PresetChild {
  const r = measureBuild(() =>
    Guest.create({ preset: a.preset, swiotlb: a.swiotlb, debug: false })
  );
  const g = r.value;
  return {
    ms: r.ms,
    rssBytes: r.rssBytes,
    ok: g.init.ok,
    nslabs: g.init.nslabs,
    opsName: g.init.ok ? (g.ops?.kind ?? "none") : "(init failed)",
    swiotlbXen: g.init.swiotlbXen,
  };
}
