/**
 * `tree insert DMA PHYS SIZE`: a lab command that puts a node into swiotlb-xen's
 * bus→phys tree the way the RFC's xen_dma_add_entry would, so the overlap it lets
 * through (SPEC §6: only an EQUAL dma_addr or phys_addr met on the way down is refused)
 * can be built, validated and looked up.
 *
 * @module
 */

import { parseNum } from "../args.ts";
import { plural, sizeArg } from "../render/format.ts";
import { next } from "../render/guest.ts";
import { nodeWords } from "../render/words.ts";
import { ARM_ONLY } from "../examples.ts";
import type { CommandSpec } from "../table.ts";

/** The lab's tree verbs beyond `tree` itself. */
export const treeCommands: CommandSpec[] = [
  {
    path: ["tree", "insert"],
    summary: "lab: insert {dma, phys, size} into the bus→phys tree as xen_dma_add_entry would",
    description:
      "xen_dma_add_entry refuses a node only when one met on its way down has an EQUAL " +
      "dma_addr or phys_addr (the kernel's 'already exists' warning); an overlapping " +
      "interval goes in. --policy faithful accepts it and records the undefined behaviour " +
      "(tree --validate then names the overlap, and lookup bus answers with whichever node " +
      "the walk meets first); --policy checked refuses it and changes nothing.",
    args: [
      { name: "DMA", help: "bus address of the node (dma_addr)" },
      { name: "PHYS", help: "guest-physical address it stands for (phys_addr)" },
      { name: "SIZE", help: "bytes the node covers: 256K, 0x40000" },
    ],
    options: [],
    examples: [
      {
        caption: "Under checked, an overlapping node is refused and nothing changes",
        line: "tree insert 0x120000 0x1a0000000 256K",
        setup: ARM_ONLY,
      },
    ],
    needsGuest: true,
    needsKernel: true,
    run: (ctx, [dmaText, physText, sizeText]) => {
      const s = ctx.session;
      const g = s.requireGuest();
      const dma = parseNum(dmaText, s.vars, "dma_addr");
      const phys = parseNum(physText, s.vars, "phys_addr");
      const size = parseNum(sizeText, s.vars, "size");
      const r = g.treeInsert(dma, phys, size);
      const fmt = s.fmt;
      const json: Record<string, unknown> = {
        ok: r.ok,
        dma_addr: dma,
        phys_addr: phys,
        size,
        errno: r.errno,
        path: r.path,
        overlaps: r.overlaps.map((e) => ({
          dma_addr: e.dmaAddr,
          phys_addr: e.physAddr,
          size: e.size,
          kind: e.kind,
          index: e.kind === "segment" ? e.index : null,
        })),
        nodes: r.nodes,
        height: r.height,
      };
      const what = `phys ${fmt.num(phys)} -> dma ${fmt.num(dma)} (+${sizeArg(size)})`;
      if (!r.ok) {
        return {
          json,
          text: [],
          error: `tree insert ${what}: xen_dma_add_entry refused it (${r.errno}, -EINVAL): a ` +
            "node on its way down has the same dma_addr or phys_addr",
        };
      }
      const text = [
        `inserted ${what} at ${r.path}; tree: ${plural(r.nodes, "node")}, height ${r.height}`,
      ];
      if (r.overlaps.length > 0) {
        const names = r.overlaps.map((e) =>
          nodeWords({
            kind: e.kind,
            segment: e.kind === "segment" ? e.index : null,
            dmaAddr: e.dmaAddr,
            size: e.size,
          }, fmt)
        );
        text.push(
          "  " + fmt.err("overlaps") + ` ${names.join(", ")}: ` +
            "the insert only compares dma_addr and phys_addr for equality",
        );
      }
      text.push("  " + next(fmt, "tree --validate", `lookup bus ${fmt.num(dma)}`));
      return { json, text };
    },
  },
];
