/**
 * Output plumbing (issue 13): `CMD | grep PATTERN`, `| head N`, `| tail N`, chained, and
 * `> FILE` / `>> FILE` at the end — on every command line, with no shell (so no new
 * permission). The stages act on the lines of the command's text answer; the command
 * itself, its JSON object and what `expect` checks afterwards are untouched.
 *
 * - grep: PATTERN is a JavaScript regular expression (as `grep -E`), matched anywhere in
 *   a line with its colours stripped; `-F` takes it as a fixed string, `-i` ignores case,
 *   `-v` keeps the lines that do not match, `-c` prints their count. An unquoted pattern
 *   starting with `$` is an address expression (`grep $bus`, `grep $bus+0x1000`), printed
 *   in the session's radix as the answers print it; quote it for a regex with `$` in it.
 * - head/tail: `head` (10 lines), `head N`, `head -n N`, `head -N`; the same for tail.
 * - `> FILE` truncates or creates, `>> FILE` appends; like a shell, the file is opened
 *   before the command runs, so a file that cannot be written leaves the command unrun,
 *   and `>` empties it even when the command then fails (its error stays on the screen).
 *
 * @module
 */

import { stripAnsiCode } from "@std/fmt/colors";
import { LabError } from "../errors.ts";
import { parseAddrArg, type Vars } from "./args.ts";
import { clip } from "./files.ts";
import { plural } from "./render/format.ts";
import type { Session } from "./session.ts";
import { quoteWord, type Token } from "./tokenize.ts";

/** The commands a `|` may feed. */
export const PIPE_COMMANDS: readonly string[] = ["grep", "head", "tail"];

/** Lines `head` and `tail` keep when given no count (as their coreutils namesakes). */
const DEFAULT_LINES = 10;

/** One stage after a `|`. */
export type Stage =
  | { kind: "grep"; re: RegExp; invert: boolean; count: boolean; shown: string }
  | { kind: "head" | "tail"; n: number; shown: string };

/** Where `>` or `>>` sends the answer. */
export interface Redirect {
  /** The file as the user typed it (for messages). */
  file: string;
  append: boolean;
}

/** What follows the command on its line. */
export interface Plumbing {
  stages: Stage[];
  redirect: Redirect | undefined;
}

function pipeError(message: string): LabError {
  return new LabError(message, "usage", "pipe");
}

/** What the session lends the parser: `$` variables and how addresses print. */
export interface PlumbEnv {
  vars: Vars;
  num(x: number | bigint): string;
}

/** `grep [-i] [-v] [-F] [-c] [--] PATTERN`. */
function grepStage(words: Token[], env: PlumbEnv): Stage {
  let ignoreCase = false, invert = false, fixed = false, count = false;
  let i = 0;
  for (; i < words.length; i++) {
    const w = words[i];
    if (w.quoted || !w.text.startsWith("-") || w.text === "-") break;
    if (w.text === "--") {
      i++;
      break;
    }
    for (const f of w.text.slice(1)) {
      if (f === "i") ignoreCase = true;
      else if (f === "v") invert = true;
      else if (f === "F") fixed = true;
      else if (f === "c") count = true;
      else {
        throw pipeError(
          `grep: unknown option '-${clip(f)}' (grep takes -i, -v, -F and -c; ` +
            `'grep -- ${clip(w.text)}' looks for it)`,
        );
      }
    }
  }
  const rest = words.slice(i);
  if (rest.length === 0) throw pipeError("grep needs a PATTERN (help redirect)");
  if (rest.length > 1) {
    throw pipeError(
      `grep takes one PATTERN, not ${rest.length} words: quote a pattern with blanks ` +
        `(grep "${clip(rest.map((t) => t.text).join(" "))}")`,
    );
  }
  const p = rest[0];
  let source = p.text;
  if (!p.quoted && source.startsWith("$")) {
    source = env.num(parseAddrArg(source, env.vars, "grep pattern"));
    fixed = true;
  }
  if (fixed) source = source.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  let re: RegExp;
  try {
    re = new RegExp(source, ignoreCase ? "i" : "");
  } catch (e) {
    const why = (e as Error).message.replace(/^Invalid regular expression: \/.*\/\w*: /, "");
    throw pipeError(
      `grep: Cannot use "${clip(p.text)}" as a regular expression: ${why} ` +
        "(grep -F takes it as plain text)",
    );
  }
  return { kind: "grep", re, invert, count, shown: "" };
}

/** `head [N | -n N | -N]`, `tail …`. */
function countStage(kind: "head" | "tail", words: Token[]): Stage {
  const t = words.map((w) => w.text);
  let text: string | undefined;
  if (t.length === 1) text = /^-\d+$/.test(t[0]) ? t[0].slice(1) : t[0];
  else if (t.length === 2 && t[0] === "-n") text = t[1];
  else if (t.length !== 0) {
    throw pipeError(`${kind} takes one count of lines: ${kind} N (help redirect)`);
  }
  if (text !== undefined && !/^\d+$/.test(text)) {
    throw pipeError(`${kind}: Cannot use "${clip(text)}" as a count of lines`);
  }
  return { kind, n: text === undefined ? DEFAULT_LINES : Number(text), shown: "" };
}

function stage(words: Token[], env: PlumbEnv): Stage {
  const [name, ...rest] = words;
  if (name === undefined) throw pipeError("nothing after '|': pipe into grep, head or tail");
  let s: Stage;
  if (name.text === "grep" && !name.quoted) s = grepStage(rest, env);
  else if ((name.text === "head" || name.text === "tail") && !name.quoted) {
    s = countStage(name.text, rest);
  } else {
    throw pipeError(
      `'| ${clip(name.text)}': a line pipes only into grep, head and tail ` +
        "(no shell runs; help redirect)",
    );
  }
  s.shown = words.map((w) => quoteWord(w.text)).join(" ");
  return s;
}

/** A line's tokens before its first operator: the command's own words (all, as is, when none). */
export function commandTokens(tokens: readonly Token[]): readonly Token[] {
  const first = tokens.findIndex((t) => t.op !== undefined);
  return first < 0 ? tokens : tokens.slice(0, first);
}

/**
 * Splits a line's tokens at its first operator: the command's own tokens, and the
 * stages and redirection after it (undefined when there are none). Throws a usage
 * {@link LabError} for plumbing that cannot run, before the command runs.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { splitPlumbing } from "./plumb.ts";
 * import { tokenize } from "./tokenize.ts";
 * const env = { vars: new Map(), num: (x: number | bigint) => "0x" + x.toString(16) };
 * const { command, plumbing } = splitPlumbing(tokenize("segments | grep -v 0x40 > s.txt"), env);
 * assertEquals(command.map((t) => t.text), ["segments"]);
 * assertEquals(plumbing?.stages.map((s) => s.shown), ["grep -v 0x40"]);
 * assertEquals(plumbing?.redirect, { file: "s.txt", append: false });
 * ```
 */
export function splitPlumbing(
  tokens: readonly Token[],
  env: PlumbEnv,
): { command: readonly Token[]; plumbing: Plumbing | undefined } {
  const command = commandTokens(tokens);
  const first = command.length;
  if (first === tokens.length) return { command, plumbing: undefined };
  if (command.length === 0) {
    throw pipeError(`nothing before '${tokens[first].text}': give a command first`);
  }
  const plumbing: Plumbing = { stages: [], redirect: undefined };
  let i = first;
  while (i < tokens.length) {
    const op = tokens[i].op;
    let j = i + 1;
    while (j < tokens.length && tokens[j].op === undefined) j++;
    const words = tokens.slice(i + 1, j);
    if (plumbing.redirect) {
      throw pipeError(
        `'${plumbing.redirect.append ? ">>" : ">"} FILE' must end the line ` +
          `(found '${clip(tokens[i].text)}' after it)`,
      );
    }
    if (op === "|") plumbing.stages.push(stage(words, env));
    else {
      if (words.length === 0) throw pipeError(`give a file name after '${op}'`);
      if (words.length > 1) {
        throw pipeError(
          `'${op}' takes one file name, not ${words.length} words ` +
            `(quote a name with blanks: ${op} "${clip(words.map((w) => w.text).join(" "))}")`,
        );
      }
      plumbing.redirect = { file: words[0].text, append: op === ">>" };
    }
    i = j;
  }
  return { command, plumbing };
}

/**
 * Runs the stages over an answer's lines, in order. grep matches the text without its
 * colours; a line keeps them.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pipeLines, splitPlumbing } from "./plumb.ts";
 * import { tokenize } from "./tokenize.ts";
 * const env = { vars: new Map(), num: (x: number | bigint) => String(x) };
 * const { plumbing } = splitPlumbing(tokenize("x | grep -i A | tail 2"), env);
 * assertEquals(pipeLines(plumbing!.stages, ["a1", "b", "A2", "a3"]), ["A2", "a3"]);
 * ```
 */
export function pipeLines(stages: readonly Stage[], lines: readonly string[]): string[] {
  let out = [...lines];
  for (const s of stages) {
    if (s.kind === "grep") {
      const kept = out.filter((l) => s.re.test(stripAnsiCode(l)) !== s.invert);
      out = s.count ? [String(kept.length)] : kept;
    } else if (s.kind === "head") out = out.slice(0, s.n);
    else out = s.n === 0 ? [] : out.slice(-s.n);
  }
  return out;
}

/** The file's contents for `lines`: colourless, one line each, a final newline. */
export function fileText(lines: readonly string[]): string {
  return lines.length === 0 ? "" : lines.map(stripAnsiCode).join("\n") + "\n";
}

/**
 * Opens the redirection's file before the command runs, as a shell does: `>` empties or
 * creates it, `>>` creates it. Throws the user's error when it cannot be written.
 */
export function openRedirect(session: Session, r: Redirect): void {
  session.writeOutput(r.file, "", r.append ? ">>" : ">", { append: r.append });
}

/** What a plumbed command prints and answers in --json mode. */
export interface Plumbed {
  /** The text lines to print: the piped answer, or a note saying where it went. */
  text: string[];
  /** The command's JSON object with a `plumbing` member (or the write's error). */
  json: Record<string, unknown>;
  /** Set when the answer could not be written. */
  error?: string;
}

/**
 * Sends a successful command's answer `lines` through the stages and to the file. In
 * --json mode the stdout object is still the command's one object (SPEC §10), with
 * `plumbing: {pipe, text}` (the piped lines) or `plumbing: {pipe, file, append, lines}`;
 * the file gets the same text as without --json.
 */
export function plumb(
  session: Session,
  p: Plumbing,
  json: Record<string, unknown>,
  lines: readonly string[],
): Plumbed {
  const piped = pipeLines(p.stages, lines);
  const pipe = p.stages.map((s) => s.shown);
  if (!p.redirect) {
    return { text: piped, json: { ...json, plumbing: { pipe, text: piped.map(stripAnsiCode) } } };
  }
  const { file, append } = p.redirect;
  try {
    session.writeOutput(file, fileText(piped), append ? ">>" : ">", { append });
  } catch (e) {
    if (!(e instanceof LabError)) throw e;
    const error = e.render((x) => session.fmt.num(x));
    return {
      text: [session.fmt.err("error: ") + error],
      json: { ...json, error, code: e.code },
      error,
    };
  }
  const note = `${append ? "appended" : "wrote"} ${plural(piped.length, "line")} to ${file}`;
  return {
    text: [session.fmt.dim(note)],
    json: { ...json, plumbing: { pipe, file, append, lines: piped.length } },
  };
}
