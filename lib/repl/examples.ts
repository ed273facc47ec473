/**
 * The sessions `help` examples start from. Each example of the command table runs in a
 * fresh session after one of these setups, and `help VERB` shows its caption, the line
 * and the real answer — as crash's help pages show real transcripts — so an example
 * cannot go stale (the help goldens snapshot them).
 *
 * @module
 */

/** An ARM dom0 (the RFC's case) with a 1 MiB pool, a 32-bit NIC and an 8 KiB buffer. */
export const ARM_NIC: readonly string[] = [
  "guest new --preset arm-dom0 --swiotlb 1M",
  "device add nic --mask 32",
  "buf alloc rx 8K",
  "buf write rx de:ad:be:ef",
];

/** {@link ARM_NIC} with rx mapped TO_DEVICE ($bus, $phys set). */
export const ARM_MAPPED: readonly string[] = [...ARM_NIC, "map nic rx 8K to"];

/** {@link ARM_NIC} with rx mapped BIDIRECTIONAL. */
export const ARM_MAPPED_BIDI: readonly string[] = [...ARM_NIC, "map nic rx 8K bidi"];

/** {@link ARM_NIC} with a 16 KiB coherent buffer ($bus set). */
export const ARM_COHERENT: readonly string[] = [...ARM_NIC, "alloc-coherent nic 16K"];

/** {@link ARM_NIC} with rx mapped as a two-element scatterlist. */
export const ARM_SG: readonly string[] = [...ARM_NIC, "map-sg nic rx:0:4K rx:4K:4K to"];

/** An x86 PV dom0 on its fragmented layout, a 32-bit NIC and an 8 KiB buffer. */
export const PV_NIC: readonly string[] = [
  "guest new --preset pv-dom0 --swiotlb 1M",
  "device add nic --mask 32",
  "buf alloc rx 8K",
];

/** A guest and nothing else. */
export const ARM_ONLY: readonly string[] = ["guest new --preset arm-dom0 --swiotlb 1M"];
