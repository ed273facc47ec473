/**
 * What a report is judged by: the targets (PASS/MISS against a threshold) and every
 * number as a flat metric map with the direction it improves in, for `--compare`.
 *
 * @module
 */

import type { Better, Metric, Report, Target } from "./schema.ts";
import { fixed, GiB, KiB, MiB, sizeLabel } from "./units.ts";

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
