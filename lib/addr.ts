/**
 * Sizes, alignment, masks and the one hex and size formatter: the only place that does
 * address arithmetic tricks (DESIGN.md "Numbers").
 *
 * Addresses are doubles below 2^52, so nothing here uses 32-bit bitwise operators on
 * them. The 64-bit all-ones value (`~0ULL`) is not a double (2^64 - 1 rounds to 2^64):
 * it is the exact BigInt {@link ALL_ONES}, a value of its own that JSON writes as the
 * string "0xffffffffffffffff" (SPEC §2). Masks are of the form 2^n - 1; those of 53 bits
 * or more are exact BigInts too, so that `addr <= mask` is exact for every address.
 *
 * @module
 */

import { addr, LabError, msg } from "./errors.ts";

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
 * The 64-bit all-ones value `~0ULL` (0xffffffffffffffff), exact: SWIOTLB_MAP_ERROR,
 * arm's DMA_ERROR_CODE, and what the RFC's translations return for "no such address".
 */
export const ALL_ONES = 0xffff_ffff_ffff_ffffn;
/** The type of {@link ALL_ONES}. */
export type AllOnes = typeof ALL_ONES;
/** A `dma_addr_t` or `phys_addr_t` as the engine holds it: below 2^52, or all-ones. */
export type Addr = number | AllOnes;
/** A mask `2^n - 1`: a number below 2^52, an exact BigInt from 53 bits on. */
export type Mask = number | bigint;

const KIB = 1024;
const UNITS: Record<string, number> = { "": 1, k: KIB, m: KIB ** 2, g: KIB ** 3, t: KIB ** 4 };

/**
 * True when `x` is {@link ALL_ONES}.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ALL_ONES, isAllOnes } from "./addr.ts";
 * assertEquals(isAllOnes(ALL_ONES), true);
 * assertEquals(isAllOnes(2 ** 64), false);
 * ```
 */
export function isAllOnes(x: unknown): x is AllOnes {
  return x === ALL_ONES;
}

function tooBig(what: string, text: string): LabError {
  return new LabError(`Cannot parse ${what} "${text}": above 2^52`, "usage", "bad-number");
}

/**
 * Parses an address as the kernel engineer types it: `4096`, `0x1000`, `4K`, `2M`, and
 * `0xffffffffffffffff`, which is {@link ALL_ONES} (anything else must stay below 2^52).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ALL_ONES, parseAddr } from "./addr.ts";
 * assertEquals(parseAddr("0x1000"), 4096);
 * assertEquals(parseAddr("0xffffffffffffffff"), ALL_ONES);
 * ```
 */
export function parseAddr(text: string, what = "address"): Addr {
  const t = text.trim();
  const hex = /^0x([0-9a-f][0-9a-f_]*)$/i.exec(t);
  if (hex) {
    const big = BigInt("0x" + hex[1].replaceAll("_", ""));
    if (big === ALL_ONES) return ALL_ONES;
    if (big >= BigInt(ADDRESS_LIMIT)) throw tooBig(what, text);
    return Number(big);
  }
  const dec = /^([0-9][0-9_]*)(?:\.([0-9]+))?\s*([kmgt]?)(?:i?b)?$/i.exec(t);
  if (!dec) {
    throw new LabError(
      `Cannot parse ${what} "${text}": expected a number like 4096, 0x1000, 4K or 2M`,
      "usage",
      "bad-number",
    );
  }
  const unit = UNITS[dec[3].toLowerCase()];
  const value = Number(dec[1].replaceAll("_", "") + (dec[2] ? "." + dec[2] : "")) * unit;
  if (!Number.isInteger(value)) {
    throw new LabError(
      `Cannot parse ${what} "${text}": not a whole number of bytes`,
      "usage",
      "bad-number",
    );
  }
  if (value >= ADDRESS_LIMIT) throw tooBig(what, text);
  return value;
}

/**
 * Parses a size or count: as {@link parseAddr}, but all-ones is refused (it is no size).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseSize } from "./addr.ts";
 * assertEquals(parseSize("4K"), 4096);
 * assertEquals(parseSize("2M"), 2 * 1024 * 1024);
 * ```
 */
export function parseSize(text: string, what = "size"): number {
  const v = parseAddr(text, what);
  if (typeof v !== "number") throw tooBig(what, text);
  return v;
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

/** Page frame number of an address (addr >> PAGE_SHIFT). */
export function pfnOf(addr: number): number {
  return Math.floor(addr / PAGE_SIZE);
}

/** Offset inside the page (addr & ~PAGE_MASK). */
export function pageOffset(addr: number): number {
  return addr % PAGE_SIZE;
}

/** Pages needed for `bytes` (PFN_UP). */
export function pagesFor(bytes: number): number {
  return Math.ceil(bytes / PAGE_SIZE);
}

/**
 * get_order(bytes): the smallest order with (PAGE_SIZE << order) >= bytes.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getOrder } from "./addr.ts";
 * assertEquals(getOrder(256 * 1024), 6);
 * assertEquals(getOrder(5000), 1);
 * ```
 */
export function getOrder(bytes: number): number {
  let order = 0;
  while (PAGE_SIZE * 2 ** order < bytes) order++;
  return order;
}

/** Bytes of an order-`order` allocation (PAGE_SIZE << order). */
export function orderBytes(order: number): number {
  return PAGE_SIZE * 2 ** order;
}

/** Index of the 256 KiB segment that `offset` bytes into a pool fall in. */
export function segmentOf(offset: number): number {
  return Math.floor(offset / SEGMENT_BYTES);
}

/** The slot index of `addr` in a pool starting at `start` ((addr - start) >> IO_TLB_SHIFT). */
export function slotOf(addr: number, start: number): number {
  return Math.floor((addr - start) / IO_TLB_SIZE);
}

/**
 * DMA_BIT_MASK(bits): 2^bits - 1, exact (a BigInt from 53 bits on).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ALL_ONES, maskFromBits } from "./addr.ts";
 * assertEquals(maskFromBits(32), 0xffffffff);
 * assertEquals(maskFromBits(64), ALL_ONES);
 * ```
 */
export function maskFromBits(bits: number): Mask {
  if (!Number.isInteger(bits) || bits < 0 || bits > 64) {
    throw new LabError(`Cannot make a DMA mask of ${bits} bits: expected 0 to 64`);
  }
  if (bits > 52) return (1n << BigInt(bits)) - 1n;
  return 2 ** bits - 1;
}

/** The number of bits of a mask of the form 2^n - 1 (inverse of {@link maskFromBits}). */
export function bitsFromMask(mask: Mask): number {
  if (typeof mask === "bigint") {
    const bits = mask.toString(2).length;
    if (mask !== (1n << BigInt(bits)) - 1n || mask < 0n) {
      throw new LabError(msg`Mask ${addr(mask)} is not of the form 2^n - 1`);
    }
    return bits;
  }
  const bits = Math.round(Math.log2(mask + 1));
  if (2 ** bits - 1 !== mask) {
    throw new LabError(msg`Mask ${addr(mask)} is not of the form 2^n - 1`);
  }
  return bits;
}

/** True when `mask` is of the form 2^n - 1. */
export function isMaskShaped(mask: Mask): boolean {
  if (typeof mask === "bigint") return mask >= 0n && (mask & (mask + 1n)) === 0n;
  if (!Number.isInteger(mask) || mask < 0) return false;
  return 2 ** Math.round(Math.log2(mask + 1)) - 1 === mask;
}

/**
 * `addr & mask` for a mask of the form 2^n - 1, exact on doubles: a mask of 52 bits or
 * more keeps every address whole.
 */
export function andMask(addr: number, mask: Mask): number {
  if (typeof mask === "bigint" || mask >= ADDRESS_LIMIT - 1) return addr;
  return addr % (mask + 1);
}

/**
 * Does `[addr, addr + size)` cross a multiple of `mask + 1` (a device's segment boundary)?
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { crossesBoundary } from "./addr.ts";
 * assertEquals(crossesBoundary(0x181000, 62 * 1024, 0xffff), true);
 * assertEquals(crossesBoundary(0x180000, 62 * 1024, 0xffff), false);
 * ```
 */
export function crossesBoundary(addr: number, size: number, mask: Mask): boolean {
  if (typeof mask === "bigint" || mask >= ADDRESS_LIMIT - 1) return false;
  return (addr % (mask + 1)) + size > mask + 1;
}

/** `(mask + 1) >> IO_TLB_SHIFT` of a boundary mask: slots between two boundaries (2^53 for 64 bits). */
export function maskSlots(mask: Mask): number {
  if (typeof mask === "bigint") return Number((mask + 1n) / BigInt(IO_TLB_SIZE));
  return Math.ceil((mask + 1) / IO_TLB_SIZE);
}

/** Index of the highest set bit plus one (fls64): 0 for 0, 32 for 0xffffffff. */
export function fls(x: Mask): number {
  if (typeof x === "bigint") return x <= 0n ? 0 : x.toString(2).length;
  if (x <= 0) return 0;
  let bits = 0;
  while (2 ** bits <= x) bits++;
  return bits;
}

/**
 * Hex with the 0x prefix, exact for BigInts ({@link ALL_ONES} is 0xffffffffffffffff).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ALL_ONES, formatHex } from "./addr.ts";
 * assertEquals(formatHex(0x180100000), "0x180100000");
 * assertEquals(formatHex(ALL_ONES), "0xffffffffffffffff");
 * ```
 */
export function formatHex(x: number | bigint): string {
  if (x < 0) return "-0x" + (-x).toString(16);
  return "0x" + x.toString(16);
}

/** A number in the given radix: hex with 0x, or plain decimal (exact for BigInts). */
export function formatNumber(x: number | bigint, radix: 10 | 16 = 16): string {
  return radix === 16 ? formatHex(x) : x.toString(10);
}

const BINARY_UNITS = [["TiB", KIB ** 4], ["GiB", KIB ** 3], ["MiB", KIB ** 2], [
  "KiB",
  KIB,
]] as const;

/**
 * A size with a binary unit when it divides evenly: 4 KiB, 256 KiB, 64 MiB, 3000 bytes.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatSize } from "./addr.ts";
 * assertEquals(formatSize(64 * 1024 * 1024), "64 MiB");
 * assertEquals(formatSize(3000), "3000 bytes");
 * ```
 */
export function formatSize(bytes: number): string {
  for (const [unit, scale] of BINARY_UNITS) {
    if (bytes >= scale && bytes % scale === 0) return `${bytes / scale} ${unit}`;
  }
  return bytes === 1 ? "1 byte" : `${bytes} bytes`;
}

/**
 * A size the way one types it back: 8K, 2M, 1G, else the plain number.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatSizeArg } from "./addr.ts";
 * assertEquals(formatSizeArg(256 * 1024), "256K");
 * assertEquals(formatSizeArg(3000), "3000");
 * ```
 */
export function formatSizeArg(bytes: number): string {
  for (
    const [unit, scale] of [["T", KIB ** 4], ["G", KIB ** 3], ["M", KIB ** 2], ["K", KIB]] as const
  ) {
    if (bytes >= scale && bytes % scale === 0) return `${bytes / scale}${unit}`;
  }
  return String(bytes);
}

/**
 * JSON.stringify's replacer for engine values: {@link ALL_ONES} and other BigInts (wide
 * masks) become hex strings, as SPEC §10 writes the all-ones error value.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ALL_ONES, jsonReplacer } from "./addr.ts";
 * assertEquals(JSON.stringify({ phys: ALL_ONES }, jsonReplacer), '{"phys":"0xffffffffffffffff"}');
 * ```
 */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? formatHex(value) : value;
}
