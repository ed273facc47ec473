/**
 * First bounce in an autotranslated ARM dom0 (the RFC's case), through mod.ts only:
 * build the guest, map a buffer TO_DEVICE, let the device read it at the bus address,
 * and translate that bus address back with the bus→phys tree. Self-checking: it throws
 * if any step differs from what SPEC §6–§7 say.
 *
 * Run: deno run --allow-read examples/first_bounce.ts
 */

import { assert, assertEquals } from "@std/assert";
import { DMA_TO_DEVICE, formatHex, Guest } from "../mod.ts";

const g = Guest.create({ preset: "arm-dom0" });
assert(g.init.ok, "swiotlb-xen initialised");
g.addDevice({ name: "nic", maskBits: 32 });
const buf = g.allocBuffer("tx", 8192);
const data = new TextEncoder().encode("hello from the CPU, via a bounce buffer");
g.writeBuffer("tx", 0, data);

const m = g.map("nic", buf.phys, 8192, DMA_TO_DEVICE);
assert(m.bounced, "autotranslated guests always bounce");
assertEquals(m.route.code, "autotranslate");
const bus = m.bus;
if (typeof bus !== "number") throw new Error("a bounce's handle is an address");
console.log(`map: bounced (reason: ${m.route.code})`);
console.log(
  `  slot ${m.slot} of segment ${m.segment}, bounce phys ${formatHex(m.phys)}, bus ${
    formatHex(m.bus)
  }`,
);

const seen = g.dmaRead("nic", m.bus, data.length).bytes;
assertEquals(seen, data);
console.log(`device read: "${new TextDecoder().decode(seen)}"`);

const back = g.lookupBus(bus + 0x10);
assertEquals(back.phys, m.phys + 0x10);
console.log(
  `lookup bus ${formatHex(bus + 0x10)} → phys ${
    formatHex(back.phys)
  }, ${back.visited.length} tree nodes visited`,
);

g.unmap("nic", m.bus, 8192, DMA_TO_DEVICE);
assertEquals(g.stats().slots_used, 0);
console.log("unmapped; pool empty again");
