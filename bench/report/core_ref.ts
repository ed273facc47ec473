/**
 * The core against its C reference (bench/ref/swiotlb_ref.c, SPEC §3 in C): builds it with
 * `cc -O2` into a temporary directory (skipped, with the reason, when no compiler runs),
 * writes each workload's sizes to a file both sides read, then runs the C program and
 * the TypeScript child in turn, pair after pair, so that a drift of the machine's speed
 * hits both sides of a ratio alike.
 *
 * @module
 */

import { fromFileUrl, join } from "@std/path";
import type { CoreRefResult, CoreRefRow } from "./schema.ts";
import { median } from "./stats.ts";
import { NSLABS, WORKLOADS, workloadSizes } from "./workload.ts";

/** The C source, beside the report. */
export const REF_SOURCE = fromFileUrl(new URL("../ref/swiotlb_ref.c", import.meta.url));

const decoder = new TextDecoder();

/** The compiler's first line, or null when `cc` does not run here. */
async function compilerVersion(cc: string): Promise<string | null> {
  try {
    const out = await new Deno.Command(cc, { args: ["--version"], stdout: "piped", stderr: "null" })
      .output();
    return out.success ? decoder.decode(out.stdout).split("\n")[0].trim() : null;
  } catch {
    return null;
  }
}

/**
 * Builds the reference into `dir` with `cc -O2` (CC overrides the compiler); returns the
 * binary and the compiler's version, or why it cannot.
 */
export async function buildRef(
  dir: string,
): Promise<{ bin: string; compiler: string } | { skipped: string }> {
  const cc = Deno.env.get("CC") ?? "cc";
  const compiler = await compilerVersion(cc);
  if (compiler === null) return { skipped: `no C compiler (${cc} --version did not run)` };
  const bin = join(dir, "swiotlb_ref");
  const out = await new Deno.Command(cc, {
    args: ["-O2", "-o", bin, REF_SOURCE],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    return { skipped: `${cc} -O2 ${REF_SOURCE} failed: ${decoder.decode(out.stderr).trim()}` };
  }
  return { bin, compiler };
}

/** Runs the reference; returns the JSON line it prints. */
export async function runRef<T>(bin: string, args: string[]): Promise<T> {
  const out = await new Deno.Command(bin, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${bin} ${args.join(" ")} failed: ${decoder.decode(out.stderr)}`);
  }
  return JSON.parse(decoder.decode(out.stdout)) as T;
}

/** What one C or TypeScript process reports for a workload. */
interface SideResult {
  nsPerOp: number[];
  failed: number;
}

/** How many ops and rounds each workload runs, and how many interleaved pairs. */
export interface CoreRefPlan {
  pairs: number;
  rounds: number;
  /** Ops per round by workload id. */
  ops: Record<string, number>;
}

/**
 * Every workload on both sides, `plan.pairs` interleaved pairs each. `child` runs the
 * TypeScript side (`main.ts --child core-workload`) in a fresh process.
 */
export async function measureCoreRef(
  plan: CoreRefPlan,
  child: (args: object) => Promise<SideResult & { probesPerMap: number }>,
): Promise<CoreRefResult> {
  const dir = await Deno.makeTempDir({ prefix: "swiotlb_ref_" });
  try {
    const built = await buildRef(dir);
    const rows: CoreRefRow[] = [];
    for (const w of WORKLOADS) {
      const ops = plan.ops[w.id];
      const file = join(dir, `${w.id}.sizes`);
      const sizes = workloadSizes(w, ops);
      await Deno.writeFile(file, new Uint8Array(sizes.buffer));
      const ts: number[] = [], c: number[] = [], ratios: number[] = [];
      let probesPerMap = NaN, failed = 0;
      for (let k = 0; k < plan.pairs; k++) {
        if ("bin" in built) {
          const r = await runRef<SideResult>(built.bin, [
            "bench",
            file,
            String(NSLABS),
            String(w.live),
            String(plan.rounds),
          ]);
          c.push(median(r.nsPerOp));
        }
        const t = await child({ id: w.id, rounds: plan.rounds, file });
        ts.push(median(t.nsPerOp));
        probesPerMap = t.probesPerMap;
        failed = t.failed;
        if (c.length > 0) ratios.push(ts[k] / c[k]);
      }
      rows.push({
        id: w.id,
        name: w.name,
        live: w.live,
        ops,
        failed,
        probesPerMap,
        tsNsPerOp: median(ts),
        cNsPerOp: c.length ? median(c) : null,
        ratios,
        ratioMedian: ratios.length ? median(ratios) : null,
        ratioMax: ratios.length ? Math.max(...ratios) : null,
      });
    }
    return {
      note: `${plan.pairs} interleaved pairs of fresh processes (C, then TypeScript), each the ` +
        `median of ${plan.rounds} timed rounds after untimed ones (C one, TypeScript two: the ` +
        "JIT's), on a fresh 64 MiB pool " +
        "per round; one op = an unmap of the oldest mapping (once the FIFO is full) and a map; " +
        "no memory behind the pool (no copy), TO_DEVICE, default boundary mask; ratio = " +
        "TypeScript / C per pair",
      compiler: "bin" in built ? built.compiler : null,
      skipped: "skipped" in built ? built.skipped : null,
      rows,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
