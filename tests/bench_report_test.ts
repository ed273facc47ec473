/**
 * `bench/report/main.ts --quick` end to end: it runs, prints every table and every target, and
 * writes a JSON file with every section. A functional check only: no timing is asserted
 * (targets are the report's business, never a test's).
 */

import { assert, assertEquals, assertMatch } from "@std/assert";
import { fromFileUrl } from "@std/path";
import { compareLines } from "../bench/report/render.ts";
import { type Metric, type Report, SECTIONS } from "../bench/report/schema.ts";
import { sizeLabel } from "../bench/report/units.ts";

const REPO = fromFileUrl(new URL("..", import.meta.url));
const decoder = new TextDecoder();

Deno.test("bench:report --quick writes every section and prints every target", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench_report_" });
  const out = `${dir}/quick.json`;
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-run",
        "--allow-sys",
        "bench/report/main.ts",
        "--quick",
        "--out",
        out,
      ],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = decoder.decode(r.stdout);
    assert(r.success, `bench/report/main.ts failed:\n${decoder.decode(r.stderr)}`);
    const parsed: unknown = JSON.parse(await Deno.readTextFile(out));
    const report = parsed as Report;
    for (const s of SECTIONS) assert(s in report, `section ${s} missing`);
    assertEquals(report.schema, 1);
    assertEquals(report.meta.quick, true);

    // 4 modes × 3 sizes × 3 directions, each with finite averages and deviations.
    const rows = report.mapLatency.rows;
    assertEquals(rows.length, 36);
    for (const x of rows) {
      for (const v of [x.mapAvgUs, x.mapStdUs, x.unmapAvgUs, x.unmapStdUs]) {
        assert(Number.isFinite(v), `${x.mode} ${x.size} ${x.dir}: ${v}`);
      }
      assertEquals(x.iterations > 0, true);
    }
    // The path each mode must take (SPEC §7): a PV buffer above a 32-bit mask bounces,
    // a machine-contiguous one under a 64-bit mask does not, an autotranslated guest
    // without an IOMMU always bounces, one with an IOMMU maps directly.
    const paths = new Map(rows.map((x) => [x.mode, new Set<string>()]));
    for (const x of rows) paths.get(x.mode)!.add(x.path);
    assertEquals([...paths.get("pv-dom0 bounce")!], ["bounce"]);
    assertEquals([...paths.get("pv-dom0 fast")!], ["fast path"]);
    assertEquals([...paths.get("arm-dom0")!], ["bounce"]);
    assertEquals([...paths.get("arm-dom0-smmu direct")!], ["direct"]);
    assertEquals(
      [...new Set(rows.map((x) => `${sizeLabel(x.size)} ${x.dir}`))].length,
      9,
    );

    assertEquals(report.coreThroughput.rows.map((x) => x.size), [4096, 65536, 262144]);
    for (const x of report.coreThroughput.rows) assert(x.pairsPerSec > 0);

    // The C comparison: every workload, on both sides when a compiler ran (the same
    // maps fail on both: the C program and the core run the same sizes).
    assertEquals(report.coreRef.rows.map((x) => x.id), ["bar", "full-2048", "full-4096"]);
    for (const x of report.coreRef.rows) {
      assert(x.tsNsPerOp > 0 && x.probesPerMap >= 1, x.id);
      if (report.coreRef.skipped === null) {
        assert(x.cNsPerOp !== null && x.cNsPerOp > 0, x.id);
        assertEquals(x.ratios.length, 2);
      } else assertEquals(x.cNsPerOp, null);
    }
    assert(stdout.includes("against the C reference"));

    // 64 MiB is measured on a real guest's tree (256 segments), 16 GiB on a synthetic one.
    const l64 = report.lookup.rows.find((x) => x.poolBytes === 64 * 2 ** 20);
    const l16 = report.lookup.rows.find((x) => x.poolBytes === 16 * 2 ** 30);
    if (!l64 || !l16) throw new Error("lookup rows for 64M and 16G missing");
    assertEquals(l64.segments, 256);
    assert((l64.guest?.findIntervalPerSec ?? 0) > 0);
    assertEquals(l16.guest, null);
    assertEquals(l16.segments, 65536);
    assert(l16.synthetic.findIntervalPerSec > 0 && l16.synthetic.indexPerSec > 0);
    assert((l64.guest?.indexPerSec ?? 0) > 0);

    // Map+unmap pairs through the Guest API: the path each mode must take, every size.
    const tp = report.throughput.rows;
    assertEquals(tp.map((x) => [x.mode, x.size, x.path]), [
      ...[4096, 65536, 262144].map((z) => ["arm-dom0 bounce", z, "bounce"]),
      ...[4096, 65536, 262144].map((z) => ["pv-dom0 fast path", z, "fast path"]),
      ...[4096, 65536, 262144].map((z) => ["pv-dom0 fast path, debug on", z, "fast path"]),
    ]);
    for (const x of tp) assert(x.pairsPerSec > 0 && x.bestPairsPerSec >= x.pairsPerSec, x.mode);
    // The 16 GiB request is lowered, and measured.
    const g16 = report.poolInit.rows.find((x) => x.poolBytes === 16 * 2 ** 30)?.guest;
    assert(g16 && Number.isFinite(g16.ms) && g16.nslabs < 16 * 2 ** 30 / 2048);

    const i16 = report.poolInit.rows.find((x) => x.poolBytes === 16 * 2 ** 30);
    assert(i16?.core && Number.isFinite(i16.core.ms) && Number.isFinite(i16.core.rssMiB));
    const i64 = report.poolInit.rows.find((x) => x.poolBytes === 64 * 2 ** 20);
    assertEquals(i64?.guest?.nslabs, 32768);

    // Every preset, each with the default pool; pvh-dom0's init fails (SPEC §12).
    const presets = report.presetInit.rows;
    for (
      const name of [
        "pv-dom0",
        "pv-domu-passthrough",
        "arm-dom0",
        "arm-dom0-smmu",
        "pvh-dom0",
        "pvh-dom0-iommu",
      ]
    ) {
      assert(presets.some((x) => x.preset === name), `preset ${name} missing`);
    }
    for (const x of presets) {
      assertEquals(x.ok, x.preset !== "pvh-dom0", x.preset);
      if (x.ok) assertEquals(x.nslabs, 32768, x.preset);
      assert(Number.isFinite(x.ms), x.preset);
      // A failed init has no pool to cost.
      if (x.ok) assert(Number.isFinite(x.poolMs), x.preset);
      else assertEquals(x.poolMs, null);
    }

    const q = report.repl;
    assert(q.denoEmptyMs > 0 && q.replReadyMs > 0 && Number.isFinite(q.oursMs));
    // The long script ran on both presets, every line (setup, then map/unmap pairs).
    assertEquals(report.replSpeed.rows.map((x) => x.preset), ["pv-dom0", "arm-dom0"]);
    for (const x of report.replSpeed.rows) {
      assertEquals((x.lines - 3) % 2, 0);
      assert(x.linesPerSec > 0 && x.peakRssMB > 0, x.preset);
    }

    assertEquals(report.targets.map((t) => t.id), [
      "core-pairs",
      "lookup-64M",
      "init-16G-time",
      "init-16G-rss",
      "repl-ready",
      "core-bar-vs-c",
      "core-bar-vs-c-max",
      "core-full-2048-vs-c",
      "core-full-4096-vs-c",
      "bounce-arm-4K",
      "bounce-arm-64K",
      "bounce-arm-256K",
      "fast-pv-4K",
      "fast-pv-64K",
      "fast-pv-256K",
      "fast-pv-debug-4K",
      "fast-pv-debug-64K",
      "fast-pv-debug-256K",
      "lookup-256-segments",
      "lookup-65536-segments",
      "init-16G-request",
      "repl-lines",
      "repl-rss",
    ]);
    for (const t of report.targets) {
      if (t.skipped) {
        // Only the C comparisons can be skipped, and only without a C compiler.
        assert(t.id.endsWith("-vs-c") && report.coreRef.skipped !== null, t.id);
        assertMatch(stdout, new RegExp(`${escape(t.name)}.*SKIP`));
        continue;
      }
      assert(Number.isFinite(t.value), t.id);
      const pass = t.op === ">="
        ? t.value >= t.threshold
        : t.op === "<="
        ? t.value <= t.threshold
        : t.value < t.threshold;
      assertEquals(t.pass, pass);
      assertMatch(stdout, new RegExp(`${escape(t.name)}.*(PASS|MISS)`));
    }
    assert(Object.keys(report.metrics).length > 50);
    for (
      const h of [
        "DMA map benchmark",
        "bus→phys lookup",
        "pool init",
        "REPL cold start",
        "REPL replaying a --json script",
      ]
    ) {
      assert(stdout.includes(h), `table ${h} missing`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test("bench:report --compare: old, new and change per metric, judged by direction", () => {
  const old: Record<string, Metric> = {
    "core.4K.pairs": { value: 4, unit: "M/s", better: "higher" },
    "repl.ready": { value: 100, unit: "ms", better: "lower" },
    "gone": { value: 1, unit: "ms", better: "lower" },
  };
  const now: Record<string, Metric> = {
    "core.4K.pairs": { value: 5, unit: "M/s", better: "higher" },
    "repl.ready": { value: 150, unit: "ms", better: "lower" },
    "new": { value: 2, unit: "ms", better: "lower" },
  };
  const lines = compareLines(old, now);
  const row = (name: string) => lines.find((l) => l.startsWith(name + " "))!;
  assertMatch(row("core.4K.pairs"), /4\.000 M\/s\s+5\.000 M\/s\s+\+25\.0%\s+better$/);
  assertMatch(row("repl.ready"), /100\.000 ms\s+150\.000 ms\s+\+50\.0%\s+worse$/);
  assertMatch(row("gone"), /1\.000 ms\s+—\s+—$/);
  assertMatch(row("new"), /—\s+2\.000 ms\s+—$/);
  assertEquals(lines.at(-1), "1 better, 1 worse (a change of 5% or more), 4 metrics");
});
