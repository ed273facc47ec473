/**
 * Issue 11, a sparse machine (SPEC §4: "a 16 GiB machine must start instantly"): the
 * REPL's `guest new --machine 4T --mem 2T` against the default `guest new` (a 2 GiB
 * guest on 8 GiB) as the baseline of the same run, so the ratio holds on a noisy
 * machine. Owner, m2p and p2m are run tables (lib/xen/_runs.ts), so the big guest costs
 * per run, not per frame: its target is a small multiple of the baseline (about 10×
 * here, the largest part the buddy allocator's zero-filled bitmaps of 2^30 frames; with one
 * array entry per frame the line took seconds). The presets with a pool fixup on a
 * contiguous (arm-dom0) and a fragmented (pv-dom0) layout are in the group as well.
 *
 * Whole-process figures (wall time, resident memory) are not seen from here: measure
 * them with `/usr/bin/time -v` on `echo 'guest new --machine 4T --mem 2T' | deno task
 * repl` (target: well under 1 s and under 300 MB).
 *
 * @module
 */

import { runLine, Session } from "../lib/repl/mod.ts";

/** Runs one `guest new` line in a fresh session, as a user's first line would. */
function guestNew(line: string): void {
  const r = runLine(new Session({ color: false }), line);
  if (!r.ok) throw new Error(`${line}: ${r.error}`);
}

for (
  const [line, baseline] of [
    ["guest new", true],
    ["guest new --machine 4T --mem 2T", false],
    ["guest new --preset arm-dom0", false],
    ["guest new --preset pv-dom0", false],
  ] as const
) {
  Deno.bench(line, { group: "guest new", baseline }, () => guestNew(line));
}
