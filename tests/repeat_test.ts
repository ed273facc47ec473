/**
 * `repeat N COMMAND` (issue 13): $i runs 0 … N−1 with arithmetic in the arguments, the
 * loop stops at the first failure (unless --keep-going) and on Ctrl-C, it counts against
 * the line budget, and `expect` after it checks the last iteration.
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { runLine, runScriptText, Session } from "../lib/repl/mod.ts";
import { memFiles } from "./_mem_files.ts";
import { MAX_SCRIPT_LINES } from "../lib/repl/files.ts";
import type { Interrupt } from "../lib/repl/session.ts";

const SETUP = [
  "guest new --preset arm-dom0 --swiotlb 1M",
  "device add nic --mask 32",
  "buf alloc b 64K",
];

function session(opts: ConstructorParameters<typeof Session>[0] = {}): Session {
  const s = new Session(opts);
  for (const l of SETUP) assert(runLine(s, l).ok, l);
  return s;
}

Deno.test("repeat: $i counts 0 … N-1 and the arguments compute with it", () => {
  const s = session({ json: true });
  const r = runLine(s, "repeat 4 map nic b+$i*16K 4K to");
  assert(r.ok, r.error);
  // One JSON object per iteration, then repeat's own.
  const maps = r.output.slice(0, 4).map((l) => JSON.parse(l));
  assertEquals(maps.map((m) => m.phys - maps[0].phys), [0, 0x1000, 0x2000, 0x3000]);
  assertEquals(maps.map((m) => m.slot), [0, 2, 4, 6]);
  assertEquals(JSON.parse(r.output[4]), {
    repeat: 4,
    ran: 4,
    command: "map nic b+$i*16K 4K to",
    not_shown: 0,
  });
  // expect checks the last iteration; $i is gone again.
  assert(runLine(s, "expect slot 6").ok);
  assertEquals(s.vars.get("i"), undefined);
});

Deno.test("repeat: the first failure stops the loop, --keep-going goes on", () => {
  const s = session();
  const r = runLine(s, "repeat 4 unmap nic 0x100000+$i*0x1000 4K to");
  assertEquals(r.ok, false);
  assertStringIncludes(r.error!, "repeat: iteration $i = 0 failed");
  const k = session({ keepGoing: true });
  runLine(k, "map nic b 4K to");
  const r2 = runLine(k, "repeat 3 unmap nic 0x100000+$i*0x1000 4K to");
  assertEquals(JSON.parse(JSON.stringify(r2.json)).ran, 3);
});

Deno.test("repeat: bounded by the line budget and stopped by Ctrl-C between iterations", () => {
  const s = session();
  assertStringIncludes(
    runLine(s, `repeat ${MAX_SCRIPT_LINES + 1} stats`).error!,
    `at most ${MAX_SCRIPT_LINES} times`,
  );
  // Nested loops share the budget: 400 × 400 lines would be 160,000.
  const nested = runLine(s, "repeat 400 repeat 400 set radix 16");
  assertStringIncludes(nested.error!, `at most ${MAX_SCRIPT_LINES} lines in all`);
  let polls = 0;
  const interrupt: Interrupt = { pending: () => ++polls > 5, clear: () => {} };
  const c = new Session({ interrupt });
  const r = runLine(c, "repeat 100 set radix 16");
  assertStringIncludes(r.error!, "interrupted (Ctrl-C) after 5 of 100");
});

Deno.test("repeat: a usage error for a missing command or a bad count", () => {
  const s = session();
  assertStringIncludes(runLine(s, "repeat 3").error!, "repeat N COMMAND");
  assertStringIncludes(runLine(s, "repeat x stats").error!, 'Cannot parse repeat count "x"');
});

Deno.test("repeat: a long loop keeps its output bounded; --json lines stay JSON", () => {
  const s = session({ json: true });
  const r = runLine(s, "repeat 10500 set radix 16");
  assertEquals(r.output.length, 10_001);
  for (const l of r.output) JSON.parse(l);
  assertEquals(JSON.parse(r.output[10_000]).not_shown, 500);
});

Deno.test("repeat: the most a prompt allows, a script's line allows too", () => {
  // README: each line of a script runs at most 100,000 lines through nested sources and
  // repeats; the line itself is not one of them, as a line at the prompt is not.
  const line = `repeat ${MAX_SCRIPT_LINES} lookup bus 0x100000+$i`;
  const at = session({ json: true });
  const typed = runLine(at, line);
  assert(typed.ok, typed.error);
  const script = session({ json: true });
  const r = runScriptText(script, `${line}\nexpect ok\n`, "s.txt", { keepGoing: false, runLine });
  assert(r.ok, r.output.filter((l) => l.includes("error")).join("\n"));
  // Through a sourced file the repeat line is one of the lines: one iteration fewer fits.
  const files = memFiles({
    "/lab/fits.txt": `repeat ${MAX_SCRIPT_LINES - 1} set radix 16\n`,
    "/lab/over.txt": `repeat ${MAX_SCRIPT_LINES} set radix 16\n`,
  });
  const run = (text: string) =>
    runScriptText(new Session({ cwd: "/lab", files }), text, "s.txt", {
      keepGoing: false,
      runLine,
    });
  assertEquals(run("source fits.txt\n").ok, true);
  const over = run("source over.txt\n");
  assertEquals(over.ok, false);
  assertStringIncludes(over.output.join("\n"), `at most ${MAX_SCRIPT_LINES} lines in all`);
});

Deno.test("repeat: refused, stopped or empty, the repeat is what expect checks", () => {
  const s = session();
  assert(runLine(s, "map nic b 4K to").ok);
  runLine(s, "repeat 5000000 stats");
  assert(runLine(s, 'expect error "at most 100000 times"').ok, "refused before running");
  runLine(s, "repeat 400 repeat 400 set radix 16");
  assert(runLine(s, 'expect error "repeat: stopped after"').ok, "stopped at the budget");
  assert(!runLine(s, "unmap nic 0x7000000 4K to").ok);
  runLine(s, "repeat 0 stats");
  assert(runLine(s, "expect ok").ok, "ran none: the repeat, not the failed unmap before it");
  let polls = 0;
  const c = session({ interrupt: { pending: () => ++polls > 3, clear: () => {} } });
  runLine(c, "repeat 100 stats");
  assert(runLine(c, 'expect error "repeat: interrupted (Ctrl-C)"').ok, "stopped by Ctrl-C");
  // An iteration's failure: the failed iteration, whose own error the expect sees.
  runLine(s, "repeat 3 unmap nic 0x7000000+$i*4K 4K to");
  const e = runLine(s, 'expect error "is in no tree node"');
  assert(e.ok, e.error);
  assert(!runLine(s, 'expect error "repeat: iteration"').ok);
});
