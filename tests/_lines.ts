/**
 * Random and mutated REPL lines for the fuzz tests: words that mean something to some
 * verb and some that mean nothing, put after every verb, and then bent by one character.
 */

import fc from "fast-check";
import { cmdTable, type FileAccess } from "../lib/repl/mod.ts";

/**
 * An empty in-memory file system for fuzzed sessions: a random `> x` or `--svg x` writes
 * here, never into the working tree, and nothing on the disk is read.
 */
export function memoryFiles(): FileAccess {
  const files = new Map<string, string>();
  const stat = (p: string) => {
    const t = files.get(p);
    if (t === undefined) throw new Deno.errors.NotFound(`No such file: ${p}`);
    return t;
  };
  return {
    readText: stat,
    writeText: (p, t) => void files.set(p, t),
    appendText: (p, t) => void files.set(p, (files.get(p) ?? "") + t),
    exists: (p) => files.has(p),
    stat: (p) => ({ kind: "file", size: stat(p).length }),
  };
}

/** Words that mean something to some verb, and some that mean nothing. */
export const WORDS = [
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
  // Output plumbing (lib/repl/plumb.ts).
  "|",
  ">",
  ">>",
  "grep",
  "head",
  "tail",
  "-v",
  "-c",
  "out.txt",
  // Names that live on Object.prototype: lookups in plain objects must not find them.
  "constructor",
  "__proto__",
  "valueOf",
  "toString",
  "hasOwnProperty",
];

const VERBS = [...new Set(cmdTable().map((c) => c.path.join(" ")))].filter(
  // Reading or writing files is left to the command tests; repeat runs other lines, which
  // the fuzz runs itself (a partly run loop is no refusal: its first iterations happened).
  (v) => !["source", "guest load", "record", "compare", "quit", "repeat", "report"].includes(v),
);

const word = fc.constantFrom(...WORDS);
export const grammarLine = fc.tuple(fc.constantFrom(...VERBS), fc.array(word, { maxLength: 7 }))
  .map(([v, ws]) => [v, ...ws].join(" "))
  // A fresh guest costs time: keep pools small when a line builds one.
  .map((l) => l.startsWith("guest new") && !l.includes("--swiotlb ") ? l + " --swiotlb 1M" : l);

/** A valid-looking line with a character inserted, deleted or replaced. */
export const mutatedLine = fc.tuple(
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

export const anyLine = fc.oneof(
  { weight: 6, arbitrary: grammarLine },
  { weight: 3, arbitrary: mutatedLine },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);
