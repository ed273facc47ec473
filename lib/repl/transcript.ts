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
  /** The guest it ran on ("main (arm-dom0)"), null without one. */
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

/** The bounded list of commands. */
export class Transcript {
  #entries: TranscriptEntry[] = [];
  #count = 0;

  /** Records one command. */
  add(e: Omit<TranscriptEntry, "n" | "moreLines">): void {
    const kept = e.text.length > MAX_ENTRY_LINES ? e.text.slice(0, MAX_ENTRY_LINES) : e.text;
    this.#entries.push({
      ...e,
      n: ++this.#count,
      text: kept,
      moreLines: e.text.length - kept.length,
    });
    // Drop in blocks, so keeping the bound costs O(1) per command on average.
    if (this.#entries.length > MAX_TRANSCRIPT * 1.25) {
      this.#entries = this.#entries.slice(-MAX_TRANSCRIPT);
    }
  }

  /** The commands kept, oldest first. */
  entries(): readonly TranscriptEntry[] {
    return this.#entries.length > MAX_TRANSCRIPT
      ? this.#entries.slice(-MAX_TRANSCRIPT)
      : this.#entries;
  }

  /** Every command recorded, kept or not. */
  get count(): number {
    return this.#count;
  }
}
