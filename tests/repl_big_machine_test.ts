/**
 * Issue 11, a sparse machine (SPEC §4: owner, m2p and p2m cost per run, not per frame):
 * a 2 TiB guest on a 4 TiB machine through the REPL, then maps, lookups and a device
 * access on it answer as on any machine. Nothing here is timed: bench/big_guest_bench.ts
 * measures the build against the default guest.
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { runLine, Session } from "../lib/repl/mod.ts";

const TiB = 2 ** 40;
const PAGE = 4096;

/** Runs `line` in a JSON session and returns its object, failing on an error. */
function json(s: Session, line: string): Record<string, unknown> {
  const r = runLine(s, line);
  assert(r.ok, `${line}: ${r.error}`);
  return r.json ?? {};
}

Deno.test("guest new --machine 4T --mem 2T builds, maps and looks up through the REPL", () => {
  const s = new Session({ json: true });
  const g = json(s, "guest new --machine 4T --mem 2T");
  assertEquals([g.swiotlb_xen, g.init_ok, g.mem_bytes], [true, true, 2 * TiB]);
  // Xen builds the guest from the top of machine memory down (SPEC §4): its pages sit
  // on the top 2 TiB, except the pool, which the fixup exchanged for low frames (§5).
  const firstMfn = (4 * TiB - 2 * TiB) / PAGE;
  const poolPfn = (g.pool_phys as number) / PAGE;
  const p2m = json(s, `p2m 0 ${2 * TiB / PAGE}`);
  const runs = p2m.runs as { pfn: number; mfn: number; count: number }[];
  assertEquals(runs.reduce((n, r) => n + r.count, 0), 2 * TiB / PAGE);
  assertEquals(runs[0], { pfn: 0, mfn: firstMfn, count: poolPfn });
  assert(runs[1].mfn + runs[1].count <= 2 ** 32 / PAGE, "the pool lies below 4 GiB");
  assertEquals(runs.at(-1)!.mfn + runs.at(-1)!.count, 4 * TiB / PAGE, "up to the last frame");

  json(s, "device add nic --mask 32");
  json(s, "device add d64 --mask 64");
  const buf = json(s, "buf alloc rx 8K");
  const phys = buf.phys as number;
  assert(phys >= (g.pool_phys as number) + 64 * 2 ** 20, "the buffer lies past the pool");
  const machineAddr = (firstMfn * PAGE) + phys;

  // A 32-bit device cannot reach the guest's own frames: bounced into the pool.
  const bounced = json(s, "map nic rx 8K to");
  assertEquals([bounced.bounced, bounced.phys, bounced.segment], [true, g.pool_phys, 0]);
  assert((bounced.bus as number) < 2 ** 32);
  const back = json(s, `lookup bus ${bounced.bus}`);
  assertEquals([back.phys, back.rule], [g.pool_phys, "pv-m2p"]);
  assertEquals(json(s, `lookup phys ${g.pool_phys}`).bus, bounced.bus);

  // A 64-bit device takes the fast path: bus = the machine address, p2m(pfn) << 12.
  const fast = json(s, "map d64 rx 8K bidi");
  assertEquals([fast.bounced, fast.bus], [false, machineAddr]);
  assertEquals(json(s, `lookup bus ${machineAddr + 5}`).phys, phys + 5);
  const m2p = json(s, `m2p ${machineAddr / PAGE}`);
  assertEquals([m2p.owner, m2p.pfn], ["domain", phys / PAGE]);
  assertEquals(json(s, `m2p ${4 * TiB / PAGE - 1}`).pfn, 2 * TiB / PAGE - 1);

  // Bytes move for real through the sparse machine.
  json(s, `dma write d64 ${machineAddr + 4096} 5a6b7c`);
  assertEquals(json(s, "buf read rx 4096 3").bytes, "5a6b7c");
  assertEquals(json(s, `unmap d64 ${machineAddr} 8K bidi`).ok, true);
});

Deno.test("guest new refuses a machine past 4 TiB and a guest over half of it, clearly", () => {
  const s = new Session({ color: false });
  for (
    const [line, words] of [
      ["guest new --machine 16T", "Cannot create a machine of 16 TiB: at most 4 TiB"],
      ["guest new --machine 4100G --mem 2T", "Cannot create a machine of 4100 GiB: at most 4 TiB"],
      [
        "guest new --machine 4T --mem 3T",
        "3 TiB of guest memory for a machine of 4 TiB (at most half",
      ],
    ]
  ) {
    const r = runLine(s, line);
    assertEquals(r.ok, false, line);
    assertStringIncludes(r.error ?? "", words);
  }
  assertEquals(runLine(s, "guest show").ok, false, "no guest was left behind");
});
