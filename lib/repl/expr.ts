/**
 * Numbers as the REPL reads them (issue 13): arithmetic with `+ - *` and parentheses over
 * numbers, sizes and `$` variables (`$b+$i*4K`, `$bus-0x10`), in the input radix that
 * `set radix` chose — as crash does, after `set radix 16` a bare `100000` is 0x100000.
 * A prefix always wins: `0x…` or `16#…` is hex, `0d…` or `10#…` decimal. Sizes take a
 * binary unit (`4K`, `2M`, `1G`, `1T`, also `KiB`/`KB`). The result is a whole number of
 * bytes from 0 to 2^52 − 1, or the all-ones value `0xffffffffffffffff` on its own.
 *
 * @module
 */

import { type Addr, ADDRESS_LIMIT, ALL_ONES } from "../addr.ts";
import { LabError } from "../errors.ts";

/** `$` variables and the radix bare numbers are read in. */
export interface Vars extends ReadonlyMap<string, Addr> {
  /** 16 after `set radix 16`; undefined or 10: decimal. */
  readonly inputRadix?: 10 | 16;
}

/** The session's variables, with the input radix `set radix` chose. */
export class VarTable extends Map<string, Addr> implements Vars {
  inputRadix: 10 | 16 = 10;
}

const UNITS: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** One lexical piece of an expression. */
type Token =
  | { kind: "num"; text: string }
  | { kind: "var"; name: string }
  | { kind: "op"; op: "+" | "-" | "*" | "(" | ")" };

function bad(what: string, text: string, why: string): LabError {
  return new LabError(`Cannot parse ${what} "${text}": ${why}`, "usage", "bad-number");
}

function lex(text: string, what: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(?:(\$[A-Za-z_][A-Za-z0-9_]*)|([+\-*()])|([0-9A-Za-z_#.]+))/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m || m[0].length === 0) {
      if (/^\s*$/.test(text.slice(at))) break;
      throw bad(what, text, `unexpected '${text[at]}' (numbers, $variables, + - * and ( ) only)`);
    }
    at = re.lastIndex;
    if (m[1]) out.push({ kind: "var", name: m[1].slice(1) });
    else if (m[2]) out.push({ kind: "op", op: m[2] as "+" });
    else out.push({ kind: "num", text: m[3] });
  }
  return out;
}

/** One number in the input radix (exact BigInt, so 2^64 − 1 stays exact). */
function number(t: string, radix: 10 | 16, what: string, text: string): bigint {
  const digits = (s: string, r: 10 | 16): bigint | undefined => {
    const clean = s.replaceAll("_", "");
    const ok = r === 16 ? /^[0-9a-f]+$/i.test(clean) : /^[0-9]+$/.test(clean);
    return ok && clean.length > 0 ? BigInt((r === 16 ? "0x" : "") + clean) : undefined;
  };
  const prefixed = /^(0x|16#|0d|10#)(.*)$/i.exec(t);
  if (prefixed) {
    const r = /^(0x|16#)$/i.test(prefixed[1]) ? 16 : 10;
    const v = digits(prefixed[2], r);
    if (v === undefined) {
      throw bad(what, text, `'${t}' is not a ${r === 16 ? "hex" : "decimal"} number`);
    }
    return v;
  }
  // In radix 16 a word of hex digits is a number ("1b" is 27, not one byte).
  const plain = digits(t, radix);
  if (plain !== undefined) return plain;
  const sized = /^([0-9][0-9_]*)(?:\.([0-9]+))?([kmgt])(?:i?b)?$/i.exec(t) ??
    /^([0-9][0-9_]*)()()b$/i.exec(t);
  if (sized) {
    const unit = sized[3] ? UNITS[sized[3].toLowerCase()] : 1;
    const value = Number(sized[1].replaceAll("_", "") + (sized[2] ? "." + sized[2] : "")) * unit;
    if (!Number.isInteger(value)) throw bad(what, text, `'${t}' is not a whole number of bytes`);
    return BigInt(value);
  }
  throw bad(
    what,
    text,
    radix === 16
      ? `expected a number like 1000 (hex: radix 16), 0d4096, 4K or $bus`
      : `expected a number like 4096, 0x1000, 4K, 2M or $bus`,
  );
}

/**
 * Evaluates `text`. A `$` variable holding the all-ones value, or that value typed,
 * may only stand alone: it is an error code, not an address to compute with.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { evalExpr, VarTable } from "./expr.ts";
 * const vars = new VarTable([["b", 0x100000], ["i", 3]]);
 * assertEquals(evalExpr("$b+$i*4K", vars), 0x103000);
 * assertEquals(evalExpr("(1+2)*2K-0x10", vars), 6128);
 * vars.inputRadix = 16;
 * assertEquals(evalExpr("100000", vars), 0x100000);
 * assertEquals(evalExpr("0d4096", vars), 4096);
 * ```
 */
export function evalExpr(
  text: string,
  vars: Vars,
  what = "address",
  radix: 10 | 16 = vars.inputRadix ?? 10,
): Addr {
  // A lone `$name` (`unmap nic $bus …`) and a word read before (`4K`) are the common
  // arguments of a replay: answered without the parse when it would give the same value
  // (anything else, an error above all, goes the whole way).
  if (text.charCodeAt(0) === 36 /* $ */ && LONE_VAR.test(text)) {
    const v = vars.get(text.slice(1));
    if (v !== undefined && typeof v !== "number") return ALL_ONES;
    if (v !== undefined && Number.isInteger(v) && v >= 0 && v < ADDRESS_LIMIT) return v + 0;
  }
  const seen = READ[radix === 16 ? 1 : 0];
  const known = seen.get(text);
  if (known !== undefined) return known;
  const value = evalWhole(text, vars, what, radix);
  if (text.length <= READ_CHARS && !text.includes("$")) {
    if (seen.size >= READ_MAX) seen.clear();
    seen.set(text, value);
  }
  return value;
}

const LONE_VAR = /^\$[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Values of words without `$` already read, per input radix: the same sizes and
 * addresses come back line after line. Only short words are kept (a longer one may be a
 * slice that holds the whole chunk of the script it was read from, lib/repl/lines.ts),
 * and at most {@link READ_MAX} (then the table starts again).
 */
const READ: [Map<string, Addr>, Map<string, Addr>] = [new Map(), new Map()];
const READ_CHARS = 12;
const READ_MAX = 1024;

/**
 * {@link evalExpr} the whole way, without its shortcuts: lex, parse, evaluate, check
 * (tests/expr_test.ts compares the two).
 */
export function evalWhole(text: string, vars: Vars, what: string, radix: 10 | 16): Addr {
  const tokens = lex(text, what);
  if (tokens.length === 0) throw bad(what, text, "empty");
  let i = 0;
  let allOnes = false;
  const peek = () => tokens[i];
  const atom = (): bigint => {
    const t = tokens[i++];
    if (t === undefined) throw bad(what, text, "it ends in the middle");
    if (t.kind === "op" && t.op === "(") {
      const v = sum();
      const close = tokens[i++];
      if (close?.kind !== "op" || close.op !== ")") throw bad(what, text, "a '(' is not closed");
      return v;
    }
    if (t.kind === "op" && t.op === "-") return -atom();
    if (t.kind === "op") throw bad(what, text, `'${t.op}' where a number belongs`);
    if (t.kind === "var") {
      const v = vars.get(t.name);
      if (v === undefined) {
        const known = [...vars.keys()].map((k) => "$" + k);
        throw bad(
          what,
          text,
          `$${t.name} is not set` +
            (known.length ? ` (set: ${known.join(", ")})` : " (map something first)"),
        );
      }
      if (typeof v !== "number") {
        allOnes = true;
        return ALL_ONES;
      }
      return BigInt(v);
    }
    const v = number(t.text, radix, what, text);
    if (v === ALL_ONES) allOnes = true;
    return v;
  };
  const product = (): bigint => {
    let v = atom();
    while (peek()?.kind === "op" && (peek() as { op: string }).op === "*") {
      i++;
      v *= atom();
    }
    return v;
  };
  const sum = (): bigint => {
    let v = product();
    for (;;) {
      const t = peek();
      if (t?.kind !== "op" || (t.op !== "+" && t.op !== "-")) return v;
      i++;
      v = t.op === "+" ? v + product() : v - product();
    }
  };
  const value = sum();
  if (i < tokens.length) throw bad(what, text, `unexpected '${describe(tokens[i])}'`);
  if (allOnes) {
    if (tokens.length === 1) return ALL_ONES;
    throw bad(what, text, "0xffffffffffffffff cannot be added to");
  }
  if (value < 0n) throw bad(what, text, `the result is negative (${value})`);
  if (value >= BigInt(ADDRESS_LIMIT)) {
    throw bad(what, text, "over 2^52 (the largest address the lab models)");
  }
  return Number(value);
}

function describe(t: Token): string {
  return t.kind === "num" ? t.text : t.kind === "var" ? "$" + t.name : t.op;
}
