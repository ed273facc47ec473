/**
 * Where a recording's state may start when the session keeps several guests (`guest new
 * --name`, issue 13): the commands since the `guest new` of the oldest guest the state
 * still needs, not since the session's first. Guests are independent (each its own
 * machine, SPEC §4), so a guest that is gone and that no command after a point acted on
 * needs none of its commands replayed from that point, and its `guest drop` (made while
 * another guest was current) is left out too. Which guests a line acted on is judged
 * generously — the guest current before and after it, every guest for `guest list` or a
 * `repeat` of guest verbs — since acting on a guest the replay lacks would fail there.
 *
 * @module
 */

import type { Guest } from "../guest/mod.ts";
import type { Session } from "./session.ts";

/** A point where a replay may start: a `guest new|load` line in the history. */
export interface Mark<S> {
  /** Index in the recorder's history of the line that made the guest. */
  at: number;
  /** The session settings just before it. */
  settings: S;
  /** Commands kept before it. */
  commands: number;
  /** The guests alive just before it (a replay from here has none of them). */
  prior: Guest[];
  /** The line names its guest, or the guest is "main" (a fresh session's name). */
  named: boolean;
}

interface Known<S> {
  /** Index in the history where it was made (0 for the guest the history starts with). */
  made: number;
  /** Set when a replay may start at the line that made it. */
  mark?: Mark<S>;
  /** Index of the last line that acted on it (-1: none since it was made). */
  touched: number;
}

/** What a line did, as {@link GuestEras.note} needs it. */
export interface GuestLine {
  verb: string | undefined;
  line: string;
  /** The guest current when the line started. */
  before: Guest | undefined;
}

/** Where a recording's state starts. */
export interface StateStart<S> {
  /** Index in the history of its first line. */
  at: number;
  /** The settings then (undefined: those the history starts with). */
  settings: S | undefined;
  /** Commands kept before it. */
  commands: number;
  /** Guests made before it: their `guest drop` lines are left out. */
  before: (g: Guest) => boolean;
}

/** The guests a recorder's history has seen, and the lines that acted on each. */
export class GuestEras<S> {
  #known = new Map<Guest, Known<S>>();
  /** The guests alive after the last line that could change them. */
  #alive: Guest[] = [];

  /** The history starts anew with `g`, the session's only guest. */
  reset(g: Guest | undefined): void {
    this.#known = new Map();
    this.#alive = g ? [g] : [];
    if (g) this.#known.set(g, { made: 0, touched: -1 });
  }

  /**
   * Notes a line about to be kept at `index` (`seal` gives a fresh index for a line that
   * makes a guest, so a replay can start at it). Returns the guest a `guest drop` of a
   * guest other than the current one dropped: that line may be left out of a replay
   * that never made the guest.
   */
  note(
    session: Session,
    l: GuestLine,
    index: () => number,
    seal: () => { at: number; settings: S; commands: number },
  ): Guest | undefined {
    const { verb, before } = l;
    const makes = verb === "guest new" || verb === "guest load";
    const changes = makes || verb === "guest drop" || verb === "guest use" ||
      (verb === "repeat" && /^\s*repeat\s+\S+\s+(guest|source|repeat)\b/.test(l.line));
    // One guest seen since the history began: no other to leave out, nothing to track.
    if (this.#known.size <= 1 && !makes && !changes) return undefined;
    const at = makes ? seal() : { at: index(), settings: undefined, commands: 0 };
    const touch = (g: Guest | undefined) => {
      const k = g && this.#known.get(g);
      if (k) k.touched = at.at;
    };
    if (!makes) touch(before);
    if (session.guest !== before) touch(session.guest);
    if (verb === "guest list" || (verb === "repeat" && changes)) this.#alive.forEach(touch);
    if (!changes) return undefined;
    const now = [...session.guests.values()];
    let dropped: Guest | undefined;
    for (const g of this.#alive) {
      if (now.includes(g)) continue;
      if (verb === "guest drop" && g !== before) dropped = g;
      else touch(g); // replaced, or dropped while current
    }
    for (const g of now) {
      if (this.#known.has(g)) continue;
      const k: Known<S> = { made: at.at, touched: -1 };
      if (makes && at.settings !== undefined) {
        const named = session.guestName === "main" || /(^|\s)--name(\s|=|$)/.test(l.line);
        k.mark = {
          at: at.at,
          settings: at.settings,
          commands: at.commands,
          prior: [...this.#alive],
          named,
        };
      }
      this.#known.set(g, k);
    }
    this.#alive = now;
    return dropped;
  }

  /**
   * The latest point a replay can start from and still rebuild every guest alive now:
   * the oldest of their marks, moved earlier while a guest gone before it was acted on
   * after it (or its line would name another guest in a fresh session).
   */
  start(session: Session): StateStart<S> {
    let mark = this.#oldest([...session.guests.values()]);
    while (mark) {
      const at = mark.at;
      // A line that does not name its guest would name it "main" in a fresh session.
      const needed = mark.named
        ? mark.prior.filter((p) => (this.#known.get(p)?.touched ?? at) >= at)
        : mark.prior;
      if (mark.named && needed.length === 0) break;
      mark = needed.length === 0 ? undefined : this.#oldest(needed);
    }
    // The start of the history: it holds every guest made since its first.
    if (!mark) return { at: 0, settings: undefined, commands: 0, before: () => false };
    const at = mark.at;
    return {
      at,
      settings: mark.settings,
      commands: mark.commands,
      before: (g) => (this.#known.get(g)?.made ?? 0) < at,
    };
  }

  /** The earliest mark of `guests`; undefined when one has none (the history's start). */
  #oldest(guests: readonly Guest[]): Mark<S> | undefined {
    let oldest: Mark<S> | undefined;
    for (const g of guests) {
      const m = this.#known.get(g)?.mark;
      if (!m) return undefined;
      if (!oldest || m.at < oldest.at) oldest = m;
    }
    return oldest;
  }
}
