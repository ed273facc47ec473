/**
 * Text and JSON views of a guest: `guest new|load|show|presets`, devices and buffers.
 * Everything shown comes from the engine (config, init, summary); nothing is derived
 * here beyond counting and joining.
 *
 * @module
 */

import { IO_TLB_SIZE } from "../../addr.ts";
import type { Device } from "../../dma/device.ts";
import type { Buffer, Guest } from "../../guest/guest.ts";
import type { Fmt } from "./format.ts";
import { plural, sizeArg } from "./format.ts";

/** `[next: a · b]`, the hint that ends most answers (UX.md). */
export function next(fmt: Fmt, ...cmds: string[]): string {
  return fmt.dim(`[next: ${cmds.join(" · ")}]`);
}

/** "arm, autotranslated, no IOMMU, dom0". */
function flavour(g: Guest): string {
  const c = g.config;
  return [
    c.arch,
    c.mode === "pv" ? "PV" : "autotranslated",
    c.iommu ? "IOMMU" : "no IOMMU",
    c.dom0 ? "dom0" : "domU",
    ...(c.force ? ["swiotlb=force"] : []),
    ...(c.passthrough ? ["passthrough"] : []),
  ].join(", ");
}

/** The fixup story of one init attempt in one line (SPEC §5 step 3). */
function fixupLine(g: Guest, fmt: Fmt): string[] {
  const out: string[] = [];
  const attempts = g.init.attempts;
  attempts.forEach((a, k) => {
    const where = a.poolPhys === undefined ? "no pool" : `pool at phys ${fmt.num(a.poolPhys)}`;
    const bits = a.tries.map((t) => t.dmaBits);
    const segs = new Set(a.tries.map((t) => t.segment)).size;
    const ok = a.tries.filter((t) => t.ok).length;
    const first = a.tries.find((t) => t.ok);
    const story = a.tries.length === 0
      ? ""
      : `; fixup: ${plural(a.tries.length, "exchange")} for ${
        plural(segs, "segment")
      } (${ok} ok), dma_bits ${Math.min(...bits)} → ${Math.max(...bits)}` +
        (first ? ` (first success at ${first.dmaBits} for segment ${first.segment})` : "");
    const verdict = a.failure === "enomem"
      ? fmt.err(" → no memory for the pool")
      : a.failure === "efixup"
      ? fmt.err(" → fixup failed")
      : fmt.green(" → ok");
    const label = attempts.length > 1 ? `attempt ${k + 1}: ` : "";
    out.push(
      `  ${label}${
        fmt.size(a.nslabs * IO_TLB_SIZE)
      } (${a.nslabs} slots), ${where}${story}${verdict}`,
    );
  });
  return out;
}

/** The answer of `guest new` / `guest load` / the head of `guest show`. */
export function renderGuest(g: Guest, fmt: Fmt): string[] {
  const s = g.summary();
  const init = g.init;
  const out: string[] = [];
  out.push(`guest ${fmt.bold(g.config.name)}: ${flavour(g)} → ${g.opsName}`);
  out.push(`  ${init.reason}`);
  out.push(
    `  memory ${fmt.size(s.memBytes)} at phys ${fmt.num(s.physBase)}-${fmt.num(s.physEnd - 1)}` +
      ` (mfns ${fmt.num(s.firstMfn)}…${fmt.num(s.lastMfn)}), machine ${fmt.size(s.machineBytes)}` +
      `, layout ${g.config.layout}`,
  );
  if (init.swiotlbXen) {
    out.push(...fixupLine(g, fmt));
    if (init.ok) {
      out.push(
        `  swiotlb-xen: pool ${
          fmt.size(init.nslabs * IO_TLB_SIZE)
        } (${init.nslabs} slots, ${s.segments} segments) at phys ${fmt.num(init.poolPhys)}`,
      );
    } else {
      out.push(
        fmt.err(`  swiotlb-xen init FAILED after ${plural(init.attempts.length, "attempt")}`) +
          ": no DMA ops; every DMA call will be refused",
      );
    }
    out.push(
      `  tree: ${plural(s.treeNodes, "node")}, height ${s.treeHeight}, ` +
        (s.treeValid ? fmt.green("valid") : fmt.err("INVALID (see 'tree --validate')")),
    );
  } else {
    out.push(
      `  native swiotlb pool ${
        fmt.size(init.nslabs * IO_TLB_SIZE)
      } (${init.nslabs} slots) at phys ${
        fmt.num(init.poolPhys)
      } for buffers beyond a device's mask`,
    );
  }
  out.push(`  policy ${g.config.policy}, variant ${g.config.variant}, seed ${g.config.seed}`);
  out.push(
    "  " +
      (init.ok
        ? next(fmt, "device add nic --mask 32", "buf alloc rx 8K")
        : next(fmt, "tree", "segments", "guest presets")),
  );
  return out;
}

/** The `--json` object of `guest new|load|show` (SPEC §10). */
export function guestJson(g: Guest): Record<string, unknown> {
  const s = g.summary();
  const c = g.config;
  return {
    mode: c.mode,
    arch: c.arch,
    iommu: c.iommu,
    swiotlb_xen: g.init.swiotlbXen,
    nslabs: g.init.nslabs,
    pool_phys: g.init.poolPhys,
    log: [...g.init.log],
    name: c.name,
    dom0: c.dom0,
    init_ok: g.init.ok,
    ops: g.opsName,
    reason: g.init.reason,
    policy: c.policy,
    variant: c.variant,
    segments: s.segments,
    tree_nodes: s.treeNodes,
    tree_height: s.treeHeight,
    tree_valid: s.treeValid,
    attempts: g.init.attempts.map((a) => ({
      nslabs: a.nslabs,
      pool_phys: a.poolPhys ?? null,
      exchanges: a.tries.length,
      failure: a.failure ?? null,
    })),
  };
}

/** One line per device. */
export function renderDevice(d: Device, fmt: Fmt): string {
  const mask = d.dmaMask === undefined
    ? "no dma_mask (never dma_capable)"
    : `dma_mask ${fmt.num(d.dmaMask)} (${d.maskBits} bits)`;
  return `device ${fmt.bold(d.name)}: ${mask}, coherent ${
    fmt.num(d.coherentMask)
  } (${d.coherentMaskBits} bits), boundary ${fmt.num(d.segBoundary)}, max segment ${
    fmt.size(d.maxSegSize)
  }`;
}

/** The `--json` object of a device. */
export function deviceJson(d: Device): Record<string, unknown> {
  return {
    device: d.name,
    mask_bits: d.maskBits ?? null,
    dma_mask: d.dmaMask ?? null,
    coherent_mask_bits: d.coherentMaskBits,
    seg_boundary: d.segBoundary,
    max_seg_size: d.maxSegSize,
  };
}

/** `buf alloc`'s answer: where the buffer lies and how its frames are backed. */
export function renderBuffer(
  b: Buffer,
  runs: { pfn: number; mfn: number; count: number }[] | undefined,
  fmt: Fmt,
): string[] {
  const firstPfn = Math.floor(b.phys / 4096);
  const lastPfn = Math.floor((b.phys + b.size - 1) / 4096);
  const out = [
    `buffer ${fmt.bold(b.name)}: phys ${fmt.num(b.phys)}, ${fmt.size(b.size)} (pfn ${
      firstPfn === lastPfn ? fmt.num(firstPfn) : `${fmt.num(firstPfn)}-${fmt.num(lastPfn)}`
    })`,
  ];
  if (runs && runs.length > 0) {
    const frames = runs.map((r) =>
      r.count === 1
        ? `mfn ${fmt.num(r.mfn)}`
        : `mfn ${fmt.num(r.mfn)}-${fmt.num(r.mfn + r.count - 1)}`
    );
    out.push(
      `  machine frames: ${frames.join(", ")}` +
        (runs.length === 1 ? " (machine-contiguous)" : ` (${runs.length} runs: not contiguous)`),
    );
  }
  out.push(
    "  " + next(fmt, `buf write ${b.name} --pattern 5a`, `map DEV ${b.name} ${sizeArg(b.size)} to`),
  );
  return out;
}

/** `guest presets`. */
export function renderPresets(
  presets: Record<string, { description: string }>,
  fmt: Fmt,
): string[] {
  const names = Object.keys(presets);
  const w = Math.max(...names.map((n) => n.length));
  return [
    "presets (guest new --preset NAME; flags given with it override the preset):",
    ...names.map((n) => `  ${fmt.bold(n.padEnd(w))}  ${presets[n].description}`),
    "  " + next(fmt, "guest new --preset arm-dom0"),
  ];
}
