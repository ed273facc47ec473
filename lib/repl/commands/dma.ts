/**
 * The DMA API verbs (SPEC §7, §10): map / unmap / sync, coherent memory, device reads
 * and writes, dma_supported (scatter-gather is in sg.ts).
 *
 * @module
 */

import { type Addr, bitsFromMask, maskFromBits } from "../../addr.ts";
import { type Direction, directionName } from "../../direction.ts";
import type { MapResult, SyncTarget } from "../../dma/ops.ts";
import { LabError } from "../../errors.ts";
import type { DmaAccessView, SwiotlbVerdict } from "../../guest/mod.ts";
import { fillPattern, parseAddrArg, parseBytes, parseNum, parsePhysRef } from "../args.ts";
import {
  type Fmt,
  hexdump,
  MAX_SHOWN_BYTES,
  notShown,
  toColonHex,
  toHex,
} from "../render/format.ts";
import {
  type MapContext,
  mapError,
  mapJson,
  renderCoherent,
  renderCopied,
  renderMap,
} from "../render/dma.ts";
import { freeWords, ownerWords, verdictWords } from "../render/words.ts";
import { ARM_COHERENT, ARM_MAPPED, ARM_MAPPED_BIDI, ARM_NIC, PV_NIC } from "../examples.ts";
import type { CommandSpec, OptSpec } from "../table.ts";
import { BUS, DEV, DIR, dirOf, FOR, SIZE, target } from "./_dma_args.ts";
import { snakeKeys } from "../render/json_keys.ts";

const PAGE: OptSpec = {
  flags: "--page",
  help: "dma_map_page / dma_unmap_page instead of …_single (the debug layer tells them apart)",
};

/** The DMA verbs. */
/** What a device can reach, for `help dma read` and `help dma write` (SPEC §7). */
const DEVICE_REACH =
  "Without an IOMMU a device reaches only the bus addresses its DMA mask covers: under " +
  "--policy checked an address past the mask is refused and nothing moves; under faithful " +
  "it is truncated to the mask, as the device's missing address lines would, and the " +
  "answer names whose frame it hit. With an IOMMU, an address it does not map faults.";

export const dmaCommands: CommandSpec[] = [
  {
    path: ["map"],
    summary: "dma_map_single/page: map SIZE bytes of a buffer for a device",
    description:
      "PV guests take the fast path when the range is dma_capable and machine-contiguous; " +
      "autotranslated guests always bounce through the pool. Sets $bus and $phys.",
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
    examples: [
      {
        caption: "An ARM dom0 always bounces: 8 KiB take 4 slots of segment 0",
        line: "map nic rx 8K to",
        setup: ARM_NIC,
      },
      {
        caption: "Part of a buffer, for the device to fill (nothing is copied at map time)",
        line: "map nic rx+0x800 2K from",
        setup: ARM_NIC,
      },
      {
        caption: "A PV dom0's pages lie above 4 GiB: beyond a 32-bit mask, so it bounces",
        line: "map nic rx 4K bidi",
        setup: PV_NIC,
      },
    ],
    needsGuest: true,
    needsKernel: true,
    run: (ctx, [dev, where, sizeText, dirText], o) => {
      const s = ctx.session;
      const g = s.requireGuest();
      const ref = parsePhysRef(where, g, s.vars);
      const size = parseNum(sizeText, s.vars, "size");
      const dir = dirOf(dirText);
      const r = g.map(dev, ref.phys, size, dir, o.page === true);
      const c = { dev, size, dir, arch: g.config.arch };
      const text = drawMap(r, c, s.fmt.fixed());
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
    examples: [
      {
        caption: "Unmap what map returned ($bus): the slots go back to the free list",
        line: "unmap nic $bus 8K to",
        setup: ARM_MAPPED,
      },
      {
        caption: "A wrong size: the debug layer reports it and checked refuses the call",
        line: "unmap nic $bus 4K to",
        setup: ARM_MAPPED,
      },
    ],
    needsGuest: true,
    needsKernel: true,
    run: (ctx, [dev, bus, size, dir], o) => {
      const s = ctx.session;
      const b = parseAddrArg(bus, s.vars, "bus address");
      const d = dirOf(dir);
      const r = s.requireGuest().unmap(dev, b, parseNum(size, s.vars, "size"), d, o.page === true);
      return {
        json: { ok: true, copied: r.copied, is_xen_swiotlb_buffer: r.swiotlb },
        text: drawCopied("unmap", b, r, d, true, s.fmt.fixed()),
      };
    },
  },
  {
    path: ["map-error"],
    summary: "dma_mapping_error: is this handle the error code? (the debug layer notes the check)",
    description: "x86 recognises 0, arm only all-ones. With the DMA-API debug layer on, a " +
      "mapping whose handle never went through map-error is reported at unmap as " +
      "'failed to check map error'.",
    args: [DEV, BUS],
    options: [],
    examples: [
      { caption: "A good handle, noted as checked", line: "map-error nic $bus", setup: ARM_MAPPED },
      {
        caption: "arm's dma_mapping_error only knows all-ones: 0 passes",
        line: "map-error nic 0",
        setup: ARM_NIC,
      },
    ],
    needsGuest: true,
    needsKernel: true,
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
    examples: [
      {
        caption: "Let the CPU see what the device wrote (bounce → CPU)",
        line: "sync nic $bus 8K bidi --for cpu",
        setup: ARM_MAPPED_BIDI,
      },
      {
        caption: "Send the CPU's new bytes to the device again (CPU → bounce)",
        line: "sync nic $bus 8K bidi --for device",
        setup: ARM_MAPPED_BIDI,
      },
    ],
    needsGuest: true,
    needsKernel: true,
    run: (ctx, [dev, bus, size, dir], o) => {
      const s = ctx.session;
      const b = parseAddrArg(bus, s.vars, "bus address");
      const d = dirOf(dir);
      const t = target(o.for);
      const r = s.requireGuest().sync(dev, b, parseNum(size, s.vars, "size"), d, t);
      return {
        json: { ok: true, copied: r.copied, for: t, is_xen_swiotlb_buffer: r.swiotlb },
        text: drawCopied(t, b, r, d, t === "cpu", s.fmt.fixed()),
      };
    },
  },
  {
    path: ["alloc-coherent"],
    summary: "dma_alloc_coherent: memory both CPU and device see, under the coherent mask",
    args: [DEV, SIZE],
    options: [],
    examples: [
      {
        caption: "Autotranslate: exchanged with Xen, and a node in the bus→phys tree",
        line: "alloc-coherent nic 16K",
        setup: ARM_NIC,
      },
    ],
    needsGuest: true,
    needsKernel: true,
    run: (ctx, [dev, size]) => {
      const s = ctx.session;
      const n = parseNum(size, s.vars, "size");
      const r = s.requireGuest().allocCoherent(dev, n);
      s.vars.set("bus", r.bus);
      s.vars.set("phys", r.phys);
      return {
        json: {
          bus: r.bus,
          phys: r.phys,
          size: r.size,
          exchanged: r.exchanged,
          reason: snakeKeys(r.route),
        },
        text: renderCoherent(r, dev, s.fmt),
      };
    },
  },
  {
    path: ["free-coherent"],
    summary: "dma_free_coherent",
    args: [DEV, BUS, SIZE],
    options: [],
    examples: [
      {
        caption: "Free it with the handle and size it was allocated with",
        line: "free-coherent nic $bus 16K",
        setup: ARM_COHERENT,
      },
    ],
    needsGuest: true,
    needsKernel: true,
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
    description: DEVICE_REACH,
    args: [DEV, BUS, { name: "LEN", help: "bytes to read" }],
    options: [],
    examples: [
      {
        caption: "The device reads the bounce buffer at the handle",
        line: "dma read nic $bus 16",
        setup: ARM_MAPPED,
      },
    ],
    needsGuest: true,
    needsKernel: true,
    run: (ctx, [dev, bus, len]) => {
      const s = ctx.session;
      const b = parseAddrArg(bus, s.vars, "bus address");
      const n = parseNum(len, s.vars, "length");
      if (!(n > 0)) {
        throw new LabError(
          `dma read: LEN must be at least 1 byte, not ${len}`,
          "usage",
          "out-of-range",
        );
      }
      // The whole range is translated; only what is shown is copied out and printed.
      const r = s.requireGuest().dmaRead(dev, b, n, MAX_SHOWN_BYTES);
      const fmt = s.fmt;
      const bytes = r.bytes;
      return {
        json: {
          bytes: toHex(bytes),
          length: n,
          shown: bytes.length,
          pieces: piecesJson(r.pieces),
          truncated: r.truncated,
        },
        text: [
          `${dev} read ${n} bytes at bus ${fmt.num(r.bus)} from ${
            r.pieces.map((p) => ownerWords(p.owner, fmt, p.frames)).join(", ")
          }:`,
          ...truncatedWords(r.truncated, fmt),
          ...hexdump(bytes, r.bus, fmt),
          ...notShown(n - bytes.length, `dma read ${dev} BUS+${bytes.length} LEN`),
        ],
      };
    },
  },
  {
    path: ["dma", "write"],
    summary: "the device writes bytes at a bus address; stray writes are named",
    description:
      "BYTES is hex or a quoted string. With --pattern P, LEN bytes (positional or --len; " +
      "default the pattern's length) are written by repeating P. " + DEVICE_REACH,
    args: [DEV, BUS, {
      name: "BYTES|LEN",
      help: "hex / quoted string, or a length with --pattern",
      // With --pattern the length may come from --len or the pattern itself.
      optional: true,
    }],
    options: [
      { flags: "--pattern <p>", help: "repeat these bytes" },
      { flags: "--len <n>", help: "with --pattern: bytes to write" },
    ],
    examples: [
      {
        caption: "The device writes four bytes at the handle",
        line: "dma write nic $bus de:ad:be:ef",
        setup: ARM_MAPPED_BIDI,
      },
      {
        caption: "8 KiB of a repeated pattern",
        line: "dma write nic $bus 8K --pattern a5",
        setup: ARM_MAPPED_BIDI,
      },
      {
        caption: "The same with --len",
        line: "dma write nic $bus --pattern a5 --len 8K",
        setup: ARM_MAPPED_BIDI,
      },
    ],
    needsGuest: true,
    needsKernel: true,
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
        json: {
          written: bytes.length,
          pieces: piecesJson(r.pieces),
          stray: stray.length,
          truncated: r.truncated,
        },
        text: [
          `${dev} wrote ${bytes.length} bytes at bus ${fmt.num(r.bus)} into ${
            r.pieces.map((p) => ownerWords(p.owner, fmt, p.frames)).join(", ")
          }: ${toColonHex(bytes)}`,
          ...truncatedWords(r.truncated, fmt),
          ...stray.map((p) =>
            "  " + fmt.err("stray write: ") +
            (p.frames > 1
              ? `machine frames ${fmt.num(p.mfn)}-${
                fmt.num(p.mfn + p.frames - 1)
              } are not ${g.domain.name}'s: `
              : `machine frame ${fmt.num(p.mfn)} is not ${g.domain.name}'s: `) +
            ownerWords(p.owner, fmt, p.frames)
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
    examples: [
      {
        caption: "Can a 32-bit device reach the whole pool?",
        line: "dma-supported nic 32",
        setup: ARM_NIC,
      },
      { caption: "A 24-bit mask", line: "dma-supported nic 0xffffff", setup: ARM_NIC },
    ],
    needsGuest: true,
    needsKernel: true,
    run: (ctx, [dev, maskText]) => {
      const s = ctx.session;
      if (/^\d+$/.test(maskText) && Number(maskText) > 64) {
        throw new LabError(
          `dma-supported: ${maskText} bits is more than 64; give bits (32) or a mask in hex ` +
            "(0xffffffff)",
          "usage",
        );
      }
      const mask = /^\d+$/.test(maskText)
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

/*
 * The answers of map, unmap and sync are drawn only when read (table.ts Reply): these
 * make the drawing from the result alone, so the transcript, which keeps it, holds no
 * more of the line than that.
 */

function drawMap(r: MapResult, c: MapContext, fmt: Fmt): () => string[] {
  return () => renderMap(r, c, fmt);
}

/** `unmapped BUS (dir)` or `sync BUS for cpu|device`, and what moved. */
function drawCopied(
  what: "unmap" | SyncTarget,
  bus: Addr,
  r: { copied: number; swiotlb: SwiotlbVerdict | null },
  dir: Direction,
  toCpu: boolean,
  fmt: Fmt,
): () => string[] {
  return () =>
    renderCopied(
      what === "unmap"
        ? `unmapped ${fmt.num(bus)} (${directionName(dir)})`
        : `sync ${fmt.num(bus)} for ${what}`,
      r.copied,
      dir,
      toCpu,
      fmt,
      verdictLine(r.swiotlb),
    );
}

/** is_xen_swiotlb_buffer's say in an unmap or sync answer (none without swiotlb-xen). */
function verdictLine(v: SwiotlbVerdict | null): string[] {
  return v === null ? [] : [`  is_xen_swiotlb_buffer: ${verdictWords(v)}`];
}

/** The hardware's truncation of an address above the device's mask (faithful). */
function truncatedWords(t: DmaAccessView["truncated"], fmt: Fmt): string[] {
  return t === null ? [] : [
    `  ${fmt.err("truncated")}: the device drives ${t.maskBits} address bits, so bus ${
      fmt.num(t.from)
    } reached ${fmt.num(t.to)} — whatever lies there`,
  ];
}

/** The pieces of a device access, for `--json`. */
function piecesJson(pieces: DmaAccessView["pieces"]): Record<string, unknown>[] {
  return pieces.map((p) => ({
    bus: p.bus,
    maddr: p.maddr,
    len: p.len,
    mfn: p.mfn,
    frames: p.frames,
    owner: p.owner,
    stray: p.stray,
  }));
}
