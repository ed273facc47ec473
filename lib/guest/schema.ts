/**
 * One schema for a guest's settings (zod), shared by guest files and `guest new` flags:
 * each key's type as a file may give it, and its range, which {@link resolveConfig}
 * applies to the merged configuration whatever set it — so `seed = -5` in a file and
 * `--seed -5` are refused alike. Nothing is coerced: `true` is no count, `[7]` no seed.
 *
 * @module
 */

import { z } from "zod";
import { closestString, levenshteinDistance } from "@std/text";
import { parseSize } from "../addr.ts";
import { LabError } from "../errors.ts";
import type { GuestConfig, GuestInput, Layout, Mode } from "./config.ts";
import type { Policy } from "../swiotlb/mod.ts";
import type { Variant } from "../swiotlb_xen/translate.ts";

/** Whole numbers of address bits: fault thresholds. */
const BITS = z.number().int().min(0).max(64);
/** A size: bytes as a number, or a string with a unit ("64M"). */
const SIZE = z.union([z.number().int().min(0), z.string()]);

/** One setting: its schema, the words for what it expects, and where it goes. */
interface Setting {
  schema: z.ZodType;
  expected: string;
  /** Puts the checked value into the engine's {@link GuestInput}. */
  set: (v: unknown, out: GuestInput) => void;
}

type Rule = Omit<Setting, "set">;
const bool: Rule = { schema: z.boolean(), expected: "true or false" };
const size: Rule = { schema: SIZE, expected: "a size (bytes, or with a unit: 4K, 64M)" };
function oneOf(values: readonly [string, ...string[]]): Rule {
  return { schema: z.enum(values), expected: `one of ${values.join(", ")}` };
}

/** Every key a guest file may hold, snake_case (the `guest new` flags). */
export const SETTINGS: Record<string, Setting> = {
  preset: {
    schema: z.string(),
    expected: "a preset name",
    set: (v, o) => (o.preset = v as string),
  },
  mode: { ...oneOf(["pv", "auto"]), set: (v, o) => (o.mode = v as Mode) },
  iommu: { ...bool, set: (v, o) => (o.iommu = v as boolean) },
  arch: { ...oneOf(["x86", "arm"]), set: (v, o) => (o.arch = v as GuestConfig["arch"]) },
  dom0: { ...bool, set: (v, o) => (o.dom0 = v as boolean) },
  mem: { ...size, set: (v, o) => (o.mem = sizeValue("mem", v)) },
  machine: { ...size, set: (v, o) => (o.machine = sizeValue("machine", v)) },
  layout: {
    ...oneOf(["contiguous", "fragmented", "reverse"]),
    set: (v, o) => (o.layout = v as Layout),
  },
  swiotlb: {
    schema: z.union([z.number().int().positive(), z.string()]),
    expected: "a positive slot count, or a size with a unit (64M)",
    set: (v, o) => (o.swiotlb = parseSwiotlb(v as number | string)),
  },
  force: { ...bool, set: (v, o) => (o.force = v as boolean) },
  passthrough: { ...bool, set: (v, o) => (o.passthrough = v as boolean) },
  late_init: { ...bool, set: (v, o) => (o.lateInit = v as boolean) },
  bus_skew: { ...size, set: (v, o) => (o.busSkew = sizeValue("bus_skew", v)) },
  identity: { ...bool, set: (v, o) => (o.identity = v as boolean) },
  policy: { ...oneOf(["checked", "faithful"]), set: (v, o) => (o.policy = v as Policy) },
  variant: { ...oneOf(["rfc", "rfc-v1"]), set: (v, o) => (o.variant = v as Variant) },
  seed: {
    schema: z.number().int().min(0).max(2 ** 32 - 1),
    expected: "a whole number from 0 to 4294967295",
    set: (v, o) => (o.seed = v as number),
  },
  pool_offset: { ...size, set: (v, o) => (o.poolOffset = sizeValue("pool_offset", v)) },
  debug: { ...bool, set: (v, o) => (o.debug = v as boolean) },
  fail_exchanges: {
    schema: z.number().int().min(0).max(1_000_000),
    expected: "a whole number of exchanges from 0 to 1000000",
    set: (v, o) => (o.faults = { ...o.faults, failNext: v as number }),
  },
  fail_after: {
    schema: z.number().int().min(0).max(1_000_000),
    expected: "a whole number of exchanges from 0 to 1000000",
    set: (v, o) => (o.faults = { ...o.faults, failAfter: v as number }),
  },
  fail_below: {
    schema: BITS,
    expected: "a whole number of address bits from 0 to 64",
    set: (v, o) => (o.faults = { ...o.faults, failBelowBits: v as number }),
  },
  exhaust_low: {
    schema: BITS,
    expected: "a whole number of address bits from 0 to 64",
    set: (v, o) => (o.faults = { ...o.faults, exhaustLowBits: v as number }),
  },
};

/** The keys, in the order `guest new --help` lists their flags. */
export const GUEST_FILE_KEYS: readonly string[] = Object.keys(SETTINGS);

/**
 * A guest's settings as a guest file writes them (the keys of {@link SETTINGS}): what
 * `guest show --json` carries as `config`, so that saving it as JSON and `guest load`
 * builds the same guest. Defaults left out (an unset swiotlb=, no faults).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { resolveConfig } from "./config.ts";
 * const f = guestFileOf(resolveConfig({ preset: "arm-dom0", faults: { failNext: 2 } }));
 * assertEquals([f.mode, f.late_init, f.fail_exchanges, "name" in f], ["auto", false, 2, false]);
 * ```
 */
export function guestFileOf(c: GuestConfig): Record<string, unknown> {
  const f: Record<string, unknown> = {
    mode: c.mode,
    iommu: c.iommu,
    arch: c.arch,
    dom0: c.dom0,
    mem: c.mem,
    machine: c.machine,
    layout: c.layout,
    ...(c.swiotlb === undefined ? {} : { swiotlb: c.swiotlb }),
    force: c.force,
    passthrough: c.passthrough,
    late_init: c.lateInit,
    bus_skew: c.busSkew,
    identity: c.identity,
    policy: c.policy,
    variant: c.variant,
    seed: c.seed,
    pool_offset: c.poolOffset,
    debug: c.debug,
  };
  if (c.faults.failNext !== undefined) f.fail_exchanges = c.faults.failNext;
  if (c.faults.failAfter !== undefined) f.fail_after = c.faults.failAfter;
  if (c.faults.failBelowBits !== undefined) f.fail_below = c.faults.failBelowBits;
  if (c.faults.exhaustLowBits !== undefined) f.exhaust_low = c.faults.exhaustLowBits;
  return f;
}

/**
 * Validates `value` for `key` against the schema; the value as given, or a LabError that
 * names the key, the value and what was expected.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { checkSetting } from "./schema.ts";
 * assertEquals(checkSetting("seed", 7), 7);
 * assertThrows(() => checkSetting("seed", [7]), Error, "seed = [7]: expected a whole number");
 * assertThrows(() => checkSetting("fail_exchanges", true), Error, "fail_exchanges = true");
 * ```
 */
export function checkSetting(key: string, value: unknown): unknown {
  const s = SETTINGS[key];
  if (s.schema.safeParse(value).success) return value;
  throw new LabError(
    `Bad guest setting ${key} = ${JSON.stringify(value) ?? String(value)}: expected ${s.expected}`,
    "usage",
    "bad-config",
  );
}

/** `--swiotlb` / `swiotlb =`: a slot count (`65536`) or a size with a unit (`64M`). */
export function parseSwiotlb(v: string | number): number {
  if (typeof v === "number") return v;
  const t = v.trim();
  if (/[kmgt]i?b?$/i.test(t)) return Math.ceil(parseSize(t, "swiotlb size") / 2048);
  return parseSize(t, "swiotlb slots");
}

/** A size setting's bytes (a number as is, a string through its unit). */
export function sizeValue(key: string, value: unknown): number {
  const v = checkSetting(key, value) as number | string;
  return typeof v === "number" ? v : parseSize(v, key);
}

/**
 * The LabError for a key no setting has, with the closest key when one is near.
 *
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { unknownKey } from "./schema.ts";
 * assertStringIncludes(unknownKey("polcy", "g.toml").message, "did you mean policy?");
 * ```
 */
export function unknownKey(key: string, file: string): LabError {
  const shown = key.length > 60 ? key.slice(0, 60) + "…" : key;
  const near = closestString(key.replaceAll("-", "_"), [...GUEST_FILE_KEYS]);
  const close = near !== undefined && levenshteinDistance(key.replaceAll("-", "_"), near) <= 2;
  return new LabError(
    `Unknown key "${shown}" in guest file ${file}${close ? ` — did you mean ${near}?` : ""}` +
      `: expected one of ${GUEST_FILE_KEYS.join(", ")}`,
    "usage",
    "bad-config",
  );
}
