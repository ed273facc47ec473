/**
 * `compare SCRIPT --preset A --preset B …`: one command script run against several
 * guests, each in a fresh session of its own, and their answers set side by side
 * (issue 12, item 5). This is REPL orchestration, not engine work: every cell is the
 * answer `runLine` gave in that guest's session, and the comparison is of those answers.
 *
 * Rules, and why:
 * - compare makes each guest (`guest new --preset A`, or the `guest new` line of a guest
 *   file) and the script must make none: a script's own `guest new` would replace the
 *   very guest being compared. A top-level `guest new|load` is refused before anything
 *   runs; one in a sourced file stops the compare when it is met.
 * - Each guest's session is fresh (the settings a `repl.ts --script` run starts with) and
 *   goes on after errors, so a guest that fails early still answers every later line;
 *   the current session's guest, settings and `$` variables are untouched.
 * - The guests write no files (N copies of `tree --dot` or `record` would overwrite one
 *   another), and compare does not nest.
 * - Bounded: the script's own limits (lib/repl/files.ts: its size, the lines each of its
 *   lines may run through `source`; Ctrl-C stops the compare), at most {@link MAX_COMPARE_GUESTS} guests,
 *   and at most {@link COMPARE_MAX_CHARS} of answers kept (past that, each guest stops
 *   and the answer says the comparison was cut short).
 *
 * @module
 */

import { jsonReplacer } from "../addr.ts";
import { LabError } from "../errors.ts";
import { parseGuestFile, parseSwiotlb } from "../guest/mod.ts";
import {
  clip,
  type FileAccess,
  GUEST_FILE_MAX_BYTES,
  MAX_SCRIPT_LINES,
  readUserFile,
  SCRIPT_MAX_BYTES,
} from "./files.ts";
import { guestNewLine } from "./guest_line.ts";
import { runScriptText } from "./script.ts";
import type { LineRunner } from "./script.ts";
import { type Interrupt, type LineSeen, Session } from "./session.ts";
import { tokenize } from "./tokenize.ts";

/** The most guests one compare runs (columns of a table one can still read). */
export const MAX_COMPARE_GUESTS = 8;
/** Characters of answers (as JSON) one compare keeps, over all its guests. */
export const COMPARE_MAX_CHARS = 32 << 20;

/** A guest to compare: a preset, or a guest file. */
export type GuestSource = { preset: string } | { file: string };

/** One column: a guest, how it was made, and what making it answered. */
export interface CompareGuest {
  /** The preset's name, or the file as given. */
  name: string;
  /** The `guest new` line that made it. */
  line: string;
  answer: Record<string, unknown>;
  /** Lines it ran (the guest's line not counted). */
  commands: number;
  /**
   * It stopped before the end of the script: the answer budget, a line that ran too many
   * through `source`, or `quit` (Ctrl-C stops the whole compare).
   */
  stopped?: "budget" | "line-limit" | "quit";
}

/** One row: a command of the script and each guest's answer to it. */
export interface CompareRow {
  /** "3" for the script's line 3, "sub.txt:2" for a line of a file it sources. */
  where: string;
  line: string;
  /** Every guest ran it and gave the same answer. */
  same: boolean;
  /** Each guest's answer, null where it did not run the line. */
  answers: (Record<string, unknown> | null)[];
  /** The top-level answer fields whose values are not the same in every guest. */
  fields: string[];
}

/** Everything compare found. */
export interface CompareView {
  script: string;
  guests: CompareGuest[];
  rows: CompareRow[];
  /** The guests' own `guest new` answers differ in these fields. */
  guestFields: string[];
}

/** What {@link runCompare} needs of the session it is run from. */
export interface CompareFrom {
  cwd: string;
  files: FileAccess;
  interrupt: Interrupt;
  resolvePath(path: string): string;
  /** {@link runLine}, passed in to keep this module free of the command table. */
  runLine: LineRunner;
}

/** A verb a compared script may not run (`guest new` makes its own guest). */
function forbidden(verb: string | undefined): string | undefined {
  return verb === "guest new" || verb === "guest load" || verb === "compare" ? verb : undefined;
}

/** The verb a line starts with, for the refusal before anything runs. */
function firstVerb(line: string): string | undefined {
  try {
    const words = tokenize(line).map((t) => t.text);
    return words[0] === "guest" ? `guest ${words[1]}` : words[0];
  } catch {
    return undefined; // It fails when it runs, in every guest alike.
  }
}

/** Compares running now: a compared script (or a file it sources) may not start another. */
let depth = 0;

/** Files the guests may read but not write. */
function readOnly(files: FileAccess): FileAccess {
  const refuse = () => {
    throw new Error("compare's guests write no files");
  };
  return { ...files, writeText: refuse, appendText: refuse };
}

/** The `guest new` line of a column. */
function guestLine(from: CompareFrom, g: GuestSource, swiotlb: number | undefined): string {
  if ("preset" in g) return guestNewLine({ preset: g.preset, swiotlb });
  const path = from.resolvePath(g.file);
  const text = readUserFile(from.files, path, g.file, "guest file", GUEST_FILE_MAX_BYTES);
  const input = parseGuestFile(text, g.file);
  if (swiotlb !== undefined) input.swiotlb = swiotlb;
  return guestNewLine(input);
}

/** Runs `script` against each guest and lines their answers up. */
export function runCompare(
  from: CompareFrom,
  script: string,
  sources: readonly GuestSource[],
  opts: { swiotlb?: string } = {},
): CompareView {
  if (depth > 0) throw new LabError("compare: a compared script may not run compare");
  if (sources.length < 2) {
    throw new LabError("compare needs at least two guests (--preset NAME, --guest FILE)");
  }
  if (sources.length > MAX_COMPARE_GUESTS) {
    throw new LabError(`compare runs at most ${MAX_COMPARE_GUESTS} guests, not ${sources.length}`);
  }
  const names = sources.map((g) => ("preset" in g ? g.preset : g.file));
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new LabError(`compare: guest ${clip(twice)} is given twice`);
  const path = from.resolvePath(script);
  const text = readUserFile(from.files, path, script, "script", SCRIPT_MAX_BYTES);
  text.split(/\r?\n/).forEach((l, i) => {
    const verb = forbidden(firstVerb(l));
    if (verb !== undefined) throw refusal(`${script}:${i + 1}`, verb);
  });
  const swiotlb = opts.swiotlb === undefined ? undefined : parseSwiotlb(opts.swiotlb);
  const lines = sources.map((g) => guestLine(from, g, swiotlb));
  const budget = Math.floor(COMPARE_MAX_CHARS / sources.length);
  depth++;
  try {
    const runs = sources.map((_, i) =>
      runGuest(from, script, path, text, names[i], lines[i], budget)
    );
    return lineUp(script, runs);
  } finally {
    depth--;
  }
}

function interrupted(): LabError {
  return new LabError("compare: interrupted (Ctrl-C); nothing to show");
}

function refusal(where: string, verb: string): LabError {
  return new LabError(
    `compare: ${where} runs ${verb}; compare makes each guest itself ` +
      "(--preset NAME, --guest FILE), so a compared script makes none and runs no compare",
  );
}

/** One guest's run: its column and its answers by place in the script. */
interface GuestRun {
  guest: CompareGuest;
  answers: Map<string, { where: string; line: string; json: string }>;
}

function runGuest(
  from: CompareFrom,
  script: string,
  path: string,
  text: string,
  name: string,
  line: string,
  budget: number,
): GuestRun {
  const outer = from.interrupt;
  let seen: (x: LineSeen) => void = () => {};
  const s = new Session({
    cwd: from.cwd,
    files: readOnly(from.files),
    keepGoing: true,
    // A Ctrl-C stops the compare (only the outer run clears it).
    interrupt: { pending: () => outer.pending(), clear: () => {} },
    onLine: (x) => seen(x),
  });
  const run = (t: string, file: string, p?: string) =>
    runScriptText(s, t, file, { keepGoing: true, runLine: from.runLine, onOutput: () => {} }, p);
  let made: LineSeen | undefined;
  seen = (x) => (made = x);
  if (run(line, "(guest)").stopped === "interrupted") throw interrupted();
  if (!made?.ok) {
    throw new LabError(`compare: guest ${clip(name)}: ${made?.json.error ?? "not made"}`);
  }
  const result: GuestRun = {
    guest: { name, line, answer: made.json, commands: 0 },
    answers: new Map(),
  };
  const count = new Map<string, number>();
  let chars = 0;
  let refused: LabError | undefined;
  seen = (x) => {
    if (x.verb === "source") return;
    const at = s.location() ?? script;
    const where = at.startsWith(`${script}:`) ? at.slice(script.length + 1) : at;
    const verb = forbidden(x.verb);
    if (verb !== undefined) {
      refused = refusal(at, verb);
      s.stopped = "line-limit";
      return;
    }
    // The row says where; an error's own `where` would only repeat it.
    const { where: _where, ...answer } = x.json ?? {};
    const json = toJson(x.json === undefined ? undefined : answer);
    chars += json.length;
    if (chars > budget || result.answers.size >= MAX_SCRIPT_LINES) {
      result.guest.stopped = "budget";
      s.stopped = "line-limit";
      return;
    }
    // The same place can run twice (a file sourced twice): number the visits.
    const n = (count.get(where) ?? 0) + 1;
    count.set(where, n);
    result.answers.set(`${where}#${n}`, { where, line: x.line, json });
    result.guest.commands++;
  };
  const r = run(text, script, path);
  if (refused) throw refused;
  if (r.stopped === "interrupted") throw interrupted();
  if (result.guest.stopped === undefined) {
    if (r.stopped !== undefined) result.guest.stopped = r.stopped;
    else if (r.quit) result.guest.stopped = "quit";
  }
  return result;
}

/** The rows, in the order the first guest ran them (then any only later guests ran). */
function lineUp(script: string, runs: GuestRun[]): CompareView {
  const order: string[] = [];
  const known = new Set<string>();
  for (const r of runs) {
    for (const k of r.answers.keys()) {
      if (!known.has(k)) {
        known.add(k);
        order.push(k);
      }
    }
  }
  const rows = order.map((k): CompareRow => {
    const cells = runs.map((r) => r.answers.get(k));
    const first = cells.find((c) => c !== undefined)!;
    const same = cells.every((c) => c !== undefined && c.json === first.json);
    const answers = cells.map((c) => (c === undefined ? null : JSON.parse(c.json)));
    return {
      where: first.where,
      line: first.line,
      same,
      answers,
      fields: same ? [] : differing(answers),
    };
  });
  const guests = runs.map((r) => r.guest);
  return { script, guests, rows, guestFields: differing(guests.map((g) => g.answer)) };
}

/**
 * An answer as JSON text, as `--json` writes it. Without the replacer first: it is called
 * for every value (a pool's 32768 counters), and only BigInts (the all-ones value, wide
 * masks) need it — JSON.stringify throws on them, and then it is used.
 */
function toJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? "null";
  } catch {
    return JSON.stringify(v, jsonReplacer) ?? "null";
  }
}

/** Keys whose values are not the same in every answer (a missing answer differs in all). */
export function differing(answers: readonly (Record<string, unknown> | null)[]): string[] {
  const keys: string[] = [];
  for (const a of answers) {
    for (const k of Object.keys(a ?? {})) if (!keys.includes(k)) keys.push(k);
  }
  return keys.filter((k) => {
    const values = answers.map((a) => (a === null ? "\0" : toJson(a[k])));
    return values.some((v) => v !== values[0]);
  });
}
