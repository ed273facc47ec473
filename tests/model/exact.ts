/**
 * A reference model of what every byte should be, for fast-check's `fc.commands`
 * (SPEC §3 bounce rules, §7 DMA operations). It knows no allocator and no translation:
 * it takes `bounced` and the slot from each map result (the engine's decisions) and
 * then predicts every byte — the CPU's view of each buffer, and the device's view of
 * each live mapping:
 *
 * - a direct or fast-path mapping: the device sees the buffer itself, so CPU writes
 *   reach it at once and device writes reach the CPU at once;
 * - a bounced mapping: the device sees its slots; bytes move only at map (TO/BIDI),
 *   sync for device (TO/BIDI), sync for CPU (FROM/BIDI) and unmap (FROM/BIDI), whole
 *   range each time — including the stale slot bytes a FROM_DEVICE unmap copies back
 *   when the device wrote less than the mapping (3.11 does not bounce in on FROM).
 *
 * It also checks, from SPEC §3 and §7, what it can without an allocator: who must
 * bounce (autotranslate and force always; PV iff not capable or not machine-contiguous
 * by the p2m; direct DMA iff beyond the mask); slots of live mappings never overlap, stay
 * inside one segment, start even above 4 KiB; the slots in use match the core's counters
 * and free list; the live mappings match the debug layer's records one for one; the
 * tree validates; no UB event and, since every call is valid and
 * every handle goes through dma_mapping_error, no DMA-API debug report.
 *
 * @module
 */

import fc from "fast-check";
import type { Addr } from "../../lib/addr.ts";
import {
  type Direction,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
} from "../../lib/direction.ts";
import {
  BUFFERS,
  bufRef,
  capable,
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
  sgRef,
} from "./lab.ts";
import { n as num } from "../_addr.ts";

const SLOT = 2048;
const SEGSIZE = 128;

/** A model-side failure: the engine disagrees with the model. */
export class ModelMismatch extends Error {
  override name = "ModelMismatch";
}

function fail(message: string): never {
  throw new ModelMismatch(message);
}

/** A live mapping as the model knows it. */
export interface Mapping {
  id: number;
  dev: number;
  buf: number;
  off: number;
  size: number;
  dir: Direction;
  bus: number;
  bounced: boolean;
  /** First bounce slot, -1 when not bounced. */
  slot: number;
  /** The scatterlist it belongs to, -1 for map/unmap. */
  sg: number;
}

/** One scatterlist element, resolved against the bench's buffers. */
export interface Elem {
  buf: number;
  off: number;
  len: number;
}

/** A live scatterlist. */
export interface SgList {
  id: number;
  dev: number;
  dir: Direction;
  elems: Elem[];
  members: Mapping[];
}

/** What the runs did, for the report (`MODEL_STATS=1`). */
export const COUNTS = {
  runs: 0,
  commands: 0,
  bounced: 0,
  notBounced: 0,
  poolFull: 0,
  sgLists: 0,
  maxLive: 0,
};

/** Initial pool contents per mode and seed (null: all zeros). */
const initialPools = new Map<string, Uint8Array | null>();

const copiesIn = (dir: Direction) => dir === DMA_TO_DEVICE || dir === DMA_BIDIRECTIONAL;
const copiesOut = (dir: Direction) => dir === DMA_FROM_DEVICE || dir === DMA_BIDIRECTIONAL;

/** The reference model: plain bytes and a list of live mappings. */
export class Model {
  /** What the CPU sees in each buffer. */
  readonly bufs: Uint8Array[];
  /** The pool's bytes at boot (null: all zeros). */
  readonly #initialPool: Uint8Array | null;
  /** The bounce pool's bytes per segment, made on first touch (a mapping never crosses one). */
  readonly #segs: (Uint8Array | undefined)[] = [];
  /** Live mappings, oldest first. */
  readonly maps: Mapping[] = [];
  readonly sgs: SgList[] = [];
  readonly nslabs: number;
  /** Injected fault, for the test that proves a failure prints a replayable script. */
  sabotage = false;
  #nextId = 0;

  constructor(bufs: Uint8Array[], initialPool: Uint8Array | null, nslabs: number) {
    this.bufs = bufs;
    this.#initialPool = initialPool;
    this.nslabs = nslabs;
  }

  /**
   * The model of a fresh bench: buffers hold the header's patterns; the pool starts as
   * the engine left it after init (the starting state, not a prediction).
   */
  static start(r: Real, seed: number): Model {
    const bufs = BUFFERS.map((b, i) => fill(initialPattern(seed, i), b.size));
    // Same mode and seed ⇒ same initial pool (SPEC §4 determinism): read it once.
    // A fresh pool normally reads as zeros; only a pool that does not is kept.
    const key = `${r.mode.name}/${seed}`;
    let pool = initialPools.get(key);
    if (pool === undefined) {
      const read = r.g.readPhys(r.poolPhys, r.nslabs * SLOT);
      pool = firstDiff(read, new Uint8Array(read.length)) < 0 ? null : read;
      initialPools.set(key, pool);
    }
    return new Model(bufs, pool, r.nslabs);
  }

  newId(): number {
    return this.#nextId++;
  }

  singles(): Mapping[] {
    return this.maps.filter((m) => m.sg < 0);
  }

  slotsUsed(): number {
    let n = 0;
    for (const m of this.maps) if (m.bounced) n += Math.ceil(m.size / SLOT);
    return n;
  }

  /** Segments no live bounce mapping touches: each can take any map of ≤ 128 slots. */
  freeSegments(): number {
    const touched = new Set<number>();
    for (const m of this.maps) if (m.bounced) touched.add(Math.floor(m.slot / SEGSIZE));
    return Math.ceil(this.nslabs / SEGSIZE) - touched.size;
  }

  /** What the device sees through a mapping (a live view into the model's bytes). */
  view(m: Mapping): Uint8Array {
    if (!m.bounced) return this.bufs[m.buf].subarray(m.off, m.off + m.size);
    const j = Math.floor(m.slot / SEGSIZE);
    let seg = this.#segs[j];
    if (!seg) {
      const bytes = SEGSIZE * SLOT;
      seg = this.#initialPool?.slice(j * bytes, (j + 1) * bytes) ?? new Uint8Array(bytes);
      this.#segs[j] = seg;
    }
    const at = (m.slot % SEGSIZE) * SLOT;
    return seg.subarray(at, at + m.size);
  }

  /** swiotlb_bounce original → bounce for [off, off+len) of a mapping. */
  toDevice(m: Mapping, off: number, len: number): void {
    if (!m.bounced) return;
    this.view(m).set(this.bufs[m.buf].subarray(m.off + off, m.off + off + len), off);
  }

  /** swiotlb_bounce bounce → original. */
  toCpu(m: Mapping, off: number, len: number): void {
    if (!m.bounced) return;
    this.bufs[m.buf].set(this.view(m).subarray(off, off + len), m.off + off);
  }

  remove(m: Mapping): void {
    this.maps.splice(this.maps.indexOf(m), 1);
  }
}

// ---------------------------------------------------------------------------------------
// Checks

/** The device's view of a mapping equals the model's; on mismatch the script gets the read. */
export function checkView(m: Model, r: Real, mp: Mapping): void {
  const dev = DEVICES[mp.dev].name;
  const got = r.g.dmaRead(dev, mp.bus, mp.size).bytes;
  const want = m.view(mp);
  const k = firstDiff(got, want);
  if (k < 0) return;
  const n = Math.min(16, mp.size - k);
  r.tail.push(`dma read ${dev} ${hex(mp.bus + k)} ${n}`);
  r.tail.push(`expect field bytes ${hexBytes(want.subarray(k, k + n))}`);
  fail(
    `device ${dev} sees ${hexBytes(got.subarray(k, k + n))} at bus ${hex(mp.bus + k)} ` +
      `(mapping ${bufRef(mp.buf, mp.off)} ${mp.size} ${dirWord(mp.dir)}, ` +
      `${mp.bounced ? `bounced at slot ${mp.slot}` : "not bounced"}), ` +
      `the model says ${hexBytes(want.subarray(k, k + n))}`,
  );
}

/** The invariants checked after every command. */
export function checkInvariants(m: Model, r: Real): void {
  const g = r.g;
  // The CPU's view of every buffer.
  BUFFERS.forEach((b, i) => {
    const got = g.readBuffer(b.name, 0, b.size);
    const k = firstDiff(got, m.bufs[i]);
    if (k >= 0) {
      const n = Math.min(16, b.size - k);
      r.tail.push(`expect bytes ${b.name} ${hex(k)} ${hexBytes(m.bufs[i].subarray(k, k + n))}`);
      fail(
        `CPU sees ${hexBytes(got.subarray(k, k + n))} at ${b.name}+${hex(k)}, ` +
          `the model says ${hexBytes(m.bufs[i].subarray(k, k + n))}`,
      );
    }
  });
  const core = g.core;
  if (!core) fail("the guest has no swiotlb core");
  // The live bounce mappings, slot for slot.
  const live = core.liveMappings();
  const bounced = m.maps.filter((x) => x.bounced).sort((a, b) => a.slot - b.slot);
  const liveText = live.map((x) => `${x.index}+${x.size}`).join(" ");
  const modelText = bounced.map((x) => `${x.slot}+${x.size}`).join(" ");
  if (liveText !== modelText) {
    fail(`live bounce mappings (slot+size): core [${liveText}], model [${modelText}]`);
  }
  // Every live mapping, direct ones included, as the DMA-API debug layer records them.
  if (g.debugEnabled) {
    const key = (dev: string, phys: number, bus: Addr, size: number, dir: number) =>
      `${dev} ${hex(phys)}→${hex(bus)}+${size}/${dirWord(dir as Direction)}`;
    const dbg = g.debugReport().live.map((e) => key(e.device, e.phys, e.bus, e.size, e.dir));
    const mod = m.maps.map((x) =>
      key(DEVICES[x.dev].name, r.bufPhys[x.buf] + x.off, x.bus, x.size, x.dir)
    );
    if (dbg.sort().join(", ") !== mod.sort().join(", ")) {
      fail(`live mappings: debug layer [${dbg.join(", ")}], model [${mod.join(", ")}]`);
    }
  }
  const used = m.slotsUsed();
  if (core.stats.slotsUsed !== used) {
    r.tail.push(`expect stat slots_used ${used}`);
    fail(`core.stats.slotsUsed = ${core.stats.slotsUsed}, the model has ${used} slots in use`);
  }
  const zero = core.slotsInUse();
  if (zero !== used) {
    fail(`${zero} free-list counters are 0, but ${used} slots are in use (SPEC §3 free list)`);
  }
  const problems = g.tree()?.problems ?? [];
  if (problems.length > 0) {
    r.tail.push("expect tree valid");
    fail(`tree problems: ${problems.join("; ")}`);
  }
  const events = [...r.pending.splice(0), ...g.events.drain()];
  const ub = events.filter((e) => e.kind === "ub");
  if (ub.length > 0) {
    r.tail.push("expect stat ub_events 0");
    fail(`undefined behaviour under the checked policy: ${ub.map((e) => e.message).join("; ")}`);
  }
  // Every call is valid, so the DMA-API debug layer must have nothing to say (SPEC §8).
  const reports = events.filter((e) => e.kind === "debug");
  if (reports.length > 0) {
    fail(`DMA-API debug report(s): ${reports.map((e) => e.message).join("; ")}`);
  }
}

/**
 * What SPEC §3 and §7 say about a fresh mapping without knowing the allocator or the
 * p2m: who must bounce, where a bounce slot may lie, what bus a direct map gets.
 */
function admit(m: Model, r: Real, mp: Mapping, resPhys: number | undefined): void {
  const dev = DEVICES[mp.dev];
  const phys = r.bufPhys[mp.buf] + mp.off;
  const what = `${dev.name} ${bufRef(mp.buf, mp.off)} ${mp.size} ${dirWord(mp.dir)}`;
  if ((r.mode.force || r.mode.kind === "auto") && !mp.bounced) {
    fail(`${what} was not bounced, but ${r.mode.name} always bounces (SPEC §7)`);
  }
  if (r.mode.kind === "pv" && !r.mode.force) {
    // SPEC §7 PV fast path iff dma_capable(p2m bus) and machine-contiguous, from the p2m.
    const first = Math.floor(phys / 4096);
    const runs = r.g.p2m(first, Math.floor((phys + mp.size - 1) / 4096) - first + 1).runs;
    const bus = runs[0].mfn * 4096 + (phys - first * 4096);
    const fast = runs.length === 1 && capable("x86", dev.maskBits, bus, mp.size);
    if (fast === mp.bounced) {
      fail(`${what}: bounced = ${mp.bounced}, but the p2m says the fast path is ${fast}`);
    }
    if (fast && mp.bus !== bus) fail(`${what}: fast-path bus ${hex(mp.bus)}, p2m says ${hex(bus)}`);
  }
  if (r.mode.kind === "direct") {
    const need = !capable(r.mode.arch, dev.maskBits, phys, mp.size);
    if (need !== mp.bounced) {
      fail(`${what}: bounced = ${mp.bounced}, but dma_capable says ${!need} (SPEC §5 direct DMA)`);
    }
    if (!mp.bounced && mp.bus !== phys) {
      fail(`${what}: direct bus ${hex(mp.bus)} is not guest-physical ${hex(phys)}`);
    }
  }
  if (!mp.bounced) return;
  const nslots = Math.ceil(mp.size / SLOT);
  const s = mp.slot;
  if (!Number.isInteger(s) || s < 0 || s + nslots > m.nslabs) {
    fail(`${what}: slot ${s} (+${nslots}) is outside the ${m.nslabs}-slot pool`);
  }
  if ((s % SEGSIZE) + nslots > SEGSIZE) fail(`${what}: slots ${s}+${nslots} cross a segment`);
  if (mp.size > 4096 && s % 2 !== 0) fail(`${what}: stride 2 (size > 4096) but odd slot ${s}`);
  if (resPhys !== undefined && resPhys !== r.poolPhys + s * SLOT) {
    fail(`${what}: phys ${hex(resPhys)} is not slot ${s}'s ${hex(r.poolPhys + s * SLOT)}`);
  }
  if (r.mode.kind === "direct" && mp.bus !== r.poolPhys + s * SLOT) {
    fail(`${what}: native bounce bus ${hex(mp.bus)} is not slot ${s}'s guest-physical address`);
  }
  for (const o of m.maps) {
    if (o === mp || !o.bounced) continue;
    const on = Math.ceil(o.size / SLOT);
    if (s < o.slot + on && o.slot < s + nslots) {
      fail(`${what}: slots ${s}+${nslots} overlap live slots ${o.slot}+${on}`);
    }
  }
  if (dev.boundary !== undefined && r.linearBus) {
    const span = dev.boundary + 1;
    if (Math.floor(mp.bus / span) !== Math.floor((mp.bus + mp.size - 1) / span)) {
      fail(`${what}: bus ${hex(mp.bus)}+${mp.size} crosses the ${hex(dev.boundary)} boundary`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Operations shared by the commands and the teardown. Each appends its REPL lines to
// `out` before calling the engine, so a throw leaves the failing line in the script.

function unmapOne(m: Model, r: Real, mp: Mapping, out: string[]): void {
  const dev = DEVICES[mp.dev].name;
  out.push(`unmap ${dev} ${hex(mp.bus)} ${mp.size} ${dirWord(mp.dir)}`);
  const res = r.g.unmap(dev, mp.bus, mp.size, mp.dir);
  const want = mp.bounced && copiesOut(mp.dir) ? mp.size : 0;
  if (res.copied !== want) fail(`unmap copied ${res.copied} bytes, expected ${want}`);
  if (copiesOut(mp.dir)) m.toCpu(mp, 0, mp.size);
  m.remove(mp);
}

function sgText(s: { dev: number; dir: Direction; elems: Elem[] }): string {
  return `${DEVICES[s.dev].name} ${s.elems.map((e) => sgRef(e.buf, e.off, e.len)).join(" ")} ${
    dirWord(s.dir)
  }`;
}

function sgPhys(r: Real, elems: Elem[]) {
  return elems.map((e) => ({ phys: r.bufPhys[e.buf] + e.off, length: e.len }));
}

function unmapSgList(m: Model, r: Real, s: SgList, out: string[]): void {
  out.push(`unmap-sg ${sgText(s)}`);
  const res = r.g.unmapSg(DEVICES[s.dev].name, sgPhys(r, s.elems), s.dir);
  let want = 0;
  for (const mp of s.members) {
    if (mp.bounced && copiesOut(s.dir)) want += mp.size;
    if (copiesOut(s.dir)) m.toCpu(mp, 0, mp.size);
    m.remove(mp);
  }
  m.sgs.splice(m.sgs.indexOf(s), 1);
  if (res.copied !== want) fail(`unmap-sg copied ${res.copied} bytes, expected ${want}`);
}

/** Checks every live mapping's device view, unmaps everything, and checks again. */
export function teardown(m: Model, r: Real): void {
  for (const mp of m.maps) checkView(m, r, mp);
  while (m.sgs.length > 0) unmapSgList(m, r, m.sgs[0], r.tail);
  while (m.maps.length > 0) unmapOne(m, r, m.maps[0], r.tail);
  checkInvariants(m, r);
  const used = r.g.core?.stats.slotsUsed;
  if (used !== 0) fail(`${used} slots still in use after unmapping everything`);
}

// ---------------------------------------------------------------------------------------
// The commands

/** A command of the model test: runs on the engine, updates the model, prints its REPL lines. */
export abstract class LabCommand implements fc.Command<Model, Real> {
  /** The REPL lines of this run (empty until it runs). */
  lines: string[] = [];
  ran = false;
  abstract check(m: Readonly<Model>): boolean;
  protected abstract exec(m: Model, r: Real): void;
  /** A copy that has not run (fast-check clones commands between runs). */
  abstract fresh(): LabCommand;
  /** What it will do, before it has run (its REPL line needs run-time bus addresses). */
  abstract describe(): string;

  run(m: Model, r: Real): void {
    this.ran = true;
    this.lines = [];
    this.exec(m, r);
    checkInvariants(m, r);
  }

  /** Its REPL lines once it has run — what the counterexample prints. */
  toString(): string {
    return this.ran ? this.lines.join("\n") : "";
  }

  [fc.cloneMethod](): LabCommand {
    return this.fresh();
  }
}

/** CPU writes a pattern into a buffer range: `buf write b1 0x10 --pattern P --len N`. */
export class CpuWrite extends LabCommand {
  constructor(
    readonly buf: number,
    readonly offRaw: number,
    readonly lenRaw: number,
    readonly pat: Uint8Array,
  ) {
    super();
  }
  check(): boolean {
    return true;
  }
  fresh(): CpuWrite {
    return new CpuWrite(this.buf, this.offRaw, this.lenRaw, this.pat);
  }
  describe(): string {
    return `cpu write ${BUFFERS[this.buf].name}`;
  }
  protected exec(m: Model, r: Real): void {
    const b = BUFFERS[this.buf];
    const len = Math.min(this.lenRaw, b.size);
    const off = this.offRaw % (b.size - len + 1);
    this.lines.push(`buf write ${b.name} ${hex(off)} --pattern ${hexBytes(this.pat)} --len ${len}`);
    const bytes = fill(this.pat, len);
    r.g.writeBuffer(b.name, off, bytes);
    m.bufs[this.buf].set(bytes, off);
  }
}

/** dma_map_page of a buffer range: `map dev b1+0x10 300 bidi`. */
export class MapCmd extends LabCommand {
  constructor(
    readonly dev: number,
    readonly buf: number,
    readonly offRaw: number,
    readonly sizeRaw: number,
    readonly dir: Direction,
  ) {
    super();
  }
  check(): boolean {
    return true;
  }
  fresh(): MapCmd {
    return new MapCmd(this.dev, this.buf, this.offRaw, this.sizeRaw, this.dir);
  }
  describe(): string {
    return `map ${DEVICES[this.dev].name} ${BUFFERS[this.buf].name} ${this.sizeRaw}`;
  }
  protected exec(m: Model, r: Real): void {
    const b = BUFFERS[this.buf];
    const size = Math.min(this.sizeRaw, b.size, MAX_MAP);
    const off = this.offRaw % (b.size - size + 1);
    const mp = mapOne(m, r, this.dev, this.buf, off, size, this.dir, this.lines);
    if (mp && m.sabotage) {
      m.view(mp)[0] ^= 1;
      checkView(m, r, mp);
    }
  }
}

/**
 * dma_map_page and dma_mapping_error: the engine's result becomes a model mapping (or,
 * when the pool may be full, an expected failure). Returns the mapping, if any.
 */
function mapOne(
  m: Model,
  r: Real,
  devIndex: number,
  buf: number,
  off: number,
  size: number,
  dir: Direction,
  out: string[],
  viewCheck = true,
): Mapping | undefined {
  const dev = DEVICES[devIndex].name;
  out.push(`map ${dev} ${bufRef(buf, off)} ${size} ${dirWord(dir)}`);
  // With a segment that no live mapping touches, a map of ≤ 32 slots cannot fail
  // (SPEC §3: that segment's first counter is 128 and the search visits it).
  const mustFit = m.freeSegments() >= 1;
  const res = r.g.map(dev, r.bufPhys[buf] + off, size, dir);
  if (res.error) {
    if (mustFit || res.failure?.code !== "swiotlb-full") {
      fail(`map failed with ${m.freeSegments()} free segment(s): ${res.failure?.code}`);
    }
    out.push(`expect error "swiotlb buffer is full"`);
    COUNTS.poolFull++;
    return undefined;
  }
  const mp: Mapping = {
    id: m.newId(),
    dev: devIndex,
    buf,
    off,
    size,
    dir,
    bus: num(res.bus),
    bounced: res.bounced,
    slot: res.slot ?? -1,
    sg: -1,
  };
  // A driver checks every handle (dma_mapping_error), as the debug layer expects (SPEC §8).
  out.push(`map-error ${dev} ${hex(mp.bus)}`);
  if (r.g.mappingError(dev, mp.bus).error) fail(`dma_mapping_error says ${hex(mp.bus)} failed`);
  m.maps.push(mp);
  if (mp.bounced) COUNTS.bounced++;
  else COUNTS.notBounced++;
  COUNTS.maxLive = Math.max(COUNTS.maxLive, m.maps.length);
  admit(m, r, mp, res.bounced ? res.phys : undefined);
  const want = mp.bounced && copiesIn(dir) ? size : 0;
  if (res.copied !== want) fail(`map copied ${res.copied} bytes, expected ${want}`);
  if (copiesIn(dir)) m.toDevice(mp, 0, size);
  if (viewCheck) checkView(m, r, mp);
  return mp;
}

/**
 * Map and unmap 64 KiB of b2 for `nic`, `k` times: each bounce moves the next-fit hint
 * 32 slots on (SPEC §3 step 5), so later segments and the wrap to slot 0 get used.
 */
export class ChurnCmd extends LabCommand {
  constructor(readonly k: number, readonly dir: Direction) {
    super();
  }
  check(): boolean {
    return true;
  }
  fresh(): ChurnCmd {
    return new ChurnCmd(this.k, this.dir);
  }
  describe(): string {
    return `churn ${this.k}`;
  }
  protected exec(m: Model, r: Real): void {
    for (let i = 0; i < this.k; i++) {
      // No device-view check per cycle (the invariants after the command still run).
      const mp = mapOne(m, r, 0, 2, 0, MAX_MAP, this.dir, this.lines, false);
      if (!mp) return;
      unmapOne(m, r, mp, this.lines);
    }
  }
}

/** The device writes a pattern at a live mapping: `dma write dev BUS LEN --pattern P`. */
export class DevWrite extends LabCommand {
  constructor(
    readonly sel: number,
    readonly offRaw: number,
    readonly lenRaw: number,
    readonly pat: Uint8Array,
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.maps.length > 0;
  }
  fresh(): DevWrite {
    return new DevWrite(this.sel, this.offRaw, this.lenRaw, this.pat);
  }
  describe(): string {
    return `device write at mapping #${this.sel}`;
  }
  protected exec(m: Model, r: Real): void {
    const mp = m.maps[this.sel % m.maps.length];
    const dev = DEVICES[mp.dev].name;
    const len = Math.min(this.lenRaw, mp.size);
    const off = this.offRaw % (mp.size - len + 1);
    this.lines.push(
      `dma write ${dev} ${hex(mp.bus + off)} ${len} --pattern ${hexBytes(this.pat)}`,
    );
    const bytes = fill(this.pat, len);
    const w = r.g.dmaWrite(dev, mp.bus + off, bytes);
    const stray = w.pieces.filter((p) => p.stray);
    if (stray.length > 0) {
      fail(`stray device write: frames ${stray.map((p) => hex(p.mfn)).join(", ")}`);
    }
    m.view(mp).set(bytes, off);
    checkView(m, r, mp);
  }
}

/** The device reads at a live mapping: `dma read dev BUS LEN` + `expect field bytes …`. */
export class DevRead extends LabCommand {
  constructor(readonly sel: number, readonly offRaw: number, readonly lenRaw: number) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.maps.length > 0;
  }
  fresh(): DevRead {
    return new DevRead(this.sel, this.offRaw, this.lenRaw);
  }
  describe(): string {
    return `device read at mapping #${this.sel}`;
  }
  protected exec(m: Model, r: Real): void {
    const mp = m.maps[this.sel % m.maps.length];
    const dev = DEVICES[mp.dev].name;
    const len = Math.min(this.lenRaw, mp.size);
    const off = this.offRaw % (mp.size - len + 1);
    this.lines.push(`dma read ${dev} ${hex(mp.bus + off)} ${len}`);
    const want = m.view(mp).subarray(off, off + len);
    this.lines.push(`expect field bytes ${hexBytes(want)}`);
    const got = r.g.dmaRead(dev, mp.bus + off, len).bytes;
    if (firstDiff(got, want) >= 0) {
      fail(
        `device read ${hexBytes(got)} at ${hex(mp.bus + off)}, the model says ${hexBytes(want)}`,
      );
    }
  }
}

/** dma_sync_single_for_cpu/device, of the whole mapping or a sub-range. */
export class SyncCmd extends LabCommand {
  constructor(
    readonly sel: number,
    readonly target: "cpu" | "device",
    readonly partial: boolean,
    readonly offRaw: number,
    readonly lenRaw: number,
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.maps.some((x) => x.sg < 0);
  }
  fresh(): SyncCmd {
    return new SyncCmd(this.sel, this.target, this.partial, this.offRaw, this.lenRaw);
  }
  describe(): string {
    return `sync mapping #${this.sel} for ${this.target}`;
  }
  protected exec(m: Model, r: Real): void {
    const singles = m.singles();
    const mp = singles[this.sel % singles.length];
    const dev = DEVICES[mp.dev].name;
    const len = this.partial ? Math.min(this.lenRaw, mp.size) : mp.size;
    const off = this.partial ? this.offRaw % (mp.size - len + 1) : 0;
    this.lines.push(
      `sync ${dev} ${hex(mp.bus + off)} ${len} ${dirWord(mp.dir)} --for ${this.target}`,
    );
    const res = r.g.sync(dev, mp.bus + off, len, mp.dir, this.target);
    const moves = this.target === "cpu" ? copiesOut(mp.dir) : copiesIn(mp.dir);
    const want = mp.bounced && moves ? len : 0;
    if (res.copied !== want) fail(`sync copied ${res.copied} bytes, expected ${want}`);
    if (moves) {
      if (this.target === "cpu") m.toCpu(mp, off, len);
      else m.toDevice(mp, off, len);
    }
    checkView(m, r, mp);
  }
}

/** dma_unmap_page of a live single mapping. */
export class UnmapCmd extends LabCommand {
  constructor(readonly sel: number) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.maps.some((x) => x.sg < 0);
  }
  fresh(): UnmapCmd {
    return new UnmapCmd(this.sel);
  }
  describe(): string {
    return `unmap mapping #${this.sel}`;
  }
  protected exec(m: Model, r: Real): void {
    const singles = m.singles();
    unmapOne(m, r, singles[this.sel % singles.length], this.lines);
  }
}

/** A scatterlist element before it is resolved against its buffer. */
export interface RawElem {
  buf: number;
  offRaw: number;
  lenRaw: number;
}

function resolveElem(e: RawElem): Elem {
  const b = BUFFERS[e.buf];
  const len = Math.min(e.lenRaw, b.size, MAX_MAP);
  return { buf: e.buf, off: e.offRaw % (b.size - len + 1), len };
}

function sameElems(a: Elem[], b: Elem[]): boolean {
  return a.length === b.length &&
    a.every((e, i) => e.buf === b[i].buf && e.off === b[i].off && e.len === b[i].len);
}

/** dma_map_sg: `map-sg dev b0:0x0:300 b2:0x40:4096 to`. */
export class MapSgCmd extends LabCommand {
  readonly elems: Elem[];
  constructor(readonly dev: number, readonly dir: Direction, readonly raw: RawElem[]) {
    super();
    this.elems = raw.map(resolveElem);
  }
  check(m: Readonly<Model>): boolean {
    // Only lists that must fit (one untouched segment per element), and not a copy of
    // a live list of the same device (the guest keys live lists by their elements).
    return m.freeSegments() >= this.elems.length &&
      !m.sgs.some((s) => s.dev === this.dev && sameElems(s.elems, this.elems));
  }
  fresh(): MapSgCmd {
    return new MapSgCmd(this.dev, this.dir, this.raw);
  }
  describe(): string {
    return `map-sg of ${this.elems.length} element(s)`;
  }
  protected exec(m: Model, r: Real): void {
    const dev = DEVICES[this.dev].name;
    const list: SgList = {
      id: m.newId(),
      dev: this.dev,
      dir: this.dir,
      elems: this.elems,
      members: [],
    };
    this.lines.push(`map-sg ${sgText(list)}`);
    const res = r.g.mapSg(dev, sgPhys(r, this.elems), this.dir);
    if (res.error) {
      fail(`map-sg failed with ${m.freeSegments()} free segment(s): ${res.failure?.failure.code}`);
    }
    if (res.elements.length !== this.elems.length) {
      fail(`map-sg returned ${res.elements.length} elements for ${this.elems.length}`);
    }
    this.elems.forEach((e, k) => {
      const el = res.elements[k];
      if (el.dmaLength !== e.len) fail(`element ${k}: dma_length ${el.dmaLength}, not ${e.len}`);
      const mp: Mapping = {
        id: m.newId(),
        dev: this.dev,
        buf: e.buf,
        off: e.off,
        size: e.len,
        dir: this.dir,
        bus: el.dmaAddress,
        bounced: el.bounced,
        slot: el.slot ?? -1,
        sg: list.id,
      };
      m.maps.push(mp);
      list.members.push(mp);
      admit(m, r, mp, undefined);
      if (copiesIn(this.dir)) m.toDevice(mp, 0, e.len);
    });
    m.sgs.push(list);
    COUNTS.sgLists++;
    for (const mp of list.members) checkView(m, r, mp);
  }
}

/** dma_unmap_sg of a live scatterlist. */
export class UnmapSgCmd extends LabCommand {
  constructor(readonly sel: number) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.sgs.length > 0;
  }
  fresh(): UnmapSgCmd {
    return new UnmapSgCmd(this.sel);
  }
  describe(): string {
    return `unmap-sg list #${this.sel}`;
  }
  protected exec(m: Model, r: Real): void {
    unmapSgList(m, r, m.sgs[this.sel % m.sgs.length], this.lines);
  }
}

/** dma_sync_sg_for_cpu/device of a live scatterlist. */
export class SyncSgCmd extends LabCommand {
  constructor(readonly sel: number, readonly target: "cpu" | "device") {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.sgs.length > 0;
  }
  fresh(): SyncSgCmd {
    return new SyncSgCmd(this.sel, this.target);
  }
  describe(): string {
    return `sync-sg list #${this.sel} for ${this.target}`;
  }
  protected exec(m: Model, r: Real): void {
    const s = m.sgs[this.sel % m.sgs.length];
    this.lines.push(`sync-sg ${sgText(s)} --for ${this.target}`);
    const res = r.g.syncSg(DEVICES[s.dev].name, sgPhys(r, s.elems), s.dir, this.target);
    const moves = this.target === "cpu" ? copiesOut(s.dir) : copiesIn(s.dir);
    let want = 0;
    for (const mp of s.members) {
      if (!moves) continue;
      if (mp.bounced) want += mp.size;
      if (this.target === "cpu") m.toCpu(mp, 0, mp.size);
      else m.toDevice(mp, 0, mp.size);
    }
    if (res.copied !== want) fail(`sync-sg copied ${res.copied} bytes, expected ${want}`);
    for (const mp of s.members) checkView(m, r, mp);
  }
}

// ---------------------------------------------------------------------------------------
// Arbitraries

/** Sizes 1..64 KiB, with the slot and page edges (2048, 4096, 4097: stride 2) likely. */
export const sizeArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 1, max: 64 }),
  fc.integer({ min: 1, max: 4096 }),
  fc.integer({ min: 4097, max: MAX_MAP }),
  fc.constantFrom(2047, 2048, 2049, 4095, 4096, 4097, 8192, MAX_MAP),
);

/** Odd-length patterns (3, 5 or 7 bytes): a shift by any power of two shows. */
export const patternArb: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.constantFrom(3, 5, 7), fc.uint8Array({ minLength: 7, maxLength: 7 }))
  .map(([n, a]) => a.slice(0, n));

const dirArb = fc.constantFrom<Direction>(DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE);
const devArb = fc.nat(DEVICES.length - 1);
const bufArb = fc.nat(BUFFERS.length - 1);
const selArb = fc.nat(1000);
const offArb = fc.nat(1 << 20);

/** The command arbitraries of the model test (weights: maps and device traffic dominate). */
export function commandArbs(opts: { pressure?: boolean } = {}): fc.Arbitrary<LabCommand>[] {
  // Under pressure: larger maps, more maps than unmaps, so that the pool fills up.
  const mapSize = opts.pressure
    ? fc.oneof(sizeArb, fc.integer({ min: 8193, max: MAX_MAP }), fc.constant(MAX_MAP))
    : sizeArb;
  const cpuWrite = fc.tuple(bufArb, offArb, sizeArb, patternArb)
    .map(([b, o, l, p]): LabCommand => new CpuWrite(b, o, l, p));
  const mapBuf = opts.pressure ? fc.oneof(fc.constant(2), bufArb) : bufArb;
  const map = fc.tuple(devArb, mapBuf, offArb, mapSize, dirArb)
    .map(([d, b, o, s, dir]): LabCommand => new MapCmd(d, b, o, s, dir));
  const devWrite = fc.tuple(selArb, offArb, sizeArb, patternArb)
    .map(([s, o, l, p]): LabCommand => new DevWrite(s, o, l, p));
  const devRead = fc.tuple(selArb, offArb, fc.integer({ min: 1, max: 48 }))
    .map(([s, o, l]): LabCommand => new DevRead(s, o, l));
  const sync = fc.tuple(
    selArb,
    fc.constantFrom<"cpu" | "device">("cpu", "device"),
    fc.boolean(),
    offArb,
    sizeArb,
  )
    .map(([s, t, p, o, l]): LabCommand => new SyncCmd(s, t, p, o, l));
  const unmap = selArb.map((s): LabCommand => new UnmapCmd(s));
  const elem = fc.record({ buf: bufArb, offRaw: offArb, lenRaw: sizeArb });
  const mapSg = fc.tuple(devArb, dirArb, fc.array(elem, { minLength: 1, maxLength: 3 }))
    .map(([d, dir, es]): LabCommand => new MapSgCmd(d, dir, es));
  const unmapSg = selArb.map((s): LabCommand => new UnmapSgCmd(s));
  const syncSg = fc.tuple(selArb, fc.constantFrom<"cpu" | "device">("cpu", "device"))
    .map(([s, t]): LabCommand => new SyncSgCmd(s, t));
  const churn = fc.tuple(fc.integer({ min: 1, max: 28 }), dirArb)
    .map(([k, dir]): LabCommand => new ChurnCmd(k, dir));
  const common = [
    cpuWrite,
    devWrite,
    devWrite,
    devRead,
    sync,
    unmap,
    mapSg,
    unmapSg,
    syncSg,
    churn,
  ];
  return opts.pressure ? [...common, map, map, map, map, map] : [...common, map, map, unmap];
}

/** The printable lines of the commands that ran (the counterexample, in REPL form). */
export function commandLines(cmds: Iterable<{ toString(): string }>): string[] {
  return [...cmds].map((c) => String(c)).filter((l) => l !== "");
}

/**
 * One model run: build the bench, run the commands against model and engine, tear down.
 * On failure the error carries the script that replays it (header, the commands that
 * ran, the teardown and the failed expectation).
 */
export function runExact(
  mode: ModeSpec,
  seed: number,
  cmds: Iterable<fc.Command<Model, Real>>,
  opts: { sabotage?: boolean } = {},
): { model: Model; real: Real } {
  const real = setupReal(mode, seed);
  const model = Model.start(real, seed);
  model.sabotage = opts.sabotage ?? false;
  try {
    checkInvariants(model, real);
    fc.modelRun(() => ({ model, real }), cmds);
    teardown(model, real);
    COUNTS.runs++;
    COUNTS.commands += commandLines(cmds).length;
  } catch (e) {
    const script = printScript(real.header, [...commandLines(cmds), ...real.tail]);
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new ModelMismatch(`${mode.name}: ${msg}\n--- replay script ---\n${script}--- end ---`);
  }
  return { model, real };
}
