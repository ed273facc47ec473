/**
 * The flags of `guest new` (SPEC §10), as the command table declares them. Moved out of
 * guest.ts.
 *
 * @module
 */

/** Every `guest new` option: flags, help and choices. */
export const GUEST_NEW_OPTIONS = [
  { flags: "--name <name>", help: "keep it under this name (guest use / list / drop)" },
  {
    flags: "--preset <name>",
    help: "start from a preset (see 'guest presets')",
    complete: "preset",
  },
  {
    flags: "--mode <mode>",
    help: "pv (sees machine frames) or auto (autotranslated)",
    choices: ["pv", "auto"],
  },
  { flags: "--iommu", help: "the platform has an IOMMU (SMMU / VT-d)" },
  { flags: "--no-iommu", help: "no IOMMU" },
  {
    flags: "--arch <arch>",
    help: "x86 or arm (DMA error code 0 vs all-ones)",
    choices: ["x86", "arm"],
  },
  { flags: "--dom0", help: "the guest is dom0" },
  { flags: "--no-dom0", help: "the guest is a domU" },
  { flags: "--mem <size>", help: "guest memory (default 2G)" },
  { flags: "--machine <size>", help: "machine memory (default 8G)" },
  {
    flags: "--layout <layout>",
    help: "initial p2m layout",
    choices: ["contiguous", "fragmented", "reverse"],
  },
  { flags: "--swiotlb <slots>", help: "swiotlb= : slots (65536) or a size (64M)" },
  { flags: "--force", help: "swiotlb=force: always bounce" },
  { flags: "--no-force", help: "do not force bouncing" },
  { flags: "--passthrough", help: "a PCI device is passed through (PV domU)" },
  { flags: "--no-passthrough", help: "no passed-through device" },
  {
    flags: "--late-init",
    help: "initialise swiotlb-xen late: a failed init returns its error instead of panicking",
  },
  { flags: "--identity", help: "guest-physical = machine (ARM dom0 in 3.11)" },
  { flags: "--no-identity", help: "not identity mapped" },
  {
    flags: "--policy <policy>",
    help: "checked refuses what the kernel leaves undefined; faithful does it and reports UB",
    choices: ["checked", "faithful"],
  },
  {
    flags: "--variant <variant>",
    help: "which posting of the RFC to follow: the later one, or the first (its translation)",
    choices: ["rfc", "rfc-v1"],
  },
  { flags: "--seed <n>", help: "seed of the layout shuffle and allocators" },
  { flags: "--pool-offset <size>", help: "guest memory skipped before the pool (unaligns it)" },
  {
    flags: "--bus-skew <size>",
    help: "what-if: shift segment j's bus base by (j × SIZE) mod 256K — impossible with Xen's " +
      "buddy allocator (aligned extents only); shows when seg[0] as table base is wrong",
  },
  { flags: "--debug", help: "DMA-API debug layer on (default in the REPL)" },
  { flags: "--no-debug", help: "DMA-API debug layer off" },
  { flags: "--fail-exchanges <n>", help: "fault: the next N XENMEM_exchange calls fail" },
  {
    flags: "--fail-after <n>",
    help:
      "fault: with --fail-exchanges, N exchange calls go through first (a fixup failing part-way)",
  },
  { flags: "--fail-below <bits>", help: "fault: every exchange under BITS address bits fails" },
  { flags: "--exhaust-low <bits>", help: "fault: no free machine memory below 2^BITS" },
] as const;
