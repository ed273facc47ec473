#!/usr/bin/env -S deno run --allow-read --allow-write --allow-env --allow-run --allow-sys
/**
 * `deno task bench:report`: the numbers a kernel engineer asks for, in one table each, and
 * in a JSON file so that two runs can be compared.
 *
 *  - DMA map/unmap latency through the Guest API (`g.map` / `g.unmap`, debug layer off),
 *    per mode, size and direction, as the kernel's `dma_map_benchmark` reports it:
 *    average and standard deviation per call, in µs;
 *  - map+unmap throughput of the bare swiotlb core (SPEC §3, no memory: no copy);
 *  - bus→phys lookup (SPEC §6, `xen_get_dma_info_from_dma`) against pool size;
 *  - init time and resident memory against pool size (SwiotlbCore, whole arm-dom0 guest);
 *  - init time and resident memory of the 64 MiB default pool per preset (SPEC §12);
 *  - REPL cold start: Deno's start-up on an empty script, the REPL's, and the difference.
 *
 * Every measurement runs in a fresh child process of this file (`--child KIND ARGS`):
 * resident-memory deltas and init times are then honest (nothing already allocated or
 * compiled), and one section's types cannot make another section's code polymorphic.
 * The children run one after another: two at once would share the CPUs they measure.
 *
 *   deno task bench:report [--out FILE.json] [--compare OLD.json] [--quick]
 *
 * `--quick` (a smoke test, < 30 s) measures fewer sizes with fewer iterations; its
 * numbers are noisier but every section and target is there. Targets are checked here,
 * never in tests.
 *
 * @module
 */

import { dirname, fromFileUrl, join, resolve } from "@std/path";
import {
  type Direction,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
} from "../lib/direction.ts";
import { Guest, PRESETS } from "../lib/guest/guest.ts";
import { findInterval, type RbNode, RbTree } from "../lib/rbtree.ts";
import { SwiotlbCore } from "../lib/swiotlb/mod.ts";
import type { XenDmaInfo } from "../lib/swiotlb_xen/tree.ts";
import { seededBelow } from "./_rand.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** One swiotlb-xen segment (SPEC §2): one tree node per segment. */
const SEG = 256 * KiB;
const SLOT = 2048;
/** Where the bare core's pool starts, and the original buffer it "bounces" from. */
const POOL_START = 0x1000_0000;
const ORIG = POOL_START + 128 * MiB;

const SELF = fromFileUrl(import.meta.url);
const REPO = resolve(dirname(SELF), "..");
const DEFAULT_OUT = join(REPO, "bench", "results", "latest.json");

// ---- shapes of the JSON file ------------------------------------------------------------

/** Which way a metric improves, for `--compare`. */
export type Better = "higher" | "lower";

/** One comparable number. */
export interface Metric {
  value: number;
  unit: string;
  better: Better;
}

/** One row of the dma_map_benchmark-style table. */
export interface LatencyRow {
  mode: string;
  preset: string;
  deviceBits: number;
  size: number;
  dir: "to" | "from" | "bidi";
  /** What every measured map did: "bounce", "fast path", "direct" or "mixed". */
  path: string;
  /** Fraction of the measured maps that bounced. */
  bounced: number;
  iterations: number;
  mapAvgUs: number;
  mapStdUs: number;
  unmapAvgUs: number;
  unmapStdUs: number;
}

/** Bare-core map+unmap throughput at one size. */
export interface CoreRow {
  size: number;
  /** Median over the rounds. */
  pairsPerSec: number;
  /** Best round. */
  bestPairsPerSec: number;
}

/** bus→phys lookup at one pool size. */
export interface LookupRow {
  poolBytes: number;
  segments: number;
  /** On a real arm-dom0 guest's tree, when such a pool can be built (else null). */
  guest: {
    findIntervalPerSec: number;
    findIntervalBestPerSec: number;
    busToPhysPerSec: number;
    treeHeight: number;
  } | null;
  /** On an RbTree of the same number of segments with shuffled bus addresses. */
  synthetic: { findIntervalPerSec: number; findIntervalBestPerSec: number; treeHeight: number };
}

/** Init cost at one pool size. */
export interface InitRow {
  poolBytes: number;
  /** Null when this size was not measured on the bare core (--quick). */
  core: { ms: number; rssMiB: number } | null;
  guest: {
    ms: number;
    rssMiB: number;
    mem: number;
    machine: number;
    /** The pool init actually built (swiotlb-xen lowers a pool it cannot place). */
    nslabs: number;
    log: string[];
  } | null;
}

/** Init cost of one preset with its default 64 MiB pool. */
export interface PresetRow {
  preset: string;
  opsName: string;
  swiotlbXen: boolean;
  ok: boolean;
  nslabs: number;
  ms: number;
  rssMiB: number;
  /** The pool's share: default pool minus a 1-segment pool (fresh process each). */
  /** Null when init failed (no pool to cost). */
  poolMs: number | null;
  poolMiB: number | null;
}

/** REPL cold start, medians over `runs`. */
export interface ReplResult {
  runs: number;
  command: string;
  denoEmptyMs: number;
  replReadyMs: number;
  oursMs: number;
  replExitMs: number;
}

/** One throughput / size target with its verdict. */
export interface Target {
  id: string;
  name: string;
  value: number;
  unit: string;
  op: ">=" | "<";
  threshold: number;
  pass: boolean;
  note: string;
}

/** The whole report file. */
export interface Report {
  schema: 1;
  meta: {
    date: string;
    deno: string;
    v8: string;
    typescript: string;
    os: string;
    arch: string;
    cpus: number;
    commit: string | null;
    /** 1-minute load average before and after: other processes disturb the numbers. */
    loadBefore: number;
    loadAfter: number;
    quick: boolean;
    seconds: number;
  };
  mapLatency: { timerOverheadUs: number; note: string; rows: LatencyRow[] };
  coreThroughput: { note: string; rows: CoreRow[] };
  lookup: { note: string; rows: LookupRow[] };
  poolInit: { note: string; rows: InitRow[] };
  presetInit: { note: string; rows: PresetRow[] };
  repl: ReplResult;
  targets: Target[];
  metrics: Record<string, Metric>;
}

/** The sections a report file must have (tests/bench_report_test.ts checks them). */
export const SECTIONS = [
  "meta",
  "mapLatency",
  "coreThroughput",
  "lookup",
  "poolInit",
  "presetInit",
  "repl",
  "targets",
  "metrics",
] as const;

// ---- small helpers ------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** "4K", "256K", "64M", "16G". */
export function sizeLabel(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB}G`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB}M`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB}K`;
  return `${bytes}`;
}

function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "—";
}

/** Plain aligned columns; `right` marks the numeric ones. */
function table(headers: string[], rows: string[][], right: boolean[]): string[] {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (right[i] ? c.padStart(w[i]) : c.padEnd(w[i]))).join("  ").trimEnd();
  return [line(headers), line(w.map((n) => "-".repeat(n))), ...rows.map(line)];
}

/** The cost of one `performance.now()` call, in ms: subtracted from per-call timings. */
function timerOverheadMs(): number {
  const n = 200_000;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const a = performance.now();
    sum += performance.now() - a;
  }
  return sum / n;
}

/**
 * Rates (operations per second) of `fn(n)` over `rounds` timed rounds after one warm-up:
 * the median, and the best (the round least disturbed by other processes).
 */
function rate(
  fn: (n: number) => number,
  n: number,
  rounds: number,
): { median: number; best: number } {
  fn(Math.max(1, n >> 2));
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    fn(n);
    const ms = performance.now() - t0;
    rates.push(n / ms * 1000);
  }
  return { median: median(rates), best: Math.max(...rates) };
}

function treeHeight<E>(n: RbNode<E> | null): number {
  return n === null ? 0 : 1 + Math.max(treeHeight(n.left), treeHeight(n.right));
}

function readCommit(): string | null {
  try {
    const head = Deno.readTextFileSync(join(REPO, ".git", "HEAD")).trim();
    if (!head.startsWith("ref: ")) return head;
    const ref = head.slice(5);
    try {
      return Deno.readTextFileSync(join(REPO, ".git", ref)).trim();
    } catch {
      const packed = Deno.readTextFileSync(join(REPO, ".git", "packed-refs"));
      const hit = packed.split("\n").find((l) => l.endsWith(" " + ref));
      return hit ? hit.split(" ")[0] : null;
    }
  } catch {
    return null;
  }
}

// ---- the measurements (each runs in a child process) ---------------------------------------

/** The modes of the latency table (the brief's four). */
const MODES = [
  { mode: "pv-dom0 bounce", preset: "pv-dom0", bits: 32, contiguous: false },
  { mode: "pv-dom0 fast", preset: "pv-dom0", bits: 64, contiguous: true },
  { mode: "arm-dom0", preset: "arm-dom0", bits: 64, contiguous: false },
  { mode: "arm-dom0-smmu direct", preset: "arm-dom0-smmu", bits: 64, contiguous: false },
] as const;
const LAT_SIZES = [4 * KiB, 64 * KiB, 256 * KiB];
const DIRS: { name: LatencyRow["dir"]; dir: Direction }[] = [
  { name: "to", dir: DMA_TO_DEVICE },
  { name: "from", dir: DMA_FROM_DEVICE },
  { name: "bidi", dir: DMA_BIDIRECTIONAL },
];

interface LatencyArgs {
  mode: number;
  iterations: number;
  /** Untimed pairs before each row. */
  warmup: number;
  /** Untimed 4 KiB pairs per direction before the first row. */
  jitWarmup: number;
}

function childLatency(a: LatencyArgs): { timerOverheadUs: number; rows: LatencyRow[] } {
  const m = MODES[a.mode];
  const g = Guest.create({ preset: m.preset, debug: false });
  if (!g.init.ok) throw new Error(`${m.preset}: swiotlb-xen init failed`);
  g.addDevice({ name: "bench", maskBits: m.bits });
  let phys: number;
  if (m.contiguous) {
    // The fast path needs a machine-contiguous buffer: on the fragmented layout, find a
    // run of at least 64 frames (256 KiB) in a large arena.
    const arena = g.allocBuffer("arena", 32 * MiB, 4096);
    const run = g.p2m(arena.phys / 4096, (32 * MiB) / 4096).find((r) => r.count >= SEG / 4096);
    phys = run ? run.pfn * 4096 : arena.phys;
  } else {
    phys = g.allocBuffer("buf", SEG, 4096).phys;
  }
  // The model gives a machine frame its bytes on first write: touch the pool and the
  // buffer once, so the table shows steady-state maps, not first-touch allocations.
  if (g.init.nslabs > 0) g.writePhys(g.init.poolPhys, new Uint8Array(g.init.nslabs * SLOT));
  g.writePhys(phys, new Uint8Array(SEG).fill(0xa5));
  const direct = g.opsName.startsWith("direct");
  // Bring the whole call chain to its optimised tier first (a few hundred calls per row
  // would leave the first rows measuring the interpreter).
  for (const d of DIRS) {
    for (let i = 0; i < a.jitWarmup; i++) {
      const r = g.map("bench", phys, 4 * KiB, d.dir);
      g.unmap("bench", r.bus, 4 * KiB, d.dir);
    }
  }
  const ovh = timerOverheadMs();
  const rows: LatencyRow[] = [];
  for (const size of LAT_SIZES) {
    for (const d of DIRS) {
      let mapSum = 0, mapSq = 0, unSum = 0, unSq = 0, bounced = 0;
      const total = a.warmup + a.iterations;
      for (let i = 0; i < total; i++) {
        const t0 = performance.now();
        const r = g.map("bench", phys, size, d.dir);
        const t1 = performance.now();
        g.unmap("bench", r.bus, size, d.dir);
        const t2 = performance.now();
        if (r.error) throw new Error(`${m.mode} ${sizeLabel(size)} ${d.name}: ${r.why}`);
        if (i < a.warmup) continue;
        const mt = t1 - t0, ut = t2 - t1;
        mapSum += mt;
        mapSq += mt * mt;
        unSum += ut;
        unSq += ut * ut;
        if (r.bounced) bounced++;
      }
      const n = a.iterations;
      const sd = (sum: number, sq: number) => Math.sqrt(Math.max(0, sq / n - (sum / n) ** 2));
      rows.push({
        mode: m.mode,
        preset: m.preset,
        deviceBits: m.bits,
        size,
        dir: d.name,
        path: bounced === n
          ? "bounce"
          : bounced === 0
          ? (direct ? "direct" : "fast path")
          : "mixed",
        bounced: bounced / n,
        iterations: n,
        mapAvgUs: (mapSum / n - ovh) * 1000,
        mapStdUs: sd(mapSum, mapSq) * 1000,
        unmapAvgUs: (unSum / n - ovh) * 1000,
        unmapStdUs: sd(unSum, unSq) * 1000,
      });
    }
  }
  return { timerOverheadUs: ovh * 1000, rows };
}

/** map+unmap pairs on a bare core: the caller's arguments object is built per call. */
function corePairs(core: SwiotlbCore, size: number, n: number): number {
  let last = 0;
  for (let i = 0; i < n; i++) {
    const a = core.mapSingle({ tblDmaAddr: POOL_START, orig: ORIG, size, dir: DMA_TO_DEVICE });
    core.unmapSingle(a, size, DMA_TO_DEVICE);
    last = a;
  }
  return last;
}

function childCore(a: { pairs: number; rounds: number }): { rows: CoreRow[] } {
  return {
    rows: LAT_SIZES.map((size) => {
      const core = new SwiotlbCore({ nslabs: 32768, start: POOL_START });
      const r = rate((n) => corePairs(core, size, n), a.pairs, a.rounds);
      return { size, pairsPerSec: r.median, bestPairsPerSec: r.best };
    }),
  };
}

/** Lookups of `xs` (length a power of two) in `tree`; returns the hits. */
function treeLookups(tree: RbTree<XenDmaInfo>, xs: Float64Array, n: number): number {
  const mask = xs.length - 1;
  let hits = 0;
  for (let i = 0; i < n; i++) if (findInterval(tree, xs[i & mask]) !== null) hits++;
  return hits;
}

/**
 * Random addresses inside random segments: 4096 (a cache-resident array, as a driver's
 * address is in a register), or 4 per segment for big pools so every path gets walked.
 */
function addressesIn(segs: { dmaAddr: number; size: number }[], seed: number): Float64Array {
  const rand = seededBelow(seed);
  let len = 4096;
  while (len < 4 * segs.length) len *= 2;
  const xs = new Float64Array(len);
  for (let i = 0; i < xs.length; i++) {
    const s = segs[rand(segs.length)];
    xs[i] = s.dmaAddr + rand(s.size);
  }
  return xs;
}

/** The largest swiotlb-xen pool init builds without lowering (its exchanges need < 4 GiB). */
const GUEST_LOOKUP_MAX = 2 * GiB;

interface LookupArgs {
  poolBytes: number;
  lookups: number;
  rounds: number;
}

/** Lookups on a real arm-dom0 guest's tree (null when init lowers such a pool). */
function childLookupGuest(a: LookupArgs): LookupRow["guest"] {
  const g = Guest.create({
    preset: "arm-dom0",
    swiotlb: a.poolBytes / SLOT,
    mem: Math.max(2 * GiB, 2 * a.poolBytes),
    machine: Math.max(8 * GiB, 4 * a.poolBytes),
    debug: false,
  });
  const x = g.swiotlbXen;
  if (x === undefined || g.init.nslabs !== a.poolBytes / SLOT) return null;
  const xs = addressesIn(g.segments(), 0x5eed);
  const bus = (n: number) => {
    const mask = xs.length - 1;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += x.busToPhys(xs[i & mask]);
    return sum;
  };
  const find = rate((n) => treeLookups(x.tree, xs, n), a.lookups, a.rounds);
  return {
    findIntervalPerSec: find.median,
    findIntervalBestPerSec: find.best,
    busToPhysPerSec: rate(bus, a.lookups, a.rounds).median,
    treeHeight: treeHeight(x.tree.root),
  };
}

/** Lookups on an RbTree of the pool's number of segments. */
function childLookupSynthetic(a: LookupArgs): LookupRow["synthetic"] {
  const segments = a.poolBytes / SEG;
  // Synthetic: bus slots drawn without replacement from twice the pool's span and
  // inserted in pool (phys) order, as Xen's exchanges hand out scattered extents.
  const rand = seededBelow(0xb05 + segments);
  const slots = Array.from({ length: 2 * segments }, (_, i) => i);
  for (let i = slots.length - 1; i > 0; i--) {
    const j = rand(i + 1);
    [slots[i], slots[j]] = [slots[j], slots[i]];
  }
  const tree = new RbTree<XenDmaInfo>((p, q) => p.dmaAddr < q.dmaAddr);
  const entries: XenDmaInfo[] = [];
  for (let j = 0; j < segments; j++) {
    const e: XenDmaInfo = {
      dmaAddr: slots[j] * SEG,
      physAddr: 0x8000_0000 + j * SEG,
      size: SEG,
      kind: "segment",
      index: j,
    };
    entries.push(e);
    tree.insert(e);
  }
  const xs = addressesIn(entries, 0x5eed + 1);
  const find = rate((n) => treeLookups(tree, xs, n), a.lookups, a.rounds);
  return {
    findIntervalPerSec: find.median,
    findIntervalBestPerSec: find.best,
    treeHeight: treeHeight(tree.root),
  };
}

/** Time and resident-memory delta of `build`, in a process that has done nothing else. */
function measureBuild<T>(build: () => T): { ms: number; rssBytes: number; value: T } {
  const rss0 = Deno.memoryUsage().rss;
  const t0 = performance.now();
  const value = build();
  const ms = performance.now() - t0;
  return { ms, rssBytes: Deno.memoryUsage().rss - rss0, value };
}

function childCoreInit(a: { poolBytes: number }): { ms: number; rssBytes: number } {
  const r = measureBuild(() => new SwiotlbCore({ nslabs: a.poolBytes / SLOT, start: POOL_START }));
  if (r.value.nslabs !== a.poolBytes / SLOT) throw new Error("core init: wrong size");
  return { ms: r.ms, rssBytes: r.rssBytes };
}

function childGuestInit(
  a: { poolBytes: number; mem: number; machine: number },
): { ms: number; rssBytes: number; nslabs: number; log: string[] } {
  const r = measureBuild(() =>
    Guest.create({
      preset: "arm-dom0",
      swiotlb: a.poolBytes / SLOT,
      mem: a.mem,
      machine: a.machine,
      debug: false,
    })
  );
  return { ms: r.ms, rssBytes: r.rssBytes, nslabs: r.value.init.nslabs, log: r.value.init.log };
}

interface PresetChild {
  ms: number;
  rssBytes: number;
  ok: boolean;
  nslabs: number;
  opsName: string;
  swiotlbXen: boolean;
}

function childPresetInit(a: { preset: string; swiotlb?: number }): PresetChild {
  const r = measureBuild(() =>
    Guest.create({ preset: a.preset, swiotlb: a.swiotlb, debug: false })
  );
  const g = r.value;
  return {
    ms: r.ms,
    rssBytes: r.rssBytes,
    ok: g.init.ok,
    nslabs: g.init.nslabs,
    opsName: g.init.ok ? g.opsName : "(init failed)",
    swiotlbXen: g.init.swiotlbXen,
  };
}

const CHILDREN: Record<string, (args: never) => unknown> = {
  latency: childLatency,
  core: childCore,
  "lookup-guest": childLookupGuest,
  "lookup-synthetic": childLookupSynthetic,
  "core-init": childCoreInit,
  "guest-init": childGuestInit,
  "preset-init": childPresetInit,
};

// ---- the parent: spawn, collect, print ----------------------------------------------------

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Runs `report.ts --child kind args` and returns the JSON it prints. */
async function child<T>(kind: string, args: object): Promise<T> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      "--allow-sys",
      SELF,
      "--child",
      kind,
      JSON.stringify(args),
    ],
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = decoder.decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(
      `bench child ${kind} ${JSON.stringify(args)} failed:\n${decoder.decode(out.stderr)}`,
    );
  }
  const parsed: unknown = JSON.parse(text.slice(text.lastIndexOf("\n") + 1));
  return parsed as T;
}

/** A child run `runs` times: the median time and median RSS delta, the rest from run 1. */
async function medianOf<T extends { ms: number; rssBytes: number }>(
  kind: string,
  args: object,
  runs: number,
): Promise<T> {
  const all: T[] = [];
  for (let i = 0; i < runs; i++) all.push(await child<T>(kind, args));
  return {
    ...all[0],
    ms: median(all.map((x) => x.ms)),
    rssBytes: median(all.map((x) => x.rssBytes)),
  };
}

/** Spawn → first stdout byte, and spawn → exit, in ms. */
async function coldStart(args: string[], stdin?: string): Promise<{ ready: number; exit: number }> {
  const t0 = performance.now();
  const proc = new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const errText = new Response(proc.stderr).text();
  if (stdin !== undefined) {
    const w = proc.stdin.getWriter();
    await w.write(encoder.encode(stdin));
    await w.close();
  }
  const reader = proc.stdout.getReader();
  const first = await reader.read();
  const ready = performance.now() - t0;
  while (!(await reader.read()).done) { /* drain */ }
  const status = await proc.status;
  const exit = performance.now() - t0;
  if (first.done || !status.success) {
    throw new Error(`deno ${args.join(" ")} failed (${status.code}): ${await errText}`);
  }
  await errText;
  return { ready, exit };
}

const REPL_ARGS = [
  "run",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "repl.ts",
  "--json",
  "--no-history",
];
const REPL_COMMAND = "guest presets";

async function measureRepl(runs: number): Promise<ReplResult> {
  const probe = ["run", join("bench", "startup_probe.ts")];
  // One untimed run each fills Deno's module caches, as any second start would find them.
  await coldStart(probe);
  await coldStart(REPL_ARGS, REPL_COMMAND + "\n");
  const empty: number[] = [], ready: number[] = [], exit: number[] = [];
  for (let i = 0; i < runs; i++) {
    empty.push((await coldStart(probe)).ready);
    const r = await coldStart(REPL_ARGS, REPL_COMMAND + "\n");
    ready.push(r.ready);
    exit.push(r.exit);
  }
  const denoEmptyMs = median(empty), replReadyMs = median(ready);
  return {
    runs,
    command: `deno ${REPL_ARGS.join(" ")} <<< '${REPL_COMMAND}'`,
    denoEmptyMs,
    replReadyMs,
    oursMs: replReadyMs - denoEmptyMs,
    replExitMs: median(exit),
  };
}

/** How big a guest must be to hold a pool of `poolBytes` (the machine at least twice it). */
function guestFor(poolBytes: number): { mem: number; machine: number } {
  const mem = poolBytes < 2 * GiB ? 2 * GiB : poolBytes + 4 * GiB;
  return { mem, machine: Math.max(8 * GiB, 2 * mem) };
}

interface Plan {
  quick: boolean;
  latency: { iterations: number; warmup: number; jitWarmup: number };
  core: { pairs: number; rounds: number };
  lookupPools: number[];
  lookup: { lookups: number; rounds: number };
  corePools: number[];
  guestPools: number[];
  /** Fresh processes per init measurement (the median is kept). */
  initRuns: number;
  replRuns: number;
}

function plan(quick: boolean): Plan {
  return quick
    ? {
      quick,
      latency: { iterations: 150, warmup: 20, jitWarmup: 1000 },
      core: { pairs: 100_000, rounds: 3 },
      lookupPools: [64 * MiB, 16 * GiB],
      lookup: { lookups: 300_000, rounds: 3 },
      corePools: [64 * MiB, 16 * GiB],
      guestPools: [64 * MiB, 1 * GiB],
      initRuns: 1,
      replRuns: 3,
    }
    : {
      quick,
      latency: { iterations: 2000, warmup: 200, jitWarmup: 5000 },
      core: { pairs: 500_000, rounds: 9 },
      lookupPools: [64 * MiB, 256 * MiB, 1 * GiB, 4 * GiB, 16 * GiB],
      lookup: { lookups: 1_000_000, rounds: 7 },
      corePools: [64 * MiB, 256 * MiB, 1 * GiB, 4 * GiB, 16 * GiB],
      guestPools: [64 * MiB, 256 * MiB, 1 * GiB, 4 * GiB, 16 * GiB],
      initRuns: 3,
      replRuns: 7,
    };
}

/** Every preset (SPEC §12), in the order the REPL lists them. */
const PRESET_NAMES = Object.keys(PRESETS);

function progress(msg: string): void {
  Deno.stderr.writeSync(encoder.encode(`bench:report: ${msg}\n`));
}

/** Runs every section; returns the report (without printing it). */
export async function runReport(quick: boolean): Promise<Report> {
  const p = plan(quick);
  const t0 = performance.now();
  const loadBefore = Deno.loadavg()[0];

  progress("DMA map/unmap latency per mode");
  const latencyRows: LatencyRow[] = [];
  let timerOverheadUs = 0;
  for (let i = 0; i < MODES.length; i++) {
    const r = await child<{ timerOverheadUs: number; rows: LatencyRow[] }>("latency", {
      mode: i,
      ...p.latency,
    });
    latencyRows.push(...r.rows);
    timerOverheadUs = Math.max(timerOverheadUs, r.timerOverheadUs);
  }

  progress("swiotlb core throughput");
  const core = await child<{ rows: CoreRow[] }>("core", p.core);

  progress("bus→phys lookup against pool size");
  const lookupRows: LookupRow[] = [];
  for (const poolBytes of p.lookupPools) {
    const args = { poolBytes, ...p.lookup };
    lookupRows.push({
      poolBytes,
      segments: poolBytes / SEG,
      guest: poolBytes <= GUEST_LOOKUP_MAX
        ? await child<LookupRow["guest"]>("lookup-guest", args)
        : null,
      synthetic: await child<LookupRow["synthetic"]>("lookup-synthetic", args),
    });
  }

  progress("init time and memory against pool size");
  const initRows: InitRow[] = [];
  for (const poolBytes of [...new Set([...p.corePools, ...p.guestPools])].sort((a, b) => a - b)) {
    const c = p.corePools.includes(poolBytes)
      ? await medianOf<{ ms: number; rssBytes: number }>("core-init", { poolBytes }, p.initRuns)
      : undefined;
    let guest: InitRow["guest"] = null;
    if (p.guestPools.includes(poolBytes)) {
      const size = guestFor(poolBytes);
      // Pools init must lower take seconds each: one run is enough to show it.
      const g = await medianOf<{ ms: number; rssBytes: number; nslabs: number; log: string[] }>(
        "guest-init",
        { poolBytes, ...size },
        poolBytes > GUEST_LOOKUP_MAX ? 1 : p.initRuns,
      );
      guest = { ms: g.ms, rssMiB: g.rssBytes / MiB, ...size, nslabs: g.nslabs, log: g.log };
    }
    initRows.push({
      poolBytes,
      core: c ? { ms: c.ms, rssMiB: c.rssBytes / MiB } : null,
      guest,
    });
  }

  progress("64 MiB pool init per preset");
  const presetRows: PresetRow[] = [];
  for (const preset of PRESET_NAMES) {
    const full = await medianOf<PresetChild>("preset-init", { preset }, p.initRuns);
    // The pool's share: the same guest with the smallest pool (one segment), subtracted.
    const small = await medianOf<PresetChild>(
      "preset-init",
      { preset, swiotlb: 128 },
      p.initRuns,
    );
    presetRows.push({
      preset,
      opsName: full.opsName,
      swiotlbXen: full.swiotlbXen,
      ok: full.ok,
      nslabs: full.nslabs,
      ms: full.ms,
      rssMiB: full.rssBytes / MiB,
      // A failed init (pvh-dom0) has no pool to cost.
      poolMs: full.ok ? full.ms - small.ms : null,
      poolMiB: full.ok ? (full.rssBytes - small.rssBytes) / MiB : null,
    });
  }

  progress("REPL cold start");
  const repl = await measureRepl(p.replRuns);

  const report: Report = {
    schema: 1,
    meta: {
      date: new Date().toISOString(),
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      typescript: Deno.version.typescript,
      os: Deno.build.os,
      arch: Deno.build.arch,
      cpus: navigator.hardwareConcurrency,
      commit: readCommit(),
      loadBefore,
      loadAfter: Deno.loadavg()[0],
      quick,
      seconds: 0,
    },
    mapLatency: {
      timerOverheadUs,
      note: "Guest API g.map / g.unmap with debug: false, pool and buffer touched first; " +
        "per call, performance.now()'s own cost subtracted; path: what every measured map did",
      rows: latencyRows,
    },
    coreThroughput: {
      note: "SwiotlbCore.mapSingle + unmapSingle, 64 MiB pool, no memory (no copy), TO_DEVICE",
      rows: core.rows,
    },
    lookup: {
      note: `guest: arm-dom0 with the pool's swiotlb= (findInterval on its tree, and the whole ` +
        `XenSwiotlb.busToPhys); pools above ${
          sizeLabel(GUEST_LOOKUP_MAX)
        } are lowered at init (the exchanges need machine memory below 4 GiB), so they have ` +
        `no guest column. synthetic: an RbTree of the same number of 256 KiB segments, bus ` +
        `addresses drawn from twice the pool's span in shuffled order, inserted in pool order`,
      rows: lookupRows,
    },
    poolInit: {
      note: `median of ${p.initRuns} fresh process(es) per size (1 for a pool init lowers); ` +
        "RSS delta = Deno.memoryUsage().rss after − before. core: " +
        "new SwiotlbCore; guest: Guest.create arm-dom0 with swiotlb= the pool (mem, machine " +
        "grown to hold it); nslabs = the pool init really built",
      rows: initRows,
    },
    presetInit: {
      note:
        `Guest.create({ preset, debug: false }) with its default 64 MiB pool, median of ${p.initRuns} ` +
        "fresh process(es); pool = that minus the same guest with a 1-segment (256 KiB) pool: " +
        "differences of a few ms or MiB are noise",
      rows: presetRows,
    },
    repl,
    targets: [],
    metrics: {},
  };
  report.targets = targets(report);
  report.metrics = metrics(report);
  report.meta.seconds = (performance.now() - t0) / 1000;
  return report;
}

/** The five targets of the throughput issue, PASS/MISS. */
export function targets(r: Report): Target[] {
  const core4k = r.coreThroughput.rows.find((x) => x.size === 4 * KiB);
  const look = r.lookup.rows.find((x) => x.poolBytes === 64 * MiB);
  const init16 = r.poolInit.rows.find((x) => x.poolBytes === 16 * GiB);
  const t = (
    id: string,
    name: string,
    value: number,
    unit: string,
    op: ">=" | "<",
    threshold: number,
    note: string,
  ): Target => ({
    id,
    name,
    value,
    unit,
    op,
    threshold,
    pass: op === ">=" ? value >= threshold : value < threshold,
    note,
  });
  return [
    t(
      "core-pairs",
      "1-page map+unmap, no copy (SwiotlbCore)",
      (core4k?.pairsPerSec ?? NaN) / 1e6,
      "M pairs/s",
      ">=",
      5,
      "64 MiB pool, mapSingle+unmapSingle of 4 KiB",
    ),
    t(
      "lookup-64M",
      "bus→phys lookup, 64 MiB pool",
      (look?.guest?.findIntervalPerSec ?? look?.synthetic.findIntervalPerSec ?? NaN) / 1e6,
      "M/s",
      ">=",
      20,
      look?.guest ? "findInterval on arm-dom0's tree (256 nodes)" : "synthetic tree",
    ),
    t(
      "init-16G-time",
      "16 GiB pool init time (SwiotlbCore)",
      init16?.core?.ms ?? NaN,
      "ms",
      "<",
      1000,
      "fresh process",
    ),
    t(
      "init-16G-rss",
      "16 GiB pool resident memory (SwiotlbCore)",
      (init16?.core?.rssMiB ?? NaN) * MiB / 1e6,
      "MB",
      "<",
      200,
      "RSS delta, fresh process",
    ),
    t(
      "repl-ready",
      "REPL ready after Deno starts",
      r.repl.oursMs,
      "ms",
      "<",
      300,
      `REPL ready ${fixed(r.repl.replReadyMs, 0)} ms − empty script ${
        fixed(r.repl.denoEmptyMs, 0)
      } ms`,
    ),
  ];
}

/** Every number as a flat name → metric map, for `--compare`. */
export function metrics(r: Report): Record<string, Metric> {
  const m: Record<string, Metric> = {};
  const put = (name: string, value: number, unit: string, better: Better) => {
    if (Number.isFinite(value)) m[name] = { value, unit, better };
  };
  for (const x of r.mapLatency.rows) {
    const k = `map.${x.mode.replaceAll(" ", "-")}.${sizeLabel(x.size)}.${x.dir}`;
    put(`${k}.map`, x.mapAvgUs, "µs", "lower");
    put(`${k}.unmap`, x.unmapAvgUs, "µs", "lower");
  }
  for (const x of r.coreThroughput.rows) {
    put(`core.${sizeLabel(x.size)}.pairs`, x.pairsPerSec / 1e6, "M/s", "higher");
  }
  for (const x of r.lookup.rows) {
    const k = `lookup.${sizeLabel(x.poolBytes)}`;
    if (x.guest) {
      put(`${k}.guest.findInterval`, x.guest.findIntervalPerSec / 1e6, "M/s", "higher");
      put(`${k}.guest.busToPhys`, x.guest.busToPhysPerSec / 1e6, "M/s", "higher");
    }
    put(`${k}.synthetic.findInterval`, x.synthetic.findIntervalPerSec / 1e6, "M/s", "higher");
  }
  for (const x of r.poolInit.rows) {
    const k = `init.${sizeLabel(x.poolBytes)}`;
    if (x.core) {
      put(`${k}.core.ms`, x.core.ms, "ms", "lower");
      put(`${k}.core.rss`, x.core.rssMiB, "MiB", "lower");
    }
    if (x.guest) {
      put(`${k}.guest.ms`, x.guest.ms, "ms", "lower");
      put(`${k}.guest.rss`, x.guest.rssMiB, "MiB", "lower");
    }
  }
  for (const x of r.presetInit.rows) {
    const k = `preset.${x.preset}`;
    put(`${k}.ms`, x.ms, "ms", "lower");
    put(`${k}.rss`, x.rssMiB, "MiB", "lower");
    if (x.poolMs !== null) put(`${k}.pool.ms`, x.poolMs, "ms", "lower");
    if (x.poolMiB !== null) put(`${k}.pool.rss`, x.poolMiB, "MiB", "lower");
  }
  put("repl.denoEmpty", r.repl.denoEmptyMs, "ms", "lower");
  put("repl.ready", r.repl.replReadyMs, "ms", "lower");
  put("repl.ours", r.repl.oursMs, "ms", "lower");
  return m;
}

/** The printed report: one table per section, then the targets. */
export function render(r: Report): string[] {
  const out: string[] = [];
  const m = r.meta;
  out.push(
    `swiotlb-lab bench report${m.quick ? " (--quick: fewer sizes and iterations)" : ""}`,
    `deno ${m.deno}, v8 ${m.v8}, ${m.os}/${m.arch}, ${m.cpus} CPUs, ${m.date}` +
      (m.commit ? `, commit ${m.commit.slice(0, 12)}` : ""),
    `load average ${fixed(m.loadBefore, 2)} before the run, ${
      fixed(m.loadAfter, 2)
    } after (the run itself adds about 1)` +
      (m.loadBefore >= 0.5 ? ": other processes were busy, expect noisier numbers" : ""),
    "",
  );

  out.push(
    "DMA map benchmark (dma_map_benchmark style: average and standard deviation per call, µs)",
    `  ${r.mapLatency.note}; timer overhead ${fixed(r.mapLatency.timerOverheadUs, 3)} µs`,
  );
  out.push(
    ...table(
      ["mode", "device", "size", "dir", "path", "map avg", "map sd", "unmap avg", "unmap sd", "n"],
      r.mapLatency.rows.map((x) => [
        x.mode,
        `${x.deviceBits}-bit`,
        sizeLabel(x.size),
        x.dir,
        x.path,
        fixed(x.mapAvgUs, 2),
        fixed(x.mapStdUs, 2),
        fixed(x.unmapAvgUs, 2),
        fixed(x.unmapStdUs, 2),
        String(x.iterations),
      ]),
      [false, false, true, false, false, true, true, true, true, true],
    ).map((l) => "  " + l),
    "",
  );

  out.push("swiotlb core map+unmap throughput", `  ${r.coreThroughput.note}`);
  out.push(
    ...table(
      ["size", "M pairs/s", "best", "ns/pair"],
      r.coreThroughput.rows.map((x) => [
        sizeLabel(x.size),
        fixed(x.pairsPerSec / 1e6, 2),
        fixed(x.bestPairsPerSec / 1e6, 2),
        fixed(1e9 / x.pairsPerSec, 0),
      ]),
      [true, true, true, true],
    ).map((l) => "  " + l),
    "",
  );

  out.push("bus→phys lookup against pool size (million lookups/s, random addresses in the pool)");
  out.push(
    ...table(
      [
        "pool",
        "segments",
        "guest height",
        "guest findInterval (best)",
        "guest busToPhys",
        "synthetic height",
        "synthetic findInterval (best)",
      ],
      r.lookup.rows.map((x) => [
        sizeLabel(x.poolBytes),
        String(x.segments),
        x.guest ? String(x.guest.treeHeight) : "—",
        x.guest
          ? `${fixed(x.guest.findIntervalPerSec / 1e6, 2)} (${
            fixed(x.guest.findIntervalBestPerSec / 1e6, 2)
          })`
          : "— (synthetic only)",
        x.guest ? fixed(x.guest.busToPhysPerSec / 1e6, 2) : "—",
        String(x.synthetic.treeHeight),
        `${fixed(x.synthetic.findIntervalPerSec / 1e6, 2)} (${
          fixed(x.synthetic.findIntervalBestPerSec / 1e6, 2)
        })`,
      ]),
      [true, true, true, true, true, true, true],
    ).map((l) => "  " + l),
    ...wrap(r.lookup.note),
    "",
  );

  out.push("pool init against pool size (time, resident memory)");
  out.push(
    ...table(
      ["pool", "core ms", "core MiB", "guest ms", "guest MiB", "guest mem/machine", "built"],
      r.poolInit.rows.map((x) => [
        sizeLabel(x.poolBytes),
        x.core ? fixed(x.core.ms, 1) : "—",
        x.core ? fixed(x.core.rssMiB, 1) : "—",
        x.guest ? fixed(x.guest.ms, 1) : "—",
        x.guest ? fixed(x.guest.rssMiB, 1) : "—",
        x.guest ? `${sizeLabel(x.guest.mem)}/${sizeLabel(x.guest.machine)}` : "—",
        x.guest
          ? (x.guest.nslabs * SLOT === x.poolBytes
            ? "as asked"
            : `lowered to ${sizeLabel(x.guest.nslabs * SLOT)}`)
          : "—",
      ]),
      [true, true, true, true, true, false, false],
    ).map((l) => "  " + l),
    ...wrap(r.poolInit.note),
    "",
  );

  out.push("64 MiB pool per mode (time, resident memory)");
  out.push(
    ...table(
      ["preset", "ops", "init", "guest ms", "guest MiB", "pool ms", "pool MiB"],
      r.presetInit.rows.map((x) => [
        x.preset,
        x.opsName,
        x.ok ? `ok, ${sizeLabel(x.nslabs * SLOT)}` : "FAILED",
        fixed(x.ms, 1),
        fixed(x.rssMiB, 1),
        x.poolMs === null ? "—" : fixed(x.poolMs, 1),
        x.poolMiB === null ? "—" : fixed(x.poolMiB, 1),
      ]),
      [false, false, false, true, true, true, true],
    ).map((l) => "  " + l),
    ...wrap(r.presetInit.note),
    "",
  );

  const q = r.repl;
  out.push(
    `REPL cold start (median of ${q.runs}; spawn → first output byte)`,
    `  deno empty script (bench/startup_probe.ts)  ${fixed(q.denoEmptyMs, 1)} ms`,
    `  repl.ts ready                               ${fixed(q.replReadyMs, 1)} ms`,
    `  ours (the difference)                       ${fixed(q.oursMs, 1)} ms`,
    `  repl.ts exit                                ${fixed(q.replExitMs, 1)} ms`,
    `  command: ${q.command}`,
    "",
  );

  out.push("targets");
  out.push(
    ...table(
      ["target", "value", "goal", "result", "how"],
      r.targets.map((x) => [
        x.name,
        `${fixed(x.value, x.unit === "ms" || x.unit === "MB" ? 1 : 2)} ${x.unit}`,
        `${x.op === ">=" ? "≥" : "<"} ${x.threshold} ${x.unit}`,
        x.pass ? "PASS" : "MISS",
        x.note,
      ]),
      [false, true, true, false, false],
    ).map((l) => "  " + l),
  );
  out.push(`(${fixed(m.seconds, 1)} s)`);
  return out;
}

function wrap(note: string): string[] {
  const words = note.split(" ");
  const lines: string[] = [];
  let cur = "  ";
  for (const w of words) {
    if (cur.length + w.length > 98 && cur.trim()) {
      lines.push(cur.trimEnd());
      cur = "  ";
    }
    cur += w + " ";
  }
  if (cur.trim()) lines.push(cur.trimEnd());
  return lines;
}

/** `--compare`: each metric's old and new value and the change in %. */
export function compareLines(
  oldM: Record<string, Metric>,
  newM: Record<string, Metric>,
): string[] {
  const names = [...Object.keys(newM), ...Object.keys(oldM).filter((k) => !(k in newM))];
  const rows = names.map((name) => {
    const o = Object.hasOwn(oldM, name) ? oldM[name] : undefined;
    const n = Object.hasOwn(newM, name) ? newM[name] : undefined;
    const unit = (n ?? o)?.unit ?? "";
    const change = o && n && o.value !== 0 ? (n.value - o.value) / Math.abs(o.value) * 100 : NaN;
    const better = (n ?? o)?.better ?? "lower";
    const verdict = !Number.isFinite(change) || Math.abs(change) < 5
      ? ""
      : (change > 0) === (better === "higher")
      ? "better"
      : "worse";
    return [
      name,
      o ? `${fixed(o.value, 3)} ${unit}` : "—",
      n ? `${fixed(n.value, 3)} ${unit}` : "—",
      Number.isFinite(change) ? `${change >= 0 ? "+" : ""}${change.toFixed(1)}%` : "—",
      verdict,
    ];
  });
  const count = (v: string) => rows.filter((r) => r[4] === v).length;
  return [
    ...table(["metric", "old", "new", "change", ""], rows, [false, true, true, true, false]),
    `${count("better")} better, ${count("worse")} worse (a change of 5% or more), ` +
    `${rows.length} metrics`,
  ];
}

// ---- command line -------------------------------------------------------------------------

const USAGE = `usage: deno task bench:report [--out FILE.json] [--compare OLD.json] [--quick]

  --out FILE      where to write the JSON results (default bench/results/latest.json)
  --compare OLD   after the run, print each metric's old and new value and change %
  --quick         fewer sizes and iterations: a smoke test in well under 30 s`;

interface Cli {
  out: string;
  compare?: string;
  quick: boolean;
}

function parseCli(argv: string[]): Cli | number {
  const cli: Cli = { out: DEFAULT_OUT, quick: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a file name`);
      return v;
    };
    try {
      if (a === "--quick") cli.quick = true;
      else if (a === "--out") cli.out = resolve(value());
      else if (a.startsWith("--out=")) cli.out = resolve(a.slice(6));
      else if (a === "--compare") cli.compare = resolve(value());
      else if (a.startsWith("--compare=")) cli.compare = resolve(a.slice(10));
      else if (a === "--help" || a === "-h") {
        console.log(USAGE);
        return 0;
      } else throw new Error(`unknown argument ${a}`);
    } catch (e) {
      console.error(`bench:report: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
  }
  return cli;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "--child") {
    const fn = Object.hasOwn(CHILDREN, argv[1]) ? CHILDREN[argv[1]] : undefined;
    if (!fn) throw new Error(`unknown child ${argv[1]}`);
    const args: unknown = JSON.parse(argv[2] ?? "{}");
    console.log(JSON.stringify(fn(args as never)));
    return 0;
  }
  const cli = parseCli(argv);
  if (typeof cli === "number") return cli;
  let old: Report | undefined;
  if (cli.compare !== undefined) {
    // Read it first: a bad file should fail before a minute of measuring.
    let parsed: unknown;
    try {
      parsed = JSON.parse(Deno.readTextFileSync(cli.compare));
    } catch (e) {
      console.error(`bench:report: cannot read ${cli.compare}: ${(e as Error).message}`);
      return 2;
    }
    old = parsed as Report;
    if (typeof old?.metrics !== "object" || old.metrics === null) {
      console.error(`bench:report: ${cli.compare} has no metrics section`);
      return 2;
    }
  }
  const report = await runReport(cli.quick);
  console.log(render(report).join("\n"));
  Deno.mkdirSync(dirname(cli.out), { recursive: true });
  Deno.writeTextFileSync(cli.out, JSON.stringify(report, null, 2) + "\n");
  console.log(`wrote ${cli.out}`);
  if (old !== undefined) {
    console.log(
      `\ncompared with ${cli.compare}${
        old.meta?.quick !== report.meta.quick ? " (one of the two runs is --quick)" : ""
      }`,
    );
    console.log(compareLines(old.metrics, report.metrics).join("\n"));
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
