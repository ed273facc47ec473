/**
 * `--json` field names are snake_case everywhere (SPEC §10 names its fields so: dma_addr,
 * pool_phys, mask_bits): engine views that an answer carries whole — a reason code, a tree
 * node, a slot's owner, a guest's settings, the fixup's first success — are passed through
 * lib/repl/render/json_keys.ts, so a client never meets `dmaAddr` beside `dma_addr`.
 */

import { assertEquals } from "@std/assert";
import { runLine, Session } from "../lib/repl/mod.ts";

/** Every key of `v`, at any depth, that has a capital after a lower-case letter. */
function camelKeys(v: unknown, at: string, out: string[]): void {
  if (Array.isArray(v)) v.forEach((x, i) => camelKeys(x, `${at}[${i}]`, out));
  else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (/[a-z][A-Z]/.test(k)) out.push(`${at}.${k}`);
      camelKeys(x, `${at}.${k}`, out);
    }
  }
}

/** Sessions that reach every kind of answer: each preset, bounces, sg, coherent, debug, trace, explain, misuse. */
const SESSIONS = [
  [
    "guest new --preset arm-dom0 --swiotlb 2M",
    "guest show",
    "device add nic --mask 32",
    "buf alloc rx 16K",
    "map nic rx 8K bidi",
    "lookup bus $bus",
    "lookup bus 0x10",
    "lookup phys $pool",
    "slots 0",
    "segments",
    "tree",
    "tree --validate",
    "stats",
    "sync nic $bus 8K bidi --for cpu",
    "dma read nic $bus 4",
    "unmap nic $bus 4K bidi",
    "unmap nic $bus 8K bidi",
    "unmap nic $bus 8K bidi",
    "map-sg nic rx:0:4K rx:4K:4K to",
    "sync-sg nic rx:0:4K rx:4K:4K to --for device",
    "unmap-sg nic rx:0:4K rx:4K:4K to",
    "alloc-coherent nic 5000",
    "free-coherent nic $bus 5000",
    "map nic rx 1M to",
    "debug",
    "trace on",
    "explain on",
    "map nic rx 4K to",
    "tree insert 0x40000000 0x1b0000000 4K",
    "guest list",
    "guest presets",
  ],
  [
    "guest new --preset pv-dom0 --policy faithful",
    "device add nic --mask 32",
    "buf alloc rx 8K",
    "map nic rx 8K to",
    "unmap nic $bus 8K to",
    "unmap nic $bus 8K to",
    "slots",
    "p2m 0x1000 4",
    "m2p 0x100",
    "stats",
  ],
  ["guest new --preset pvh-dom0", "guest show", "segments"],
  [
    "guest new --preset arm-dom0-smmu",
    "device add nic --mask 32",
    "buf alloc rx 4K",
    "map nic rx 4K to",
    "dma read nic 0xffffffffff000 4",
  ],
];

Deno.test("--json: no field name anywhere in an answer is camelCase", () => {
  const out: string[] = [];
  for (const lines of SESSIONS) {
    const s = new Session({ json: true });
    for (const line of lines) {
      const r = runLine(s, line);
      for (const o of r.output) camelKeys(JSON.parse(o), line, out);
    }
  }
  assertEquals(out, []);
});

Deno.test("guest show --json: its config, saved as a guest file, loads the same guest", () => {
  const dir = Deno.makeTempDirSync();
  try {
    for (
      const made of [
        "guest new --preset arm-dom0 --swiotlb 2M --bus-skew 4K",
        "guest new --preset pv-dom0 --policy faithful --late-init --fail-exchanges 3",
        "guest new --preset pvh-dom0-iommu --seed 7 --pool-offset 64K",
      ]
    ) {
      const s = new Session({ json: true });
      const first = JSON.parse(runLine(s, made).output[0]);
      const shown = JSON.parse(runLine(s, "guest show").output[0]);
      const file = `${dir}/g.json`;
      Deno.writeTextFileSync(file, JSON.stringify(shown.config));
      const loaded = JSON.parse(runLine(s, `guest load ${file}`).output[0]);
      assertEquals(loaded.error, undefined, made);
      for (const k of ["mode", "arch", "iommu", "swiotlb_xen", "nslabs", "pool_phys", "log"]) {
        assertEquals(loaded[k], first[k], `${made}: ${k}`);
      }
      assertEquals(JSON.parse(runLine(s, "guest show").output[0]).config, shown.config);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
