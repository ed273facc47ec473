/**
 * PV fast path versus bounce (SPEC §7 map_page): on an x86 PV dom0 a buffer is handed to
 * the device as-is only when its bus address is under the device's mask AND it is
 * machine-contiguous; otherwise swiotlb-xen bounces it. Uses mod.ts only; throws if any
 * decision differs from the rules.
 *
 * Run: deno run --allow-read examples/pv_fast_path.ts
 */

import { assert, assertEquals } from "@std/assert";
import { DMA_TO_DEVICE, formatHex, Guest } from "../mod.ts";

// A fragmented layout: guest pages are backed by runs of 1–64 scattered machine frames.
const g = Guest.create({ preset: "pv-dom0" });
g.addDevice({ name: "nvme", maskBits: 64 }); // reaches every machine address
g.addDevice({ name: "nic", maskBits: 32 }); // cannot reach above 4 GiB

// Find a two-page buffer that happens to be machine-contiguous, and one that is not.
let contiguous: string | undefined, straddling: string | undefined;
for (let i = 0; i < 512 && (!contiguous || !straddling); i++) {
  const b = g.allocBuffer(`b${i}`, 8192);
  if (g.domain.isMachineContiguous(b.phys, 8192)) contiguous ??= b.name;
  else straddling ??= b.name;
}
if (!contiguous || !straddling) throw new Error("the fragmented layout gives both kinds of buffer");

const show = (dev: string, name: string) => {
  const b = g.buffer(name);
  const m = g.map(dev, b.phys, 8192, DMA_TO_DEVICE);
  console.log(
    `${dev} ${name} (phys ${formatHex(b.phys)}): ${
      m.bounced ? "bounced" : "fast path"
    } (reason: ${m.route.code})`,
  );
  return m;
};

const fast = show("nvme", contiguous);
assertEquals(fast.bounced, false);
assertEquals(fast.bus, g.domain.physToMachine(g.buffer(contiguous).phys));

const straddle = show("nvme", straddling);
assertEquals(straddle.bounced, true, "a page straddle onto a non-consecutive frame bounces");

const beyond = show("nic", contiguous);
assertEquals(beyond.bounced, true, "guest memory lies above 4 GiB: a 32-bit device needs a bounce");
assert(typeof beyond.bus === "number" && beyond.bus + 8192 - 1 <= 0xffffffff);

const s = g.stats();
assertEquals([s.fast_paths, s.bounces], [1, 2]);
console.log(
  `stats: ${s.fast_paths} fast path, ${s.bounces} bounces, ${s.bytes_to_device} bytes bounced`,
);
