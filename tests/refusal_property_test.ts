/**
 * A refused command changes nothing (SPEC §8's checked promise; under faithful too, where
 * the kernel's own misbehaviour is modelled instead of refused). Random DMA scripts,
 * well-formed and not, on every preset; around every refusal the guest's `stats`,
 * `slots`, `segments`, `tree` and live debug mappings must be byte-identical.
 */

import fc from "fast-check";
import { PRESETS } from "../mod.ts";
import { checkRefusals, dmaLine } from "./_refusal.ts";

for (const policy of ["checked", "faithful"]) {
  for (const preset of Object.keys(PRESETS)) {
    Deno.test(`${policy}: every refused command leaves ${preset} unchanged`, () => {
      const start = `guest new --preset ${preset} --swiotlb 1M --policy ${policy}`;
      fc.assert(
        fc.property(
          fc.array(dmaLine, { minLength: 5, maxLength: 40 }),
          (ls) => checkRefusals(start, ls),
        ),
        { numRuns: 30 },
      );
    });
  }
}
