/**
 * Thousands of random and mutated command lines through the REPL (fast-check): nothing
 * throws out of runLine, no output line is a stack trace, every `--json` line parses,
 * no line reaches the "internal error" net (an engine exception that is not a LabError),
 * and afterwards `tree --validate` is clean.
 */

import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { cmdTable, runLine, Session } from "../lib/repl/mod.ts";

const SETUP = [
  "guest new --preset arm-dom0 --swiotlb 1M",
  "device add nic --mask 32",
  "device add old --mask 24 --boundary 0xffff",
  "buf alloc rx 8K",
  "buf alloc tx 64K",
  "map nic rx 8K bidi",
];

/** Words that mean something to some verb, and some that mean nothing. */
const WORDS = [
  "nic",
  "old",
  "ghost",
  "rx",
  "tx",
  "rx+0x800",
  "tx+4K",
  "$bus",
  "$phys",
  "$bus+0x10",
  "$rx",
  "$nope",
  "0",
  "0x0",
  "1",
  "16",
  "2K",
  "4K",
  "8K",
  "64K",
  "256K",
  "300K",
  "1M",
  "0x1000",
  "0xffffffffffffffff",
  "0x7fffffffffff",
  "99999999999999999999",
  "-1",
  "4Q",
  "to",
  "from",
  "bidi",
  "none",
  "DMA_TO_DEVICE",
  "sideways",
  "--for",
  "cpu",
  "device",
  "--mask",
  "32",
  "64",
  "--pattern",
  "ab",
  "de:ad:be:ef",
  "deadbeef",
  '"text"',
  "'q'",
  "rx:0:4K",
  "rx:4K:4K",
  "tx:0:2K",
  "0x1000:4K",
  "rx:1:2:3",
  "--preset",
  "arm-dom0",
  "pv-dom0",
  "pvh-dom0",
  "arm-dom0-smmu",
  "--policy",
  "faithful",
  "checked",
  "--swiotlb",
  "--validate",
  "--inorder",
  "--depth",
  "2",
  "--around",
  "--all",
  "--len",
  "--align",
  "on",
  "off",
  "radix",
  "10",
  "bounced",
  "not",
  "error",
  "tree",
  "valid",
  "segment",
  "slot",
  "stat",
  "bounces",
  "--",
  "-h",
  "#",
  '"',
  "\\",
  "",
  "--fail-exchanges",
  "3",
  "--exhaust-low",
  "--variant",
  "rfc-v1",
  "--force",
  // Names that live on Object.prototype: lookups in plain objects must not find them.
  "constructor",
  "__proto__",
  "valueOf",
  "toString",
  "hasOwnProperty",
];

const VERBS = [...new Set(cmdTable().map((c) => c.path.join(" ")))].filter(
  // Reading or writing files is left to the command tests.
  (v) => !["source", "guest load", "quit"].includes(v),
);

const word = fc.constantFrom(...WORDS);
const grammarLine = fc.tuple(fc.constantFrom(...VERBS), fc.array(word, { maxLength: 7 }))
  .map(([v, ws]) => [v, ...ws].join(" "))
  // A fresh guest costs time: keep pools small when a line builds one.
  .map((l) => l.startsWith("guest new") && !l.includes("--swiotlb ") ? l + " --swiotlb 1M" : l);

/** A valid-looking line with a character inserted, deleted or replaced. */
const mutatedLine = fc.tuple(
  grammarLine,
  fc.nat(),
  fc.constantFrom("insert", "delete", "replace"),
  fc.string({ minLength: 1, maxLength: 1, unit: "binary" }),
)
  .map(([l, at, how, c]) => {
    const i = l.length === 0 ? 0 : at % l.length;
    if (how === "insert") return l.slice(0, i) + c + l.slice(i);
    if (how === "delete") return l.slice(0, i) + l.slice(i + 1);
    return l.slice(0, i) + c + l.slice(i + 1);
  })
  .map((l) => l.startsWith("guest new") && !l.includes("--swiotlb ") ? l + " --swiotlb 1M" : l);

const anyLine = fc.oneof(
  { weight: 6, arbitrary: grammarLine },
  { weight: 3, arbitrary: mutatedLine },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

function fresh(json: boolean): Session {
  const s = new Session({ json });
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
