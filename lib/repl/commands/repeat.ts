/**
 * `repeat N COMMAND` (issue 13): runs COMMAND N times with `$i` = 0 … N−1, so a workload
 * is one line (`repeat 64 map nic $b+$i*4K 4K to`). The iterations count against the line
 * budget of scripts (lib/repl/files.ts), Ctrl-C stops between two of them, the first
 * failure stops the loop (unless --keep-going), and `expect` after it checks the last
 * iteration, as it would after the same lines typed out. A repeat that stops on its own
 * (refused, Ctrl-C, the line budget) or runs nothing is itself the command `expect`
 * checks: its error is the one an `expect error` after it means.
 *
 * @module
 */

import { LabError } from "../../errors.ts";
import { parseCount } from "../args.ts";
import { MAX_SCRIPT_LINES } from "../files.ts";
import type { CommandSpec, LoopEnd } from "../table.ts";
import { ARM_NIC } from "../examples.ts";

/** The most lines of output a repeat keeps (the iterations still all run). */
export const MAX_REPEAT_OUTPUT = 10_000;

/** The repeat verb. */
export const repeatCommands: CommandSpec[] = [{
  path: ["repeat"],
  summary: "run COMMAND N times with $i = 0 … N-1 (arithmetic: $b+$i*4K)",
  description:
    "The rest of the line is the command, as typed. Its arguments may compute with $i: " +
    "+ - * and parentheses over numbers, sizes and $variables. The loop stops at the first " +
    `failure (a script's --keep-going goes on), at Ctrl-C, or past ${MAX_SCRIPT_LINES} lines ` +
    "in all; expect checks the last iteration (the repeat itself when it was refused, " +
    "stopped by Ctrl-C or the line budget, or ran none).",
  args: [
    { name: "N", help: "how many times (decimal)" },
    { name: "COMMAND", help: "any command line", variadic: true },
  ],
  options: [],
  rawWords: true,
  examples: [
    {
      caption: "Four 2 KiB pieces of one buffer, mapped one after another",
      line: "repeat 4 map nic rx+$i*2K 2K to",
      setup: ARM_NIC,
    },
  ],
  run: (ctx) => {
    const s = ctx.session;
    const m = /^\s*repeat\s+(\S+)\s+(\S.*)$/.exec(ctx.line);
    if (!m) throw new LabError("repeat: give a count and a command: repeat N COMMAND", "usage");
    const n = parseCount(m[1], s.vars, "repeat count");
    if (n > MAX_SCRIPT_LINES) {
      throw new LabError(`repeat: at most ${MAX_SCRIPT_LINES} times, not ${n}`, "usage");
    }
    const command = m[2];
    if (s.where.length === 0 && s.repeatDepth === 0) {
      // At the prompt the loop is a top-level run of its own: its own budget (runLine has
      // forgotten any Ctrl-C from before it).
      s.linesRun = 0;
    }
    const saved = s.vars.get("i");
    s.repeatDepth++;
    const output: string[] = [];
    let dropped = 0;
    let ran = 0;
    let failure: string | undefined;
    let stop: LoopEnd["stop"] = "done";
    let inside = false;
    try {
      for (let i = 0; i < n; i++) {
        if (s.interrupt.pending()) {
          failure = `interrupted (Ctrl-C) after ${ran} of ${n}`;
          stop = "interrupted";
          break;
        }
        if (++s.linesRun > MAX_SCRIPT_LINES) {
          failure = `stopped after ${ran} of ${n}: at most ${MAX_SCRIPT_LINES} lines in all`;
          stop = "line-limit";
          break;
        }
        s.vars.set("i", i);
        const r = ctx.runLine(s, command);
        ran++;
        for (const line of r.output) {
          if (output.length < MAX_REPEAT_OUTPUT) output.push(line);
          else dropped++;
        }
        if (r.quit) break;
        if (!r.ok && (r.verb === "repeat" || r.verb === "source") && s.interrupt.pending()) {
          // Ctrl-C stopped the iteration itself, part-way: the loop was interrupted.
          failure = `interrupted (Ctrl-C) inside iteration $i = ${i} (of ${n})`;
          stop = "interrupted";
          inside = true;
          break;
        }
        if (!r.ok && !s.keepGoing) {
          failure = `iteration $i = ${i} failed: ${r.error}`;
          stop = "failed";
          break;
        }
      }
    } finally {
      s.repeatDepth--;
      if (saved === undefined) s.vars.delete("i");
      else s.vars.set("i", saved);
    }
    // In --json every line stays one JSON object: the count goes in repeat's own.
    if (dropped > 0 && !s.json) output.push(`… ${dropped} more lines not shown`);
    const json = { repeat: n, ran, command, not_shown: dropped };
    const loop: LoopEnd = inside ? { ran, command, stop, inside } : { ran, command, stop };
    if (failure !== undefined) {
      return { json, nested: output, text: [], error: `repeat: ${failure}`, loop };
    }
    return { json, nested: output, text: [s.fmt.dim(`(repeat: ${ran} of ${n} ran)`)], loop };
  },
}];
