/**
 * The keys node:readline reads at the prompt. readline's own key decoder hands it one key
 * per character, and readline measures the whole prompt + line after each one (issue 13: a
 * pasted 6,000-character line took 11 s of CPU; the profile is in the README). This stream
 * sits between the terminal and readline: it decodes the terminal's bytes with readline's own
 * decoder (`emitKeypressEvents`, so escape sequences, Tab and Ctrl keys arrive as before),
 * joins the printable characters that arrived together into one key, which readline inserts
 * with one measurement and one write, and lets a handler (Ctrl-R's search) take keys first.
 *
 * @module
 */

import { emitKeypressEvents, type Interface, type Key } from "node:readline";
import { Readable } from "node:stream";

/**
 * What the prompt code reads and sets on readline's Interface beyond its typings: `line` and
 * `cursor` (typed read-only; Node's own REPL sets them too), `history` (newest first, as
 * readline keeps it) and `columns` (the width readline wraps at; Infinity without a terminal).
 */
export interface LineState {
  line: string;
  cursor: number;
  readonly history: string[];
  readonly columns: number;
}

/** readline's Interface seen as its {@link LineState}. */
export function lineState(rl: Interface): LineState {
  return rl as unknown as LineState;
}

/** Sees each key before readline; true when it took the key (readline never sees it). */
export type KeyHandler = (s: string | undefined, key: Key) => boolean;

/** Where keys come from: the terminal (`process.stdin`), or a stream in a test. */
export type KeySource = NodeJS.ReadableStream & { setRawMode?(on: boolean): unknown };

/**
 * Characters readline would insert as they are: none a control character, not typed with
 * Ctrl or Meta (Alt). Space counts (readline names it "space" and inserts it).
 */
export function isPrintable(s: string | undefined, key: Key): s is string {
  if (s === undefined || s === "" || key.ctrl || key.meta || s !== key.sequence) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) return false;
  }
  return true;
}

/**
 * The input stream to give readline (`createInterface({ input: keys, terminal: true })`),
 * then {@link KeyInput.attach} it. It carries no data: readline reads only its `keypress`
 * events, and `pause`, `resume` and `setRawMode` go through to the terminal.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createInterface } from "node:readline";
 * import { PassThrough } from "node:stream";
 * import { KeyInput } from "./keys.ts";
 *
 * const terminal = new PassThrough();
 * const keys = new KeyInput(terminal);
 * const rl = createInterface({ input: keys, output: new PassThrough(), terminal: true });
 * keys.attach(rl);
 * const seen: string[] = [];
 * keys.on("keypress", (s: string) => seen.push(s));
 * terminal.write("guest presets");
 * await new Promise((r) => setTimeout(r, 0));
 * assertEquals(seen, ["guest presets"]); // one key for the chunk, not 13
 * assertEquals(rl.line, "guest presets");
 * rl.close();
 * ```
 */
export class KeyInput extends Readable {
  /** Whether the terminal is in raw mode (readline reads it before switching). */
  isRaw = false;
  readonly isTTY = true;
  readonly #source: KeySource;
  #rl: Interface | undefined;
  #handler: KeyHandler | undefined;
  /** Printable characters decoded from one chunk and not given to readline yet. */
  #run = "";

  constructor(source: KeySource) {
    super({ read() {} });
    this.#source = source;
  }

  setRawMode(on: boolean): this {
    this.#source.setRawMode?.(on);
    this.isRaw = on;
    return this;
  }

  override pause(): this {
    this.#source.pause();
    return this;
  }

  override resume(): this {
    this.#source.resume();
    return this;
  }

  /** Starts decoding the terminal's keys for `rl`, which reads this stream. */
  attach(rl: Interface, handler?: KeyHandler): void {
    this.#rl = rl;
    this.#handler = handler;
    // With rl as the decoder's interface, a Tab inside a pasted chunk is inserted, not
    // completed, as readline does when it reads the terminal itself.
    emitKeypressEvents(this.#source, rl);
    this.#source.on("keypress", (s: string | undefined, key: Key | undefined) => {
      const k = key ?? { sequence: s };
      if (isPrintable(s, k)) {
        // The decoder emits every key of a chunk in one go: the run is complete at the
        // next key that is not printable, or when this task ends.
        if (this.#run === "") queueMicrotask(() => this.#flush());
        this.#run += s;
        return;
      }
      this.#flush();
      this.#deliver(s, k);
    });
    this.#source.on("end", () => {
      this.#flush();
      this.emit("end");
    });
    this.#source.on("error", (e: Error) => this.emit("error", e));
  }

  /** Gives the pending run of printable characters to readline as one key. */
  #flush(): void {
    const run = this.#run;
    if (run === "") return;
    this.#run = "";
    const key: Key = { sequence: run, name: undefined, ctrl: false, meta: false, shift: false };
    if (this.#handler?.(run, key)) return;
    const rl = this.#rl;
    if (run.length === 1 || rl === undefined) {
      this.emit("keypress", run, key);
      return;
    }
    const rows = rl.getCursorPos().rows;
    this.emit("keypress", run, key);
    // readline writes an inserted string as it is and redraws only when the cursor ends in
    // column 0, so a run that wrapped onto new rows leaves readline's count of the rows
    // above the cursor behind: redraw once, so the next redraw starts at the right row.
    if (rl.getCursorPos().rows !== rows) rl.prompt(true);
  }

  #deliver(s: string | undefined, key: Key): void {
    if (this.#handler?.(s, key)) return;
    this.emit("keypress", s, key);
  }
}
