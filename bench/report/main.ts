#!/usr/bin/env -S deno run --allow-read --allow-write --allow-env --allow-run --allow-sys
/**
 * `deno task bench:report`: the numbers a kernel engineer asks for, in one table each, and
 * in a JSON file so that two runs can be compared.
 *
 *  - DMA map/unmap latency through the Guest API (`g.map` / `g.unmap`, debug layer off),
 *    per mode, size and direction, as the kernel's `dma_map_benchmark` reports it:
 *    average and standard deviation per call, in µs;
 *  - map+unmap throughput of the bare swiotlb core (SPEC §3, no memory: no copy);
 *  - the core against a native C build of the same 3.11 algorithm (bench/ref/, built with
 *    `cc -O2` into a temporary directory; skipped with a note when no compiler runs) on
 *    the same seeded workloads (bench/report/workload.ts);
 *  - bus→phys lookup (SPEC §6, `xen_get_dma_info_from_dma`) against pool size;
 *  - init time and resident memory against pool size (SwiotlbCore, whole arm-dom0 guest);
 *  - init time and resident memory of the 64 MiB default pool per preset (SPEC §12);
 *  - REPL cold start: Deno's start-up on an empty script, the REPL's, and the difference;
 *  - the REPL replaying a generated 1 M-line `--json` map/unmap script: lines/s and peak
 *    resident memory per preset (repl_speed.ts, which is also that measurement's child).
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
 * This file is the command line and the one entry point, of the parent and of every child
 * (paths.ts names it for the spawn). The rest of `bench/report/`: schema.ts (the JSON
 * shapes), children.ts with latency.ts, core.ts, workload.ts, lookup.ts and init.ts (the
 * measurements), core_ref.ts (the C side), repl_speed.ts (the long-script replay, its own child, targets and table),
 * run.ts (the parent), targets.ts (targets and metrics), render.ts (the tables), and the
 * shared units.ts, stats.ts, paths.ts.
 *
 * @module
 */

import { dirname, resolve } from "@std/path";
import { CHILDREN } from "./children.ts";
import { DEFAULT_OUT } from "./paths.ts";
import { compareLines, render } from "./render.ts";
import { runReport } from "./run.ts";
import type { Report } from "./schema.ts";

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
