/**
 * Guest configuration: the schema, the presets of SPEC §12, and TOML/JSON guest files
 * whose keys are the `guest new` flags.
 *
 * @module
 */

import { parse as parseToml, TomlError } from "smol-toml";
import { formatSize } from "../addr.ts";
import { LabError } from "../errors.ts";
import { checkSetting, parseSwiotlb, SETTINGS, unknownKey } from "./schema.ts";

export { parseSwiotlb };
import type { Policy } from "../swiotlb/mod.ts";
import type { Variant } from "../swiotlb_xen/translate.ts";
import type { UseReason } from "./views.ts";

/** PV (the guest sees machine frames) or autotranslated (it does not). */
export type Mode = "pv" | "auto";

/** Initial machine layout of the guest's pages (SPEC §4). */
export type Layout = "contiguous" | "fragmented" | "reverse";

/** Fault injection applied before swiotlb-xen initialises (SPEC §4). */
export interface FaultConfig {
  /** Make the next N exchanges fail. */
  failNext?: number;
  /** With failNext: this many exchange calls go through first (a fixup that fails part-way). */
  failAfter?: number;
  /** Fail every exchange asking for fewer address bits than this. */
  failBelowBits?: number;
  /** Take every free machine frame below 2^bits away. */
  exhaustLowBits?: number;
}

/** Everything that defines a guest. */
export interface GuestConfig {
  /** Preset name, or "custom". */
  name: string;
  mode: Mode;
  iommu: boolean;
  arch: "x86" | "arm";
  dom0: boolean;
  /** Guest memory in bytes (default 2 GiB). */
  mem: number;
  /** Machine memory in bytes (default 8 GiB). */
  machine: number;
  layout: Layout;
  /** `swiotlb=` in slots, rounded up to 128; undefined for the default 32768. */
  swiotlb: number | undefined;
  /** swiotlb_force. */
  force: boolean;
  /** A PCI device is passed through (makes a PV domU use swiotlb-xen). */
  passthrough: boolean;
  /**
   * Initialise swiotlb-xen late (as pci_xen_swiotlb_init_late does): a failed init returns
   * its error instead of panicking. A PV domU with only a passed-through device always
   * takes the late path.
   */
  lateInit: boolean;
  /**
   * What-if: segment j's bus base is shifted by (j × busSkew) mod 256 KiB — impossible with
   * Xen's buddy allocator, which only hands out naturally aligned extents (SPEC §7).
   */
  busSkew: number;
  /** Guest-physical = machine for every page (an ARM dom0 in 3.11). */
  identity: boolean;
  policy: Policy;
  variant: Variant;
  seed: number;
  /** Bytes of guest memory skipped before the pool (to unalign it, SPEC §6 rfc-v1). */
  poolOffset: number;
  /** DMA-API debug layer (SPEC §8). */
  debug: boolean;
  faults: FaultConfig;
}

/** The input of {@link resolveConfig}: any subset, plus an optional preset to start from. */
export type GuestInput = Partial<GuestConfig> & { preset?: string };

const GiB = 1024 ** 3;

/** The defaults every preset starts from. */
export const DEFAULT_CONFIG: GuestConfig = {
  name: "custom",
  mode: "pv",
  iommu: false,
  arch: "x86",
  dom0: true,
  mem: 2 * GiB,
  machine: 8 * GiB,
  layout: "contiguous",
  swiotlb: undefined,
  force: false,
  passthrough: false,
  lateInit: false,
  busSkew: 0,
  identity: false,
  policy: "checked",
  variant: "rfc",
  seed: 1,
  poolOffset: 0,
  debug: true,
  faults: {},
};

/** SPEC §12. */
export const PRESETS: Record<string, { description: string; config: Partial<GuestConfig> }> = {
  "pv-dom0": {
    description: "x86 PV dom0 on a fragmented layout: swiotlb-xen translates with its own p2m",
    config: { mode: "pv", arch: "x86", dom0: true, layout: "fragmented" },
  },
  "pv-domu-passthrough": {
    description: "x86 PV domU with a passed-through PCI device: swiotlb-xen because of the device",
    config: {
      mode: "pv",
      arch: "x86",
      dom0: false,
      passthrough: true,
      layout: "fragmented",
      mem: 1 * GiB,
    },
  },
  "arm-dom0": {
    description:
      "ARM dom0, autotranslated, no IOMMU: the RFC's case (segment array + bus→phys tree)",
    config: { mode: "auto", arch: "arm", dom0: true, identity: true, layout: "contiguous" },
  },
  "arm-dom0-smmu": {
    description: "ARM dom0 behind an SMMU: no swiotlb-xen at all, bus = guest-physical",
    config: { mode: "auto", arch: "arm", dom0: true, iommu: true, layout: "contiguous" },
  },
  "pvh-dom0": {
    description: "x86 PVH dom0 without an IOMMU: every segment's bus address is 0, init fails",
    config: { mode: "auto", arch: "x86", dom0: true, layout: "contiguous" },
  },
  "pvh-dom0-iommu": {
    description: "x86 PVH dom0 with an IOMMU: no swiotlb-xen, bus = guest-physical",
    config: { mode: "auto", arch: "x86", dom0: true, iommu: true, layout: "contiguous" },
  },
};

/**
 * Merges preset → overrides onto the defaults and validates the result.
 * Flags given with a preset override the preset's values (SPEC §10).
 */
export function resolveConfig(input: GuestInput): GuestConfig {
  let base: GuestConfig = { ...DEFAULT_CONFIG, faults: {} };
  if (input.preset !== undefined) {
    const p = Object.hasOwn(PRESETS, input.preset) ? PRESETS[input.preset] : undefined;
    if (!p) {
      throw new LabError(
        `Unknown preset "${input.preset}": expected one of ${Object.keys(PRESETS).join(", ")}`,
      );
    }
    base = { ...base, ...p.config, name: input.preset };
  }
  const { preset: _preset, ...rest } = input;
  const cfg: GuestConfig = { ...base, ...stripUndefined(rest) };
  cfg.faults = { ...base.faults, ...(input.faults ?? {}) };
  for (const key of ["mode", "arch", "layout", "policy", "variant"] as const) {
    checkSetting(key, cfg[key]);
  }
  if (cfg.arch === "arm" && cfg.mode === "pv") {
    throw new LabError(
      "Bad guest: ARM guests are always autotranslated",
      "usage",
      "arm-is-autotranslated",
    );
  }
  if (cfg.identity && (cfg.mode !== "auto" || cfg.layout !== "contiguous")) {
    throw new LabError(
      "Bad guest: an identity-mapped guest must be autotranslated with the contiguous layout",
    );
  }
  for (const [key, min] of [["mem", 4 * 1024 * 1024], ["machine", 64 * 1024 * 1024]] as const) {
    const v = cfg[key];
    if (!Number.isInteger(v) || v < min || v % 4096 !== 0) {
      throw new LabError(
        `Bad guest setting ${key} = ${v}: expected whole pages, at least ${min} bytes`,
      );
    }
  }
  if (cfg.mem > cfg.machine / 2) {
    throw new LabError(
      `Bad guest: ${formatSize(cfg.mem)} of guest memory for a machine of ${
        formatSize(cfg.machine)
      } (at most half, so Xen keeps low memory)`,
    );
  }
  if (cfg.swiotlb !== undefined) {
    if (!Number.isInteger(cfg.swiotlb) || cfg.swiotlb <= 0) {
      throw new LabError(
        `Bad guest setting swiotlb = ${cfg.swiotlb}: expected a positive slot count`,
      );
    }
    // setup_io_tlb_npages: ALIGN(nslabs, IO_TLB_SEGSIZE).
    cfg.swiotlb = Math.ceil(cfg.swiotlb / 128) * 128;
  }
  if (!Number.isInteger(cfg.busSkew) || cfg.busSkew < 0 || cfg.busSkew % 4096 !== 0) {
    throw new LabError(
      `Bad guest setting bus_skew = ${cfg.busSkew}: expected whole pages (4K, 8K, …)`,
      "usage",
      "bad-config",
    );
  }
  // The schema's ranges, whatever set the value (a file key or a flag).
  checkSetting("seed", cfg.seed);
  const f = cfg.faults;
  if (f.failNext !== undefined) checkSetting("fail_exchanges", f.failNext);
  if (f.failAfter !== undefined) checkSetting("fail_after", f.failAfter);
  if (f.failBelowBits !== undefined) checkSetting("fail_below", f.failBelowBits);
  if (f.exhaustLowBits !== undefined) checkSetting("exhaust_low", f.exhaustLowBits);
  if (!Number.isInteger(cfg.poolOffset) || cfg.poolOffset < 0) {
    throw new LabError(`Bad guest setting pool_offset = ${cfg.poolOffset}`);
  }
  return cfg;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The longest guest file {@link parseGuestFile} takes (256 KiB); a longer one is refused. */
export const GUEST_FILE_MAX_BYTES = 256 << 10;

/** A parser's complaint in one line: where, and why (never the file's text at length). */
function parseComplaint(e: unknown): string {
  if (e instanceof TomlError) {
    const why = e.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    return `line ${e.line}, column ${e.column}: ${why}`;
  }
  const first = (e as Error).message.split("\n")[0];
  return first.length > 120 ? first.slice(0, 120) + "…" : first;
}

/**
 * Parses a TOML (`.toml`) or JSON guest file into a {@link GuestInput}. A UTF-8 BOM is
 * fine; a key given twice (in TOML, or as `late-init` and `late_init`) is an error.
 */
export function parseGuestFile(text: string, fileName: string): GuestInput {
  if (text.length > GUEST_FILE_MAX_BYTES) {
    throw new LabError(
      `Cannot read guest file ${fileName}: it is over 256 KiB, the most a guest file may be`,
      "usage",
      "bad-config",
    );
  }
  let raw: unknown;
  try {
    const body = text.startsWith("\ufeff") ? text.slice(1) : text;
    raw = fileName.toLowerCase().endsWith(".json") ? JSON.parse(body) : parseToml(body);
  } catch (e) {
    throw new LabError(
      `Cannot read guest file ${fileName}: ${parseComplaint(e)}`,
      "usage",
      "bad-config",
    );
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new LabError(`Cannot read guest file ${fileName}: expected a table of settings`);
  }
  const out: GuestInput = {};
  const seen = new Set<string>();
  for (const [k, v] of Object.entries(raw)) {
    const key = k.replaceAll("-", "_");
    const setting = Object.hasOwn(SETTINGS, key) ? SETTINGS[key] : undefined;
    if (!setting) throw unknownKey(k, fileName);
    if (seen.has(key)) {
      throw new LabError(`Cannot read guest file ${fileName}: ${key} is given twice`);
    }
    seen.add(key);
    setting.set(checkSetting(key, v), out);
  }
  return out;
}

/** Why this configuration runs swiotlb-xen or not (SPEC §5). */
export function useReason(c: GuestConfig): UseReason {
  if (c.mode === "auto") return c.iommu ? "auto-iommu" : "auto-no-iommu";
  return c.dom0 ? "pv-dom0" : c.force ? "pv-force" : c.passthrough ? "pv-passthrough" : "pv-domu";
}
