/**
 * What the session ran, for `report` (issue 12): each command's line, where it came from,
 * its answer as text, the kernel output it caused, and for `expect` whether it held.
 * Bounded: the last {@link MAX_TRANSCRIPT} commands are kept (a million-line replay
 * must not grow without end), each with at most {@link MAX_ENTRY_LINES} lines.
 *
 * @module
 */

import type { LabEvent } from "../events.ts";

/** How many commands the transcript keeps (the oldest go first). */
export const MAX_TRANSCRIPT = 2000;
/** How many lines of one answer it keeps. */
export const MAX_ENTRY_LINES = 400;

/** One command as the report shows it. */
export interface TranscriptEntry {
  /** 1-based, counting every command of the session (dropped ones too). */
  n: number;
  line: string;
  /** "file:line" inside a script or a sourced file; null at the prompt. */
  where: string | null;
  /** The guest it ran on ("main #2 (arm-dom0, faithful)", Session.guestLabel), null without one. */
  guest: string | null;
  verb: string | null;
  ok: boolean;
  /** The answer as printed in text mode (colours included when the session has them). */
  text: string[];
  /** Lines of the answer not kept. */
  moreLines: number;
  /** Kernel output and UB events the command caused. */
  events: LabEvent[];
  /** `expect`: whether it held; null for any other verb. */
  expect: boolean | null;
}

/** What {@link Transcript.add} is given: the entry's facts, its text maybe to be drawn. */
export interface TranscriptInput {
  line: string;
  /** The script the command came from (null at the prompt) and its line there. */
  file: string | null;
  at: number;
  /** The guest it ran on ("main #2 (arm-dom0, faithful)", Session.guestLabel), null without one. */
  guest: string | null;
  verb: string | null;
  ok: boolean;
  /** The answer's lines, or what draws them when the report asks (lib/repl/run.ts). */
  text: readonly string[] | (() => string[]);
  events: LabEvent[];
  expect: boolean | null;
}

/**
 * One kept command, flat: the transcript holds 2000 of them while a replay runs, and what
 * it holds is copied at every minor GC meanwhile, so each is one object and its strings.
 */
interface Kept extends TranscriptInput {
  /** As {@link TranscriptEntry.n}. */
  n: number;
  /** Lines of given text not kept (the text itself is cut to {@link MAX_ENTRY_LINES}). */
  more: number;
}

/** The bounded list of commands: a ring of the last {@link MAX_TRANSCRIPT}. */
export class Transcript {
  #ring: Kept[] = [];
  #count = 0;
  /**
   * False when nothing will read the commands (a script run that cannot make a report,
   * lib/repl/cli.ts): they are counted, not kept.
   */
  keep = true;

  /** Records one command. */
  add(e: TranscriptInput): void {
    if (!this.keep) {
      this.#count++;
      return;
    }
    let text = e.text;
    let more = 0;
    if (typeof text !== "function" && text.length > MAX_ENTRY_LINES) {
      more = text.length - MAX_ENTRY_LINES;
      text = text.slice(0, MAX_ENTRY_LINES);
    }
    this.#ring[this.#count % MAX_TRANSCRIPT] = {
      n: this.#count + 1,
      line: e.line,
      file: e.file,
      at: e.at,
      guest: e.guest,
      verb: e.verb,
      ok: e.ok,
      text,
      more,
      events: e.events.length === 0 ? NO_EVENTS : e.events,
      expect: e.expect,
    };
    this.#count++;
  }

  /** The commands kept, oldest first. */
  entries(): TranscriptEntry[] {
    const at = this.#count % MAX_TRANSCRIPT;
    const kept = this.#count > MAX_TRANSCRIPT
      ? [...this.#ring.slice(at), ...this.#ring.slice(0, at)]
      : this.#ring;
    return kept.map((e) => {
      let text = typeof e.text === "function" ? e.text() : [...e.text];
      let moreLines = e.more;
      if (text.length > MAX_ENTRY_LINES) {
        moreLines = text.length - MAX_ENTRY_LINES;
        text = text.slice(0, MAX_ENTRY_LINES);
      }
      return {
        line: e.line,
        where: e.file === null ? null : `${e.file}:${e.at}`,
        guest: e.guest,
        verb: e.verb,
        ok: e.ok,
        text,
        events: e.events === NO_EVENTS ? [] : e.events,
        expect: e.expect,
        n: e.n,
        moreLines,
      };
    });
  }

  /** Every command recorded, kept or not. */
  get count(): number {
    return this.#count;
  }
}

/** The events of the many commands that cause none (one array, not one each). */
const NO_EVENTS: LabEvent[] = [];
