/**
 * The scatter-gather verbs (SPEC §7, §10): map-sg, unmap-sg, sync-sg.
 *
 * @module
 */

import type { Direction } from "../../direction.ts";
import { LabError } from "../../errors.ts";
import { parseSgElem, type SgRef } from "../args.ts";
import { ARM_NIC, ARM_SG } from "../examples.ts";
import { renderCopied, renderSg, sgError, sgJson } from "../render/dma.ts";
import { next } from "../render/guest.ts";
import type { ArgSpec, CommandSpec, Ctx } from "../table.ts";
import { DEV, DIR, dirOf, FOR, target } from "./_dma_args.ts";

/** `map-sg DEV ELEM… DIR`: the elements and the direction at the end. */
function sgArgs(ctx: Ctx, words: string[]): { dev: string; elems: SgRef[]; dir: Direction } {
  const [dev, ...rest] = words;
  if (rest.length < 2) {
    throw new LabError("Give at least one element and a direction: map-sg DEV BUF:OFF:LEN… DIR");
  }
  const dir = dirOf(rest[rest.length - 1]);
  const g = ctx.session.requireGuest();
  const elems = rest.slice(0, -1).map((e) => parseSgElem(e, g, ctx.session.vars));
  return { dev, elems, dir };
}

const SG_ARGS: ArgSpec[] = [
  DEV,
  {
    name: "BUF:OFF:LEN",
    help: "elements: BUF:OFF:LEN, BUF:LEN, BUF or PHYS:LEN",
    variadic: true,
    complete: "buffer",
  },
];

/** The scatter-gather verbs. */
export const sgCommands: CommandSpec[] = [
  {
    path: ["map-sg"],
    summary: "dma_map_sg: map a scatterlist, element by element (never merged)",
    args: [...SG_ARGS, DIR],
    options: [],
    examples: [
      {
        caption: "Two elements of one buffer, each bounced on its own (never merged)",
        line: "map-sg nic rx:0:4K rx:4K:4K to",
        setup: ARM_NIC,
      },
      { caption: "A whole buffer as one element", line: "map-sg nic rx bidi", setup: ARM_NIC },
    ],
    needsGuest: true,
    needsKernel: true,
    run: (ctx, words) => {
      const s = ctx.session;
      const { dev, elems, dir } = sgArgs(ctx, words);
      const g = s.requireGuest();
      const r = g.mapSg(dev, elems, dir);
      const text = renderSg(r, dev, s.fmt);
      if (r.error) {
        return { json: sgJson(r), text, error: sgError(r, dev, g.config.arch, s.fmt) };
      }
      if (r.elements.length > 0) s.vars.set("bus", r.elements[0].dmaAddress);
      text.push("  " + next(s.fmt, `unmap-sg ${words.join(" ")}`));
      return { json: sgJson(r), text };
    },
  },
  {
    path: ["unmap-sg"],
    summary: "dma_unmap_sg: the same list as map-sg",
    args: [...SG_ARGS, DIR],
    options: [],
    examples: [
      {
        caption: "The same elements as map-sg",
        line: "unmap-sg nic rx:0:4K rx:4K:4K to",
        setup: ARM_SG,
      },
    ],
    needsGuest: true,
    needsKernel: true,
    run: (ctx, words) => {
      const s = ctx.session;
      const { dev, elems, dir } = sgArgs(ctx, words);
      const r = s.requireGuest().unmapSg(dev, elems, dir);
      return {
        json: { ok: true, copied: r.copied },
        text: renderCopied(`unmapped ${elems.length} element(s)`, r.copied, dir, true, s.fmt),
      };
    },
  },
  {
    path: ["sync-sg"],
    summary: "dma_sync_sg_for_cpu / _for_device",
    args: [...SG_ARGS, DIR],
    options: [FOR],
    examples: [
      {
        caption: "Sync every element for the CPU",
        line: "sync-sg nic rx:0:4K rx:4K:4K to --for cpu",
        setup: ARM_SG,
      },
    ],
    needsGuest: true,
    needsKernel: true,
    run: (ctx, words, o) => {
      const s = ctx.session;
      const { dev, elems, dir } = sgArgs(ctx, words);
      const t = target(o.for);
      const r = s.requireGuest().syncSg(dev, elems, dir, t);
      return {
        json: { ok: true, copied: r.copied, for: t },
        text: renderCopied(
          `sync ${elems.length} element(s) for ${t}`,
          r.copied,
          dir,
          t === "cpu",
          s.fmt,
        ),
      };
    },
  },
];
