/**
 * A cheaper `getCursorPos` for node:readline (issue 13). readline asks where the cursor is
 * before and after each key it inserts or moves by, and answers by measuring prompt + line
 * up to the cursor from the start: strip terminal escapes, then add up each character's
 * width. That is O(line) per key, so typing or pasting a line one key at a time cost
 * O(line²) (Deno's `stripVTControlCharacters` and `getStringWidth` were 60 % of the CPU
 * profile of a 3,000-character paste). A key that appends, deletes or moves over plain
 * characters (printable ASCII, one column each) only moves the cursor by as many columns,
 * so the last answer is remembered and moved; anything else (a tab, a wide or combining
 * character, a new prompt or terminal width) is measured by readline as before.
 *
 * @module
 */

import type { Interface } from "node:readline";
import { lineState } from "./keys.ts";

/** Whether every character of `s[from, to)` is printable ASCII: one column each. */
function plain(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/**
 * Whether a width measured over `text` can be extended by plain characters: an escape
 * could swallow them when readline strips it, and a newline restarts the column count.
 */
function extendable(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x1b || c === 0x9b || c === 0x0a) return false;
  }
  return true;
}

/** The {cols, rows} readline reports for `width` columns on a terminal `columns` wide. */
function position(width: number, columns: number): { cols: number; rows: number } {
  if (columns === Infinity) return { cols: width, rows: 0 };
  return { cols: width % columns, rows: Math.floor(width / columns) };
}

/**
 * Replaces `rl.getCursorPos` with one that answers the same, in time proportional to the
 * change since the last call (a string compare of the unchanged part aside).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createInterface } from "node:readline";
 * import { PassThrough } from "node:stream";
 * import { rememberCursorPos } from "./cursor_pos.ts";
 *
 * const output = Object.assign(new PassThrough(), { columns: 20 });
 * const rl = createInterface({ input: new PassThrough(), output, prompt: "> ", terminal: true });
 * rememberCursorPos(rl);
 * rl.write("x".repeat(25));
 * assertEquals(rl.getCursorPos(), { cols: 7, rows: 1 });
 * rl.close();
 * ```
 */
export function rememberCursorPos(rl: Interface): void {
  const state = lineState(rl);
  const measure = rl.getCursorPos.bind(rl);
  // The last answer: prompt and width it was for, the line up to the cursor, its columns.
  let prompt: string | undefined;
  let columns = 0;
  let text = "";
  let width = 0;
  rl.getCursorPos = () => {
    const p = rl.getPrompt();
    const { line, cursor } = state;
    const n = state.columns;
    if (p === prompt && n === columns) {
      if (cursor >= text.length) {
        if (line.startsWith(text) && plain(line, text.length, cursor)) {
          width += cursor - text.length;
          text = line.slice(0, cursor);
          return position(width, n);
        }
      } else if (plain(text, cursor, text.length) && line.startsWith(text.slice(0, cursor))) {
        width -= text.length - cursor;
        text = line.slice(0, cursor);
        return position(width, n);
      }
    }
    const pos = measure();
    text = line.slice(0, cursor);
    if (extendable(p) && extendable(text)) {
      prompt = p;
      columns = n;
      width = n === Infinity ? pos.cols : pos.rows * n + pos.cols;
    } else {
      prompt = undefined;
    }
    return pos;
  };
}
