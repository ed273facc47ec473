/**
 * The REPL under a pseudo-terminal (util-linux `script`) for the pty tests: start it, read
 * what it printed (escapes stripped), type keys and wait for answers, measure its CPU time.
 */

import { fromFileUrl } from "@std/path";

const root = fromFileUrl(new URL("../", import.meta.url));

export function hasScript(): boolean {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Strips ANSI escapes (readline redraws the line with cursor moves). */
export function plain(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replaceAll("\r", "");
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The tests give the REPL a fresh HOME (for its history file); Deno's cache directory
 * defaults to one under HOME, so pass the current one along to stay offline.
 */
function denoDir(): string {
  const out = new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  })
    .outputSync();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

export function historyExists(home: string): boolean {
  try {
    Deno.statSync(`${home}/.swiotlb_lab_history`);
    return true;
  } catch {
    return false;
  }
}

/** The REPL under a pseudo-terminal, with what it printed so far and ways to type. */
export interface Pty {
  child: Deno.ChildProcess;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Everything printed so far. */
  out(): string;
  /** Resolves when stdout has ended. */
  reading: Promise<void>;
  /** Waits until the output holds `text` (after `from`), or fails after a timeout. */
  waitFor(text: string, from?: number, ms?: number): Promise<void>;
  /** Types `keys`, then waits for `expect` in what follows. */
  type(keys: string, expect: string): Promise<void>;
  /** The REPL's own process (Deno, which `script` started). */
  replPid(): number;
}

/** Options of {@link startPty}. */
export interface PtyOptions {
  /** The terminal's width (readline wraps long lines at it); unset, the pty has none. */
  columns?: number;
}

/** `sh -c SCRIPT` with `args`; its stdout. (Deno lets only --allow-all read /proc/PID.) */
function sh(script: string, ...args: string[]): string {
  const out = new Deno.Command("sh", { args: ["-c", script, "sh", ...args], stderr: "null" })
    .outputSync();
  return new TextDecoder().decode(out.stdout);
}

/** A clock of the CPU time a process has used, in nanoseconds. */
export interface CpuClock {
  /** CPU time used so far (its live threads added up). */
  now(): number;
  /** The clock's tick: 1 ns from `schedstat`, 10 ms from `stat`'s user + system time. */
  resolution: number;
}

/** The CPU clock of process `pid`: `schedstat`'s run time, or `stat`'s without it. */
export function cpuClock(pid: number): CpuClock {
  const sched = () => sh('cat /proc/"$1"/task/*/schedstat', String(pid)).trim();
  if (sched() !== "") {
    return {
      now: () => sched().split("\n").reduce((sum, l) => sum + Number(l.split(" ")[0]), 0),
      resolution: 1,
    };
  }
  return {
    now: () => {
      const stat = sh('cat /proc/"$1"/stat', String(pid));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) * 1e7;
    },
    resolution: 1e7,
  };
}

/** Starts `deno run FLAGS repl.ts ARGS` under `script` with a fresh HOME. */
export function startPty(
  denoArgs: string[],
  home: string,
  stderr: "piped" | "null",
  opts: PtyOptions = {},
): Pty {
  // `exec`: a shell that stays between `script` and Deno (dash does) would get the test's
  // Ctrl-C as well and die of it, taking the session's exit status with it.
  const size = opts.columns ? `stty cols ${opts.columns} rows 24; ` : "";
  const repl = size + "exec " +
    [Deno.execPath(), "run", ...denoArgs].map((a) => `'${a}'`).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qfec", repl, "/dev/null"],
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr,
    // readline needs a capable TERM for raw mode and completion (TERM=dumb disables it).
    env: { NO_COLOR: "1", TERM: "xterm", HOME: home, DENO_DIR: denoDir() },
  }).spawn();
  let out = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stdout) out += decoder.decode(chunk, { stream: true });
  })();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const waitFor = async (text: string, from = 0, ms = 20000) => {
    const end = Date.now() + ms;
    while (!plain(out.slice(from)).includes(text)) {
      if (Date.now() > end) {
        throw new Error(`timed out waiting for ${JSON.stringify(text)}:\n${plain(out)}`);
      }
      await sleep(25);
    }
  };
  const type = async (keys: string, expect: string) => {
    const from = out.length;
    await writer.write(encoder.encode(keys));
    await waitFor(expect, from);
  };
  const replPid = () => {
    // After `exec`, the shell that `script` started is Deno.
    const kids = sh('cat /proc/"$1"/task/"$1"/children', String(child.pid)).trim();
    return Number(kids.split(/\s+/)[0]);
  };
  return { child, writer, out: () => out, reading, waitFor, type, replPid };
}
