/**
 * Verbs that build and describe the guest: `guest new|load|show|presets`,
 * `device add|remove|list`, `buf alloc|write|read` (SPEC §10, §12).
 *
 * @module
 */

import { parseSize } from "../../addr.ts";
import { LabError } from "../../errors.ts";
import { EventLog } from "../../events.ts";
import {
  Guest,
  guestFileOf,
  type GuestInput,
  parseGuestFile,
  parseSwiotlb,
  PRESETS,
} from "../../guest/mod.ts";
import { GUEST_FILE_MAX_BYTES, readUserFile, sizeWords } from "../files.ts";
import { fillPattern, parseBits, parseBytes, parseCount, parseNum } from "../args.ts";
import { hexdump, MAX_SHOWN_BYTES, notShown, toColonHex, toHex } from "../render/format.ts";
import {
  deviceJson,
  guestJson,
  next,
  renderBuffer,
  renderDevice,
  renderGuest,
  renderPresets,
} from "../render/guest.ts";
import { ARM_MAPPED, ARM_NIC, ARM_ONLY } from "../examples.ts";
import type { CommandSpec, Ctx, Opts, Reply } from "../table.ts";
import { fixupSvg } from "../render/svg/fixup.ts";
import { SVG_OPTION, writeSvg } from "./_svg_out.ts";
import { checkGuestName, replacedWords } from "./guests.ts";
import { GUEST_NEW_OPTIONS } from "./_guest_options.ts";
import { didYouMean } from "../suggest.ts";
import { snakeKeys } from "../render/json_keys.ts";

const str = (v: string | boolean | undefined): string | undefined =>
  typeof v === "string" ? v : undefined;
const flag = (v: string | boolean | undefined): boolean | undefined =>
  typeof v === "boolean" ? v : undefined;

/** resolveConfig looks presets up in a plain object: keep "constructor" and friends out. */
function checkPreset(preset: string): string {
  if (!Object.hasOwn(PRESETS, preset)) {
    const names = Object.keys(PRESETS);
    throw new LabError(
      `Unknown preset "${preset.slice(0, 40)}"${didYouMean(preset, names)} ` +
        `(presets: ${names.join(", ")})`,
      "usage",
      "unknown-preset",
    );
  }
  return preset;
}

/** The flags of `guest new`, turned into the engine's {@link GuestInput}. */
function guestInput(ctx: Ctx, o: Opts): GuestInput {
  const vars = ctx.session.vars;
  const input: GuestInput = {};
  const preset = str(o.preset);
  if (preset !== undefined) input.preset = checkPreset(preset);
  const set = <K extends keyof GuestInput>(k: K, v: GuestInput[K] | undefined) => {
    if (v !== undefined) input[k] = v;
  };
  set("mode", str(o.mode) as GuestInput["mode"]);
  set("arch", str(o.arch) as GuestInput["arch"]);
  set("layout", str(o.layout) as GuestInput["layout"]);
  set("policy", str(o.policy) as GuestInput["policy"]);
  set("variant", str(o.variant) as GuestInput["variant"]);
  set("iommu", flag(o.iommu));
  set("dom0", flag(o.dom0));
  set("force", flag(o.force));
  set("passthrough", flag(o.passthrough));
  set("lateInit", flag(o.lateInit));
  set("identity", flag(o.identity));
  set("debug", flag(o.debug) ?? ctx.session.debug);
  const mem = str(o.mem);
  if (mem !== undefined) input.mem = parseSize(mem, "--mem");
  const machine = str(o.machine);
  if (machine !== undefined) input.machine = parseSize(machine, "--machine");
  const swiotlb = str(o.swiotlb);
  if (swiotlb !== undefined) input.swiotlb = parseSwiotlb(swiotlb);
  const seed = str(o.seed);
  if (seed !== undefined) input.seed = parseCount(seed, vars, "--seed");
  const busSkew = str(o.busSkew);
  if (busSkew !== undefined) input.busSkew = parseSize(busSkew, "--bus-skew");
  const poolOffset = str(o.poolOffset);
  if (poolOffset !== undefined) input.poolOffset = parseSize(poolOffset, "--pool-offset");
  const faults: NonNullable<GuestInput["faults"]> = {};
  const failNext = str(o.failExchanges);
  if (failNext !== undefined) faults.failNext = parseCount(failNext, vars, "--fail-exchanges");
  const failAfter = str(o.failAfter);
  if (failAfter !== undefined) faults.failAfter = parseCount(failAfter, vars, "--fail-after");
  const failBelow = str(o.failBelow);
  if (failBelow !== undefined) faults.failBelowBits = parseBits(failBelow, "--fail-below");
  const exhaust = str(o.exhaustLow);
  if (exhaust !== undefined) faults.exhaustLowBits = parseBits(exhaust, "--exhaust-low");
  if (Object.keys(faults).length > 0) input.faults = faults;
  return input;
}

/** Builds the guest and makes it the session's; the old one stays on failure. */
function startGuest(ctx: Ctx, input: GuestInput, extra: Record<string, unknown> = {}): Reply {
  const events = new EventLog();
  events.tracing = ctx.session.trace;
  events.explaining = ctx.session.explain;
  const s = ctx.session;
  const name = typeof extra.name === "string" ? checkGuestName(extra.name) : s.guestName;
  const g = Guest.create(input, events);
  const old = s.installGuest(name, g);
  if (g.init.ok) s.vars.set("pool", g.init.poolPhys);
  const view = g.view();
  const text = renderGuest(view, s.fmt);
  if (old) text.push(...replacedWords(name, old, s.fmt));
  return { json: { ...guestJson(view), ...extra, name }, text };
}

/** What `buf read` without a LEN shows: a glance (the rest is a command away). */
const DEFAULT_SHOWN_BYTES = 256;

/** The guest verbs. */
export const guestCommands: CommandSpec[] = [
  {
    path: ["guest", "new"],
    summary: "build a guest and initialise swiotlb-xen (or not, per its mode)",
    description:
      "Builds Xen, the domain and its DMA ops, then runs xen_swiotlb_init with the RFC's fixup " +
      "(xen_swiotlb_fixup). Flags given with --preset override the preset's values. A failed " +
      "retry reuses " +
      "the memory the failed pool freed (top-down on x86, first fit on ARM). dom0 and a forced " +
      "PV domU initialise at boot: a failed init ends in a kernel panic, as 3.11's does, and " +
      "the guest is dead until the next guest new; --late-init (and a PV domU with a " +
      "passed-through device) returns the error instead and leaves a live guest without " +
      "swiotlb-xen's DMA ops. 'expect init failed' checks either.",
    args: [],
    options: GUEST_NEW_OPTIONS,
    examples: [
      {
        caption: "The RFC's case: an autotranslated ARM dom0 without an IOMMU",
        line: "guest new --preset arm-dom0 --swiotlb 1M",
      },
      {
        caption: "A preset with a flag on top: always bounce",
        line: "guest new --preset pv-dom0 --force --swiotlb 1M",
      },
      {
        caption:
          "Five exchanges fail: dma_bits climbs past 21, the first width with free memory, to 23",
        line: "guest new --preset arm-dom0 --swiotlb 1M --fail-exchanges 5",
      },
    ],
    run: (ctx, _args, o) =>
      startGuest(ctx, guestInput(ctx, o), typeof o.name === "string" ? { name: o.name } : {}),
  },
  {
    path: ["guest", "load"],
    summary: "build a guest from a TOML or JSON file (keys as the guest new flags)",
    description: `FILE must be a regular file of at most ${sizeWords(GUEST_FILE_MAX_BYTES)}, ` +
      "TOML unless its name ends in .json; a key given twice in TOML (or as late-init and late_init) is an error; JSON keeps the last.",
    args: [{ name: "FILE", help: "a .toml or .json guest file", complete: "file" }],
    options: [{ flags: "--name <name>", help: "keep it under this name (guest use / list)" }],
    examples: [
      {
        caption: 'Keys as the guest new flags, e.g. preset = "arm-dom0" and swiotlb = "4M"',
        line: "guest load my-guest.toml",
        run: false,
      },
    ],
    run: (ctx, [file], o) => {
      const path = ctx.session.resolvePath(file);
      const text = readUserFile(ctx.session.files, path, file, "guest file", GUEST_FILE_MAX_BYTES);
      const input = parseGuestFile(text, file);
      if (input.preset !== undefined) checkPreset(input.preset);
      if (input.debug === undefined) input.debug = ctx.session.debug;
      return startGuest(ctx, input, typeof o.name === "string" ? { file, name: o.name } : { file });
    },
  },
  {
    path: ["guest", "show"],
    summary: "describe the current guest, its devices and buffers (--svg: the fixup timeline)",
    args: [],
    options: [{ ...SVG_OPTION, help: "also write the init fixup as an SVG timeline" }],
    examples: [
      { caption: "The guest, its devices and buffers", line: "guest show", setup: ARM_NIC },
      {
        caption: "dma_bits of every exchange, per attempt",
        line: "guest show --svg fixup.svg",
        run: false,
      },
    ],
    needsGuest: true,
    run: (ctx, _args, o) => {
      const g = ctx.session.requireGuest();
      const fmt = ctx.session.fmt;
      const view = g.view();
      const text = renderGuest(view, fmt).slice(0, -1);
      const devices = g.devices();
      const buffers = g.buffers();
      text.push(devices.length ? "devices:" : "devices: none (device add NAME --mask 32)");
      for (const d of devices) text.push("  " + renderDevice(d, fmt));
      text.push(buffers.length ? "buffers:" : "buffers: none (buf alloc NAME SIZE)");
      for (const b of buffers) {
        text.push(`  ${fmt.bold(b.name)}: phys ${fmt.num(b.phys)}, ${fmt.size(b.size)}`);
      }
      const json: Record<string, unknown> = {
        ...guestJson(view),
        name: ctx.session.guestName,
        config: guestFileOf(g.config),
        devices: devices.map(deviceJson),
        buffers: buffers.map((b) => ({ buf: b.name, phys: b.phys, size: b.size })),
      };
      text.push(
        ...writeSvg(ctx.session, o.svg, "the fixup timeline", (f) => fixupSvg(view.init, f), json),
      );
      return {
        json,
        text,
      };
    },
  },
  {
    path: ["guest", "presets"],
    summary: "list the ready-made guests (presets) and what each shows",
    args: [],
    options: [],
    examples: [{ caption: "The ready-made guests", line: "guest presets" }],
    run: (ctx) => ({
      json: {
        presets: Object.entries(PRESETS).map(([name, p]) => ({
          name,
          description: p.description,
          config: snakeKeys(p.config),
        })),
      },
      text: renderPresets(PRESETS, ctx.session.fmt),
    }),
  },
  {
    path: ["device", "add"],
    summary: "add a DMA-capable device with its masks",
    description:
      "Without --mask the device has no dma_mask at all, so dma_capable() is false for " +
      "every address (as for a device whose driver never called dma_set_mask).",
    args: [{ name: "NAME", help: "a new device name" }],
    options: [
      { flags: "--mask <bits>", help: "dma_mask width in bits (e.g. 32)" },
      { flags: "--coherent-mask <bits>", help: "coherent_dma_mask width (default: --mask)" },
      { flags: "--boundary <mask>", help: "segment boundary mask (default 0xffffffff)" },
      { flags: "--max-seg <size>", help: "max segment size (default 64K)" },
    ],
    examples: [
      { caption: "A 32-bit device", line: "device add nic --mask 32", setup: ARM_ONLY },
      {
        caption: "A 64-bit device whose DMA may not cross 64 KiB",
        line: "device add disk --mask 64 --boundary 0xffff",
        setup: ARM_ONLY,
      },
    ],
    needsGuest: true,
    needsKernel: true,
    run: (ctx, [name], o) => {
      const g = ctx.session.requireGuest();
      const vars = ctx.session.vars;
      const mask = str(o.mask);
      const cmask = str(o.coherentMask);
      const boundary = str(o.boundary);
      const maxSeg = str(o.maxSeg);
      const d = g.addDevice({
        name,
        maskBits: mask === undefined ? undefined : parseBits(mask),
        coherentMaskBits: cmask === undefined ? undefined : parseBits(cmask, "coherent mask"),
        segBoundary: boundary === undefined ? undefined : parseNum(boundary, vars, "boundary"),
        maxSegSize: maxSeg === undefined ? undefined : parseNum(maxSeg, vars, "max segment size"),
      });
      const fmt = ctx.session.fmt;
      return {
        json: deviceJson(d),
        text: [
          renderDevice(d, fmt),
          "  " + next(fmt, "buf alloc rx 8K", `map ${d.name} rx 8K to`),
        ],
      };
    },
  },
  {
    path: ["device", "remove"],
    summary: "remove a device; the debug layer reports leaked mappings",
    args: [{ name: "NAME", help: "a device", complete: "device" }],
    options: [],
    examples: [
      {
        caption: "Removing a device with a live mapping: the debug layer reports the leak",
        line: "device remove nic",
        setup: ARM_MAPPED,
      },
    ],
    needsGuest: true,
    needsKernel: true,
    run: (ctx, [name]) => {
      const r = ctx.session.requireGuest().removeDevice(name);
      // The leaks are DMA-API debug reports: they print with the command's events.
      return {
        json: { device: name, removed: true, leaks: r.leaks },
        text: [
          `device ${name} removed` +
          (r.leaks.length ? ` with ${r.leaks.length} live mapping(s): the driver leaked them` : ""),
        ],
      };
    },
  },
  {
    path: ["device", "list"],
    summary: "list the devices",
    args: [],
    options: [],
    examples: [{ caption: "The devices", line: "device list", setup: ARM_NIC }],
    needsGuest: true,
    run: (ctx) => {
      const ds = ctx.session.requireGuest().devices();
      return {
        json: { devices: ds.map(deviceJson) },
        text: ds.length
          ? ds.map((d) => renderDevice(d, ctx.session.fmt))
          : ["no devices: device add nic --mask 32"],
      };
    },
  },
  {
    path: ["buf", "alloc"],
    summary: "allocate a CPU buffer in guest memory (kmalloc alignment by default)",
    args: [
      { name: "NAME", help: "a new buffer name" },
      { name: "SIZE", help: "bytes: 4096, 0x1000, 4K, 2M" },
    ],
    options: [{
      flags: "--align <n>",
      help: "alignment (default: size rounded up to a power of two, at most a page)",
    }],
    examples: [
      { caption: "8 KiB, page aligned as kmalloc would", line: "buf alloc tx 8K", setup: ARM_ONLY },
      {
        caption: "100 bytes at a 16-byte boundary",
        line: "buf alloc odd 100 --align 16",
        setup: ARM_ONLY,
      },
    ],
    needsGuest: true,
    needsKernel: true,
    run: (ctx, [name, size], o) => {
      const g = ctx.session.requireGuest();
      const vars = ctx.session.vars;
      const align = str(o.align);
      const b = g.allocBuffer(
        name,
        parseNum(size, vars, "size"),
        align === undefined ? undefined : parseNum(align, vars, "alignment"),
      );
      vars.set(b.name, b.phys);
      const view = g.bufferView(b.name);
      return {
        json: {
          buf: b.name,
          phys: b.phys,
          size: b.size,
          first_pfn: view.firstPfn,
          last_pfn: view.lastPfn,
          frames: view.frames,
        },
        text: renderBuffer(view, ctx.session.fmt),
      };
    },
  },
  {
    path: ["buf", "write"],
    summary: "write bytes (or a repeated pattern) into a buffer, as the CPU",
    description:
      "BYTES is hex (de:ad:be:ef, deadbeef) or a quoted string. With --pattern P the range " +
      "from OFF (default 0) for --len bytes (default: to the end) is filled by repeating P.",
    args: [
      { name: "NAME", help: "a buffer", complete: "buffer" },
      { name: "OFF", help: "offset (only when BYTES follows, or with --pattern)", optional: true },
      { name: "BYTES", help: "hex or a quoted string", optional: true },
    ],
    options: [
      { flags: "--pattern <p>", help: "repeat these bytes over the range" },
      { flags: "--len <n>", help: "with --pattern: bytes to fill" },
    ],
    examples: [
      { caption: "Four bytes at the start", line: "buf write rx de:ad:be:ef", setup: ARM_NIC },
      { caption: "A string at offset 0x10", line: 'buf write rx 0x10 "hello"', setup: ARM_NIC },
      { caption: "Fill the whole buffer", line: "buf write rx --pattern 5a", setup: ARM_NIC },
    ],
    needsGuest: true,
    needsKernel: true,
    run: (ctx, [name, a, b], o) => {
      const g = ctx.session.requireGuest();
      const vars = ctx.session.vars;
      const buf = g.buffer(name);
      const pattern = str(o.pattern);
      let offset = 0;
      let bytes: Uint8Array;
      if (pattern !== undefined) {
        if (b !== undefined) throw new LabError("buf write: give BYTES or --pattern, not both");
        if (a !== undefined) offset = parseNum(a, vars, "offset");
        const p = parseBytes(pattern, ctx.quoted.has(pattern));
        const lenText = str(o.len);
        const len = lenText === undefined ? buf.size - offset : parseNum(lenText, vars, "length");
        if (len <= 0) throw new LabError(`buf write: nothing to fill at offset ${offset}`);
        // The range first: a length past the buffer is refused before a byte is built.
        g.readBuffer(name, offset, len, 0);
        bytes = fillPattern(p, len);
      } else {
        const data = b ?? a;
        if (data === undefined) {
          throw new LabError("buf write: give BYTES (hex or a quoted string) or --pattern P");
        }
        if (b !== undefined) offset = parseNum(a, vars, "offset");
        bytes = parseBytes(data, ctx.quoted.has(data));
      }
      g.writeBuffer(name, offset, bytes);
      const fmt = ctx.session.fmt;
      return {
        json: { buf: name, offset, written: bytes.length, phys: buf.phys + offset },
        text: [
          `wrote ${bytes.length} bytes to ${name}+${fmt.num(offset)} (phys ${
            fmt.num(buf.phys + offset)
          }): ${toColonHex(bytes)}`,
        ],
      };
    },
  },
  {
    path: ["buf", "read"],
    summary: "read a buffer as the CPU sees it (hex dump)",
    args: [
      { name: "NAME", help: "a buffer", complete: "buffer" },
      { name: "OFF", help: "offset (default 0)", optional: true },
      {
        name: "LEN",
        help: `bytes (default: to the end, of which the first ${DEFAULT_SHOWN_BYTES} are shown; ` +
          `at most ${MAX_SHOWN_BYTES} with LEN)`,
        optional: true,
      },
    ],
    options: [],
    examples: [
      { caption: "Sixteen bytes as the CPU sees them", line: "buf read rx 0 16", setup: ARM_NIC },
    ],
    needsGuest: true,
    run: (ctx, [name, off, len]) => {
      const g = ctx.session.requireGuest();
      const vars = ctx.session.vars;
      const buf = g.buffer(name);
      const offset = off === undefined ? 0 : parseNum(off, vars, "offset");
      const n = len === undefined ? Math.max(0, buf.size - offset) : parseNum(len, vars, "length");
      // The whole range is checked; only what is shown is read and printed.
      const most = len === undefined ? DEFAULT_SHOWN_BYTES : MAX_SHOWN_BYTES;
      const bytes = g.readBuffer(name, offset, n, most);
      const fmt = ctx.session.fmt;
      const text = [`${name}+${fmt.num(offset)} (phys ${fmt.num(buf.phys + offset)}), ${n} bytes:`];
      text.push(...hexdump(bytes, buf.phys + offset, fmt));
      const next = `buf read ${name} ${fmt.num(offset + bytes.length)} LEN`;
      text.push(...notShown(n - bytes.length, next, most));
      return {
        json: { buf: name, offset, bytes: toHex(bytes), length: n, shown: bytes.length },
        text,
      };
    },
  },
];
