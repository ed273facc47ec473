/**
 * Thousands of random and mutated command lines through the REPL (fast-check): nothing
 * throws out of runLine, no output line is a stack trace, every `--json` line parses,
 * no line reaches the "internal error" net (an engine exception that is not a LabError),
 * and afterwards `tree --validate` is clean.
 */

import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { runLine, Session } from "../lib/repl/mod.ts";
import { anyLine, memoryFiles } from "./_lines.ts";

const SETUP = [
  "guest new --preset arm-dom0 --swiotlb 1M",
  "device add nic --mask 32",
  "device add old --mask 24 --boundary 0xffff",
  "buf alloc rx 8K",
  "buf alloc tx 64K",
  "map nic rx 8K bidi",
];

function fresh(json: boolean): Session {
  const s = new Session({ json, files: memoryFiles() });
  for (const l of SETUP) assert(runLine(s, l).ok, l);
  return s;
}

function check(lines: string[], json: boolean): void {
  const s = fresh(json);
  for (const line of lines) {
    const r = runLine(s, line);
    for (const out of r.output) {
      assert(
        !/^\s+at .*:\d+:\d+\)?$/.test(out),
        `stack trace after ${JSON.stringify(line)}: ${out}`,
      );
      if (json) JSON.parse(out);
    }
    if (json) assertEquals(r.output.length, r.json === undefined ? 0 : 1, line);
    assert(!(r.error ?? "").startsWith("internal error"), `${JSON.stringify(line)} → ${r.error}`);
  }
  const v = runLine(s, "tree --validate");
  if (s.guest?.tree()) {
    assert(v.ok, v.error);
    assertEquals(
      v.json?.valid,
      true,
      `tree invalid after ${JSON.stringify(lines)}: ${v.json?.problems}`,
    );
  }
}

Deno.test("fuzz: random and mutated lines never escape the REPL (text)", () => {
  fc.assert(
    fc.property(fc.array(anyLine, { minLength: 1, maxLength: 25 }), (ls) => check(ls, false)),
    {
      numRuns: 150,
    },
  );
});

Deno.test("fuzz: random and mutated lines never escape the REPL (--json)", () => {
  fc.assert(
    fc.property(fc.array(anyLine, { minLength: 1, maxLength: 25 }), (ls) => check(ls, true)),
    {
      numRuns: 100,
    },
  );
});

/** Well-formed DMA API lines, so that sequences get deep into the engine. */
const dev = fc.constantFrom("nic", "old");
const buf = fc.constantFrom("rx", "tx", "tx+0x800", "tx+4K");
const size = fc.constantFrom("1", "2K", "4K", "6K", "8K", "16K", "60K");
const dir = fc.constantFrom("to", "from", "bidi");
const bus = fc.constantFrom("$bus", "$bus+0x800", "$phys", "0x0");
const elem = fc.constantFrom("rx:0:4K", "rx:4K:4K", "tx:0:2K", "tx:2K:30K", "tx");
const dmaLine = fc.oneof(
  fc.tuple(dev, buf, size, dir).map(([d, b, n, r]) => `map ${d} ${b} ${n} ${r}`),
  fc.tuple(dev, bus, size, dir).map(([d, b, n, r]) => `unmap ${d} ${b} ${n} ${r}`),
  fc.tuple(dev, bus, size, dir, fc.constantFrom("cpu", "device")).map(([d, b, n, r, t]) =>
    `sync ${d} ${b} ${n} ${r} --for ${t}`
  ),
  fc.tuple(
    fc.constantFrom("map-sg", "unmap-sg"),
    dev,
    fc.array(elem, { minLength: 1, maxLength: 3 }),
    dir,
  )
    .map(([v, d, es, r]) => `${v} ${d} ${es.join(" ")} ${r}`),
  fc.tuple(dev, size).map(([d, n]) => `alloc-coherent ${d} ${n}`),
  fc.tuple(dev, bus, size).map(([d, b, n]) => `free-coherent ${d} ${b} ${n}`),
  fc.tuple(dev, bus, size).map(([d, b, n]) => `dma read ${d} ${b} ${n}`),
  fc.tuple(dev, bus, size).map(([d, b, n]) => `dma write ${d} ${b} ${n} --pattern 5a`),
  bus.map((b) => `lookup bus ${b}`),
  fc.constant("slots"),
);

for (const policy of ["checked", "faithful"]) {
  Deno.test(`fuzz: DMA sequences (${policy}) keep the tree valid and never escape`, () => {
    const start = `guest new --preset arm-dom0 --swiotlb 1M --policy ${policy}`;
    fc.assert(
      fc.property(
        fc.array(dmaLine, { minLength: 5, maxLength: 60 }),
        (ls) => check([start, ...SETUP.slice(1), ...ls], false),
      ),
      { numRuns: 60 },
    );
  });
}
