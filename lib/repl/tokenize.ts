/**
 * Splits a REPL line into words the way a shell would: whitespace separates words,
 * `"…"` and `'…'` quote (double quotes understand `\n`, `\t`, `\\`, `\"`, `\xNN`), and
 * a `#` at the start of a word begins a comment (SPEC §10). An unquoted `|`, `>` or `>>`
 * is an operator token of its own, even inside a word (`tree>out.txt`), as in a shell;
 * quoted, it is a literal character (`buf write rx "a|b"`). lib/repl/plumb.ts gives the
 * operators their meaning.
 *
 * @module
 */

import { LabError } from "../errors.ts";

/** The output operators: a pipe into grep/head/tail, a redirection to a file. */
export type PlumbOp = "|" | ">" | ">>";

/** One word of a line; `quoted` tells `"cafe"` (a string) from `cafe` (hex bytes). */
export interface Token {
  text: string;
  quoted: boolean;
  /** Offset of the word's first character in the line. */
  start: number;
  /** Set on an unquoted `|`, `>` or `>>` (then `text` is the operator itself). */
  op?: PlumbOp;
}

/**
 * True when the character at `i` (code `c`) is a blank as `/\s/` has it: ASCII's at a
 * glance, the rest (no-break space, U+2028, …) asked of the regex.
 */
function isBlank(c: number, line: string, i: number): boolean {
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  return c > 127 && /\s/.test(line[i]);
}

const PIPE = 0x7c, GT = 0x3e, DQUOTE = 0x22, SQUOTE = 0x27;

const ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  "0": "\0",
  "\\": "\\",
  '"': '"',
};

/**
 * Tokenizes one line. Throws a usage {@link LabError} on an unterminated quote, unless
 * `partial` is set (completion wants the words typed so far, open quote included).
 */
export function tokenize(line: string, partial = false): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && isBlank(line.charCodeAt(i), line, i)) i++;
    if (i >= n) break;
    if (line[i] === "#") break;
    const start = i;
    if (line[i] === "|" || line[i] === ">") {
      const op: PlumbOp = line[i] === "|" ? "|" : line[i + 1] === ">" ? ">>" : ">";
      i += op.length;
      out.push({ text: op, quoted: false, start, op });
      continue;
    }
    // Unquoted runs are sliced out whole (most words have no quote at all); quoted ones
    // are read a character at a time for their escapes.
    let text = "";
    let quoted = false;
    let from = i;
    while (i < n) {
      const c = line.charCodeAt(i);
      if (c === PIPE || c === GT || isBlank(c, line, i)) break;
      if (c !== DQUOTE && c !== SQUOTE) {
        i++;
        continue;
      }
      text += line.slice(from, i);
      quoted = true;
      const close = line[i];
      i++;
      let closed = false;
      while (i < n) {
        const d = line[i];
        if (d === close) {
          closed = true;
          i++;
          break;
        }
        if (close === '"' && d === "\\" && i + 1 < n) {
          const e = line[i + 1];
          if (e === "x" && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
            text += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
            i += 4;
            continue;
          }
          text += ESCAPES[e] ?? "\\" + e;
          i += 2;
          continue;
        }
        text += d;
        i++;
      }
      if (!closed && !partial) {
        throw new LabError(
          `Cannot parse line: unterminated ${close} quote at column ${start + 1}`,
        );
      }
      from = i;
    }
    text += line.slice(from, i);
    out.push({ text, quoted, start });
  }
  return out;
}

/** True when the line holds nothing to run: blank, or only a comment. */
export function isBlankOrComment(line: string): boolean {
  const t = line.trim();
  return t === "" || t.startsWith("#");
}

/** Quotes a word for display when it would not survive {@link tokenize} as is. */
export function quoteWord(word: string): string {
  if (word !== "" && !/[\s"'#\\|>]/.test(word)) return word;
  return '"' + word.replaceAll("\\", "\\\\").replaceAll('"', '\\"') + '"';
}
