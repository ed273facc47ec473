/**
 * Sizes, alignment, masks and hex formatting: the one place that does address
 * arithmetic tricks (DESIGN.md "Numbers").
 *
 * Addresses are doubles below 2^52, so nothing here uses 32-bit bitwise operators on
 * them. Masks are always of the form 2^n - 1 (the kernel's boundary test BUGs on
 * anything else), which lets `& mask` be a remainder.
 *
 * @module
 */

import { LabError } from "./errors.ts";

/** PAGE_SHIFT: a page is 4096 bytes (SPEC §2). */
export const PAGE_SHIFT = 12;
/** PAGE_SIZE. */
export const PAGE_SIZE = 4096;
/** IO_TLB_SHIFT: a slot ("slab") is 2048 bytes (SPEC §2). */
export const IO_TLB_SHIFT = 11;
/** Bytes in one slot, 1 << IO_TLB_SHIFT. */
export const IO_TLB_SIZE = 2048;
/** IO_TLB_SEGSIZE: slots in a segment, the largest possible bounce mapping. */
export const IO_TLB_SEGSIZE = 128;
/** Bytes in one segment (IO_TLB_SEGSIZE << IO_TLB_SHIFT) = 256 KiB. */
export const SEGMENT_BYTES = IO_TLB_SEGSIZE * IO_TLB_SIZE;
/** Addresses must stay below this so that doubles hold them exactly (SPEC §2). */
export const ADDRESS_LIMIT = 2 ** 52;

/**
 * The 64-bit all-ones value (`~0ULL`, shown as 0xffffffffffffffff). A double cannot
 * hold 2^64 - 1, so the sentinel is 2^64 itself: it compares above every address, and
 * `(ALL_ONES + 1) / 2048` is the kernel's 2^53 "never binding" max_slots (SPEC §3).
 */
export const ALL_ONES = 2 ** 64;

const KIB = 1024;
const UNITS: Record<string, number> = {
  "": 1,
  k: KIB,
  m: KIB ** 2,
  g: KIB ** 3,
  t: KIB ** 4,
};

/** True when `x` is ALL_ONES, the 64-bit all-ones sentinel. */
export function isAllOnes(x: number): boolean {
  return x === ALL_ONES;
}

/**
 * Parses a number as the kernel engineer types it: `4096`, `0x1000`, `4K`, `2M`, `1G`,
 * `4KiB`, and `0xffffffffffffffff` (which becomes {@link ALL_ONES}).
 *
 * @example
 * ```ts
 * import { parseSize } from "./addr.ts";
 * parseSize("4K"); // 4096
 * parseSize("0x1000"); // 4096
 * ```
 */
export function parseSize(text: string, what = "size"): number {
  const t = text.trim();
  const hex = /^0x([0-9a-f_]+)$/i.exec(t);
  if (hex) {
    const big = BigInt("0x" + hex[1].replaceAll("_", ""));
    if (big === (1n << 64n) - 1n) return ALL_ONES;
    if (big >= BigInt(ADDRESS_LIMIT)) {
      throw new LabError(`Cannot parse ${what} "${text}": above 2^52`);
    }
    return Number(big);
  }
  const dec = /^([0-9][0-9_]*)(?:\.([0-9]+))?\s*([kmgt]?)(?:i?b)?$/i.exec(t);
  if (!dec) {
    throw new LabError(
      `Cannot parse ${what} "${text}": expected a number like 4096, 0x1000, 4K or 2M`,
    );
  }
  const unit = UNITS[dec[3].toLowerCase()];
  const value = Number(dec[1].replaceAll("_", "") + (dec[2] ? "." + dec[2] : "")) * unit;
  if (!Number.isInteger(value)) {
    throw new LabError(`Cannot parse ${what} "${text}": not a whole number of bytes`);
  }
  if (value >= ADDRESS_LIMIT) {
    throw new LabError(`Cannot parse ${what} "${text}": above 2^52`);
  }
  return value;
}

/** Rounds `x` up to a multiple of `a` (any positive `a`, not only powers of two). */
export function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/** Rounds `x` down to a multiple of `a`. */
export function alignDown(x: number, a: number): number {
  return Math.floor(x / a) * a;
}

/** True when `x` is a multiple of `a`. */
export function isAligned(x: number, a: number): boolean {
  return x % a === 0;
}

/** DIV_ROUND_UP. */
export function divRoundUp(x: number, d: number): number {
  return Math.ceil(x / d);
}

/**
 * DMA_BIT_MASK(bits): 2^bits - 1; 64 gives {@link ALL_ONES}. For 53…63 bits the
 * double rounds to 2^bits, which keeps `mask + 1` exact — the only use of such masks.
 */
export function maskFromBits(bits: number): number {
  if (!Number.isInteger(bits) || bits < 0 || bits > 64) {
    throw new LabError(`Cannot make a DMA mask of ${bits} bits: expected 0 to 64`);
  }
  if (bits === 64) return ALL_ONES;
  if (bits > 52) return 2 ** bits;
  return 2 ** bits - 1;
}

/** The number of bits of a mask of the form 2^n - 1 (inverse of {@link maskFromBits}). */
export function bitsFromMask(mask: number): number {
  if (mask === ALL_ONES) return 64;
  if (mask > ADDRESS_LIMIT) return Math.round(Math.log2(mask));
  const bits = Math.round(Math.log2(mask + 1));
  if (2 ** bits - 1 !== mask) {
    throw new LabError(`Mask ${formatHex(mask)} is not of the form 2^n - 1`);
  }
  return bits;
}

/**
 * `addr & mask` for a mask of the form 2^n - 1, exact on doubles. A mask of 52 bits or
 * more keeps every address whole.
 */
export function andMask(addr: number, mask: number): number {
  if (mask >= ADDRESS_LIMIT - 1) return addr;
  return addr % (mask + 1);
}

/** True when `a | b` has no bit above `mask` (mask of the form 2^n - 1). */
export function fitsMask(a: number, b: number, mask: number): boolean {
  return a <= mask && b <= mask;
}

/** Index of the highest set bit plus one (fls64): 0 for 0, 32 for 0xffffffff. */
export function fls(x: number): number {
  if (x <= 0) return 0;
  if (x === ALL_ONES) return 64;
  let bits = 0;
  while (2 ** bits <= x) bits++;
  return bits;
}

/** Hex with 0x prefix; {@link ALL_ONES} prints as 0xffffffffffffffff. */
export function formatHex(x: number): string {
  if (x === ALL_ONES) return "0xffffffffffffffff";
  if (x < 0) return "-0x" + (-x).toString(16);
  return "0x" + x.toString(16);
}

/** A number in the given radix: hex with 0x, or plain decimal. */
export function formatNumber(x: number, radix: 10 | 16 = 16): string {
  if (radix === 16) return formatHex(x);
  if (x === ALL_ONES) return "18446744073709551615";
  return x.toString(10);
}

/** A size with a binary unit when it divides evenly: 4 KiB, 256 KiB, 64 MiB, 3000 bytes. */
export function formatSize(bytes: number): string {
  for (
    const [unit, scale] of [["TiB", KIB ** 4], ["GiB", KIB ** 3], ["MiB", KIB ** 2], [
      "KiB",
      KIB,
    ]] as const
  ) {
    if (bytes >= scale && bytes % scale === 0) return `${bytes / scale} ${unit}`;
  }
  return bytes === 1 ? "1 byte" : `${bytes} bytes`;
}

/** Page frame number of an address (addr >> PAGE_SHIFT). */
export function pfnOf(addr: number): number {
  return Math.floor(addr / PAGE_SIZE);
}

/** Offset inside the page (addr & ~PAGE_MASK). */
export function pageOffset(addr: number): number {
  return addr % PAGE_SIZE;
}
