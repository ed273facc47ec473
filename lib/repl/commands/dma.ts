/**
 * The DMA API verbs (SPEC §7, §10): map / unmap / sync, scatter-gather, coherent
 * memory, device reads and writes, dma_supported.
 *
 * @module
 */

import { bitsFromMask, maskFromBits } from "../../addr.ts";
import { type Direction, directionName, parseDirection } from "../../direction.ts";
import { LabError } from "../../errors.ts";
import type { DmaAccessView } from "../../guest/mod.ts";
import type { SyncTarget } from "../../dma/ops.ts";
import {
  fillPattern,
  parseAddrArg,
  parseBytes,
  parseNum,
  parsePhysRef,
  parseSgElem,
  type SgRef,
} from "../args.ts";
import { hexdump, toColonHex, toHex } from "../render/format.ts";
import {
  mapError,
  mapJson,
  renderCoherent,
  renderCopied,
  renderMap,
  renderSg,
  sgError,
  sgJson,
} from "../render/dma.ts";
import { next } from "../render/guest.ts";
import { freeWords, ownerWords } from "../render/words.ts";
import type { ArgSpec, CommandSpec, Ctx, OptSpec } from "../table.ts";

const DIRS = ["to", "from", "bidi", "none"] as const;

const DEV: ArgSpec = { name: "DEV", help: "a device (device add)", complete: "device" };
const BUS: ArgSpec = { name: "BUS", help: "a bus address (dma handle), e.g. 0x7f840000 or $bus" };
const SIZE: ArgSpec = { name: "SIZE", help: "bytes: 4096, 0x1000, 4K" };
const DIR: ArgSpec = {
  name: "DIR",
  help: "to, from, bidi, none (or DMA_TO_DEVICE, …)",
  complete: "dir",
};
const FOR: OptSpec = {
  flags: "--for <target>",
  help: "cpu (sync_single_for_cpu) or device (…_for_device)",
  choices: ["cpu", "device"],
  required: true,
};

/**
 * parseDirection, refusing what is not a direction. (lib/direction.ts looks names up in
 * a plain object, so "constructor" would come back as a function: guard it here.)
 */
function dirOf(text: string): Direction {
  const d = parseDirection(text);
  if (typeof d !== "number") {
    throw new LabError(
      `Cannot parse direction "${text}": expected to, from, bidi or none (or DMA_TO_DEVICE, …)`,
    );
  }
  return d;
}

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

const PAGE: OptSpec = {
  flags: "--page",
  help: "dma_map_page / dma_unmap_page instead of …_single (the debug layer tells them apart)",
};

function target(v: string | boolean | undefined): SyncTarget {
  if (v !== "cpu" && v !== "device") throw new LabError("sync needs --for cpu or --for device");
  return v;
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

/** The DMA verbs. */
export const dmaCommands: CommandSpec[] = [
  {
    path: ["map"],
    summary: "dma_map_single/page: map SIZE bytes of a buffer for a device",
    description:
      "PV guests take the fast path when the range is dma_capable and machine-contiguous; " +
      "autotranslated guests always bounce through the pool (SPEC §7). Sets $bus and $phys.",
    args: [
      DEV,
      {
        name: "BUF|PHYS",
        help: "buffer name (rx, rx+0x100) or a guest-physical address",
        complete: "buffer",
      },
      SIZE,
      DIR,
    ],
    options: [PAGE],
    examples: ["map nic rx 8K to", "map nic rx+0x800 2K from", "map nic 0x1a0402000 4K bidi"],
    needsGuest: true,
    run: (ctx, [dev, where, sizeText, dirText], o) => {
      const s = ctx.session;
      const g = s.requireGuest();
      const ref = parsePhysRef(where, g, s.vars);
      const size = parseNum(sizeText, s.vars, "size");
      const dir = dirOf(dirText);
      const r = g.map(dev, ref.phys, size, dir, o.page === true);
      const c = { dev, size, dir, arch: g.config.arch };
      const text = renderMap(r, c, s.fmt);
      if (r.error) return { json: mapJson(r, c), text, error: mapError(r, c, s.fmt) };
      s.vars.set("bus", r.bus);
      s.vars.set("phys", r.phys);
      if (r.slot !== null) s.vars.set("slot", r.slot);
      return { json: mapJson(r, c), text };
    },
  },
  {
    path: ["unmap"],
    summary: "dma_unmap_single/page: copy back (from/bidi) and free the bounce slots",
    args: [DEV, BUS, SIZE, DIR],
    options: [PAGE],
    examples: ["unmap nic 0x7f840000 8K to", "unmap nic $bus 8K from"],
    needsGuest: true,
    run: (ctx, [dev, bus, size, dir], o) => {
      const s = ctx.session;
      const b = parseAddrArg(bus, s.vars, "bus address");
      const d = dirOf(dir);
      const r = s.requireGuest().unmap(dev, b, parseNum(size, s.vars, "size"), d, o.page === true);
      return {
        json: { ok: true, copied: r.copied },
        text: renderCopied(
          `unmapped ${s.fmt.num(b)} (${directionName(d)})`,
          r.copied,
          d,
          true,
          s.fmt,
        ),
      };
    },
  },
  {
    path: ["map-error"],
    summary: "dma_mapping_error: is this handle the error code? (the debug layer notes the check)",
    description:
      "x86 recognises 0, arm only all-ones (SPEC §7). With the DMA-API debug layer on, a " +
      "mapping whose handle never went through map-error is reported at unmap as " +
      "'failed to check map error' (SPEC §8).",
    args: [DEV, BUS],
    options: [],
    examples: ["map-error nic $bus", "map-error nic 0"],
    needsGuest: true,
    run: (ctx, [dev, bus]) => {
      const s = ctx.session;
      const b = parseAddrArg(bus, s.vars, "bus address");
      const g = s.requireGuest();
      const r = g.mappingError(dev, b);
      const fmt = s.fmt;
      const rule = g.config.arch === "x86" ? "x86 compares with 0" : "arm compares with all-ones";
      return {
        json: { mapping_error: r.error, marked: r.marked },
        text: [
          `dma_mapping_error(${dev}, ${fmt.num(b)}) = ${
            r.error ? fmt.err("true") : fmt.green("false")
          } (${rule})` +
          (r.marked ? "; the debug layer notes the handle as checked" : ""),
        ],
      };
    },
  },
  {
    path: ["sync"],
    summary: "dma_sync_single_for_cpu / _for_device",
    args: [DEV, BUS, SIZE, DIR],
    options: [FOR],
    examples: ["sync nic $bus 8K from --for cpu", "sync nic $bus 8K to --for device"],
    needsGuest: true,
    run: (ctx, [dev, bus, size, dir], o) => {
      const s = ctx.session;
      const b = parseAddrArg(bus, s.vars, "bus address");
      const d = dirOf(dir);
      const t = target(o.for);
      const r = s.requireGuest().sync(dev, b, parseNum(size, s.vars, "size"), d, t);
      return {
        json: { ok: true, copied: r.copied, for: t },
        text: renderCopied(`sync ${s.fmt.num(b)} for ${t}`, r.copied, d, t === "cpu", s.fmt),
      };
    },
  },
  {
    path: ["map-sg"],
    summary: "dma_map_sg: map a scatterlist, element by element (never merged)",
    args: [...SG_ARGS, DIR],
    options: [],
    examples: ["map-sg nic rx:0:4K rx:4K:4K to", "map-sg nic a b c bidi"],
    needsGuest: true,
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
    examples: ["unmap-sg nic rx:0:4K rx:4K:4K to"],
    needsGuest: true,
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
    examples: ["sync-sg nic rx:0:4K rx:4K:4K from --for cpu"],
    needsGuest: true,
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
  {
    path: ["alloc-coherent"],
    summary: "dma_alloc_coherent: memory both CPU and device see, under the coherent mask",
    args: [DEV, SIZE],
    options: [],
    examples: ["alloc-coherent nic 16K"],
    needsGuest: true,
    run: (ctx, [dev, size]) => {
      const s = ctx.session;
      const n = parseNum(size, s.vars, "size");
      const r = s.requireGuest().allocCoherent(dev, n);
      s.vars.set("bus", r.bus);
      s.vars.set("phys", r.phys);
      return {
        json: { bus: r.bus, phys: r.phys, size: r.size, exchanged: r.exchanged, reason: r.route },
        text: renderCoherent(r, dev, s.fmt),
      };
    },
  },
  {
    path: ["free-coherent"],
    summary: "dma_free_coherent",
    args: [DEV, BUS, SIZE],
    options: [],
    examples: ["free-coherent nic $bus 16K"],
    needsGuest: true,
    run: (ctx, [dev, bus, size]) => {
      const s = ctx.session;
      const b = parseAddrArg(bus, s.vars, "bus address");
      const r = s.requireGuest().freeCoherent(dev, b, parseNum(size, s.vars, "size"));
      return {
        json: { ok: true, leaked: r.leaked, leaked_bytes: r.leakedBytes, how: r.how },
        text: [
          `freed coherent ${s.fmt.num(b)}: ${freeWords(r.how)}` +
          (r.leaked ? " — " + s.fmt.yellow(`${r.leakedBytes} bytes leaked`) : ""),
        ],
      };
    },
  },
  {
    path: ["dma", "read"],
    summary: "the device reads LEN bytes at a bus address (through the IOMMU, if any)",
    args: [DEV, BUS, { name: "LEN", help: "bytes to read" }],
    options: [],
    examples: ["dma read nic $bus 16"],
    needsGuest: true,
    run: (ctx, [dev, bus, len]) => {
      const s = ctx.session;
      const b = parseAddrArg(bus, s.vars, "bus address");
      const r = s.requireGuest().dmaRead(dev, b, parseNum(len, s.vars, "length"));
      const fmt = s.fmt;
      const bytes = r.bytes;
      return {
        json: { bytes: toHex(bytes), pieces: piecesJson(r.pieces) },
        text: [
          `${dev} read ${bytes.length} bytes at bus ${fmt.num(r.bus)} from ${
            r.pieces.map((p) => ownerWords(p.owner, fmt)).join(", ")
          }:`,
          ...hexdump(bytes, r.bus, fmt),
        ],
      };
    },
  },
  {
    path: ["dma", "write"],
    summary: "the device writes bytes at a bus address; stray writes are named",
    description:
      "BYTES is hex or a quoted string. With --pattern P, LEN bytes (positional or --len; " +
      "default the pattern's length) are written by repeating P.",
    args: [DEV, BUS, {
      name: "BYTES|LEN",
      help: "hex / quoted string, or a length with --pattern",
    }],
    options: [
      { flags: "--pattern <p>", help: "repeat these bytes" },
      { flags: "--len <n>", help: "with --pattern: bytes to write" },
    ],
    examples: ["dma write nic $bus de:ad:be:ef", "dma write nic $bus 8K --pattern a5"],
    needsGuest: true,
    run: (ctx, [dev, bus, data], o) => {
      const s = ctx.session;
      const b = parseAddrArg(bus, s.vars, "bus address");
      const pattern = typeof o.pattern === "string" ? o.pattern : undefined;
      let bytes: Uint8Array;
      if (pattern !== undefined) {
        const p = parseBytes(pattern, ctx.quoted.has(pattern));
        const lenText = typeof o.len === "string" ? o.len : data;
        bytes = fillPattern(
          p,
          lenText === undefined ? p.length : parseNum(lenText, s.vars, "length"),
        );
      } else {
        if (data === undefined) throw new LabError("dma write: give BYTES or --pattern P");
        bytes = parseBytes(data, ctx.quoted.has(data));
      }
      const g = s.requireGuest();
      const r = g.dmaWrite(dev, b, bytes);
      const fmt = s.fmt;
      const stray = r.pieces.filter((p) => p.stray);
      return {
        json: { written: bytes.length, pieces: piecesJson(r.pieces), stray: stray.length },
        text: [
          `${dev} wrote ${bytes.length} bytes at bus ${fmt.num(r.bus)} into ${
            r.pieces.map((p) => ownerWords(p.owner, fmt)).join(", ")
          }: ${toColonHex(bytes)}`,
          ...stray.map((p) =>
            "  " + fmt.err("stray write: ") +
            `machine frame ${fmt.num(p.mfn)} is not ${g.domain.name}'s: ${ownerWords(p.owner, fmt)}`
          ),
        ],
      };
    },
  },
  {
    path: ["dma-supported"],
    summary: "dma_supported(dev, mask): can the pool's last byte be reached under MASK?",
    args: [DEV, { name: "MASK", help: "bits (32) or a mask (0xffffffff)" }],
    options: [],
    examples: ["dma-supported nic 32", "dma-supported nic 0xffffff"],
    needsGuest: true,
    run: (ctx, [dev, maskText]) => {
      const s = ctx.session;
      const mask = /^\d+$/.test(maskText) && Number(maskText) <= 64
        ? maskFromBits(Number(maskText))
        : parseNum(maskText, s.vars, "mask");
      const ok = s.requireGuest().dmaSupported(dev, mask);
      let bits: number | null = null;
      try {
        bits = bitsFromMask(mask);
      } catch {
        bits = null;
      }
      return {
        json: { supported: ok, mask, mask_bits: bits },
        text: [
          `dma_supported(${dev}, ${s.fmt.num(mask)}) = ${
            ok ? s.fmt.green("yes") : s.fmt.err("no")
          }` +
          `: the bus address of the pool's last byte is ${ok ? "under" : "above"} the mask`,
        ],
      };
    },
  },
];

/** The pieces of a device access, for `--json`. */
function piecesJson(pieces: DmaAccessView["pieces"]): Record<string, unknown>[] {
  return pieces.map((p) => ({
    bus: p.bus,
    maddr: p.maddr,
    len: p.len,
    mfn: p.mfn,
    owner: p.owner,
    stray: p.stray,
  }));
}

/** Directions offered by completion. */
export const DIRECTION_WORDS: readonly string[] = DIRS;
