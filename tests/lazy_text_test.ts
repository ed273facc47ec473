/**
 * In --json mode map, unmap and sync draw their text answer only when something reads it
 * (issue 14): `expect log`, a pipe, the transcript `report` shows. Drawn later, it must
 * read as it would have when the command ran — in the radix of that moment, with its
 * events — and as text mode prints it.
 */

import { assert, assertEquals } from "@std/assert";
import { runLine, Session } from "../lib/repl/mod.ts";

const SETUP = [
  "guest new --preset arm-dom0 --swiotlb 1M",
  "device add nic --mask 32",
  "buf alloc rx 8K",
];

/** The text answers of `lines` in text mode, and the transcript's after a --json run. */
function both(lines: readonly string[]): { text: string[][]; drawn: string[][] } {
  const t = new Session();
  const j = new Session({ json: true });
  for (const l of SETUP) runLine(t, l), runLine(j, l);
  const text = lines.map((l) => runLine(t, l).output);
  for (const l of lines) runLine(j, l);
  const drawn = j.transcript.entries().slice(SETUP.length).map((e) => e.text);
  return { text, drawn };
}

Deno.test("lazy text: the transcript draws what text mode printed, radix and events included", () => {
  const lines = [
    "map nic rx 8K bidi",
    "set radix 10",
    "sync nic $bus 8K bidi --for cpu",
    "unmap nic $bus 4K bidi", // refused, with a debug report under the error
    "set radix 16",
    "unmap nic $bus 8K bidi",
    "map nic rx 8K to",
  ];
  const { text, drawn } = both(lines);
  assertEquals(drawn, text);
  // Drawn after `set radix 10` came and went, the map still shows hex; the sync decimal.
  assert(drawn[0].some((l) => /0x[0-9a-f]+/.test(l)));
  assert(!drawn[2].some((l) => /0x[0-9a-f]/.test(l)), drawn[2].join("\n"));
  assert(drawn[3].some((l) => l.includes("DMA-API")), "the refused unmap's report is there");
});

Deno.test("lazy text: expect log and a pipe read the answer in --json mode", () => {
  const s = new Session({ json: true });
  for (const l of SETUP) runLine(s, l);
  runLine(s, "map nic rx 8K to");
  // The answer says "bounced: autotranslated guests always bounce …", drawn now.
  assert(runLine(s, "expect log autotranslated").ok);
  assert(!runLine(s, "expect log sideways").ok);
  runLine(s, "set radix 10");
  const piped = JSON.parse(runLine(s, "unmap nic $bus 8K to | grep unmapped").output[0]);
  assertEquals(piped.plumbing.text.length, 1);
  assert(/^unmapped \d+ \(DMA_TO_DEVICE\)/.test(piped.plumbing.text[0]), piped.plumbing.text[0]);
});
