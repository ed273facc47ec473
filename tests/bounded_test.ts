/**
 * Bounded work for any input (each used to exhaust memory or time): reads build only
 * what they show, device accesses report runs of frames, fills and ranges are checked
 * before a byte is built, and the faithful core counts trapped accesses per call.
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { runLine, Session } from "../lib/repl/mod.ts";
import { snapshot } from "./_refusal.ts";

function session(lines: string[], json = true): Session {
  const s = new Session({ json, color: false });
  for (const l of lines) assert(runLine(s, l).ok, l);
  return s;
}

const ARM = ["guest new --preset arm-dom0 --swiotlb 1M", "device add nic --mask 64"];

Deno.test("buf read of 256 MiB shows 64 KiB and says how much more there is", () => {
  const s = session([...ARM, "buf alloc big 256M", "buf write big 0x10000 --pattern 5a --len 16"]);
  const j = runLine(s, "buf read big 0 256M").json!;
  assertEquals([j.length, j.shown, (j.bytes as string).length], [256 << 20, 65536, 131072]);
  const t = session([...ARM, "buf alloc big 256M"], false);
  const text = runLine(t, "buf read big 0 256M").output;
  assert(text.length < 10, `${text.length} lines`);
  assertStringIncludes(text.at(-1)!, `${(256 << 20) - 65536} more bytes not shown`);
  // Without LEN: the first 256 bytes, and the rest named.
  assertEquals(runLine(s, "buf read big").json?.shown, 256);
  // A range past the buffer is still refused as a whole.
  assertEquals(runLine(s, "buf read big 0 257M").json?.code, "out-of-range");
});

Deno.test("dma read of 1 GiB: the whole range translated, a few runs of frames, 64 KiB shown", () => {
  const s = session(ARM);
  const j = runLine(s, "dma read nic 0x180000000 1G").json!;
  assertEquals([j.length, j.shown], [1 << 30, 65536]);
  const pieces = j.pieces as Array<{ len: number; frames: number }>;
  assert(pieces.length <= 4, `${pieces.length} pieces`);
  assertEquals(pieces.reduce((n, p) => n + p.len, 0), 1 << 30);
  assertEquals(pieces.reduce((n, p) => n + p.frames, 0), (1 << 30) / 4096);
});

Deno.test("dma write over a free run counts stray frames, one run per owner", () => {
  const s = session(ARM);
  // The guest's memory has a hole of free frames after its first MiB (see the read above).
  const j = runLine(s, "dma write nic 0x180000000 16M --pattern ab").json!;
  const pieces = j.pieces as Array<{ stray: boolean; frames: number }>;
  const strayFrames = pieces.filter((p) => p.stray).reduce((n, p) => n + p.frames, 0);
  assert(strayFrames > 0);
  assertEquals(j.stray, pieces.filter((p) => p.stray).length);
  assertEquals((runLine(s, "stats").json as { stray_writes: number }).stray_writes, strayFrames);
});

Deno.test("fills are checked before a byte is built", () => {
  const s = session([...ARM, "buf alloc rx 8K"]);
  const r = runLine(s, "buf write rx --pattern ab --len 4503599627370495");
  assertEquals([r.ok, r.json?.code], [false, "out-of-range"]);
  assertStringIncludes(r.error!, 'outside buffer "rx"');
  const big = runLine(s, "dma write nic 0x180000000 1G --pattern ab");
  assertEquals([big.ok, big.json?.code], [false, "out-of-range"]);
  assertStringIncludes(big.error!, "at most 67108864 bytes");
});

Deno.test("faithful: a huge unmap is one bounded UB line, and the next unmap reports none", () => {
  const s = session([
    "guest new --preset arm-dom0 --swiotlb 1M --policy faithful",
    "device add nic --mask 32",
    "buf alloc rx 8K",
    "map nic rx 4K bidi",
    "map nic rx 4K bidi",
  ]);
  // 0x7f3602716239 bytes are 68,295,871,535 slots from slot 1: 511 in the pool.
  const r = runLine(s, "unmap nic 0x100800 0x7f3602716239 to");
  const ub = (r.json?.events as Array<{ kind: string; message: string }>)
    .filter((e) => e.kind === "ub").map((e) => e.message);
  const slots = Math.ceil(0x7f3602716239 / 2048);
  const trapped = ub.filter((m) => m.includes("outside the 512-slot pool"));
  assertEquals(trapped.length, 1);
  assertStringIncludes(trapped[0], `${slots - 511} access(es) to io_tlb_list[512…${slots}]`);
  const next = runLine(s, "unmap nic 0x101000 4K bidi");
  const events = (next.json?.events ?? []) as Array<{ message: string }>;
  assertEquals(events.filter((e) => e.message.includes("io_tlb_list")), []);
});

Deno.test("a bounce copy past guest memory is refused under both policies, nothing changed", () => {
  for (const policy of ["checked", "faithful"]) {
    const s = session([
      `guest new --preset arm-dom0 --swiotlb 1M --policy ${policy}`,
      "device add nic --mask 32",
      "buf alloc rx 8K",
      "map nic rx 4K bidi",
    ]);
    const before = snapshot(s);
    const r = runLine(s, "sync nic $bus 0x7f3602716239 bidi --for cpu");
    // checked refuses the size first; faithful gets as far as the copy.
    assertEquals(r.ok, false);
    if (policy === "faithful") assertEquals(r.json?.code, "outside-memory");
    assertEquals(snapshot(s), before);
    if (policy === "faithful") {
      const u = runLine(s, "unmap nic 0x100800 0x7f3602716239 bidi");
      assertEquals(u.json?.code, "outside-memory");
      assertStringIncludes(u.error!, "the kernel's memcpy would fault");
      assertEquals(snapshot(s), before);
    }
  }
});

Deno.test("an output file that cannot be written is the user's error, named with its flag", () => {
  const s = session(ARM);
  const r = runLine(s, "tree --dot /no/such/dir/x.dot");
  assertEquals([r.ok, r.json?.code], [false, "file"]);
  assertEquals(r.error, "Cannot write tree --dot /no/such/dir/x.dot: no directory /no/such/dir");
  const d = Deno.makeTempDirSync();
  assertStringIncludes(runLine(s, `tree --dot ${d}`).error!, "it is a directory");
  Deno.removeSync(d);
});

Deno.test("a read of no bytes and an output file with no name are usage errors", () => {
  const s = session(ARM);
  const r = runLine(s, "dma read nic 0x180000000 0");
  assertEquals([r.ok, r.json?.code], [false, "out-of-range"]);
  assertEquals(runLine(s, 'tree --dot ""').error, "Cannot write tree --dot: give a file name");
});
