/**
 * Formatting helpers shared by the renderers: numbers in the session's radix, sizes,
 * colours (only when asked for), hex dumps and the byte strings of `--json`.
 *
 * @module
 */

import * as colors from "@std/fmt/colors";
import { formatNumber, formatSize, formatSizeArg } from "../../addr.ts";

/** The {@link Fmt.fixed} ones, by radix and colour. */
const FIXED: (Fmt | undefined)[] = [];

/** How numbers and colours come out; one per session, changed by `set radix`. */
export class Fmt {
  radix: 10 | 16;
  color: boolean;

  constructor(radix: 10 | 16 = 16, color = false) {
    this.radix = radix;
    this.color = color;
  }

  /**
   * A Fmt that prints as this one does now and never changes (`set radix` changes the
   * session's): for an answer drawn later than its command ran (lib/repl/run.ts).
   */
  fixed(): Fmt {
    const k = (this.radix === 16 ? 2 : 0) + (this.color ? 1 : 0);
    let f = FIXED[k];
    if (f === undefined) {
      f = new Fmt(this.radix, this.color);
      Object.freeze(f);
      FIXED[k] = f;
    }
    return f;
  }

  /**
   * An address (or mask, pfn, mfn) in the session's radix: hex with 0x by default.
   * Indices, counts and byte counts are never printed with this (they stay decimal).
   */
  num(x: number | bigint): string {
    return formatNumber(x, this.radix);
  }

  /** A size with a binary unit when exact ("8 KiB"), else bytes. */
  size(x: number): string {
    return formatSize(x);
  }

  /** `[a,+256K)` as the tree and lookups show a bus interval. */
  interval(start: number, size: number): string {
    return `[${this.num(start)},+${sizeArg(size)})`;
  }

  #paint(f: (s: string) => string, s: string): string {
    return this.color ? f(s) : s;
  }
  red(s: string): string {
    return this.#paint(colors.red, s);
  }
  blackNode(s: string): string {
    return this.#paint((t) => colors.bold(colors.white(colors.bgBlack(t))), s);
  }
  green(s: string): string {
    return this.#paint(colors.green, s);
  }
  yellow(s: string): string {
    return this.#paint(colors.yellow, s);
  }
  cyan(s: string): string {
    return this.#paint(colors.cyan, s);
  }
  dim(s: string): string {
    return this.#paint(colors.dim, s);
  }
  bold(s: string): string {
    return this.#paint(colors.bold, s);
  }
  err(s: string): string {
    return this.#paint((t) => colors.bold(colors.red(t)), s);
  }
}

/** Fields that hold addresses (shown in the radix); every other number is a count or index. */
export const ADDRESS_FIELDS: ReadonlySet<string> = new Set([
  "bus",
  "phys",
  "dma_addr",
  "phys_addr",
  "pool_phys",
  "dma_address",
  "mask",
  "dma_mask",
  "coherent_mask",
  "seg_boundary",
  "orig",
  "mfn",
  "pfn",
  "maddr",
  "seg_dma_addr",
  "seg_phys_addr",
  "offset",
  "phys_base",
  "phys_end",
]);

/** "1 node", "4 nodes". */
export function plural(n: number, word: string, many = word + "s"): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** A size the way one would type it back: 8K, 2M, 256K, else a plain number. */
export const sizeArg: (n: number) => string = formatSizeArg;

/** Lower-case hex of bytes, no separators (the `--json` "bytes" field). */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** The most bytes a `buf read` / `dma read` shows (text and JSON); the rest is not built. */
export const MAX_SHOWN_BYTES = 65536;

/**
 * "… N more bytes not shown (…)", when a read was longer than what is shown: `shown` is
 * the most that read could show (less without a LEN: a default read is a glance).
 */
export function notShown(more: number, next: string, shown = MAX_SHOWN_BYTES): string[] {
  if (more <= 0) return [];
  const why = shown < MAX_SHOWN_BYTES
    ? `${shown} without LEN, at most ${MAX_SHOWN_BYTES} with one`
    : `at most ${MAX_SHOWN_BYTES} per read`;
  return [`  … ${more} more bytes not shown (${why}: ${next})`];
}

/** Colon-separated hex for short byte strings in text ("de:ad:be:ef"). */
export function toColonHex(bytes: Uint8Array, max = 16): string {
  const shown = Array.from(bytes.subarray(0, max), (b) => b.toString(16).padStart(2, "0"));
  return shown.join(":") + (bytes.length > max ? `:…(${bytes.length} bytes)` : "");
}

/**
 * `hexdump -C` style lines: address, 16 bytes, ASCII; runs of identical lines fold
 * into a single `*`. `base` labels the first byte (a phys or bus address, or an offset).
 */
export function hexdump(bytes: Uint8Array, base: number, fmt: Fmt): string[] {
  const lines: string[] = [];
  let prev = "";
  let folded = false;
  const width = fmt.num(base + Math.max(0, bytes.length - 1)).length;
  for (let off = 0; off < bytes.length; off += 16) {
    const row = bytes.subarray(off, Math.min(off + 16, bytes.length));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, "0"));
    const key = hex.join(" ");
    if (key === prev && off + 16 < bytes.length) {
      if (!folded) lines.push("  *");
      folded = true;
      continue;
    }
    prev = key;
    folded = false;
    const left = hex.slice(0, 8).join(" ");
    const right = hex.slice(8).join(" ");
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : "."))
      .join("");
    lines.push(
      `  ${fmt.num(base + off).padStart(width)}  ${left.padEnd(23)}  ${
        right.padEnd(23)
      }  |${ascii}|`,
    );
  }
  return lines;
}
