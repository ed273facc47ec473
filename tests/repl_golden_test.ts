/**
 * Golden text of the REPL's views, colours off: help pages, the guest summary, map,
 * lookup, slots, segments, tree, stats, errors. A view that changes on purpose is
 * re-recorded with `UPDATE_GOLDEN=1 deno task test tests/repl_golden_test.ts`; the diff
 * of tests/golden/ then shows exactly what a user will see differently.
 */

import { assertEquals } from "@std/assert";
import { runLine, Session } from "../lib/repl/mod.ts";

const GOLDEN = new URL("./golden/", import.meta.url);
const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";

const ARM = ["guest new --preset arm-dom0 --swiotlb 1M"];
const ARM_NIC = [...ARM, "device add nic --mask 32", "buf alloc rx 8K", "buf write rx de:ad:be:ef"];
const ARM_MAPPED = [...ARM_NIC, "map nic rx 8K to"];

/** [golden file name, setup lines, the line whose output is recorded]. */
const CASES: [string, string[], string][] = [
  ["help", [], "help"],
  ["help-map", [], "help map"],
  ["help-guest-new", [], "help guest new"],
  ["help-expect", [], "help expect"],
  ["help-redirect", [], "help redirect"],
  ["guest-presets", [], "guest presets"],
  ["guest-new-arm-dom0", [], ARM[0]],
  ["guest-new-pvh-dom0", [], "guest new --preset pvh-dom0 --swiotlb 1M"],
  ["guest-new-smmu", [], "guest new --preset arm-dom0-smmu --swiotlb 1M"],
  ["guest-show", ARM_MAPPED, "guest show"],
  ["device-add", ARM, "device add nic --mask 32"],
  ["map-bounced", ARM_NIC, "map nic rx 8K to"],
  ["map-from", ARM_NIC, "map nic rx 4K from"],
  ["map-fastpath-smmu", [
    "guest new --preset arm-dom0-smmu --swiotlb 1M",
    "device add nic --mask 32",
    "buf alloc rx 8K",
  ], "map nic rx 8K to"],
  ["map-sg", ARM_NIC, "map-sg nic rx:0:4K rx:4K:4K bidi"],
  ["unmap-wrong-size", ARM_MAPPED, "unmap nic $bus 4K to"],
  ["unmap", ARM_MAPPED, "unmap nic $bus 8K to"],
  ["lookup-bus", ARM_MAPPED, "lookup bus $bus+0x1010"],
  ["lookup-phys", ARM_MAPPED, "lookup phys $phys"],
  ["dma-read", ARM_MAPPED, "dma read nic $bus 32"],
  ["buf-read", ARM_NIC, "buf read rx 0 48"],
  ["slots-segment", ARM_MAPPED, "slots 0"],
  ["slots-pool", ARM_MAPPED, "slots"],
  ["segments", ARM_MAPPED, "segments"],
  ["tree", ARM, "tree"],
  ["tree-validate", ARM, "tree --validate"],
  ["tree-around", ARM_MAPPED, "tree --around $bus"],
  ["stats", ARM_MAPPED, "stats"],
  ["radix-10", [...ARM_NIC, "set radix 10"], "map nic rx 8K to"],
  ["unknown-command", [], "mpa nic rx 8K to"],
  ["unknown-option", ARM, "device add x --mak 3"],
  ["missing-argument", ARM, "map nic rx"],
];

for (const [name, setup, line] of CASES) {
  Deno.test(`golden: ${name} (${line})`, () => {
    const s = new Session({ color: false });
    for (const l of setup) {
      const r = runLine(s, l);
      if (!r.ok) throw new Error(`setup line failed: ${l}: ${r.error}`);
    }
    const actual = [`swiotlb> ${line}`, ...runLine(s, line).output].join("\n") + "\n";
    const file = new URL(`${name}.txt`, GOLDEN);
    if (UPDATE) {
      Deno.writeTextFileSync(file, actual);
      return;
    }
    let expected: string;
    try {
      expected = Deno.readTextFileSync(file);
    } catch {
      throw new Error(`No golden tests/golden/${name}.txt: record it with UPDATE_GOLDEN=1`);
    }
    assertEquals(actual, expected, `view changed; if on purpose, re-record with UPDATE_GOLDEN=1`);
  });
}
