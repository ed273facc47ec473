/**
 * What a report is judged by: the targets (PASS/MISS against a threshold) and every
 * number as a flat metric map with the direction it improves in, for `--compare`.
 *
 * @module
 */

import { type Better, type Metric, type Report, type Target, target } from "./schema.ts";
import { replSpeedMetrics, replSpeedTargets } from "./repl_speed.ts";
import { fastMetrics, fastTargets } from "./targets_fast.ts";
import { fixed, GiB, KiB, MiB, sizeLabel } from "./units.ts";

/**
 * The core against its C reference (issue 14): the bar workload's TypeScript / C ratio,
 * median and worst pair, and how many times faster than C the nearly full pool runs.
 */
function coreRefTargets(r: Report): Target[] {
  const row = (id: string) => r.coreRef.rows.find((x) => x.id === id);
  const skipped = r.coreRef.skipped ?? undefined;
  const t = (
    id: string,
    name: string,
    value: number | null | undefined,
    op: "<=" | ">=",
    threshold: number,
    note: string,
  ) => target(id, name, value, "×", op, threshold, note, skipped);
  const bar = row("bar");
  const speedup = (id: string) => {
    const x = row(id);
    return x?.ratioMedian ? 1 / x.ratioMedian : null;
  };
  const pairs = bar?.ratios.length ?? 0;
  return [
    t(
      "core-bar-vs-c",
      "bar workload, TypeScript / C (median)",
      bar?.ratioMedian,
      "<=",
      1.3,
      `${fixed(bar?.tsNsPerOp ?? NaN, 0)} ns vs ${
        fixed(bar?.cNsPerOp ?? NaN, 0)
      } ns an op, median of ${pairs} pairs`,
    ),
    t(
      "core-bar-vs-c-max",
      "bar workload, TypeScript / C (worst pair)",
      bar?.ratioMax,
      "<=",
      1.5,
      "every interleaved pair",
    ),
    ...["full-2048", "full-4096"].map((id) => {
      const x = row(id);
      return t(
        `core-${id}-vs-c`,
        `nearly full pool, ${x?.live.toLocaleString("en-US") ?? "?"} live: C / TypeScript`,
        speedup(id),
        ">=",
        3,
        `${fixed(x?.tsNsPerOp ?? NaN, 0)} ns vs ${fixed(x?.cNsPerOp ?? NaN, 0)} ns an op, ${
          fixed(x?.probesPerMap ?? NaN, 0)
        } probes a map`,
      );
    }),
  ];
}

/** The targets of the throughput issues, PASS/MISS. */
export function targets(r: Report): Target[] {
  const core4k = r.coreThroughput.rows.find((x) => x.size === 4 * KiB);
  const look = r.lookup.rows.find((x) => x.poolBytes === 64 * MiB);
  const init16 = r.poolInit.rows.find((x) => x.poolBytes === 16 * GiB);
  const t = target;
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
    ...coreRefTargets(r),
    ...fastTargets(r),
    ...replSpeedTargets(r.replSpeed),
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
  for (const x of r.coreRef.rows) {
    put(`coreRef.${x.id}.ts`, x.tsNsPerOp, "ns/op", "lower");
    if (x.cNsPerOp !== null) put(`coreRef.${x.id}.c`, x.cNsPerOp, "ns/op", "lower");
    if (x.ratioMedian !== null) put(`coreRef.${x.id}.ratio`, x.ratioMedian, "×", "lower");
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
      put(`${k}.guest.cpuMs`, x.guest.cpuMs, "ms", "lower");
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
  Object.assign(m, fastMetrics(r));
  Object.assign(m, replSpeedMetrics(r.replSpeed));
  return m;
}
