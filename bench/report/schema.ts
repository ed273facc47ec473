/**
 * The shapes of the report's JSON file (schema 1): what `--out` writes and `--compare`
 * reads back, so a change here breaks every stored baseline.
 *
 * @module
 */

import type { ReplSpeed } from "./repl_speed.ts";

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

/** One core workload on the TypeScript core and on the C reference (bench/ref/). */
export interface CoreRefRow {
  id: string;
  name: string;
  /** FIFO depth: live mappings once it is full. */
  live: number;
  /** Ops per round (an op: unmap the oldest once full, then map). */
  ops: number;
  /** Maps of a round that found no room. */
  failed: number;
  /** Slot indexes examined per map (MapOutcome.probes). */
  probesPerMap: number;
  /** Median over the pairs of each process's median round. */
  tsNsPerOp: number;
  /** Null when the C reference could not be built. */
  cNsPerOp: number | null;
  /** TypeScript / C, one per interleaved pair. */
  ratios: number[];
  ratioMedian: number | null;
  ratioMax: number | null;
}

/** The core against its C reference. */
export interface CoreRefResult {
  note: string;
  /** The C compiler's version line, null when none ran. */
  compiler: string | null;
  /** Why the C side was not run (no compiler, a failed build), else null. */
  skipped: string | null;
  rows: CoreRefRow[];
}

/** DMA map+unmap pairs per second at one size, through the Guest API (issue 14). */
export interface ThroughputRow {
  mode: string;
  preset: string;
  /** The DMA-API debug layer was on (each handle then checked with dma_mapping_error). */
  debug: boolean;
  size: number;
  /** What every pair did: "bounce", "fast path" or "mixed". */
  path: string;
  /** Median over the rounds. */
  pairsPerSec: number;
  /** Best round. */
  bestPairsPerSec: number;
  /** Pairs per second of the measuring thread's CPU time, over all rounds. */
  pairsPerCpuSec: number;
  pairsPerRound: number;
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
    /** xen_get_dma_info_from_dma through the tree's typed-array mirror. */
    indexPerSec: number;
    indexBestPerSec: number;
    /** The same, per second of the measuring thread's CPU time. */
    indexPerCpuSec: number;
    treeHeight: number;
  } | null;
  /** On an RbTree of the same number of segments with shuffled bus addresses. */
  synthetic: {
    findIntervalPerSec: number;
    findIntervalBestPerSec: number;
    /** The same lookups through the tree's typed-array mirror (BusTree.index). */
    indexPerSec: number;
    indexBestPerSec: number;
    /** The same, per second of the measuring thread's CPU time. */
    indexPerCpuSec: number;
    treeHeight: number;
  };
}

/** Init cost at one pool size. */
export interface InitRow {
  poolBytes: number;
  /** Null when this size was not measured on the bare core (--quick). */
  core: { ms: number; rssMiB: number } | null;
  guest: {
    ms: number;
    /** The thread's CPU time for the same build (median): other sessions share the cores. */
    cpuMs: number;
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
  op: ">=" | "<" | "<=";
  threshold: number;
  /** False when missed, and when not measured (see `skipped`). */
  pass: boolean;
  /** Why the target could not be measured (no C compiler), absent when it was. */
  skipped?: string;
  note: string;
}

/**
 * A target and its verdict: `value` (NaN, a MISS, when not measured) against `threshold`
 * by `op`; `skipped` says why it could not be measured.
 */
export function target(
  id: string,
  name: string,
  value: number | null | undefined,
  unit: string,
  op: Target["op"],
  threshold: number,
  note: string,
  skipped?: string,
): Target {
  const v = value ?? NaN;
  const pass = op === ">=" ? v >= threshold : op === "<=" ? v <= threshold : v < threshold;
  return {
    id,
    name,
    value: v,
    unit,
    op,
    threshold,
    pass,
    note,
    ...(skipped === undefined ? {} : { skipped }),
  };
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
  coreRef: CoreRefResult;
  throughput: { note: string; rows: ThroughputRow[] };
  lookup: { note: string; rows: LookupRow[] };
  poolInit: { note: string; rows: InitRow[] };
  presetInit: { note: string; rows: PresetRow[] };
  repl: ReplResult;
  /** A long --json script replayed (bench/report/repl_speed.ts). */
  replSpeed: ReplSpeed;
  targets: Target[];
  metrics: Record<string, Metric>;
}

/** The sections a report file must have (tests/bench_report_test.ts checks them). */
export const SECTIONS = [
  "meta",
  "mapLatency",
  "coreThroughput",
  "coreRef",
  "throughput",
  "lookup",
  "poolInit",
  "presetInit",
  "repl",
  "replSpeed",
  "targets",
  "metrics",
] as const;
