/**
 * lib/repl/tokenize.ts slices unquoted runs out of the line whole; a model that reads a
 * character at a time (as the tokenizer once did) must agree on every line: words,
 * quoting, offsets, operators, comments, escapes, Unicode blanks and the errors.
 */

import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { tokenize } from "../lib/repl/tokenize.ts";

const ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  "0": "\0",
  "\\": "\\",
  '"': '"',
};

/** The tokenizer, one character at a time. */
function model(line: string, partial: boolean): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  const n = line.length;
  const ends = (c: string) => c === "|" || c === ">" || /\s/.test(c);
  while (i < n) {
    while (i < n && /\s/.test(line[i])) i++;
    if (i >= n || line[i] === "#") break;
    const start = i;
    if (line[i] === "|" || line[i] === ">") {
      const op = line[i] === "|" ? "|" : line[i + 1] === ">" ? ">>" : ">";
      i += op.length;
      out.push({ text: op, quoted: false, start, op });
      continue;
    }
    let text = "";
    let quoted = false;
    while (i < n && !ends(line[i])) {
      const c = line[i];
      if (c !== '"' && c !== "'") {
        text += c;
        i++;
        continue;
      }
      quoted = true;
      i++;
      let closed = false;
      while (i < n) {
        const d = line[i];
        if (d === c) {
          closed = true;
          i++;
          break;
        }
        if (c === '"' && d === "\\" && i + 1 < n) {
          const e = line[i + 1];
          if (e === "x" && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
            text += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
            i += 4;
          } else {
            text += ESCAPES[e] ?? "\\" + e;
            i += 2;
          }
          continue;
        }
        text += d;
        i++;
      }
      if (!closed && !partial) throw new Error(`unterminated ${c} quote at column ${start + 1}`);
    }
    out.push({ text, quoted, start });
  }
  return out;
}

function outcome(f: () => unknown[]): unknown {
  try {
    return f();
  } catch (e) {
    return { error: (e as Error).message.replace(/^Cannot parse line: /, "") };
  }
}

Deno.test("tokenize agrees with a character-at-a-time model on random lines", () => {
  const pieces = fc.constantFrom(
    "map",
    "nic",
    "$bus",
    "4K",
    " ",
    "  ",
    "\t",
    "\u00a0",
    "\u2028",
    "\u3000",
    "\ufeff",
    "\u001f",
    '"',
    "'",
    "\\",
    "\\x41",
    "\\xg1",
    "\\n",
    "#",
    "|",
    ">",
    ">>",
    "a|b",
    "x>y",
    '"a b"',
    "'c d'",
    '"\\"',
    "é",
    "\ud83d\ude00",
    "\ud83d",
  );
  const line = fc.oneof(
    fc.array(pieces, { maxLength: 12 }).map((p) => p.join("")),
    fc.string({ maxLength: 30, unit: "binary" }),
  );
  fc.assert(
    fc.property(line, fc.boolean(), (l, partial) => {
      assertEquals(
        outcome(() => tokenize(l, partial)),
        outcome(() => model(l, partial)),
        JSON.stringify(l),
      );
    }),
    { numRuns: 20_000 },
  );
});
