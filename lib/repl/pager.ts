/**
 * The interactive prompt's pager (issue 13): an answer taller than the terminal is shown
 * a page at a time, as `more` shows it — space for the next page, Enter for one more
 * line, q (or Ctrl-C) to stop. It is written here rather than piping through `less`,
 * which would need Deno's --allow-run. Only the prompt pages, and only when stdout is a
 * terminal whose height Deno.consoleSize() tells; `set pager off` turns it off, and
 * scripts, pipes and --json never page.
 *
 * @module
 */

import process from "node:process";
import { stripAnsiCode } from "@std/fmt/colors";

/** What the pager needs of a terminal (tests give it a fake one). */
export interface PagerTerminal {
  /** Rows and columns, or undefined when they cannot be known (then it does not page). */
  size(): { rows: number; columns: number } | undefined;
  write(text: string): void;
  /** The next key pressed, as the characters the terminal sent (" ", "\r", "\x1b[B"). */
  key(): Promise<string>;
}

/** How a paged answer ended. */
export interface PageResult {
  /** Lines of the answer written. */
  shown: number;
  /** The user stopped before the end (q, Ctrl-C). */
  stopped: boolean;
}

const NEXT_PAGE = new Set([" ", "f", "\x1b[6~"]);
const NEXT_LINE = new Set(["\r", "\n", "j", "\x1b[B", "\x1bOB"]);
const STOP = new Set(["q", "Q", "\x03", "\x04", "\x1b"]);

/** Erases the status line (carriage return, clear to the end of the line). */
const ERASE = "\r\x1b[K";

/** Terminal rows a line takes once wrapped at `columns`. */
function rowsOf(line: string, columns: number): number {
  const width = [...stripAnsiCode(line)].length;
  return Math.max(1, Math.ceil(width / columns));
}

/**
 * True when `lines` need no paging on a terminal of `size`: they fit above the prompt's
 * row, or the terminal is too small to page on (fewer than three rows).
 */
function fits(lines: readonly string[], size: { rows: number; columns: number }): boolean {
  const room = size.rows - 1;
  if (room < 2) return true;
  let used = 0;
  for (const l of lines) {
    used += rowsOf(l, size.columns);
    if (used > room) return false;
  }
  return true;
}

/** The status line between pages. */
export function moreLine(shown: number, total: number): string {
  return `--More-- (${shown} of ${total} lines; space: next page, Enter: next line, q: stop)`;
}

/**
 * Writes `lines`, pausing after each screenful for a key. An answer that fits (one row is
 * kept for the prompt) is written at once, as is every answer when the size is unknown.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { page } from "./pager.ts";
 * let out = "";
 * const keys = ["q"];
 * const term = {
 *   size: () => ({ rows: 3, columns: 80 }),
 *   write: (s: string) => void (out += s),
 *   key: () => Promise.resolve(keys.shift() ?? "q"),
 * };
 * const r = await page(["a", "b", "c", "d"], term);
 * assertEquals(r, { shown: 2, stopped: true });
 * assertEquals(out.startsWith("a\nb\n--More--"), true);
 * ```
 */
export async function page(lines: readonly string[], term: PagerTerminal): Promise<PageResult> {
  const size = term.size();
  if (!size || fits(lines, size)) {
    if (lines.length) term.write(lines.join("\n") + "\n");
    return { shown: lines.length, stopped: false };
  }
  const room = size.rows - 1;
  let shown = 0;
  /** Writes lines from `shown` on while they fit in `rows` (at least one). */
  const show = (rows: number) => {
    let used = 0;
    const out: string[] = [];
    while (shown < lines.length) {
      const h = rowsOf(lines[shown], size.columns);
      if (out.length > 0 && used + h > rows) break;
      out.push(lines[shown++]);
      used += h;
    }
    term.write(out.join("\n") + "\n");
  };
  show(room);
  while (shown < lines.length) {
    // Cut to one row, so the erasure below takes all of it.
    term.write(moreLine(shown, lines.length).slice(0, size.columns - 1));
    const k = await term.key();
    term.write(ERASE);
    if (STOP.has(k)) {
      term.write(`(${lines.length - shown} more lines not shown)\n`);
      return { shown, stopped: true };
    }
    if (NEXT_PAGE.has(k)) show(room);
    else if (NEXT_LINE.has(k)) show(1);
  }
  return { shown, stopped: false };
}

/**
 * The first key of what the terminal sent: an escape sequence (`\x1b[B`, `\x1b[6~`,
 * `\x1bOB`) whole, else one character.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { firstKey } from "./pager.ts";
 * assertEquals(firstKey("\x1b[6~q"), "\x1b[6~");
 * assertEquals(firstKey("  "), " ");
 * ```
 */
export function firstKey(s: string): string {
  // deno-lint-ignore no-control-regex
  return /^\x1b(\[[0-9;]*[~A-Za-z]|O[A-Z])/.exec(s)?.[0] ?? [...s][0] ?? "";
}

/** A stream of key presses, as process.stdin is (node:readline reads it too). */
interface KeyStream {
  listeners(event: "data"): ((...args: unknown[]) => void)[];
  removeAllListeners(event: "data"): unknown;
  on(event: "data", f: (...args: unknown[]) => void): unknown;
  once(event: "data", f: (chunk: unknown) => void): unknown;
}

/**
 * The next chunk `input` delivers, taken from whoever else reads it (the line editor)
 * until then, so a key meant for the pager is never typed into the next line. A chunk
 * of several keys (typed ahead) counts as its first key.
 */
function nextKey(input: KeyStream): Promise<string> {
  const others = input.listeners("data");
  input.removeAllListeners("data");
  return new Promise((resolve) => {
    input.once("data", (chunk) => {
      for (const f of others) input.on("data", f);
      resolve(firstKey(String(chunk)));
    });
  });
}

/** The real terminal: Deno's size of stdout, and key presses from process.stdin. */
export function ttyTerminal(): PagerTerminal {
  return {
    size: () => {
      try {
        const { rows, columns } = Deno.consoleSize();
        return rows > 0 && columns > 0 ? { rows, columns } : undefined;
      } catch {
        // No console to measure (stdout redirected after all): do not page.
        return undefined;
      }
    },
    write: (s) => void process.stdout.write(s),
    key: () => {
      try {
        // The prompt keeps the terminal raw between lines; make sure, so a key needs no Enter.
        Deno.stdin.setRaw(true);
      } catch {
        // Not a terminal: keys arrive a line at a time, which still works.
      }
      return nextKey(process.stdin as unknown as KeyStream);
    },
  };
}

/**
 * Prints an answer at the prompt: through the pager when `paging` is on, stdout is a
 * terminal and the answer is taller than it — then the promise settles once it has been
 * shown (or stopped); otherwise it is written at once and the result is undefined, so
 * the prompt comes back in the same turn, as before there was a pager.
 */
export function showAnswer(lines: readonly string[], paging: boolean): Promise<void> | undefined {
  if (lines.length === 0) return undefined;
  const term = paging && Deno.stdout.isTerminal() ? ttyTerminal() : undefined;
  const size = term?.size();
  if (term && size && !fits(lines, size)) return page(lines, term).then(() => {});
  process.stdout.write(lines.join("\n") + "\n");
  return undefined;
}
