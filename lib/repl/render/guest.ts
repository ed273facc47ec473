/**
 * Text and JSON views of a guest: `guest new|load|show|presets`, devices and buffers.
 * Everything shown comes from the engine (config, init, summary); nothing is derived
 * here beyond counting and joining.
 *
 * @module
 */

import { IO_TLB_SIZE } from "../../addr.ts";
import type { BufferView, DeviceView as Device, GuestView } from "../../guest/mod.ts";
import type { Fmt } from "./format.ts";
import { plural, sizeArg } from "./format.ts";
import { opsWords, useWords } from "./words.ts";
import { snakeKeys } from "./json_keys.ts";

/** `[next: a · b]`, the hint that ends most answers (UX.md). */
export function next(fmt: Fmt, ...cmds: string[]): string {
  return fmt.dim(`[next: ${cmds.join(" · ")}]`);
}

/** "arm, autotranslated, no IOMMU, dom0". */
function flavour(g: GuestView): string {
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

/** Why a fixup failed: the tree refused a node, or a segment found no memory at any width. */
function fixupWhy(f: GuestView["init"]["attempts"][number]["fixup"], fmt: Fmt): string {
  if (f.refusedInsert) {
    return fmt.err(
      `: xen_dma_add_entry refused segment ${f.refusedInsert.segment}'s node at dma ` +
        `${fmt.num(f.refusedInsert.dmaAddr)} (-EINVAL)`,
    );
  }
  return f.exhausted === null
    ? ""
    : fmt.err(`: segment ${f.exhausted} found no contiguous memory up to dma_bits 32`);
}

/** The fixup story of each init attempt in one line (SPEC §5 step 3). */
function fixupLines(g: GuestView, fmt: Fmt): string[] {
  const attempts = g.init.attempts;
  return attempts.map((a, k) => {
    const where = a.poolPhys === null ? "no pool" : `pool at phys ${fmt.num(a.poolPhys)}`;
    const f = a.fixup;
    const story = f.exchanges === 0
      ? ""
      : `; fixup: ${plural(f.exchanges, "exchange")} for ${
        plural(f.segments, "segment")
      } (${f.okSegments} ok), dma_bits ${f.dmaBitsFirst} → ${f.dmaBitsLast}` +
        (f.firstSuccess
          ? ` (first success at ${f.firstSuccess.dmaBits} for segment ${f.firstSuccess.segment})`
          : "") +
        (f.injectedFailures ? `, ${plural(f.injectedFailures, "injected failure")}` : "");
    const verdict = a.failure === "enomem"
      ? fmt.err(" → no memory for the pool")
      : a.failure === "efixup"
      ? fmt.err(" → fixup failed") + fixupWhy(f, fmt)
      : fmt.green(" → ok");
    const label = attempts.length > 1 ? `attempt ${k + 1}: ` : "";
    return `  ${label}${
      fmt.size(a.nslabs * IO_TLB_SIZE)
    } (${a.nslabs} slots), ${where}${story}${verdict}`;
  });
}

/** The answer of `guest new` / `guest load` / the head of `guest show`. */
export function renderGuest(g: GuestView, fmt: Fmt): string[] {
  const init = g.init;
  const c = g.config;
  const out: string[] = [];
  out.push(`guest ${fmt.bold(c.name)}: ${flavour(g)} → ${opsWords(g.ops, c.variant)}`);
  out.push(`  ${useWords(init.use)}`);
  out.push(
    `  memory ${fmt.size(g.memBytes)} at phys ${fmt.num(g.physBase)}-${fmt.num(g.physEnd - 1)}` +
      ` (mfns ${fmt.num(g.firstMfn)}…${fmt.num(g.lastMfn)}), machine ${fmt.size(g.machineBytes)}` +
      `, layout ${c.layout}`,
  );
  if (init.swiotlbXen) {
    out.push(...fixupLines(g, fmt));
    if (init.ok) {
      out.push(
        `  swiotlb-xen: pool ${fmt.size(init.nslabs * IO_TLB_SIZE)} (${init.nslabs} slots, ${
          plural(init.segments, "segment")
        }) at phys ${fmt.num(init.poolPhys)}`,
      );
    } else if (init.panic !== null) {
      out.push(
        fmt.err(`  Kernel panic - not syncing: ${init.panic.split("\n")[0]}`) +
          ` — the boot-time init ${
            init.attempts.length > 1
              ? `gave up after ${plural(init.attempts.length, "attempt")}`
              : "could not allocate the pool"
          }: the guest is dead, every command that needs its kernel is refused`,
      );
    } else {
      out.push(
        fmt.err(`  swiotlb-xen init FAILED after ${plural(init.attempts.length, "attempt")}`) +
          ": the late path returned the error; no DMA ops, every DMA call will be refused",
      );
    }
    out.push(
      `  tree: ${plural(g.treeNodes, "node")}, height ${g.treeHeight}, ` +
        (g.treeValid ? fmt.green("valid") : fmt.err("INVALID (see 'tree --validate')")),
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
  out.push(`  policy ${c.policy}, variant ${c.variant}, seed ${c.seed}`);
  if (c.poolOffset !== 0) {
    out.push(`  pool offset ${fmt.size(c.poolOffset)} of guest memory skipped before the pool`);
  }
  if (c.busSkew !== 0) {
    out.push(
      fmt.yellow(`  what-if: bus skew ${fmt.size(c.busSkew)}`) +
        ` — segment j's bus base moved by j × ${
          fmt.size(c.busSkew)
        } (mod 256 KiB), which Xen never does`,
    );
  }
  out.push(
    "  " +
      (init.ok
        ? next(fmt, "device add nic --mask 32", "buf alloc rx 8K")
        : next(fmt, "tree", "segments", "guest presets")),
  );
  return out;
}

/** The `--json` object of `guest new|load|show` (SPEC §10 fields first). */
export function guestJson(g: GuestView): Record<string, unknown> {
  const c = g.config;
  const init = g.init;
  return {
    mode: c.mode,
    arch: c.arch,
    iommu: c.iommu,
    swiotlb_xen: init.swiotlbXen,
    nslabs: init.nslabs,
    pool_phys: init.poolPhys,
    log: [...init.log],
    // The preset it started from ("custom" without one); `name` is the session's name for it.
    preset: c.name,
    dom0: c.dom0,
    init_ok: init.ok,
    early: init.early,
    panic: init.panic,
    ops: g.ops,
    use: init.use,
    policy: c.policy,
    variant: c.variant,
    seed: c.seed,
    layout: c.layout,
    pool_offset: c.poolOffset,
    bus_skew: c.busSkew,
    mem_bytes: g.memBytes,
    phys_base: g.physBase,
    phys_end: g.physEnd,
    phys_last: g.physEnd - 1,
    first_mfn: g.firstMfn,
    last_mfn: g.lastMfn,
    machine_bytes: g.machineBytes,
    pool_bytes: init.nslabs * IO_TLB_SIZE,
    segments: init.segments,
    tree_nodes: g.treeNodes,
    tree_height: g.treeHeight,
    tree_valid: g.treeValid,
    attempt_count: init.attempts.length,
    attempts: init.attempts.map((a, k) => ({
      attempt: k + 1,
      nslabs: a.nslabs,
      pool_bytes: a.nslabs * IO_TLB_SIZE,
      pool_phys: a.poolPhys,
      failure: a.failure,
      exchanges: a.fixup.exchanges,
      segments: a.fixup.segments,
      ok_segments: a.fixup.okSegments,
      dma_bits_first: a.fixup.dmaBitsFirst,
      dma_bits_last: a.fixup.dmaBitsLast,
      first_success: snakeKeys(a.fixup.firstSuccess),
      refused_insert: snakeKeys(a.fixup.refusedInsert),
      exhausted_segment: a.fixup.exhausted,
      injected_failures: a.fixup.injectedFailures,
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
    coherent_mask: d.coherentMask,
    seg_boundary: d.segBoundary,
    max_seg_size: d.maxSegSize,
  };
}

/** `buf alloc`'s answer: where the buffer lies and how its frames are backed. */
export function renderBuffer(b: BufferView, fmt: Fmt): string[] {
  const { firstPfn, lastPfn } = b;
  const runs = b.frames;
  const out = [
    `buffer ${fmt.bold(b.name)}: phys ${fmt.num(b.phys)}, ${fmt.size(b.size)} (pfn ${
      firstPfn === lastPfn ? fmt.num(firstPfn) : `${fmt.num(firstPfn)}-${fmt.num(lastPfn)}`
    })`,
  ];
  if (runs.length > 0) {
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
