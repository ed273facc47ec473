/**
 * Issue 14's bounce, fast-path, lookup and 16 GiB-request targets, and the throughput
 * section's metrics and table, kept apart from the core's so the two can change alone.
 *
 * @module
 */

import { type Better, type Metric, type Report, type Target, target } from "./schema.ts";
import { fixed, GiB, KiB, MiB, sizeLabel } from "./units.ts";

const SIZES = [4 * KiB, 64 * KiB, 256 * KiB];

/** Each target with its measured value and threshold (NaN, a MISS, when not measured). */
export function fastTargets(r: Report): Target[] {
  const t = target;
  const pairs = (mode: string, size: number) =>
    r.throughput.rows.find((x) => x.mode === mode && x.size === size)?.pairsPerCpuSec;
  const bounce = { [4 * KiB]: 1.2e6, [64 * KiB]: 150e3, [256 * KiB]: 35e3 };
  const l64 = r.lookup.rows.find((x) => x.poolBytes === 64 * MiB);
  const l16 = r.lookup.rows.find((x) => x.poolBytes === 16 * GiB);
  const init16 = r.poolInit.rows.find((x) => x.poolBytes === 16 * GiB)?.guest;
  return [
    ...SIZES.map((size) =>
      t(
        `bounce-arm-${sizeLabel(size)}`,
        `arm-dom0 bounce ${sizeLabel(size)}, debug off`,
        (pairs("arm-dom0 bounce", size) ?? NaN) / 1e3,
        "k pairs/s",
        ">=",
        bounce[size] / 1e3,
        "map+unmap, BIDIRECTIONAL: a copy each way; per CPU-second",
      )
    ),
    ...SIZES.map((size) =>
      t(
        `fast-pv-${sizeLabel(size)}`,
        `pv-dom0 fast path ${sizeLabel(size)}, debug off`,
        (pairs("pv-dom0 fast path", size) ?? NaN) / 1e6,
        "M pairs/s",
        ">=",
        10,
        "map+unmap of a machine-contiguous buffer; per CPU-second",
      )
    ),
    ...SIZES.map((size) =>
      t(
        `fast-pv-debug-${sizeLabel(size)}`,
        `pv-dom0 fast path ${sizeLabel(size)}, debug on`,
        (pairs("pv-dom0 fast path, debug on", size) ?? NaN) / 1e6,
        "M pairs/s",
        ">=",
        2,
        "map, dma_mapping_error, unmap; per CPU-second",
      )
    ),
    t(
      "lookup-256-segments",
      "bus→phys lookup, 256 segments",
      (l64?.guest?.indexPerCpuSec ?? NaN) / 1e6,
      "M/s",
      ">=",
      25,
      "xen_get_dma_info_from_dma (mirror), arm-dom0's 64 MiB pool; per CPU-second",
    ),
    t(
      "lookup-65536-segments",
      "bus→phys lookup, 65,536 segments",
      (l16?.synthetic.indexPerCpuSec ?? NaN) / 1e6,
      "M/s",
      ">=",
      5,
      "xen_get_dma_info_from_dma (mirror), 16 GiB synthetic tree; per CPU-second",
    ),
    t(
      "init-16G-request",
      "a 16 GiB pool request (lowered), guest init",
      init16?.cpuMs,
      "ms",
      "<",
      1000,
      init16
        ? `arm-dom0, built ${sizeLabel(init16.nslabs * 2048)}; CPU time (wall ${
          fixed(init16.ms, 0)
        } ms), fresh process`
        : "not measured",
    ),
  ];
}

/** The throughput section and the lookup mirror as metrics, for `--compare`. */
export function fastMetrics(r: Report): Record<string, Metric> {
  const m: Record<string, Metric> = {};
  const put = (name: string, value: number, unit: string, better: Better) => {
    if (Number.isFinite(value)) m[name] = { value, unit, better };
  };
  for (const x of r.throughput.rows) {
    put(
      `pairs.${x.mode.replaceAll(/[ ,]+/g, "-")}.${sizeLabel(x.size)}`,
      x.pairsPerCpuSec / 1e6,
      "M/CPU-s",
      "higher",
    );
  }
  for (const x of r.lookup.rows) {
    const k = `lookup.${sizeLabel(x.poolBytes)}`;
    if (x.guest) {
      put(`${k}.guest.index`, x.guest.indexPerSec / 1e6, "M/s", "higher");
      put(`${k}.guest.indexCpu`, x.guest.indexPerCpuSec / 1e6, "M/CPU-s", "higher");
    }
    put(`${k}.synthetic.index`, x.synthetic.indexPerSec / 1e6, "M/s", "higher");
    put(`${k}.synthetic.indexCpu`, x.synthetic.indexPerCpuSec / 1e6, "M/CPU-s", "higher");
  }
  return m;
}

/** The throughput table. */
export function throughputLines(
  r: Report,
  table: (h: string[], rows: string[][], right: boolean[]) => string[],
): string[] {
  return [
    "DMA map+unmap throughput through the Guest API (pairs/s and pairs per CPU-second, medians of rounds)",
    `  ${r.throughput.note}`,
    ...table(
      ["mode", "size", "path", "pairs/s", "best", "pairs/CPU-s", "ns/pair", "per round"],
      r.throughput.rows.map((x) => [
        x.mode,
        sizeLabel(x.size),
        x.path,
        fixed(x.pairsPerSec, 0),
        fixed(x.bestPairsPerSec, 0),
        fixed(x.pairsPerCpuSec, 0),
        fixed(1e9 / x.pairsPerSec, 0),
        String(x.pairsPerRound),
      ]),
      [false, true, false, true, true, true, true, true],
    ).map((l) => "  " + l),
    "",
  ];
}
