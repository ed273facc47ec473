/**
 * The prompt's history file, `~/.swiotlb_lab_history`: private (created 0600), never
 * followed through a symlink, and kept to its limit (rewritten with the newest lines when
 * it has grown to twice the limit), so it does not grow without bound.
 *
 * @module
 */

import { join } from "@std/path";

/** Lines kept in the history file. */
export const HISTORY_SIZE = 1000;

/** `~/.swiotlb_lab_history`, or undefined when there is no home to keep it in. */
export function historyPath(): string | undefined {
  try {
    const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
    return home ? join(home, ".swiotlb_lab_history") : undefined;
  } catch {
    return undefined;
  }
}

/** A regular file (or none yet) at `path`: a symlink or anything else is not used. */
function usable(path: string): boolean {
  try {
    return Deno.lstatSync(path).isFile;
  } catch (e) {
    return e instanceof Deno.errors.NotFound;
  }
}

/** One history file. Every failure is silent: without a writable home, history is not kept. */
export class HistoryFile {
  readonly path: string;
  readonly limit: number;
  #lines: string[] = [];

  constructor(path: string, limit = HISTORY_SIZE) {
    this.path = path;
    this.limit = limit;
  }

  /** The newest `limit` lines, oldest first. */
  load(): string[] {
    if (!usable(this.path)) return [];
    try {
      const text = Deno.readTextFileSync(this.path);
      this.#lines = text.split("\n").filter((l) => l.trim() !== "");
    } catch {
      this.#lines = [];
    }
    return this.#lines.slice(-this.limit);
  }

  /** Appends a line; at twice the limit the file is rewritten with the newest `limit`. */
  add(line: string): void {
    if (line.trim() === "" || !usable(this.path)) return;
    this.#lines.push(line);
    try {
      if (this.#lines.length >= 2 * this.limit) {
        this.#lines = this.#lines.slice(-this.limit);
        Deno.writeTextFileSync(this.path, this.#lines.join("\n") + "\n", { mode: 0o600 });
        Deno.chmodSync(this.path, 0o600);
      } else {
        Deno.writeTextFileSync(this.path, line + "\n", { append: true, mode: 0o600 });
      }
    } catch {
      // No writable home: history just is not kept.
    }
  }
}
