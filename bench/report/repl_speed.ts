/**
 * The REPL replaying a long script (issue 14): a generated `--json` script of map/unmap
 * lines — `guest new --preset P`, `device add nic --mask 64`, `buf alloc rx 4K`, then
 * `map nic rx 4K to` / `unmap nic $bus 4K to` — run by the REPL in a fresh child process
 * per run. Measured: lines per second inside the REPL's `main()` (Deno's start-up left
 * out), and the run's peak resident memory (getrusage's maxrss), per preset, against the targets
 * ≥ 150 k lines/s and a 1 M-line run under 250 MB, each for the worse of the two presets
 * (pv-dom0 takes the fast path, arm-dom0 bounces every map through the pool).
 *
 * This file is also the child: `deno run --allow-read --allow-env repl_speed.ts SCRIPT`
 * runs SCRIPT as `repl.ts --json --script SCRIPT` does (answers on stdout, which the
 * parent sends to /dev/null) and prints its measurement as the last line of stderr.
 *
 * @module
 */

import process from "node:process";
import { fromFileUrl, join } from "@std/path";
import { main } from "../../lib/repl/cli.ts";
import { REPO } from "./paths.ts";
import { type Metric, type Target, target } from "./schema.ts";
import { median } from "./stats.ts";
import { fixed } from "./units.ts";

/** One preset's runs. */
export interface ReplSpeedRow {
  preset: string;
  /** Lines in the script (the three setup lines included). */
  lines: number;
  runs: number;
  /** Median over the runs, and the best run. */
  linesPerSec: number;
  bestLinesPerSec: number;
  /** Median time inside the REPL's main(), ms. */
  ms: number;
  /** Median peak resident memory of a run, MB (1e6 bytes). */
  peakRssMB: number;
  /** False where getrusage is not there: the RSS at the end, not the peak. */
  peakIsHwm: boolean;
}

/** The section of the report. */
export interface ReplSpeed {
  note: string;
  rows: ReplSpeedRow[];
}

/** What the child prints. */
interface ChildResult {
  status: number;
  ms: number;
  rssBytes: number;
  hwm: boolean;
}

const PRESETS = ["pv-dom0", "arm-dom0"] as const;
const SELF = fromFileUrl(import.meta.url);
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The generated script: setup, then `pairs` map/unmap pairs. */
function script(preset: string, pairs: number): string {
  const head = `guest new --preset ${preset}\ndevice add nic --mask 64\nbuf alloc rx 4K\n`;
  return head + "map nic rx 4K to\nunmap nic $bus 4K to\n".repeat(pairs);
}

/** One run of `file` in a fresh process. */
async function run(file: string): Promise<ChildResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", SELF, file],
    cwd: REPO,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const err = decoder.decode(out.stderr).trim();
  const last = err.slice(err.lastIndexOf("\n") + 1);
  const r = JSON.parse(last) as ChildResult;
  if (!out.success || r.status !== 0) {
    throw new Error(`repl speed run of ${file} failed (status ${r.status}):\n${err}`);
  }
  return r;
}

/** Runs each preset's script `runs` times (1 M lines; `--quick`: 100 k, once). */
export async function measureReplSpeed(quick: boolean): Promise<ReplSpeed> {
  const pairs = quick ? 50_000 : 500_000;
  const runs = quick ? 1 : 3;
  const dir = Deno.makeTempDirSync({ prefix: "bench_repl_" });
  const rows: ReplSpeedRow[] = [];
  try {
    for (const preset of PRESETS) {
      const file = join(dir, `${preset}.txt`);
      Deno.writeTextFileSync(file, script(preset, pairs));
      const lines = 3 + 2 * pairs;
      const all: ChildResult[] = [];
      for (let i = 0; i < runs; i++) all.push(await run(file));
      const rates = all.map((r) => lines / r.ms * 1000);
      rows.push({
        preset,
        lines,
        runs,
        linesPerSec: median(rates),
        bestLinesPerSec: Math.max(...rates),
        ms: median(all.map((r) => r.ms)),
        peakRssMB: median(all.map((r) => r.rssBytes)) / 1e6,
        peakIsHwm: all.every((r) => r.hwm),
      });
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  return {
    note: `repl.ts --json --script of ${3 + 2 * pairs} lines (setup, then map nic rx 4K to / ` +
      `unmap nic $bus 4K to), answers to /dev/null; median of ${runs} fresh process(es); ` +
      "lines/s = lines / time inside the REPL's main(); peak RSS = the process's maxrss",
    rows,
  };
}

/** The two targets: the slower preset's lines/s, and the larger preset's peak RSS. */
export function replSpeedTargets(r: ReplSpeed): Target[] {
  const slowest = r.rows.reduce((a, b) => (b.linesPerSec < a.linesPerSec ? b : a));
  const largest = r.rows.reduce((a, b) => (b.peakRssMB > a.peakRssMB ? b : a));
  const value = largest.peakRssMB;
  const lines = slowest.linesPerSec / 1e3;
  const million = largest.lines >= 1e6;
  return [
    target(
      "repl-lines",
      "REPL --json map/unmap script",
      lines,
      "k lines/s",
      ">=",
      150,
      `the slower preset (${slowest.preset}), ${slowest.lines} lines`,
    ),
    target(
      "repl-rss",
      "REPL 1 M-line --json script, peak RSS",
      value,
      "MB",
      "<",
      250,
      `the larger preset (${largest.preset})${million ? "" : `, ${largest.lines} lines (--quick)`}${
        largest.peakIsHwm ? ", maxrss" : ", RSS at the end (no getrusage here)"
      }`,
    ),
  ];
}

/** The section's numbers for `--compare`. */
export function replSpeedMetrics(r: ReplSpeed): Record<string, Metric> {
  const m: Record<string, Metric> = {};
  for (const x of r.rows) {
    m[`repl.script.${x.preset}.lines`] = {
      value: x.linesPerSec / 1e3,
      unit: "k lines/s",
      better: "higher",
    };
    m[`repl.script.${x.preset}.rss`] = { value: x.peakRssMB, unit: "MB", better: "lower" };
  }
  return m;
}

/** The section's table. */
export function renderReplSpeed(r: ReplSpeed): string[] {
  const head = ["preset", "lines", "k lines/s", "best", "s", "peak RSS MB"];
  const rows = r.rows.map((x) => [
    x.preset,
    String(x.lines),
    fixed(x.linesPerSec / 1e3, 1),
    fixed(x.bestLinesPerSec / 1e3, 1),
    fixed(x.ms / 1000, 2),
    fixed(x.peakRssMB, 0) + (x.peakIsHwm ? "" : " (at end)"),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    "  " + cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  return [
    "REPL replaying a --json script of map/unmap lines",
    line(head),
    line(w.map((n) => "-".repeat(n))),
    ...rows.map(line),
    ...wrapped(r.note),
    "",
  ];
}

/** `text` in lines of at most 98 characters, indented by two. */
function wrapped(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (const w of text.split(" ")) {
    if (cur !== "" && cur.length + 1 + w.length > 96) {
      out.push("  " + cur);
      cur = w;
    } else cur = cur === "" ? w : `${cur} ${w}`;
  }
  if (cur !== "") out.push("  " + cur);
  return out;
}

/** Peak resident memory of this process (getrusage's ru_maxrss), and whether it is the peak. */
function peakRss(): { bytes: number; hwm: boolean } {
  try {
    const kB = process.resourceUsage().maxRSS;
    if (kB > 0) return { bytes: kB * 1024, hwm: true };
  } catch {
    // No getrusage: the RSS now, which a run's end is close to.
  }
  return { bytes: Deno.memoryUsage().rss, hwm: false };
}

if (import.meta.main) {
  const t0 = performance.now();
  const status = await main(["--json", "--script", Deno.args[0]]);
  const ms = performance.now() - t0;
  const { bytes, hwm } = peakRss();
  const result: ChildResult = { status, ms, rssBytes: bytes, hwm };
  Deno.stderr.writeSync(encoder.encode(JSON.stringify(result) + "\n"));
  // The REPL's Ctrl-C worker would keep the process alive.
  Deno.exit(0);
}
