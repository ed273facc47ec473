/**
 * The two RFC revisions (SPEC §6): rfc-v1 (the seed's text) finds the offset inside a
 * segment by masking with 256 KiB − 1, the later rfc subtracts the segment's base. They
 * agree while the pool's guest-physical start is 256 KiB aligned; push the pool one page
 * off that alignment and rfc-v1 hands the device a wrong bus address. mod.ts only;
 * self-checking.
 *
 * Run: deno run --allow-read examples/rfc_v1_offset.ts
 */

import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { type Addr, DMA_TO_DEVICE, formatHex, Guest, SEGMENT_BYTES } from "../mod.ts";

function guest(variant: "rfc" | "rfc-v1", poolOffset: number): Guest {
  const g = Guest.create({ preset: "arm-dom0", variant, poolOffset });
  g.addDevice({ name: "nic", maskBits: 32 });
  g.allocBuffer("tx", 4096);
  g.writeBuffer("tx", 0, new TextEncoder().encode("payload"));
  return g;
}

for (const offset of [0, 4096]) {
  const good = guest("rfc", offset);
  const v1 = guest("rfc-v1", offset);
  const pool = good.init.poolPhys;
  console.log(
    `pool at phys ${formatHex(pool)} (${pool % SEGMENT_BYTES === 0 ? "" : "not "}256 KiB aligned)`,
  );
  const a = good.map("nic", good.buffer("tx").phys, 4096, DMA_TO_DEVICE);
  const b = v1.map("nic", v1.buffer("tx").phys, 4096, DMA_TO_DEVICE);
  console.log(`  rfc    → bus ${formatHex(a.bus)}: device reads "${text(good, a.bus)}"`);
  console.log(`  rfc-v1 → bus ${formatHex(b.bus)}: device reads "${text(v1, b.bus)}"`);
  assertEquals(text(good, a.bus), "payload");
  if (offset === 0) {
    assertEquals(b.bus, a.bus);
  } else {
    assertNotEquals(b.bus, a.bus, "rfc-v1 masks the offset and lands elsewhere");
    assert(text(v1, b.bus) !== "payload", "the device reads the wrong bytes");
  }
}

function text(g: Guest, bus: Addr): string {
  return new TextDecoder().decode(g.dmaRead("nic", bus, 7).bytes).replace(/\0/g, "·");
}
