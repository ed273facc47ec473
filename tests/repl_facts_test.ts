/**
 * Facts, not prose (DESIGN.md): every number a text answer shows is in that command's
 * `--json` object, the all-ones value is an exact string in JSON, and `set radix`
 * governs every address of an answer while indices and counts stay decimal.
 */

import { assert, assertEquals } from "@std/assert";
import { type LineResult, runLine, Session } from "../lib/repl/mod.ts";

/** The numbers a text line shows: hex, decimal, and sizes with a unit, as exact BigInts. */
function textNumbers(line: string): bigint[] {
  const unit: Record<string, bigint> = { K: 1n << 10n, M: 1n << 20n, G: 1n << 30n, T: 1n << 40n };
  // `[next: …]` hints are commands to type, not facts of the answer.
  const text = line.replace(/\[next: [^\]]*\]/g, "");
  const out: bigint[] = [];
  const re = /(?<![\w.])(?:0x([0-9a-f]+)|(\d+)(?: ?([KMGT])(?:iB)?)?)(?![\w])/g;
  for (const m of text.matchAll(re)) {
    if (m[1] !== undefined) out.push(BigInt("0x" + m[1]));
    else if (m[3] !== undefined) out.push(BigInt(m[2]) * unit[m[3]]);
    else out.push(BigInt(m[2]));
  }
  return out;
}

/** Every number a JSON value holds, anywhere inside it (hex strings included). */
function jsonNumbers(v: unknown, out = new Set<bigint>()): Set<bigint> {
  if (typeof v === "number" && Number.isInteger(v)) out.add(BigInt(v));
  else if (typeof v === "bigint") out.add(v);
  else if (typeof v === "string" && /^0x[0-9a-f]+$/.test(v)) out.add(BigInt(v));
  else if (Array.isArray(v)) { for (const x of v) jsonNumbers(x, out); }
  else if (v !== null && typeof v === "object") {
    for (const x of Object.values(v)) jsonNumbers(x, out);
  }
  return out;
}

/** Runs `setup`, then `line` in text and in JSON mode on twin sessions. */
function both(setup: string[], line: string): { text: LineResult; json: Record<string, unknown> } {
  const t = new Session({ color: false });
  const j = new Session({ json: true });
  for (const l of setup) {
    assert(runLine(t, l).ok, `setup ${l}`);
    assert(runLine(j, l).ok, `setup ${l}`);
  }
  const text = runLine(t, line);
  const out = runLine(j, line).output;
  assertEquals(out.length, 1, "one JSON object per command");
  return { text, json: JSON.parse(out[0]) };
}

const ARM = ["guest new --preset arm-dom0 --swiotlb 1M"];
const NIC = [...ARM, "device add nic --mask 32", "buf alloc rx 8K", "buf alloc big 64K"];
const MAPPED = [...NIC, "map nic big 64K bidi", "map nic rx 8K to"];

const CASES: [string, string[], string][] = [
  ["guest new (arm-dom0)", [], ARM[0]],
  ["guest new (pv-dom0)", [], "guest new --preset pv-dom0 --swiotlb 1M"],
  ["guest new (pvh-dom0, failing init)", [], "guest new --preset pvh-dom0 --swiotlb 1M"],
  ["guest new (smmu)", [], "guest new --preset arm-dom0-smmu --swiotlb 1M"],
  ["map (bounced)", NIC, "map nic rx 8K to"],
  ["map (after another)", [...NIC, "map nic big 64K bidi"], "map nic rx 8K from"],
  ["map (fast path)", [
    "guest new --preset pv-dom0 --swiotlb 1M",
    "device add nic --mask 64",
    "buf alloc rx 4K",
  ], "map nic rx 4K to"],
  ["map (failed: over a segment)", [...NIC, "buf alloc huge 1M"], "map nic huge 1M to"],
  ["lookup bus (found)", MAPPED, "lookup bus $bus+0x10"],
  ["lookup bus (not found)", MAPPED, "lookup bus 0x7000000"],
  ["lookup phys (pool)", MAPPED, "lookup phys $phys"],
  ["lookup phys (outside)", MAPPED, "lookup phys 0x1000"],
  ["segments", MAPPED, "segments"],
  ["slots (pool)", MAPPED, "slots"],
  ["slots (segment)", MAPPED, "slots 0"],
  ["stats", MAPPED, "stats"],
];

for (const [name, setup, line] of CASES) {
  Deno.test(`--json carries every number of the text answer: ${name}`, () => {
    const { text, json } = both(setup, line);
    const have = jsonNumbers(json);
    const missing: string[] = [];
    // Event lines are kernel text whose numbers are in json.events already.
    for (const l of ownLines(text)) {
      for (const n of textNumbers(l)) {
        if (!have.has(n)) missing.push(`${n.toString(16)} (${n}) in "${l.trim()}"`);
      }
    }
    assertEquals(missing, []);
  });
}

Deno.test("lookup bus of an unknown address: phys is the exact all-ones string", () => {
  const { json } = both(MAPPED, "lookup bus 0x7000000");
  assertEquals(json.phys, "0xffffffffffffffff");
  assertEquals(json.found, false);
  const pv = both(["guest new --preset pv-dom0 --swiotlb 1M"], "lookup bus 0x7000000");
  assertEquals(pv.json.phys, 0, "x86's error value is 0");
});

/**
 * Lines of an answer that are the engine's (or the REPL's) own: kernel output (events:
 * DMA-API reports, xen:swiotlb_xen: lines, UB events) and the kernel call labels the
 * debug layer quotes ('dma_map_single(nic, 0x…, …)') keep the kernel's own format.
 */
function ownLines(r: LineResult): string[] {
  const events = ((r.json?.events ?? []) as { message: string }[]).flatMap((e) =>
    e.message.split("\n")
  );
  return r.output.filter((l) => !events.some((m) => l.includes(m)))
    .map((l) => l.replace(/'dma_[a-z_]+\([^)]*\)'/g, "'…'"));
}

const SESSION = [
  ...NIC,
  "map nic big 64K bidi",
  "map nic rx 8K to",
  "lookup bus $bus+0x10",
  "lookup bus 0x7000000",
  "lookup phys $phys",
  "segments",
  "slots",
  "slots 0",
  "tree",
  "tree --around $bus",
  "tree --validate",
  "stats",
  "guest show",
  "debug",
  "dma read nic $bus 16",
  "p2m 0x180200 4",
  "unmap nic $bus 4K to",
  "sync nic $bus 16K to --for device",
  "map-sg nic rx:0:4K rx:4K:4K bidi",
  "alloc-coherent nic 8K",
  "lookup bus 0x18000000000",
  "unmap nic 0xffffffffffffffff 4K to",
];

const PV_SESSION = [
  "guest new --preset pv-dom0 --swiotlb 1M",
  "device add nic --mask 32",
  "device add tiny --mask 20",
  // Engine errors quote addresses (and masks) in the radix too.
  "map nic 0x7fffffffff 4K to",
  "device add wide --mask 64",
  "dma read wide 0xfffffffff000 4",
  "buf alloc rx 8K",
  "map nic rx 8K to",
  "lookup bus $bus",
  "lookup phys $phys",
  "map tiny rx 4K to",
  "m2p 0x100",
  "guest new --mode auto --arch arm --swiotlb 1M --policy faithful",
  "tree insert 0x120000 0x1a0000000 256K",
  "tree --validate",
  // The failed expectation quotes the validator's problem: its node in the radix too.
  "expect tree valid",
];

/** Refusals whose messages quote addresses and masks (they follow the radix too). */
const ERROR_SESSION = [
  "guest new --preset arm-dom0-smmu --swiotlb 1M",
  "device add nic --mask 64",
  "dma read nic 0xffffffffff000 4",
  "device add weird --boundary 0x123",
  "guest new --preset arm-dom0 --swiotlb 1M",
  // Checked refuses the overlap, naming the segments it overlaps.
  "tree insert 0x120000 0x1a0000000 256K",
];

Deno.test("set radix 10: no answer of the engine's own prints hex", () => {
  const s = new Session({ color: false });
  runLine(s, "set radix 10");
  const hex: string[] = [];
  for (const line of [...SESSION, ...PV_SESSION, ...ERROR_SESSION]) {
    const r = runLine(s, line);
    for (const l of ownLines(r)) if (/0x[0-9a-f]/.test(l)) hex.push(`${line}: ${l.trim()}`);
  }
  assertEquals(hex, []);
});

Deno.test("set radix 16: indices and counts stay decimal, addresses are hex", () => {
  const s = new Session({ color: false });
  for (const l of NIC) runLine(s, l);
  runLine(s, "buf alloc pad 32K");
  runLine(s, "map nic pad 32K to"); // slots 0-15
  const m = runLine(s, "map nic rx 8K to");
  assert(m.output.some((l) => l.includes("slots 16-19 of segment 0")), m.output.join("\n"));
  assert(m.output.some((l) => /bus 0x[0-9a-f]+/.test(l)), m.output.join("\n"));
  assertEquals(runLine(s, "expect slot 16").output, ["ok: slot 16"]);
  const bus = (m.json?.bus as number).toString(16);
  assertEquals(runLine(s, `expect bus 0x${bus}`).output, [`ok: bus 0x${bus}`]);
  runLine(s, "set radix 10");
  runLine(s, "map nic rx 8K from");
  assertEquals(runLine(s, "expect slot 20").output, ["ok: slot 20"]);
  const bus10 = String(s.vars.get("bus"));
  assertEquals(runLine(s, `expect bus ${bus10}`).output, [`ok: bus ${bus10}`]);
});

/** `trace on` lines of every engine source: fixup, exchange, translation, walk, bounce. */
const TRACED = [
  "trace on",
  "guest new --preset arm-dom0 --swiotlb 1M --fail-below 20",
  "device add nic --mask 32",
  "buf alloc rx 8K",
  "map nic rx 8K bidi",
  "unmap nic $bus 8K bidi",
  "guest new --preset pv-dom0 --swiotlb 1M",
  "device add nic --mask 32",
  "buf alloc rx 8K",
  "map nic rx 8K bidi",
  "unmap nic $bus 8K bidi",
  "alloc-coherent nic 8K",
  "guest new --preset pvh-dom0 --swiotlb 1M",
];

Deno.test("set radix 10: trace lines print addresses in decimal, kernel lines keep hex", () => {
  const s = new Session({ color: false });
  const j = new Session({ json: true });
  runLine(s, "set radix 10");
  runLine(j, "set radix 10");
  const traced: string[] = [];
  const kernel: string[] = [];
  const jsonTraced: string[] = [];
  for (const line of TRACED) {
    const r = runLine(s, line);
    for (const l of r.output) {
      if (l.startsWith("  · ")) traced.push(l);
      else if (l.includes("DMA-API: ")) kernel.push(l);
    }
    const events = (runLine(j, line).json?.events ?? []) as { kind: string; message: string }[];
    for (const e of events) if (e.kind === "trace") jsonTraced.push(e.message);
  }
  // Each source's lines are there, with their addresses in decimal.
  for (
    const want of [
      /^ {2}· fixup: segment 0: xen_create_contiguous_region\(\d+, order 6, dma_bits 18\) → /,
      /^ {2}· swiotlb-xen: pool 512 slots at phys \d+, start_dma_addr \d+$/,
      /^ {2}· xen: XENMEM_exchange: .*: ok, out \d+$/,
      /^ {2}· swiotlb-xen: xen_phys_to_bus\(\d+\) = \d+ \(seg\[0\]: j = \(phys - \d+\) \/ 256 KiB/,
      /^ {2}· swiotlb-xen: xen_bus_to_phys\(\d+\) = \d+ \(tree walk: \d+ → left, \d+ holds it\)$/,
      /^ {2}· swiotlb: bounce 8192 bytes \d+ → \d+ \(CPU → bounce\)$/,
      /^ {2}· swiotlb-xen: xen_phys_to_bus\(\d+\) = \d+ \(p2m\)$/,
      /^ {2}· swiotlb-xen: xen_bus_to_phys\(\d+\) = \d+ \(m2p\)$/,
      /^ {2}· xen: xen_create_contiguous_region\(\d+, order \d+\): dom0 is x86 autotranslated/,
    ]
  ) assert(traced.some((l) => want.test(l)), `${want} in:\n${traced.join("\n")}`);
  assertEquals(traced.filter((l) => /0x[0-9a-f]/.test(l)), []);
  // --json: the same messages, in the same radix (as its error field).
  assertEquals(jsonTraced.length, traced.length);
  assertEquals(jsonTraced.filter((m) => /0x[0-9a-f]/.test(m)), []);
  // The DMA-API reports are the kernel's: %pa-style hex whatever the radix.
  assert(kernel.some((l) => l.includes("[device address=0x")), kernel.join("\n"));
});

Deno.test("set radix 16: trace lines as before, %pa-style addresses at full width", () => {
  const s = new Session({ color: false });
  runLine(s, "set radix 16");
  const traced = TRACED.flatMap((l) => runLine(s, l).output).filter((l) => l.startsWith("  · "));
  for (
    const want of [
      "  · fixup: segment 0: xen_create_contiguous_region(0x0000000180100000, order 6, dma_bits 21) → ok",
      "  · swiotlb-xen: pool 512 slots at phys 0x0000000180100000, start_dma_addr 0x0000000000100000",
      "  · xen: XENMEM_exchange: dom0 64 extent(s) of order 0 -> order 6 below 2^21 (2 MiB): ok, out 0x100",
      "  · swiotlb: bounce 8192 bytes 0x180200000 → 0x180100000 (CPU → bounce)",
      "  · xen: xen_create_contiguous_region(0x100000, order 6): dom0 is x86 autotranslated: no-op, no dma handle",
    ]
  ) assert(traced.includes(want), `${want} in:\n${traced.join("\n")}`);
});
