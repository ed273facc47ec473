/**
 * Small things a new user's pass found: each has its reproduction here.
 */

import { assertEquals, assertStringIncludes } from "@std/assert";
import { runLine, Session } from "../lib/repl/mod.ts";

Deno.test("slots: two mappings of back-to-back buffers are two orig_addr runs, each with its buffer", () => {
  const s = new Session();
  for (
    const l of [
      "guest new --preset arm-dom0 --swiotlb 1M",
      "device add nic --mask 32",
      "buf alloc add 4K",
      "buf alloc fe 4K",
      "map nic add 4K to",
      "map nic fe 4K to",
    ]
  ) runLine(s, l);
  const orig = s.guest!.slots(0).orig.map((o) => [o.slot, o.count, o.buffer]);
  assertEquals(orig, [[0, 2, "add"], [2, 2, "fe"]]);
});

Deno.test("dma-supported: more than 64 bits is an error, not a mask read as decimal", () => {
  const s = new Session();
  runLine(s, "guest new --preset arm-dom0 --swiotlb 1M");
  runLine(s, "device add nic --mask 32");
  assertStringIncludes(runLine(s, "dma-supported nic 65").error!, "65 bits is more than 64");
  assertEquals(runLine(s, "dma-supported nic 32").json?.supported, true);
});

Deno.test("compare: nested answers in cells read like the rest (addresses in the radix, no raw JSON)", () => {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb_cmp_" });
  try {
    Deno.writeTextFileSync(
      `${dir}/w.txt`,
      "device add nic --mask 32\nbuf alloc rx 8K\nmap nic rx 8K bidi\ndma write nic $bus --pattern a5 --len 16\n",
    );
    const s = new Session({ cwd: dir });
    const r = runLine(s, "compare w.txt --preset pv-dom0 --preset arm-dom0");
    const text = r.output.join("\n");
    assertStringIncludes(text, "dma write");
    assertEquals(/\{"/.test(text), false, text);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("debug: a refused unmap keeps the record of a mapping a mismatching unmap released", () => {
  const s = new Session();
  for (
    const l of [
      "guest new --preset arm-dom0 --swiotlb 256K --policy faithful",
      "device add nic --mask 32",
      "buf alloc a 8K",
      "buf alloc b 4K",
      "buf alloc pad 248K",
      // A takes slots 0-3 and pad the rest, so the hint wraps and B lands on slot 0.
      "map nic a 8K to",
      "map nic pad 248K to",
      "unmap nic 0x100000 8K to",
      "map nic b 4K to",
      "unmap nic 0x100000 8K to",
    ]
  ) runLine(s, l);
  const released = () => s.guest!.debugReport().released.length;
  assertEquals(released(), 1);
  // DMA_NONE is a kernel BUG: refused, so the driver has let go of nothing.
  assertEquals(runLine(s, "unmap nic 0x100000 4K none").ok, false);
  assertEquals(released(), 1);
  // B's own unmap (now of no live record) lets go of it.
  runLine(s, "unmap nic 0x100000 4K to");
  assertEquals(released(), 0);
});
