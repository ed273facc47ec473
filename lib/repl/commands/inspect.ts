/**
 * Inspection verbs (SPEC §9): lookup, segments, tree, slots, p2m, m2p, stats.
 *
 * @module
 */

import { LabError } from "../../errors.ts";
import { parseAddrArg, parseCount, parseNum } from "../args.ts";
import {
  lookupBusJson,
  lookupPhysJson,
  renderLookupBus,
  renderLookupPhys,
  renderP2m,
  renderSegments,
  renderSlots,
  renderStats,
  slotsJson,
} from "../render/inspect.ts";
import { drawTree, inorderLines, treeDot, validateLines } from "../render/tree.ts";
import { ARM_MAPPED, ARM_ONLY, PV_NIC } from "../examples.ts";
import type { CommandSpec } from "../table.ts";
import { ownerWords, useWords } from "../render/words.ts";
import { segmentsSvg } from "../render/svg/segments.ts";
import { slotsSvg } from "../render/svg/slots.ts";
import { treeSvg } from "../render/svg/tree.ts";
import { SVG_OPTION, writeSvg } from "./_svg_out.ts";
import { plural } from "../render/format.ts";
import { snakeKeys } from "../render/json_keys.ts";

const ADDR = { name: "ADDR", help: "an address: 0x7f841010, 4K, $bus+0x10" };

/** Draw everything up to this many nodes; deeper trees fold below level 4. */
const FULL_DRAWING_NODES = 64;
const FOLDED_DEPTH = 4;
/** In-order listings longer than this need --inorder. */
const INORDER_NODES = 16;

/** The inspection verbs. */
export const inspectCommands: CommandSpec[] = [
  {
    path: ["lookup", "bus"],
    summary: "bus → phys, showing the path: tree nodes visited and each comparison",
    description:
      "Autotranslated guests walk the tree with the interval test dma_addr <= b < dma_addr + " +
      "size: a handle map_page hands out lies anywhere inside a segment, not only at its first " +
      "byte (the RFC's review asked for ==; the answer shows what == would have done). PV " +
      "guests use the m2p.",
    args: [ADDR],
    options: [SVG_OPTION],
    examples: [
      {
        caption: "Inside a segment: the interval test finds it on the way down",
        line: "lookup bus $bus+0x10",
        setup: ARM_MAPPED,
      },
      {
        caption: "Nowhere in the tree: the error value",
        line: "lookup bus 0x7000000",
        setup: ARM_MAPPED,
      },
      {
        caption: "The tree with the walk drawn on it",
        line: "lookup bus $bus+0x10 --svg lookup.svg",
        run: false,
      },
    ],
    needsGuest: true,
    run: (ctx, [addr], o) => {
      const s = ctx.session;
      const g = s.requireGuest();
      const r = g.lookupBus(parseAddrArg(addr, s.vars, "bus address"));
      s.lastLookup = { guest: g, view: r };
      const json = lookupBusJson(r);
      const text = renderLookupBus(r, s.fmt);
      if (typeof o.svg === "string") {
        const t = g.tree();
        if (!t.present || r.visited.length === 0) {
          // The answer stands; only the drawing is missing, and the note says why.
          json.svg = null;
          text.push(
            `(no SVG written: this lookup walked no tree — ${
              t.present ? "PV translates bus→phys through the m2p" : useWords(t.init.use)
            })`,
          );
          return { json, text };
        }
        text.push(
          ...writeSvg(
            s,
            o.svg,
            "the tree and this walk",
            (f) => treeSvg(t, f, { lookup: r }),
            json,
          ),
        );
      }
      return { json, text };
    },
  },
  {
    path: ["lookup", "phys"],
    summary: "phys → bus: the segment array index (autotranslate) or the p2m (PV)",
    args: [ADDR],
    options: [],
    examples: [
      {
        caption: "A bounce slot: the array index j = (phys - pool) / 256 KiB",
        line: "lookup phys $phys",
        setup: ARM_MAPPED,
      },
    ],
    needsGuest: true,
    run: (ctx, [addr]) => {
      const s = ctx.session;
      const r = s.requireGuest().lookupPhys(parseNum(addr, s.vars, "address"));
      return { json: lookupPhysJson(r), text: renderLookupPhys(r, s.fmt) };
    },
  },
  {
    path: ["segments"],
    summary: "the segment array: phys and bus range of every 256 KiB chunk, alignment check",
    args: [],
    options: [{ flags: "--all", help: "every row, even of a long array" }, SVG_OPTION],
    examples: [
      { caption: "The array of a 1 MiB pool", line: "segments", setup: ARM_MAPPED },
      {
        caption: "Phys lane above bus lane, a line per segment",
        line: "segments --svg segments.svg",
        run: false,
      },
    ],
    needsGuest: true,
    run: (ctx, _args, o) => {
      const s = ctx.session;
      const g = s.requireGuest();
      const v = g.segments();
      const json: Record<string, unknown> = {
        count: v.rows.length,
        misaligned: v.misaligned,
        segments: v.rows.map((r) => ({
          index: r.index,
          dma_addr: r.dmaAddr,
          phys_addr: r.physAddr,
          size: r.size,
          phys_last: r.physAddr + r.size - 1,
          dma_last: r.dmaAddr + r.size - 1,
          slots: r.slots,
          slots_in_use: r.slotsInUse,
          aligned: r.aligned,
          misalignment: r.misalignment,
          mfn_first: r.mfnFirst,
          mfn_last: r.mfnLast,
          translated_bus: r.translatedBus,
        })),
        shared_bus: v.sharedBus,
        mistranslated: v.mistranslated,
      };
      const text = renderSegments(v, s.fmt, o.all === true);
      if (typeof o.svg === "string") {
        if (v.rows.length === 0) {
          throw new LabError(
            v.init.swiotlbXen && !v.init.ok
              ? "No segment array to draw: swiotlb-xen init failed, so there is none " +
                "(guest show --svg FILE draws the failed fixup)"
              : `No segment array to draw: ${useWords(v.init.use)}`,
          );
        }
        const variant = g.config.variant;
        text.push(
          ...writeSvg(s, o.svg, "the segment array", (f) => segmentsSvg(v, f, variant), json),
        );
      }
      return { json, text };
    },
  },
  {
    path: ["tree"],
    summary: "the bus→phys red-black tree: drawing, in-order listing, validation, Graphviz",
    description:
      `Draws the whole tree up to ${FULL_DRAWING_NODES} nodes, else ${FOLDED_DEPTH} levels ` +
      "(--depth N to change, --around ADDR for the path to one node). Nodes read " +
      "'R|B [bus,+size) phys P  position'. --validate checks BST order, overlaps, black root, " +
      "red-red, black heights and parent links and names the node that breaks a rule.",
    args: [],
    options: [
      { flags: "--validate", help: "check the invariants and name the broken node" },
      { flags: "--dot <file>", help: "write the tree as Graphviz", complete: "file" },
      SVG_OPTION,
      { flags: "--depth <n>", help: "draw this many levels below the root" },
      { flags: "--around <addr>", help: "draw the path to the node holding this bus address" },
      { flags: "--inorder", help: "list every node in bus order" },
    ],
    examples: [
      { caption: "The whole tree of a 1 MiB pool", line: "tree", setup: ARM_ONLY },
      { caption: "Every invariant, checked", line: "tree --validate", setup: ARM_ONLY },
      {
        caption: "The path to the node that holds a handle",
        line: "tree --around $bus",
        setup: ARM_MAPPED,
      },
      { caption: "Graphviz for a drawing", line: "tree --dot tree.dot", run: false },
      {
        caption: "The tree as a drawing, nil leaves and all",
        line: "tree --svg tree.svg",
        run: false,
      },
    ],
    needsGuest: true,
    run: (ctx, _args, o) => {
      const s = ctx.session;
      const g = s.requireGuest();
      const fmt = s.fmt;
      const t = g.tree();
      if (!t.present) {
        const why = useWords(t.init.use);
        if (typeof o.dot === "string" || typeof o.svg === "string") {
          throw new LabError(`No tree to write: ${why}`);
        }
        return {
          json: { preorder: [], valid: true, problems: [], nodes: 0, height: 0 },
          text: [`no bus→phys tree: ${why}`],
        };
      }
      const json: Record<string, unknown> = {
        preorder: t.preorder.map((r) => ({
          dma_addr: r.dmaAddr,
          phys_addr: r.physAddr,
          size: r.size,
          color: r.color,
          kind: r.kind,
          segment: r.segment,
          path: r.path,
          slots_in_use: r.slotsInUse,
        })),
        valid: t.problems.length === 0,
        problems: t.problems.map((p) => p.message),
        problem_details: snakeKeys(t.problems),
        nodes: t.preorder.length,
        height: t.height,
      };
      const text: string[] = [];
      if (typeof o.dot === "string") {
        s.writeOutput(o.dot, treeDot(t.preorder), "tree --dot");
        json.dot = o.dot;
        text.push(
          `wrote Graphviz of ${
            plural(t.preorder.length, "node")
          } to ${o.dot} (dot -Tsvg ${o.dot} -o tree.svg)`,
        );
      }
      text.push(
        ...writeSvg(
          s,
          o.svg,
          `the tree (${plural(t.preorder.length, "node")})`,
          (f) => treeSvg(t, f),
          json,
        ),
      );
      const onlyFiles = (typeof o.dot === "string" || typeof o.svg === "string") &&
        o.around === undefined && o.depth === undefined && o.inorder === undefined;
      if (o.validate === true) {
        text.push(...validateLines(t.problems, t.preorder.length, fmt));
        return { json, text };
      }
      if (onlyFiles) return { json, text };
      let focus: string | undefined;
      if (typeof o.around === "string") {
        const a = parseAddrArg(o.around, s.vars, "bus address");
        const path = g.treePathAt(a);
        if (path === null) throw new LabError(`No tree node holds bus address ${fmt.num(a)}`);
        focus = path;
      }
      const maxDepth = typeof o.depth === "string"
        ? parseCount(o.depth, s.vars, "depth")
        : t.preorder.length <= FULL_DRAWING_NODES
        ? Infinity
        : FOLDED_DEPTH;
      if (t.preorder.length === 0) {
        text.push("tree: empty (no node was inserted, or every insert was undone)");
        return { json, text };
      }
      text.push(
        `tree: ${plural(t.preorder.length, "node")}, height ${t.height}, ` +
          (t.problems.length ? fmt.err("INVALID (tree --validate)") : fmt.green("valid")),
      );
      text.push(...drawTree(t.preorder, fmt, { maxDepth, focus }));
      text.push(
        fmt.dim(
          "(map and unmap never change this tree: it holds the bus→phys mapping of every " +
            "segment, free or in use — 'N used' counts a segment's slots in use)",
        ),
      );
      if (o.inorder === true || (focus === undefined && t.inorder.length <= INORDER_NODES)) {
        text.push("in order:", ...inorderLines(t.inorder, fmt));
      } else {
        text.push(fmt.dim(`(in-order listing of ${t.inorder.length} nodes: tree --inorder)`));
      }
      return { json, text };
    },
  },
  {
    path: ["slots"],
    summary: "the free-list counters (io_tlb_list) as a map of used / free runs, the hint",
    args: [{
      name: "SEGMENT",
      help: "one segment in detail (default: the whole pool)",
      optional: true,
    }],
    options: [SVG_OPTION],
    examples: [
      { caption: "The pool as a map of busy segments", line: "slots", setup: ARM_MAPPED },
      { caption: "The pool as a strip of segments", line: "slots --svg slots.svg", run: false },
      {
        caption: "One segment slot by slot, with the counters",
        line: "slots 0",
        setup: ARM_MAPPED,
      },
    ],
    needsGuest: true,
    run: (ctx, [segText], o) => {
      const s = ctx.session;
      const g = s.requireGuest();
      const seg = segText === undefined ? undefined : parseCount(segText, s.vars, "segment");
      const r = g.slots(seg);
      const json = slotsJson(r);
      const text = renderSlots(r, s.fmt);
      text.push(...writeSvg(s, o.svg, "the slots", (f) => slotsSvg(r, f), json));
      return { json, text };
    },
  },
  {
    path: ["p2m"],
    summary: "pfn → mfn for a range of guest frames, as machine-contiguous runs",
    args: [
      { name: "PFN", help: "first guest frame number" },
      { name: "COUNT", help: "frames (default 16)", optional: true },
    ],
    options: [],
    examples: [
      {
        caption: "A PV guest's frames: machine-contiguous runs of the fragmented layout",
        line: "p2m 0x0 16",
        setup: PV_NIC,
      },
    ],
    needsGuest: true,
    run: (ctx, [pfn, count]) => {
      const s = ctx.session;
      const v = s.requireGuest().p2m(
        parseNum(pfn, s.vars, "pfn"),
        count === undefined ? 16 : parseCount(count, s.vars, "count"),
      );
      return { json: { pfn: v.pfn, count: v.count, runs: v.runs }, text: renderP2m(v, s.fmt) };
    },
  },
  {
    path: ["m2p"],
    summary: "mfn → owner and pfn (Xen's m2p)",
    args: [{ name: "MFN", help: "a machine frame number" }],
    options: [],
    examples: [{ caption: "Whose frame is this?", line: "m2p 0x100", setup: ARM_ONLY }],
    needsGuest: true,
    run: (ctx, [mfn]) => {
      const s = ctx.session;
      const r = s.requireGuest().m2p(parseNum(mfn, s.vars, "mfn"));
      const fmt = s.fmt;
      return {
        json: {
          mfn: r.mfn,
          owner: r.owner.kind,
          owner_domid: "domid" in r.owner ? r.owner.domid : null,
          owner_pfn: r.owner.kind === "domain" ? r.owner.pfn : null,
          pfn: r.pfn,
          phys: r.phys,
        },
        text: [
          `mfn ${fmt.num(r.mfn)}: ${ownerWords(r.owner, fmt)}` +
          (r.phys === null ? "" : ` (guest phys ${fmt.num(r.phys)})`),
        ],
      };
    },
  },
  {
    path: ["stats"],
    summary: "counters: maps, bounces, fast paths, bytes each way, slots, tree, UB events",
    args: [],
    options: [],
    examples: [{ caption: "After one bounce", line: "stats", setup: ARM_MAPPED }],
    needsGuest: true,
    run: (ctx) => {
      const st = ctx.session.requireGuest().stats();
      return { json: { ...st }, text: ["stats:", ...renderStats(st, ctx.session.fmt)] };
    },
  },
];
