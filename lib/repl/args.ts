/**
 * Parsing of REPL arguments: numbers with `$` variables (`$bus+0x10`), buffer
 * references (`rx`, `rx+4K`), byte strings (`de:ad:be:ef`, `deadbeef`, `"text"`),
 * scatterlist elements (`rx:0:4K`), mask widths. Sizes go through {@link parseSize}
 * and directions through {@link parseDirection}, so the REPL and the library agree.
 *
 * @module
 */

import type { Addr } from "../addr.ts";
import { evalExpr, type Vars } from "./expr.ts";
import { LabError, msg } from "../errors.ts";
import type { Guest } from "../guest/mod.ts";

export type { Vars } from "./expr.ts";

/**
 * An address: `4096`, `0x1000`, `4K`, `$bus`, arithmetic of those (`$bus+0x10`,
 * `$b+$i*4K`, `$bus-0x10`), in the input radix `set radix` chose; or the all-ones value
 * `0xffffffffffffffff` on its own (it cannot be computed with). See {@link evalExpr}.
 */
export function parseAddrArg(text: string, vars: Vars, what = "address"): Addr {
  return evalExpr(text, vars, what);
}

/** A number below 2^52 (sizes, offsets, counts): {@link parseAddrArg} without all-ones. */
export function parseNum(text: string, vars: Vars, what = "number"): number {
  const v = parseAddrArg(text, vars, what);
  if (typeof v !== "number") {
    throw new LabError(
      `Cannot parse ${what} "${text}": the all-ones value is no ${what}`,
      "usage",
      "bad-number",
    );
  }
  return v;
}

/** True when the word names a buffer or device rather than a number. */
export function isName(text: string): boolean {
  return /^[A-Za-z_]/.test(text);
}

/** A guest-physical location given as a buffer (`rx`, `rx+0x100`) or an address. */
export interface PhysRef {
  phys: number;
  /** The buffer and offset, when named through one. */
  buf: string | undefined;
  offset: number;
}

/** `BUF|PHYS`: a buffer name with an optional `+OFF`, or a number. */
export function parsePhysRef(text: string, guest: Guest, vars: Vars): PhysRef {
  const plus = text.indexOf("+");
  const name = plus < 0 ? text : text.slice(0, plus);
  // After `set radix 16` a word of hex digits (ffff0000) is an address unless a buffer
  // has that name.
  const hexWord = vars.inputRadix === 16 && /^[0-9a-f]+$/i.test(name) &&
    !guest.buffers().some((b) => b.name === name);
  if (isName(text) && !hexWord) {
    const offset = plus < 0 ? 0 : parseNum(text.slice(plus + 1), vars, "offset");
    const b = guest.buffer(name);
    if (offset > b.size) {
      throw new LabError(`Offset ${offset} is beyond buffer "${name}" (${b.size} bytes)`);
    }
    return { phys: b.phys + offset, buf: name, offset };
  }
  return { phys: parseNum(text, vars, "address"), buf: undefined, offset: 0 };
}

const HEX_BYTES = /^(?:0x)?((?:[0-9a-f]{2})+)$/i;
const COLON_BYTES = /^[0-9a-f]{1,2}(?:[:\-][0-9a-f]{1,2})+$/i;

/**
 * BYTES: hex (`deadbeef`, `0xdeadbeef`, `de:ad:be:ef`) unless the word was quoted, in
 * which case its UTF-8 bytes (`"hello\n"`).
 */
export function parseBytes(text: string, quoted: boolean): Uint8Array {
  if (quoted) {
    if (text.length === 0) throw new LabError("Cannot write an empty string: give some bytes");
    return new TextEncoder().encode(text);
  }
  if (COLON_BYTES.test(text)) {
    return Uint8Array.from(text.split(/[:\-]/), (h) => parseInt(h, 16));
  }
  const m = HEX_BYTES.exec(text);
  if (m) {
    const hex = m[1];
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return out;
  }
  throw new LabError(
    `Cannot parse bytes "${text}": expected hex like de:ad:be:ef or deadbeef, or a quoted string`,
  );
}

/** `--pattern P` repeated to fill `len` bytes. */
export function fillPattern(pattern: Uint8Array, len: number): Uint8Array {
  if (len > MAX_FILL_BYTES) {
    throw new LabError(
      msg`--pattern fills at most ${MAX_FILL_BYTES} bytes (64 MiB) per command, not ${len}`,
      "usage",
      "out-of-range",
    );
  }
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = pattern[i % pattern.length];
  return out;
}

/** The most bytes one `--pattern` builds: bounded work for any input. */
export const MAX_FILL_BYTES = 64 * 1024 * 1024;

/** A width in bits, 0…64 (mask widths, dma_bits). */
export function parseBits(text: string, what = "mask"): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new LabError(`Cannot parse ${what} "${text}": expected a number of bits like 32`);
  }
  const n = Number(text);
  if (n > 64) throw new LabError(`Cannot parse ${what} "${text}": at most 64 bits`);
  return n;
}

/**
 * A plain non-negative integer (counts, segment numbers, seeds, `repeat N`): decimal in
 * any radix (as crash reads counts), hex with 0x.
 */
export function parseCount(text: string, vars: Vars, what: string): number {
  const n = evalExpr(text, vars, what, 10);
  if (typeof n !== "number") {
    throw new LabError(`Cannot parse ${what} "${text}": the all-ones value is no ${what}`);
  }
  if (!Number.isInteger(n) || n < 0) throw new LabError(`Cannot parse ${what} "${text}"`);
  return n;
}

/** One scatterlist element. */
export interface SgRef {
  phys: number;
  length: number;
}

/**
 * `BUF:OFF:LEN`, `BUF:LEN` (from offset 0), `BUF` (the whole buffer), or `PHYS:LEN`.
 */
export function parseSgElem(text: string, guest: Guest, vars: Vars): SgRef {
  const parts = text.split(":");
  if (parts.length > 3 || parts.some((p) => p === "")) {
    throw new LabError(
      `Cannot parse scatterlist element "${text}": expected BUF:OFF:LEN, BUF:LEN, BUF or PHYS:LEN`,
    );
  }
  if (!isName(parts[0])) {
    if (parts.length !== 2) {
      throw new LabError(
        `Cannot parse scatterlist element "${text}": an address needs a length (PHYS:LEN)`,
      );
    }
    return {
      phys: parseNum(parts[0], vars, "address"),
      length: parseNum(parts[1], vars, "length"),
    };
  }
  const b = guest.buffer(parts[0]);
  const offset = parts.length === 3 ? parseNum(parts[1], vars, "offset") : 0;
  const length = parts.length === 1 ? b.size : parseNum(parts[parts.length - 1], vars, "length");
  if (offset + length > b.size) {
    throw new LabError(
      `Scatterlist element "${text}" runs past buffer "${b.name}" (${b.size} bytes)`,
    );
  }
  return { phys: b.phys + offset, length };
}
