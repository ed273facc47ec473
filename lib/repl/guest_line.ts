/**
 * A guest's settings written back as the `guest new` line that makes it: `record` turns a
 * `guest load FILE` into one (a replay must not depend on a file that may change), and
 * `compare --guest FILE` builds each file's guest with one. The flags are those of
 * `guest new` (commands/guest.ts); the keys those of a guest file (lib/guest/schema.ts).
 *
 * @module
 */

import { type GuestConfig, type GuestInput, PRESETS } from "../guest/mod.ts";
import { sizeArg } from "./render/format.ts";
import { quoteWord } from "./tokenize.ts";

/** Boolean settings and their flags (each has a `--no-` form). */
const SWITCHES = [
  ["iommu", "iommu"],
  ["dom0", "dom0"],
  ["force", "force"],
  ["passthrough", "passthrough"],
  ["identity", "identity"],
  ["debug", "debug"],
] as const;

/** Settings given as a word. */
const WORDS = [
  ["mode", "mode"],
  ["arch", "arch"],
  ["layout", "layout"],
  ["policy", "policy"],
  ["variant", "variant"],
] as const;

/** Settings given in bytes (written as a size one would type: 2G, 4K). */
const SIZES = [
  ["mem", "mem"],
  ["machine", "machine"],
  ["busSkew", "bus-skew"],
  ["poolOffset", "pool-offset"],
] as const;

/**
 * The `guest new` line that makes a guest of these settings: `--preset` first, then a
 * flag for every setting given.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { guestNewLine } from "./guest_line.ts";
 * assertEquals(
 *   guestNewLine({ preset: "arm-dom0", swiotlb: 512, iommu: false, faults: { failNext: 3 } }),
 *   "guest new --preset arm-dom0 --no-iommu --swiotlb 512 --fail-exchanges 3",
 * );
 * ```
 */
export function guestNewLine(input: GuestInput): string {
  const words = ["guest", "new"];
  if (input.preset !== undefined) words.push("--preset", quoteWord(input.preset));
  for (const [key, flag] of WORDS) {
    const v = input[key];
    if (v !== undefined) words.push(`--${flag}`, v);
  }
  for (const [key, flag] of SWITCHES) {
    const v = input[key];
    if (v !== undefined) words.push(v ? `--${flag}` : `--no-${flag}`);
  }
  // No preset turns late init on and the flag has no --no- form: false is the default.
  if (input.lateInit) words.push("--late-init");
  for (const [key, flag] of SIZES) {
    const v = input[key];
    if (v !== undefined) words.push(`--${flag}`, sizeArg(v));
  }
  if (input.swiotlb !== undefined) words.push("--swiotlb", String(input.swiotlb));
  if (input.seed !== undefined) words.push("--seed", String(input.seed));
  const f = input.faults ?? {};
  if (f.failNext !== undefined) words.push("--fail-exchanges", String(f.failNext));
  if (f.failAfter !== undefined) words.push("--fail-after", String(f.failAfter));
  if (f.failBelowBits !== undefined) words.push("--fail-below", String(f.failBelowBits));
  if (f.exhaustLowBits !== undefined) words.push("--exhaust-low", String(f.exhaustLowBits));
  return words.join(" ");
}

/**
 * A guest's whole configuration as settings: every key given, so the line it makes does
 * not depend on the defaults of the version that replays it.
 */
export function configInput(cfg: GuestConfig): GuestInput {
  const { name, ...rest } = cfg;
  const input: GuestInput = { ...rest, faults: { ...cfg.faults } };
  if (Object.hasOwn(PRESETS, name)) input.preset = name;
  return input;
}
