/**
 * Issue 11's bar, every run: 100,000 lines — well-formed DMA calls, random and mutated
 * lines of every verb — on every preset, both policies and both RFC variants, with 0
 * internal errors, 0 exceptions out of runLine and 0 state changes across refusals. The
 * seed changes per run (FUZZ_SEED=N replays one); a failure names it and the line.
 */

import { assert } from "@std/assert";
import fc from "fast-check";
import { runLine, Session } from "../lib/repl/mod.ts";
import { PRESETS } from "../mod.ts";
import { anyLine, memoryFiles } from "./_lines.ts";
import { dmaLine, isRefusal, SETUP, snapshot } from "./_refusal.ts";

const LINES = 100_000;
const PER_SCRIPT = 50;

Deno.test(`fuzz: ${LINES} lines, every preset, policy and variant — no internal error, no state change across a refusal`, () => {
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? Date.now() % 2 ** 31);
  const line = fc.oneof({ weight: 7, arbitrary: dmaLine }, { weight: 3, arbitrary: anyLine });
  const scripts = fc.sample(fc.array(line, { minLength: PER_SCRIPT, maxLength: PER_SCRIPT }), {
    numRuns: LINES / PER_SCRIPT,
    seed,
  });
  const presets = Object.keys(PRESETS);
  let lines = 0;
  scripts.forEach((script, k) => {
    const preset = presets[k % presets.length];
    const policy = ["checked", "faithful"][Math.floor(k / presets.length) % 2];
    const variant = ["rfc", "rfc-v1"][Math.floor(k / (2 * presets.length)) % 2];
    const start =
      `guest new --preset ${preset} --swiotlb 1M --policy ${policy} --variant ${variant}`;
    const s = new Session({ json: true, files: memoryFiles() });
    for (const l of [start, ...SETUP]) runLine(s, l);
    for (const l of script) {
      const where = `FUZZ_SEED=${seed}, script ${k} (${start}): ${JSON.stringify(l)}`;
      const before = snapshot(s);
      const r = runLine(s, l);
      lines++;
      assert(!(r.error ?? "").startsWith("internal error"), `${where} → ${r.error}`);
      assert(r.output.length === (r.json === undefined ? 0 : 1), `${where}: not one JSON line`);
      if (!r.ok && isRefusal(r.json)) {
        assert(snapshot(s) === before, `${where}: refused (${r.error}) but changed state`);
      }
    }
  });
  assert(lines === LINES);
});
