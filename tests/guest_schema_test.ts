/**
 * Guest files and `guest new` flags go through one schema (lib/guest/schema.ts): wrong
 * types are refused, not coerced, and a flag and its file key share one range.
 */

import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { GUEST_FILE_KEYS, LabError, parseGuestFile, resolveConfig } from "../mod.ts";
import { runLine, Session } from "../lib/repl/mod.ts";

function refused(text: string, file: string, words: string): void {
  const e = assertThrows(() => resolveConfig(parseGuestFile(text, file)), LabError);
  assertStringIncludes(e.message, words);
  assertEquals(e.code, "bad-config");
}

Deno.test("schema: wrong types are refused, never coerced", () => {
  refused('{"fail_exchanges": true}', "g.json", "fail_exchanges = true: expected a whole number");
  refused('{"seed": [7]}', "g.json", "seed = [7]: expected a whole number");
  refused('exhaust_low = "x"', "g.toml", 'exhaust_low = "x": expected a whole number');
  refused("swiotlb = [1]", "g.toml", "swiotlb = [1]: expected a positive slot count");
  refused('iommu = "yes"', "g.toml", 'iommu = "yes": expected true or false');
  refused('mode = "hvm"', "g.toml", 'mode = "hvm": expected one of pv, auto');
  refused("fail_below = 65", "g.toml", "fail_below = 65: expected a whole number of address bits");
});

Deno.test("schema: a flag and its file key share one range", () => {
  refused("seed = -5", "g.toml", "seed = -5: expected a whole number from 0 to 4294967295");
  const s = new Session({ json: true });
  const flag = runLine(s, "guest new --seed 4294967296 --swiotlb 1M");
  assertEquals(flag.ok, false);
  assertStringIncludes(flag.error!, "seed = 4294967296: expected a whole number from 0");
  const file = assertThrows(
    () => resolveConfig(parseGuestFile("seed = 4294967296", "g.toml")),
    LabError,
  );
  assertEquals(file.message, flag.error);
  // Inside the range, both work alike.
  assertEquals(resolveConfig(parseGuestFile("seed = 7", "g.toml")).seed, 7);
  assertEquals(runLine(s, "guest new --seed 7 --swiotlb 1M").json?.seed, 7);
});

Deno.test("schema: unknown keys — __proto__ too — with did you mean", () => {
  refused('{"__proto__": {"seed": 3}}', "g.json", 'Unknown key "__proto__"');
  refused('"__proto__" = 1', "g.toml", 'Unknown key "__proto__"');
  refused("polcy = 'faithful'", "g.toml", "did you mean policy?");
  refused("late-inti = true", "g.toml", "did you mean late_init?");
  const e = assertThrows(() => parseGuestFile("zzzzzzzz = 1", "g.toml"), LabError);
  assertEquals(e.message.includes("did you mean"), false, "nothing near: no guess");
  assertStringIncludes(e.message, `expected one of ${GUEST_FILE_KEYS.join(", ")}`);
});
