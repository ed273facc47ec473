/**
 * The script runner behind `repl.ts --script FILE`, piped stdin and `source FILE`: the
 * same lines as at the prompt, with `#` comments, stop at the first error unless
 * `--keep-going`, and `expect error "…"` accounting for the failure just before it
 * (SPEC §10).
 *
 * @module
 */

import { LabError } from "../errors.ts";
import type { Session } from "./session.ts";
import { isBlankOrComment } from "./tokenize.ts";

/** The shape of {@link runLine}, passed in to keep this module free of the table. */
export type LineRunner = (
  session: Session,
  line: string,
) => { ok: boolean; output: string[]; verb?: string; quit?: boolean };

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
}

/** True when the next line that holds a command is an `expect error`. */
function nextIsExpectError(lines: readonly string[], i: number): boolean {
  for (let k = i + 1; k < lines.length; k++) {
    if (isBlankOrComment(lines[k])) continue;
    return /^\s*expect\s+error(\s|$)/.test(lines[k]);
  }
  return false;
}

/** Runs the lines of `text`, named `file` in messages (`path` resolves relative files). */
export function runScriptText(
  session: Session,
  text: string,
  file: string,
  opts: ScriptOptions,
  path = file,
): ScriptResult {
  const lines = text.split(/\r?\n/);
  const result: ScriptResult = { ok: true, errors: 0, commands: 0, output: [], quit: false };
  const where = { file, path, line: 0 };
  session.where.push(where);
  try {
    for (let i = 0; i < lines.length; i++) {
      where.line = i + 1;
      if (isBlankOrComment(lines[i])) continue;
      const r = opts.runLine(session, lines[i]);
      result.commands++;
      if (opts.onOutput) opts.onOutput(r.output);
      else result.output.push(...r.output);
      if (r.quit) {
        result.quit = true;
        break;
      }
      if (r.ok) continue;
      // A failure that the next line expects is not (yet) an error: the expect decides.
      if (r.verb !== "expect" && nextIsExpectError(lines, i)) continue;
      result.errors++;
      if (!opts.keepGoing) break;
    }
  } finally {
    session.where.pop();
  }
  result.ok = result.errors === 0;
  return result;
}

/** Reads and runs a script file (relative to the running script, else the working directory). */
export function runScriptFile(session: Session, file: string, opts: ScriptOptions): ScriptResult {
  const path = session.resolvePath(file);
  let text: string;
  try {
    text = session.files.readText(path);
  } catch (e) {
    throw new LabError(`Cannot read script ${file}: ${(e as Error).message}`);
  }
  return runScriptText(session, text, file, opts, path);
}
