import process from "node:process";

/**
 * Timing and statistics for the measurements: medians, rates over timed rounds, and the
 * cost of the timer itself (subtracted from per-call timings).
 *
 * @module
 */

/** Middle value (mean of the two middle ones for an even count): robust to outliers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The cost of one `performance.now()` call, in ms: subtracted from per-call timings. */
export function timerOverheadMs(): number {
  const n = 200_000;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const a = performance.now();
    sum += performance.now() - a;
  }
  return sum / n;
}

/**
 * Rates (operations per second) of `fn(n)` over `rounds` timed rounds after one warm-up:
 * the median, and the best (the round least disturbed by other processes).
 */
export function rate(
  fn: (n: number) => number,
  n: number,
  rounds: number,
): { median: number; best: number } {
  fn(Math.max(1, n >> 2));
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    fn(n);
    const ms = performance.now() - t0;
    rates.push(n / ms * 1000);
  }
  return { median: median(rates), best: Math.max(...rates) };
}

/** CPU time as node:process reports it, in microseconds. */
interface CpuTime {
  user: number;
  system: number;
}

const nodeProcess = process as unknown as {
  threadCpuUsage?: (since?: CpuTime) => CpuTime;
  cpuUsage: (since?: CpuTime) => CpuTime;
};

/**
 * The calling thread's CPU time so far, in ms: what this measurement's own code used,
 * not other processes on the shared machine, nor V8's helper threads (the process's time
 * when the runtime cannot tell threads apart). Kernel tick granularity (about 10 ms):
 * sum it over rounds.
 */
export function threadCpuMs(): number {
  const t = nodeProcess.threadCpuUsage?.() ?? nodeProcess.cpuUsage();
  return (t.user + t.system) / 1000;
}

/**
 * {@link rate}, plus operations per second of the thread's CPU time over all the timed
 * rounds (other sessions on this shared machine do not count against it; NaN when the
 * rounds took less than one clock tick).
 */
export function rateAndCpu(
  fn: (n: number) => number,
  n: number,
  rounds: number,
): { median: number; best: number; perCpuSec: number } {
  fn(Math.max(1, n >> 2));
  const rates: number[] = [];
  let cpu = 0;
  for (let r = 0; r < rounds; r++) {
    const c0 = threadCpuMs();
    const t0 = performance.now();
    fn(n);
    const ms = performance.now() - t0;
    cpu += threadCpuMs() - c0;
    rates.push(n / ms * 1000);
  }
  return {
    median: median(rates),
    best: Math.max(...rates),
    perCpuSec: cpu > 0 ? n * rounds / cpu * 1000 : NaN,
  };
}
