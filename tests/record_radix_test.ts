/**
 * `record` with the input radix and named guests (issues 12 and 13 together): a session
 * that never ran `set radix` reads decimal, so its recording must not start with `set
 * radix 16`; and a `guest new --name` beside a live guest does not forget how that one
 * was made.
 */

import { assert, assertEquals, assertThrows } from "@std/assert";
import { runLine, Session } from "../lib/repl/mod.ts";

function replay(dir: string, file: string): Session {
  const s = new Session({ cwd: dir });
  for (const l of Deno.readTextFileSync(`${dir}/${file}`).split("\n")) {
    const r = runLine(s, l);
    assert(r.ok, `${l}: ${r.error}`);
  }
  return s;
}

Deno.test("record: decimal sizes replay as decimal; after set radix 16, hex ones as hex", () => {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb_rec_radix_" });
  try {
    const s = new Session({ cwd: dir });
    for (
      const l of [
        "guest new --preset arm-dom0 --swiotlb 1M",
        "buf alloc rx 4096",
        "record a.txt",
        "buf alloc tx 8192",
        "record off",
      ]
    ) {
      assert(runLine(s, l).ok, l);
    }
    const a = replay(dir, "a.txt");
    assertEquals([a.guest!.buffer("rx").size, a.guest!.buffer("tx").size], [4096, 8192]);
    runLine(s, "set radix 16");
    runLine(s, "record b.txt");
    runLine(s, "buf alloc big 2000");
    runLine(s, "record off");
    const b = replay(dir, "b.txt");
    assertEquals(b.guest!.buffer("big").size, 0x2000);
    assertEquals(b.guest!.buffer("rx").size, 4096);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("record: a second named guest keeps the first one's history in the recording", () => {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb_rec_named_" });
  try {
    const s = new Session({ cwd: dir });
    const lines = [
      "guest new --preset arm-dom0 --swiotlb 1M --name arm",
      "device add nic --mask 32",
      "guest new --preset pv-dom0 --name pv",
      "record c.txt",
      "guest use arm",
      "device list",
      "record off",
    ];
    for (const l of lines) assert(runLine(s, l).ok, l);
    const c = replay(dir, "c.txt");
    assertEquals(c.guestName, "arm");
    assertEquals(c.guest!.devices().map((d) => d.name), ["nic"]);
    assertEquals([...c.guests.keys()], ["arm", "pv"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("record: a repeat is written once, not its iterations; file writers are not replayed", () => {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb_rec_repeat_" });
  try {
    const s = new Session({ cwd: dir });
    const lines = [
      "guest new --preset pv-dom0 --swiotlb 1M",
      "device add disk --mask 32",
      "buf alloc big 64K",
      "record r.txt",
      "repeat 4 map disk big+$i*4K 4K bidi",
      "tree --svg t.svg",
      "stats > s.txt",
      "report r.html",
      "record off",
    ];
    for (const l of lines) assert(runLine(s, l).ok, l);
    const text = Deno.readTextFileSync(`${dir}/r.txt`);
    assertEquals(text.split("\n").filter((l) => l.startsWith("repeat") || l.startsWith("map")), [
      "repeat 4 map disk big+$i*4K 4K bidi",
    ]);
    for (const f of ["tree --svg t.svg", "report r.html"]) {
      assert(text.includes(`# not replayed (it writes a file): ${f}\n`), f);
    }
    // A redirection can follow a command that changes state: the command is replayed.
    assert(text.includes("# stats > s.txt: replayed without its redirection"), text);
    assert(text.includes("\nstats\n"), text);
    Deno.removeSync(`${dir}/t.svg`);
    Deno.removeSync(`${dir}/s.txt`);
    const r = replay(dir, "r.txt");
    assertEquals(r.guest!.stats().maps, s.guest!.stats().maps);
    assertEquals(r.guest!.stats().maps, 4);
    // Nothing was written again.
    assertThrows(() => Deno.statSync(`${dir}/t.svg`));
    assertThrows(() => Deno.statSync(`${dir}/s.txt`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
