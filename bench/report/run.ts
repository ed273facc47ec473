/**
 * The parent: spawns each measurement's child in turn (never two at once: they would
 * share the CPUs they measure), times the REPL's cold start, and collects everything into
 * one Report.
 *
 * @module
 */

import { join } from "@std/path";
import { PRESETS } from "../../lib/guest/mod.ts";
import { type CoreRefPlan, measureCoreRef } from "./core_ref.ts";
import type { PresetChild } from "./init.ts";
import { MODES } from "./latency.ts";
import { THROUGHPUT_MODES } from "./throughput.ts";
import { GUEST_LOOKUP_MAX } from "./lookup.ts";
import { readCommit, REPO, SELF } from "./paths.ts";
import { measureReplSpeed } from "./repl_speed.ts";
import type {
  CoreRow,
  InitRow,
  LatencyRow,
  LookupRow,
  PresetRow,
  ReplResult,
  Report,
  ThroughputRow,
} from "./schema.ts";
import { median } from "./stats.ts";
import { metrics, targets } from "./targets.ts";
import { GiB, MiB, SEG, sizeLabel } from "./units.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Runs `main.ts --child kind args` and returns the JSON it prints. */
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
  const cpu = all.map((x) => (x as { cpuMs?: number }).cpuMs);
  return {
    ...all[0],
    ms: median(all.map((x) => x.ms)),
    rssBytes: median(all.map((x) => x.rssBytes)),
    ...(cpu.every((x) => x !== undefined) ? { cpuMs: median(cpu as number[]) } : {}),
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
  coreRef: CoreRefPlan;
  lookupPools: number[];
  lookup: { lookups: number; rounds: number };
  /** Timed rounds of about 50 ms per throughput row. */
  throughputRounds: number;
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
      coreRef: {
        pairs: 2,
        rounds: 2,
        ops: { bar: 50_000, "full-2048": 10_000, "full-4096": 10_000 },
      },
      lookupPools: [64 * MiB, 16 * GiB],
      lookup: { lookups: 300_000, rounds: 3 },
      throughputRounds: 3,
      corePools: [64 * MiB, 16 * GiB],
      guestPools: [64 * MiB, 1 * GiB, 16 * GiB],
      initRuns: 1,
      replRuns: 3,
    }
    : {
      quick,
      latency: { iterations: 2000, warmup: 200, jitWarmup: 5000 },
      core: { pairs: 500_000, rounds: 9 },
      coreRef: {
        pairs: 7,
        rounds: 5,
        ops: { bar: 400_000, "full-2048": 60_000, "full-4096": 40_000 },
      },
      lookupPools: [64 * MiB, 256 * MiB, 1 * GiB, 4 * GiB, 16 * GiB],
      lookup: { lookups: 1_000_000, rounds: 7 },
      throughputRounds: 9,
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

  progress("swiotlb core against the C reference");
  const coreRef = await measureCoreRef(
    p.coreRef,
    (args) =>
      child<{ nsPerOp: number[]; failed: number; probesPerMap: number }>(
        "core-workload",
        args,
      ),
  );
  if (coreRef.skipped) progress(`C reference skipped: ${coreRef.skipped}`);

  progress("DMA map+unmap throughput per mode");
  const throughputRows: ThroughputRow[] = [];
  for (let i = 0; i < THROUGHPUT_MODES.length; i++) {
    const r = await child<{ rows: ThroughputRow[] }>("throughput", {
      mode: i,
      rounds: p.throughputRounds,
    });
    throughputRows.push(...r.rows);
  }

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
      const g = await medianOf<
        { ms: number; cpuMs: number; rssBytes: number; nslabs: number; log: string[] }
      >(
        "guest-init",
        { poolBytes, ...size },
        p.initRuns,
      );
      guest = {
        ms: g.ms,
        cpuMs: g.cpuMs,
        rssMiB: g.rssBytes / MiB,
        ...size,
        nslabs: g.nslabs,
        log: g.log,
      };
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

  progress("REPL replaying a long --json script");
  const replSpeed = await measureReplSpeed(quick);

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
    coreRef,
    throughput: {
      note: "Guest.create({ preset }) with device bench (64-bit mask) and a 256 KiB buffer " +
        "(machine-contiguous on pv-dom0), pool and buffer touched first; a pair is g.map + " +
        "g.unmap, BIDIRECTIONAL (arm-dom0 copies both ways); with debug on the driver also " +
        "calls dma_mapping_error; one child process per mode, rounds of about 50 ms going " +
        "round the sizes; the targets take pairs per second of the measuring thread's CPU " +
        "time over all rounds (other sessions share this machine's cores; idle, it reads as " +
        "the wall rate)",
      rows: throughputRows,
    },
    lookup: {
      note:
        `guest: arm-dom0 with the pool's swiotlb= (findInterval on its tree, the same lookups ` +
        `through its typed-array mirror, and the whole XenSwiotlb.busToPhys); pools above ${
          sizeLabel(GUEST_LOOKUP_MAX)
        } are lowered at init (the exchanges need machine memory below 4 GiB), so they have ` +
        `no guest column. synthetic: a BusTree of the same number of 256 KiB segments, bus ` +
        `addresses drawn from twice the pool's span in shuffled order, inserted in pool order`,
      rows: lookupRows,
    },
    poolInit: {
      note: `median of ${p.initRuns} fresh process(es) per size; ` +
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
    replSpeed,
    targets: [],
    metrics: {},
  };
  report.targets = targets(report);
  report.metrics = metrics(report);
  report.meta.seconds = (performance.now() - t0) / 1000;
  return report;
}
