/**
 * The sizes the report measures in (KiB … GiB, the model's segment and slot) and how it
 * prints them: shared by the children, the targets and the tables, so all agree.
 *
 * @module
 */

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
/** One swiotlb-xen segment (SPEC §2): one tree node per segment. */
export const SEG = 256 * KiB;
/** One pool slot in bytes: a pool of nslabs slots spans nslabs × SLOT. */
export const SLOT = 2048;

/** "4K", "256K", "64M", "16G". */
export function sizeLabel(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB}G`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB}M`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB}K`;
  return `${bytes}`;
}

/** `digits` decimals, or "—" for a value that is not finite (a missing measurement). */
export function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "—";
}
