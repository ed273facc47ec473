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

/** Whole numbers of address bits: fault thresholds. */
const BITS = z.number().int().min(0).max(64);
/** A size: bytes as a number, or a string with a unit ("64M"). */
const SIZE = z.union([z.number().int().min(0), z.string()]);

/** One setting: its schema and the words for what it expects. */
interface Setting {
  schema: z.ZodType;
  expected: string;
}

const bool: Setting = { schema: z.boolean(), expected: "true or false" };
const size: Setting = { schema: SIZE, expected: "a size (bytes, or with a unit: 4K, 64M)" };
function oneOf(values: readonly [string, ...string[]]): Setting {
  return { schema: z.enum(values), expected: `one of ${values.join(", ")}` };
}

/** Every key a guest file may hold, snake_case (the `guest new` flags). */
export const SETTINGS: Record<string, Setting> = {
  preset: { schema: z.string(), expected: "a preset name" },
  mode: oneOf(["pv", "auto"]),
  iommu: bool,
  arch: oneOf(["x86", "arm"]),
  dom0: bool,
  mem: size,
  machine: size,
  layout: oneOf(["contiguous", "fragmented", "reverse"]),
  swiotlb: {
    schema: z.union([z.number().int().positive(), z.string()]),
    expected: "a positive slot count, or a size with a unit (64M)",
  },
  force: bool,
  passthrough: bool,
  late_init: bool,
  bus_skew: size,
  identity: bool,
  policy: oneOf(["checked", "faithful"]),
  variant: oneOf(["rfc", "rfc-v1"]),
  seed: {
    schema: z.number().int().min(0).max(2 ** 32 - 1),
    expected: "a whole number from 0 to 4294967295",
  },
  pool_offset: size,
  debug: bool,
  fail_exchanges: {
    schema: z.number().int().min(0).max(1_000_000),
    expected: "a whole number of exchanges from 0 to 1000000",
  },
  fail_below: { schema: BITS, expected: "a whole number of address bits from 0 to 64" },
  exhaust_low: { schema: BITS, expected: "a whole number of address bits from 0 to 64" },
};

/** The keys, in the order `guest new --help` lists their flags. */
export const GUEST_FILE_KEYS: readonly string[] = Object.keys(SETTINGS);

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
