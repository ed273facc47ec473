/**
 * Helpers of the refusal tests: the state a refusal must leave alone, and random DMA
 * lines, well-formed and not.
 */

import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { runLine, Session } from "../lib/repl/mod.ts";
import { jsonReplacer } from "../mod.ts";

/** Everything a refusal must leave alone, as one string (the engine's own views: fast). */
export function snapshot(s: Session): string {
  const g = s.guest;
  if (g === undefined) return "no guest";
  // The debug layer's reports are what it said, not state: only its live mappings count.
  const views = [
    () => g.stats(),
    () => g.slots(),
    () => g.segments(),
    () => g.tree(),
    () => g.debugReport().live,
  ].map((view) => {
    try {
      return view();
    } catch (e) {
      // A guest without a pool or a tree: the refusal is the state.
      return (e as Error).message;
    }
  });
  return JSON.stringify(views, jsonReplacer);
}

const dev = fc.constantFrom("nic", "old", "tiny");
const buf = fc.constantFrom("rx", "tx", "tx+0x800", "tx+4K", "0x1000", "0x7f3602716239", "$bus");
const size = fc.constantFrom("0", "1", "2K", "4K", "6K", "8K", "60K", "300K", "1M");
const dir = fc.constantFrom("to", "from", "bidi", "none");
const bus = fc.constantFrom("$bus", "$bus+0x800", "$phys", "0x0", "0x1000", "0xffffffffffffffff");
const elem = fc.constantFrom(
  "rx:0:4K",
  "rx:4K:0",
  "rx:4K:4K",
  "tx:0:2K",
  "tx:2K:30K",
  "tx",
  "0x1000:4K",
);
export const dmaLine = fc.oneof(
  fc.tuple(dev, buf, size, dir, fc.constantFrom("", " --page"))
    .map(([d, b, n, r, p]) => `map ${d} ${b} ${n} ${r}${p}`),
  fc.tuple(dev, bus, size, dir).map(([d, b, n, r]) => `unmap ${d} ${b} ${n} ${r}`),
  fc.tuple(dev, bus, size, dir, fc.constantFrom("cpu", "device")).map(([d, b, n, r, t]) =>
    `sync ${d} ${b} ${n} ${r} --for ${t}`
  ),
  fc.tuple(
    fc.constantFrom("map-sg", "unmap-sg", "sync-sg"),
    dev,
    fc.array(elem, { minLength: 1, maxLength: 3 }),
    dir,
  ).map(([v, d, es, r]) => `${v} ${d} ${es.join(" ")} ${r}`),
  fc.tuple(dev, size).map(([d, n]) => `alloc-coherent ${d} ${n}`),
  fc.tuple(dev, bus, size).map(([d, b, n]) => `free-coherent ${d} ${b} ${n}`),
  fc.tuple(dev, bus, size).map(([d, b, n]) => `dma read ${d} ${b} ${n}`),
  fc.tuple(dev, bus, size).map(([d, b, n]) => `dma write ${d} ${b} ${n} --pattern 5a`),
  fc.tuple(bus, fc.constantFrom("0x180000000", "$rx"), size).map(([b, p, n]) =>
    `tree insert ${b} ${p} ${n}`
  ),
  bus.map((b) => `lookup bus ${b}`),
  buf.map((b) => `lookup phys ${b}`),
  fc.tuple(fc.constantFrom("rx", "tx"), size).map(([b, n]) => `buf read ${b} 0 ${n}`),
);

/** The devices and buffers the random lines name. */
export const SETUP = [
  "device add nic --mask 32",
  "device add old --mask 24 --boundary 0xffff",
  "device add tiny --mask 20",
  "buf alloc rx 8K",
  "buf alloc tx 64K",
];

/**
 * Failures the kernel itself returns (a map's DMA_ERROR_CODE, a NULL coherent buffer, an
 * IOMMU fault) change state as the kernel does — counters, the next-free index — and
 * are checked against the kernel elsewhere; every other refusal is the checked policy's.
 */
export function isRefusal(json: Record<string, unknown> | undefined): boolean {
  if (json === undefined) return true;
  if (json.failure !== undefined && json.failure !== null) return false;
  return !["coherent-failed", "iommu-fault"].includes(json.code as string);
}

export function checkRefusals(start: string, lines: string[]): void {
  const s = new Session({ json: true });
  runLine(s, start);
  for (const l of SETUP) runLine(s, l);
  if (s.guest === null) return;
  for (const line of lines) {
    const before = snapshot(s);
    const r = runLine(s, line);
    assert(!(r.error ?? "").startsWith("internal error"), `${line} → ${r.error}`);
    if (!r.ok && isRefusal(r.json)) {
      assertEquals(snapshot(s), before, `refused ${JSON.stringify(line)} changed state`);
    }
  }
}
