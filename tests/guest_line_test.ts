/**
 * guestNewLine: the `guest new` line written for a guest's settings makes a guest of
 * exactly those settings (record's replays and compare's --guest FILE rely on it).
 */

import { assertEquals } from "@std/assert";
import { type GuestInput, parseGuestFile, PRESETS, resolveConfig } from "../lib/guest/mod.ts";
import { configInput, guestNewLine } from "../lib/repl/guest_line.ts";
import { runLine, Session } from "../lib/repl/mod.ts";

/** The configuration of the guest a line makes in a fresh session. */
function madeBy(line: string) {
  const s = new Session();
  const r = runLine(s, line);
  if (!r.ok) throw new Error(`${line}: ${r.error}`);
  return s.guest!.config;
}

Deno.test("guestNewLine: every preset's whole configuration comes back from its line", () => {
  for (const preset of Object.keys(PRESETS)) {
    const cfg = madeBy(`guest new --preset ${preset} --swiotlb 1M`);
    const line = guestNewLine(configInput(cfg));
    assertEquals(madeBy(line), cfg, line);
  }
});

Deno.test("guestNewLine: a guest file's settings, every key set off its default", () => {
  const text = [
    'mode = "auto"',
    'arch = "x86"',
    "iommu = false",
    "dom0 = false",
    'mem = "1G"',
    'machine = "4G"',
    'layout = "reverse"',
    'swiotlb = "2M"',
    "force = true",
    "passthrough = true",
    "late_init = true",
    'bus_skew = "8K"',
    'policy = "faithful"',
    'variant = "rfc-v1"',
    "seed = 77",
    'pool_offset = "12K"',
    "debug = false",
    "fail_exchanges = 2",
    "fail_below = 20",
    "exhaust_low = 22",
  ].join("\n");
  const input = parseGuestFile(text, "g.toml");
  const want = resolveConfig(input);
  assertEquals(madeBy(guestNewLine(input)), want);
  assertEquals(madeBy(guestNewLine(configInput(want))), want);
});

Deno.test("guestNewLine: a flag for each setting given, none for the rest", () => {
  const input: GuestInput = { preset: "pv-dom0", identity: false, poolOffset: 4096 };
  assertEquals(guestNewLine(input), "guest new --preset pv-dom0 --no-identity --pool-offset 4K");
  assertEquals(guestNewLine({}), "guest new");
});
