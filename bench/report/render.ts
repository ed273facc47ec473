/**
 * The printed report: one aligned table per section, the targets, and `--compare`'s
 * old/new/change table.
 *
 * @module
 */

import type { Metric, Report } from "./schema.ts";
import { throughputLines } from "./targets_fast.ts";
import { renderReplSpeed } from "./repl_speed.ts";
import { fixed, sizeLabel, SLOT } from "./units.ts";

/** Plain aligned columns; `right` marks the numeric ones. */
function table(headers: string[], rows: string[][], right: boolean[]): string[] {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (right[i] ? c.padStart(w[i]) : c.padEnd(w[i]))).join("  ").trimEnd();
  return [line(headers), line(w.map((n) => "-".repeat(n))), ...rows.map(line)];
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

  const cr = r.coreRef;
  out.push(
    "swiotlb core against the C reference (bench/ref/swiotlb_ref.c, SPEC §3 in C, cc -O2)",
    cr.skipped ? `  C reference skipped: ${cr.skipped}` : `  compiler: ${cr.compiler}`,
  );
  out.push(
    ...table(
      ["workload", "ops", "failed", "probes/map", "TS ns/op", "C ns/op", "TS/C", "worst", "C/TS"],
      cr.rows.map((x) => [
        x.name,
        String(x.ops),
        String(x.failed),
        fixed(x.probesPerMap, 1),
        fixed(x.tsNsPerOp, 1),
        fixed(x.cNsPerOp ?? NaN, 1),
        fixed(x.ratioMedian ?? NaN, 2),
        fixed(x.ratioMax ?? NaN, 2),
        fixed(x.ratioMedian ? 1 / x.ratioMedian : NaN, 2),
      ]),
      [false, true, true, true, true, true, true, true, true],
    ).map((l) => "  " + l),
    ...wrap(cr.note),
    "",
  );

  out.push(...throughputLines(r, table));

  out.push("bus→phys lookup against pool size (million lookups/s, random addresses in the pool)");
  out.push(
    ...table(
      [
        "pool",
        "segments",
        "guest height",
        "guest findInterval (best)",
        "guest mirror",
        "guest busToPhys",
        "synthetic height",
        "synthetic findInterval (best)",
        "synthetic mirror (best)",
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
        x.guest ? fixed(x.guest.indexPerSec / 1e6, 2) : "—",
        x.guest ? fixed(x.guest.busToPhysPerSec / 1e6, 2) : "—",
        String(x.synthetic.treeHeight),
        `${fixed(x.synthetic.findIntervalPerSec / 1e6, 2)} (${
          fixed(x.synthetic.findIntervalBestPerSec / 1e6, 2)
        })`,
        `${fixed(x.synthetic.indexPerSec / 1e6, 2)} (${
          fixed(x.synthetic.indexBestPerSec / 1e6, 2)
        })`,
      ]),
      [true, true, true, true, true, true, true, true, true],
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

  out.push(...renderReplSpeed(r.replSpeed));

  out.push("targets");
  out.push(
    ...table(
      ["target", "value", "goal", "result", "how"],
      r.targets.map((x) => [
        x.name,
        `${fixed(x.value, x.unit === "ms" || x.unit === "MB" ? 1 : 2)} ${x.unit}`,
        `${x.op === ">=" ? "≥" : x.op === "<=" ? "≤" : "<"} ${x.threshold} ${x.unit}`,
        x.skipped ? "SKIP" : x.pass ? "PASS" : "MISS",
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
