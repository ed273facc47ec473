/**
 * Ctrl-R at the prompt: reverse incremental search through the history, as bash's readline
 * does (issue 13); node:readline has none. Ctrl-R starts it and the prompt becomes
 * `(reverse-i-search)'TEXT': MATCH`. Each character typed narrows TEXT and shows the newest
 * history line holding it (the current one if it still does); Ctrl-R again goes to the next
 * older one (on an empty TEXT, it searches for the last TEXT again); Backspace goes back a
 * step. Enter runs the match; Esc or Ctrl-G puts back the line from before the search;
 * Ctrl-C leaves the search and drops the line, as at the prompt; any other key keeps the
 * match on the line and then does what it does there (a cursor move, Tab, …). When nothing
 * matches, the prompt says `failed reverse-i-search` and keeps the last match.
 *
 * @module
 */

import type { Interface, Key } from "node:readline";
import { isPrintable, type LineState, lineState } from "./keys.ts";

/** The prompt while searching for `query`. */
export function searchPrompt(query: string, failed: boolean): string {
  return `(${failed ? "failed " : ""}reverse-i-search)'${query}': `;
}

/** One step of a search: its text, and the history line (newest = 0) and column it found. */
interface Step {
  query: string;
  /** Index into readline's history, newest first; -1 before anything matched. */
  index: number;
  at: number;
  failed: boolean;
}

/**
 * The search, driving a readline Interface through its prompt, line and cursor. Give
 * {@link ReverseSearch.key} to {@link KeyInput.attach} so it sees keys before readline.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createInterface } from "node:readline";
 * import { PassThrough } from "node:stream";
 * import { ReverseSearch } from "./reverse_search.ts";
 *
 * const rl = createInterface({
 *   input: new PassThrough(),
 *   output: new PassThrough(),
 *   prompt: "swiotlb> ",
 *   terminal: true,
 *   history: ["stats", "guest presets"], // newest first, as readline keeps it
 * });
 * const search = new ReverseSearch(rl);
 * search.key("\x12", { name: "r", ctrl: true });
 * search.key("pre", { sequence: "pre" });
 * assertEquals(rl.getPrompt(), "(reverse-i-search)'pre': ");
 * assertEquals(rl.line, "guest presets");
 * search.key("\x07", { name: "g", ctrl: true }); // Ctrl-G: back to the empty line
 * assertEquals([rl.getPrompt(), rl.line], ["swiotlb> ", ""]);
 * rl.close();
 * ```
 */
export class ReverseSearch {
  readonly #rl: Interface;
  readonly #state: LineState;
  /** Steps of the search under way, newest last; empty when not searching. */
  #steps: Step[] = [];
  /** What the prompt and line were before the search. */
  #prompt = "";
  #line = "";
  #cursor = 0;
  /** The text of the last search, for Ctrl-R on an empty one. */
  #last = "";

  constructor(rl: Interface) {
    this.#rl = rl;
    this.#state = lineState(rl);
  }

  /** Whether a search is under way. */
  get active(): boolean {
    return this.#steps.length > 0;
  }

  /** Takes Ctrl-R, and every key while searching; false lets readline have the key. */
  readonly key = (s: string | undefined, key: Key): boolean => {
    const ctrl = !!key.ctrl && !key.meta;
    if (!this.active) {
      if (!(ctrl && key.name === "r")) return false;
      this.#prompt = this.#rl.getPrompt();
      this.#line = this.#state.line;
      this.#cursor = this.#state.cursor;
      this.#steps = [{ query: "", index: -1, at: this.#cursor, failed: false }];
      this.#show();
      return true;
    }
    if (ctrl && key.name === "r") {
      this.#older();
    } else if ((ctrl && key.name === "g") || key.name === "escape") {
      this.#end(this.#line, this.#cursor);
    } else if (ctrl && key.name === "c") {
      // Leave the search, then let readline see Ctrl-C: the prompt drops the line.
      this.#end(this.#line, this.#cursor);
      return false;
    } else if (key.name === "backspace" && !key.meta && !key.ctrl) {
      if (this.#steps.length > 1) this.#steps.pop();
      this.#show();
    } else if (isPrintable(s, key)) {
      for (const c of s) this.#narrow(c);
      this.#show();
    } else {
      // Enter, a cursor key, Tab, …: the match becomes the line, and the key acts on it.
      const top = this.#top();
      if (top.index >= 0) this.#end(this.#history()[top.index], top.at);
      else this.#end(this.#line, this.#cursor);
      return false;
    }
    return true;
  };

  #history(): string[] {
    return this.#state.history;
  }

  #top(): Step {
    return this.#steps[this.#steps.length - 1];
  }

  /** The newest history line from index `from` on that holds `query`. */
  #find(query: string, from: number): { index: number; at: number } | undefined {
    const h = this.#history();
    for (let i = Math.max(from, 0); i < h.length; i++) {
      const at = h[i].lastIndexOf(query);
      if (at >= 0) return { index: i, at };
    }
    return undefined;
  }

  /** A character typed: the current match if it still holds the longer text, else older. */
  #narrow(c: string): void {
    const top = this.#top();
    const query = top.query + c;
    const hit = this.#find(query, top.index);
    this.#steps.push(
      hit ? { query, ...hit, failed: false } : { ...top, query, failed: true },
    );
  }

  /** Ctrl-R: the next older line holding the text (on an empty text, the last search's). */
  #older(): void {
    const top = this.#top();
    const query = top.query === "" ? this.#last : top.query;
    if (query === "") return this.#show();
    const hit = this.#find(query, top.index + 1);
    this.#steps.push(
      hit ? { query, ...hit, failed: false } : { ...top, query, failed: true },
    );
    this.#show();
  }

  /** Draws the search prompt with its match (or the line from before the search). */
  #show(): void {
    const top = this.#top();
    const found = top.index >= 0;
    this.#rl.setPrompt(searchPrompt(top.query, top.failed));
    this.#state.line = found ? this.#history()[top.index] : this.#line;
    this.#state.cursor = found ? top.at : this.#cursor;
    this.#rl.prompt(true);
  }

  /** Leaves the search with `line` on the prompt and the cursor at `cursor`. */
  #end(line: string, cursor: number): void {
    const query = this.#top().query;
    if (query !== "") this.#last = query;
    this.#steps = [];
    this.#rl.setPrompt(this.#prompt);
    this.#state.line = line;
    this.#state.cursor = cursor;
    this.#rl.prompt(true);
  }
}
