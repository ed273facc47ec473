/**
 * The script runner behind `repl.ts --script FILE`, piped stdin and `source FILE`: the
 * same lines as at the prompt, with `#` comments, stop at the first error unless
 * `--keep-going`, and `expect error "…"` accounting for the failure just before it
 * (SPEC §10). Each top-level line runs at most {@link MAX_SCRIPT_LINES} lines
 * however deeply `source` nests, stops between lines on Ctrl-C, and a file whose lines
 * name no command is stopped after {@link MAX_UNKNOWN_LINES} of them (issue 11).
 *
 * @module
 */

import { MAX_SCRIPT_LINES, MAX_UNKNOWN_LINES, openScript, SCRIPT_MAX_BYTES } from "./files.ts";
import { type LineSource, TextLines } from "./lines.ts";
import type { Session, StopReason } from "./session.ts";
import { isBlankOrComment } from "./tokenize.ts";

/** The shape of {@link runLine}, passed in to keep this module free of the table. */
export type LineRunner = (
  session: Session,
  line: string,
) => {
  ok: boolean;
  output: string[];
  verb?: string;
  quit?: boolean;
  unknown?: boolean;
  error?: string;
};

/** Options of a script run. */
export interface ScriptOptions {
  keepGoing: boolean;
  runLine: LineRunner;
  /** Receives each line's output as it is produced; without it, output is collected. */
  onOutput?: (lines: string[]) => void;
}

/** How a script went. */
export interface ScriptResult {
  ok: boolean;
  /** Failed commands and failed expectations (an error an `expect error` accounted for does not count). */
  errors: number;
  /** Commands run (comments and blank lines excluded). */
  commands: number;
  /** Collected output (empty when `onOutput` was given). */
  output: string[];
  /** The script ran `quit`. */
  quit: boolean;
  /** Why the whole top-level run stopped early (Ctrl-C, the line limit), if it did. */
  stopped?: StopReason;
  /** "file:line" of the top-level run's first error, nested sources included. */
  firstError?: string;
  /** "file:line" of this script's own first error (the deepest place it happened). */
  firstHere?: string;
}

/** An error line of the runner's own, as {@link LineRunner} would print one. */
function errorLine(session: Session, message: string, code: string): string {
  return session.json
    ? JSON.stringify({ error: message, code })
    : session.fmt.err("error: ") + message;
}

/** A script's command lines (blank and comment lines skipped) with their numbers. */
class CommandLines {
  readonly #src: LineSource;
  /** Number of the last line read from the source. */
  #read = 0;
  /** The next command line, read ahead by {@link peek}. */
  #ahead: { text: string; n: number } | undefined;

  constructor(src: LineSource) {
    this.#src = src;
  }

  /** The next command line and its 1-based number, or undefined at the end. */
  next(): { text: string; n: number } | undefined {
    const ahead = this.#ahead ?? this.#scan();
    this.#ahead = undefined;
    return ahead;
  }

  /** The command line {@link next} will give, read ahead (one line at most is held). */
  peek(): string | undefined {
    this.#ahead ??= this.#scan();
    return this.#ahead?.text;
  }

  #scan(): { text: string; n: number } | undefined {
    for (let line = this.#src.next(); line !== undefined; line = this.#src.next()) {
      this.#read++;
      if (!isBlankOrComment(line)) return { text: line, n: this.#read };
    }
    return undefined;
  }
}

/** True when the next line that holds a command is an `expect error`. */
function nextIsExpectError(lines: CommandLines): boolean {
  const next = lines.peek();
  return next !== undefined && /^\s*expect\s+error(\s|$)/.test(next);
}

/** Runs the lines of `text`, named `file` in messages (`path` resolves relative files). */
export function runScriptText(
  session: Session,
  text: string,
  file: string,
  opts: ScriptOptions,
  path = file,
): ScriptResult {
  return runScriptLines(session, new TextLines(text), file, opts, path);
}

/**
 * Runs the lines of `src` as they are read, named `file` in messages (`path` resolves
 * relative files). What the source throws (a read error, piped stdin past its limit)
 * ends the run and is thrown on.
 */
export function runScriptLines(
  session: Session,
  src: LineSource,
  file: string,
  opts: ScriptOptions,
  path = file,
): ScriptResult {
  const lines = new CommandLines(src);
  const result: ScriptResult = { ok: true, errors: 0, commands: 0, output: [], quit: false };
  // Pushed one by one: a nested script's output can outgrow the argument limit of a spread.
  const emit = (out: string[]) => {
    if (opts.onOutput) opts.onOutput(out);
    else for (const line of out) result.output.push(line);
  };
  if (session.where.length === 0) {
    // A new top-level run: its own line budget, and no Ctrl-C from before it.
    session.linesRun = 0;
    session.stopped = undefined;
    session.firstError = undefined;
    session.lastErrorAt = undefined;
    session.interrupt.clear();
  }
  const where = { file, path, line: 0 };
  // Where this script's first error was: the line itself, or for a failed `source` or
  // `repeat` line the place inside it that failed (runLine keeps the last one).
  let firstHere: string | undefined;
  const failedHere = (at = session.lastErrorAt ?? session.location()) => {
    firstHere ??= at;
    session.firstError ??= firstHere;
  };
  let unknown = 0;
  session.where.push(where);
  // A top-level script (from the command line, piped, or sourced at the prompt) may be
  // long; what bounds the work is the budget each of its lines gets for nested sources.
  const top = session.where.length === 1;
  try {
    // Nothing is read past a stop (piped stdin may be a program waiting for answers).
    while (session.stopped === undefined) {
      const l = lines.next();
      if (l === undefined) break;
      where.line = l.n;
      if (top) session.linesRun = 0;
      const stop = stopBefore(session, !top);
      if (stop !== undefined) {
        session.stopped = stop;
        const why = stop === "interrupted"
          ? "interrupted (Ctrl-C); stopped"
          : `stopped: one top-level line may run at most ${MAX_SCRIPT_LINES} lines ` +
            "through nested sources (a file that sources itself?)";
        emit([errorLine(session, `${session.location()}: ${why}`, stop)]);
        result.errors++;
        failedHere(session.location());
        break;
      }
      const r = opts.runLine(session, l.text);
      result.commands++;
      emit(r.output);
      if (r.quit) {
        // A sourced file that failed and then quit still failed.
        if (!r.ok) {
          result.errors++;
          failedHere();
        }
        result.quit = true;
        break;
      }
      if (r.ok) continue;
      // A failure that the next line expects is not (yet) an error: the expect decides.
      if (r.verb !== "expect" && nextIsExpectError(lines)) continue;
      result.errors++;
      failedHere();
      if (r.unknown && ++unknown >= MAX_UNKNOWN_LINES) {
        const why =
          `this does not look like a command script (${unknown} unknown commands); stopped`;
        emit([errorLine(session, `${file}: ${why}`, "not-a-script")]);
        break;
      }
      if (!opts.keepGoing) break;
    }
  } finally {
    session.where.pop();
  }
  result.stopped = session.stopped;
  result.firstError = session.firstError;
  result.firstHere = firstHere;
  result.ok = result.errors === 0;
  return result;
}

/**
 * Whether the next line may run: not after Ctrl-C, nor past the line budget. A top-level
 * line is not `counted`: the budget is of the lines it runs through nested sources and
 * repeats, as at the prompt (a `repeat 100000 …` typed there runs in a script too).
 */
function stopBefore(session: Session, counted: boolean): StopReason | undefined {
  if (session.interrupt.pending()) return "interrupted";
  if (counted && ++session.linesRun > MAX_SCRIPT_LINES) return "line-limit";
  return undefined;
}

/**
 * Reads and runs a script file (relative to the running script, else the working
 * directory): a regular file of at most {@link SCRIPT_MAX_BYTES}.
 */
export function runScriptFile(session: Session, file: string, opts: ScriptOptions): ScriptResult {
  const path = session.resolvePath(file);
  const src = openScript(session.files, path, file, SCRIPT_MAX_BYTES);
  try {
    return runScriptLines(session, src, file, opts, path);
  } finally {
    src.close();
  }
}
