/**
 * Bouncing is invisible to a well-behaved driver (issue 4): random mixes of map, sync,
 * unmap and device traffic, run in each mode, against a *plain* model of memory in
 * which the device reads and writes the buffer itself. No bounce slots, no allocator,
 * no mode: the same model serves every mode, so passing in all of them means no mode
 * loses or corrupts a byte.
 *
 * The driver follows the DMA API's ownership rules, which is what makes the outcome
 * mode-independent: mapped ranges never overlap; a mapping belongs to the device after
 * map / sync for device and to the CPU after sync for CPU; the device touches only
 * device-owned mappings, writes only FROM/BIDI ones; the CPU writes only where no
 * device-owned mapping and no FROM mapping lies; unmap happens while device-owned.
 *
 * The one thing the plain model cannot say is what a FROM_DEVICE mapping hands back
 * for bytes the device never wrote: 3.11 does not bounce in on FROM_DEVICE, so a
 * bounced mapping returns stale slot bytes there (SPEC §3 map step 5), a direct one the
 * old buffer. Those bytes become "unknown" and are not compared.
 *
 * @module
 */

import fc from "fast-check";
import {
  type Direction,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
} from "../../lib/direction.ts";
import {
  BUFFERS,
  bufRef,
  DEVICES,
  dirWord,
  fill,
  firstDiff,
  hex,
  hexBytes,
  initialPattern,
  MAX_MAP,
  type ModeSpec,
  printScript,
  type Real,
  setupReal,
} from "./lab.ts";
import { patternArb, sizeArb } from "./exact.ts";
import { n as num } from "../_addr.ts";

/** One step of a driver; indices are resolved against the live state when it runs. */
export type PlainOp =
  | { k: "cpu-write"; buf: number; offRaw: number; lenRaw: number; pat: Uint8Array }
  | { k: "map"; dev: number; buf: number; offRaw: number; sizeRaw: number; dir: Direction }
  | { k: "dev-write"; sel: number; offRaw: number; lenRaw: number; pat: Uint8Array }
  | { k: "dev-read"; sel: number; offRaw: number; lenRaw: number }
  | { k: "sync-cpu"; sel: number }
  | { k: "sync-device"; sel: number }
  | { k: "unmap"; sel: number }
  | { k: "churn"; n: number; dir: Direction };

interface PlainMapping {
  dev: number;
  buf: number;
  off: number;
  size: number;
  dir: Direction;
  bus: number;
  owner: "device" | "cpu";
  /** Bytes the device wrote during this mapping (what FROM_DEVICE hands back for sure). */
  written: Uint8Array;
}

/** A failure against the plain model. */
export class PlainMismatch extends Error {
  override name = "PlainMismatch";
}

function fail(message: string): never {
  throw new PlainMismatch(message);
}

const writable = (dir: Direction) => dir === DMA_FROM_DEVICE || dir === DMA_BIDIRECTIONAL;

/** Plain memory: bytes, whether each is known, and the live mappings. */
class PlainState {
  readonly bytes: Uint8Array[];
  readonly known: Uint8Array[];
  readonly maps: PlainMapping[] = [];
  /** Lines run so far (the replay script's body). */
  readonly lines: string[] = [];
  /** Counters for the report. */
  ran = 0;

  constructor(seed: number) {
    this.bytes = BUFFERS.map((b, i) => fill(initialPattern(seed, i), b.size));
    this.known = BUFFERS.map((b) => new Uint8Array(b.size).fill(1));
  }

  overlaps(buf: number, off: number, len: number, pred: (m: PlainMapping) => boolean) {
    return this.maps.some((m) =>
      m.buf === buf && pred(m) && off < m.off + m.size && m.off < off + len
    );
  }

  /** FROM_DEVICE hands back what the device wrote; the rest is unknown. */
  settleFrom(m: PlainMapping): void {
    if (m.dir !== DMA_FROM_DEVICE) return;
    const known = this.known[m.buf];
    for (let i = 0; i < m.size; i++) if (!m.written[i]) known[m.off + i] = 0;
  }
}

function pick<T>(list: T[], sel: number): T | undefined {
  return list.length === 0 ? undefined : list[sel % list.length];
}

/** The CPU's view of every byte the plain model knows and the device cannot be changing. */
function checkCpu(s: PlainState, r: Real): void {
  BUFFERS.forEach((b, i) => {
    const got = r.g.readBuffer(b.name, 0, b.size);
    if (firstDiff(got, s.bytes[i]) < 0) return;
    const hidden = new Uint8Array(b.size);
    for (const m of s.maps) {
      if (m.buf === i && m.owner === "device" && writable(m.dir)) {
        hidden.fill(1, m.off, m.off + m.size);
      }
    }
    const want = s.bytes[i], known = s.known[i];
    for (let k = 0; k < b.size; k++) {
      if (!known[k] || hidden[k] || got[k] === want[k]) continue;
      let n = 0;
      while (n < 16 && k + n < b.size && known[k + n] && !hidden[k + n]) n++;
      r.tail.push(`expect bytes ${b.name} ${hex(k)} ${hexBytes(want.subarray(k, k + n))}`);
      fail(
        `CPU sees ${hexBytes(got.subarray(k, k + n))} at ${b.name}+${hex(k)}, ` +
          `plain memory says ${hexBytes(want.subarray(k, k + n))}`,
      );
    }
  });
  const events = r.g.events.drain();
  const ub = events.filter((e) => e.kind === "ub");
  if (ub.length > 0) {
    r.tail.push("expect stat ub_events 0");
    fail(`undefined behaviour: ${ub.map((e) => e.message).join("; ")}`);
  }
  // A well-behaved driver gives the DMA-API debug layer nothing to report (SPEC §8).
  const reports = events.filter((e) => e.kind === "debug");
  if (reports.length > 0) {
    fail(`DMA-API debug report(s): ${reports.map((e) => e.message).join("; ")}`);
  }
  const problems = r.g.tree()?.problems ?? [];
  if (problems.length > 0) {
    r.tail.push("expect tree valid");
    fail(`tree problems: ${problems.join("; ")}`);
  }
}

function syncLine(m: PlainMapping, target: "cpu" | "device"): string {
  return `sync ${DEVICES[m.dev].name} ${hex(m.bus)} ${m.size} ${dirWord(m.dir)} --for ${target}`;
}

function syncTo(s: PlainState, r: Real, m: PlainMapping, target: "cpu" | "device", out: string[]) {
  out.push(syncLine(m, target));
  r.g.sync(DEVICES[m.dev].name, m.bus, m.size, m.dir, target);
  m.owner = target;
  if (target === "cpu") s.settleFrom(m);
}

function unmap(s: PlainState, r: Real, m: PlainMapping, out: string[]): void {
  out.push(`unmap ${DEVICES[m.dev].name} ${hex(m.bus)} ${m.size} ${dirWord(m.dir)}`);
  r.g.unmap(DEVICES[m.dev].name, m.bus, m.size, m.dir);
  s.settleFrom(m);
  s.maps.splice(s.maps.indexOf(m), 1);
}

/** Runs one op if the ownership rules allow it; returns whether it ran. */
function step(s: PlainState, r: Real, op: PlainOp): boolean {
  const g = r.g;
  const out = s.lines;
  switch (op.k) {
    case "cpu-write": {
      const b = BUFFERS[op.buf];
      const len = Math.min(op.lenRaw, b.size);
      const off = op.offRaw % (b.size - len + 1);
      if (
        s.overlaps(op.buf, off, len, (m) => m.owner === "device" || m.dir === DMA_FROM_DEVICE)
      ) return false;
      out.push(`buf write ${b.name} ${hex(off)} --pattern ${hexBytes(op.pat)} --len ${len}`);
      const bytes = fill(op.pat, len);
      g.writeBuffer(b.name, off, bytes);
      s.bytes[op.buf].set(bytes, off);
      s.known[op.buf].fill(1, off, off + len);
      return true;
    }
    case "map": {
      const b = BUFFERS[op.buf];
      const size = Math.min(op.sizeRaw, b.size, MAX_MAP);
      const off = op.offRaw % (b.size - size + 1);
      // Disjoint ranges; and at most one live mapping per segment but one, so the pool
      // cannot be full (SPEC §3: an untouched segment fits any map of ≤ 128 slots).
      if (s.overlaps(op.buf, off, size, () => true)) return false;
      if (s.maps.length >= Math.ceil(r.nslabs / 128) - 1) return false;
      const dev = DEVICES[op.dev].name;
      out.push(`map ${dev} ${bufRef(op.buf, off)} ${size} ${dirWord(op.dir)}`);
      const res = g.map(dev, r.bufPhys[op.buf] + off, size, op.dir);
      if (res.error) fail(`map failed: ${res.failure?.code}`);
      const bus = num(res.bus);
      out.push(`map-error ${dev} ${hex(bus)}`);
      if (g.mappingError(dev, bus).error) fail(`dma_mapping_error says ${hex(bus)} failed`);
      s.maps.push({
        dev: op.dev,
        buf: op.buf,
        off,
        size,
        dir: op.dir,
        bus: num(res.bus),
        owner: "device",
        written: new Uint8Array(size),
      });
      return true;
    }
    case "dev-write": {
      const m = pick(s.maps.filter((x) => x.owner === "device" && writable(x.dir)), op.sel);
      if (!m) return false;
      const len = Math.min(op.lenRaw, m.size);
      const off = op.offRaw % (m.size - len + 1);
      const dev = DEVICES[m.dev].name;
      out.push(`dma write ${dev} ${hex(m.bus + off)} ${len} --pattern ${hexBytes(op.pat)}`);
      const bytes = fill(op.pat, len);
      const w = g.dmaWrite(dev, m.bus + off, bytes);
      const stray = w.pieces.filter((p) => p.stray);
      if (stray.length > 0) {
        fail(`stray device write: frames ${stray.map((p) => hex(p.mfn)).join(", ")}`);
      }
      s.bytes[m.buf].set(bytes, m.off + off);
      s.known[m.buf].fill(1, m.off + off, m.off + off + len);
      m.written.fill(1, off, off + len);
      return true;
    }
    case "dev-read": {
      const m = pick(s.maps.filter((x) => x.owner === "device"), op.sel);
      if (!m) return false;
      const len = Math.min(op.lenRaw, m.size);
      const off = op.offRaw % (m.size - len + 1);
      const dev = DEVICES[m.dev].name;
      out.push(`dma read ${dev} ${hex(m.bus + off)} ${len}`);
      const got = g.dmaRead(dev, m.bus + off, len).bytes;
      const want = s.bytes[m.buf].subarray(m.off + off, m.off + off + len);
      // What the device may rely on: FROM — its own writes; TO/BIDI — every known byte.
      const defined = (i: number) =>
        m.dir === DMA_FROM_DEVICE
          ? m.written[off + i] === 1
          : s.known[m.buf][m.off + off + i] === 1;
      let all = true;
      for (let i = 0; i < len; i++) all &&= defined(i);
      // The script can only claim bytes the model knows.
      if (all) out.push(`expect field bytes ${hexBytes(want)}`);
      for (let i = 0; i < len; i++) {
        if (defined(i) && got[i] !== want[i]) {
          fail(
            `device read ${hexBytes(got)} at ${hex(m.bus + off)}, plain memory says ${
              hexBytes(want)
            } (byte ${i} differs)`,
          );
        }
      }
      return true;
    }
    case "sync-cpu": {
      const m = pick(s.maps.filter((x) => x.owner === "device"), op.sel);
      if (!m) return false;
      syncTo(s, r, m, "cpu", out);
      return true;
    }
    case "sync-device": {
      const m = pick(s.maps.filter((x) => x.owner === "cpu"), op.sel);
      if (!m) return false;
      syncTo(s, r, m, "device", out);
      return true;
    }
    case "unmap": {
      const m = pick(s.maps.filter((x) => x.owner === "device"), op.sel);
      if (!m) return false;
      unmap(s, r, m, out);
      return true;
    }
    case "churn": {
      // Map and unmap 64 KiB of b2 n times (TO or BIDI: no byte changes), moving the
      // next-fit hint 32 slots each time so that every segment and the wrap get used.
      for (let i = 0; i < op.n; i++) {
        if (!step(s, r, { k: "map", dev: 0, buf: 2, offRaw: 0, sizeRaw: MAX_MAP, dir: op.dir })) {
          return i > 0;
        }
        unmap(s, r, s.maps[s.maps.length - 1], out);
      }
      return true;
    }
  }
}

/** The op arbitrary (indices shrink towards the first buffer / oldest mapping). */
export function plainOpArb(): fc.Arbitrary<PlainOp> {
  const sel = fc.nat(1000);
  const off = fc.nat(1 << 20);
  const dir = fc.constantFrom<Direction>(DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE);
  return fc.oneof(
    fc.record({
      k: fc.constant("cpu-write" as const),
      buf: fc.nat(BUFFERS.length - 1),
      offRaw: off,
      lenRaw: sizeArb,
      pat: patternArb,
    }),
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant("map" as const),
        dev: fc.nat(DEVICES.length - 1),
        buf: fc.nat(BUFFERS.length - 1),
        offRaw: off,
        sizeRaw: sizeArb,
        dir,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant("dev-write" as const),
        sel,
        offRaw: off,
        lenRaw: sizeArb,
        pat: patternArb,
      }),
    },
    fc.record({
      k: fc.constant("dev-read" as const),
      sel,
      offRaw: off,
      lenRaw: fc.integer({ min: 1, max: 48 }),
    }),
    fc.record({ k: fc.constant("sync-cpu" as const), sel }),
    fc.record({ k: fc.constant("sync-device" as const), sel }),
    { weight: 2, arbitrary: fc.record({ k: fc.constant("unmap" as const), sel }) },
    fc.record({
      k: fc.constant("churn" as const),
      n: fc.integer({ min: 1, max: 28 }),
      dir: fc.constantFrom<Direction>(DMA_TO_DEVICE, DMA_BIDIRECTIONAL),
    }),
  );
}

/**
 * Runs the ops, checking after each; then gives everything back to the CPU (sync for
 * device where the CPU holds it, unmap) and compares every known byte. Returns the
 * number of ops that ran; on failure throws with the replay script.
 */
export function runPlain(mode: ModeSpec, seed: number, ops: readonly PlainOp[]): number {
  const r = setupReal(mode, seed);
  const s = new PlainState(seed);
  try {
    for (const op of ops) {
      if (step(s, r, op)) {
        s.ran++;
        checkCpu(s, r);
      }
    }
    while (s.maps.length > 0) {
      const m = s.maps[0];
      if (m.owner === "cpu") syncTo(s, r, m, "device", r.tail);
      unmap(s, r, m, r.tail);
    }
    checkCpu(s, r);
    const used = r.g.core?.stats.slotsUsed;
    if (used !== 0) fail(`${used} slots still in use after unmapping everything`);
  } catch (e) {
    const script = printScript(r.header, [...s.lines, ...r.tail]);
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new PlainMismatch(`${mode.name}: ${msg}\n--- replay script ---\n${script}--- end ---`);
  }
  return s.ran;
}
