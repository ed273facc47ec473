/**
 * Runs one REPL line: tokenize, find the verb in the table, let commander parse the
 * words, call the engine through the verb's handler, drain the guest's events, and
 * render the reply as text or one JSON object. Nothing a line does can throw out of
 * {@link runLine}: errors become replies (SPEC §10: "never end an interactive session").
 *
 * @module
 */

import { jsonReplacer } from "../addr.ts";
import { LabError } from "../errors.ts";
import { errorHint } from "./render/words.ts";
import { explainBlocks, explainJson } from "./render/explain.ts";
import { eventText, type LabEvent } from "../events.ts";
import type { ExplainStep } from "../explain.ts";
import { cmdTable } from "./commands.ts";
import { Fmt } from "./render/format.ts";
import type { Vars } from "./args.ts";
import { parseWords, resolveVerb, UsageError } from "./parse.ts";
import { runScriptFile } from "./script.ts";
import { LastRun, Session } from "./session.ts";
import {
  type CommandSpec,
  type Ctx,
  type OptLists,
  type Opts,
  type Reply,
  verbName,
} from "./table.ts";
import { type Token, tokenize } from "./tokenize.ts";
import { commandTokens, openRedirect, plumb, type Plumbing, splitPlumbing } from "./plumb.ts";

/** What one line produced. */
export interface LineResult {
  /** False when the command failed (or an expectation did not hold). */
  ok: boolean;
  /** Lines to print: text, or a single JSON line in `--json` mode; [] for a comment. */
  output: string[];
  /** The JSON object of the command (undefined for blank and comment lines). */
  json: Record<string, unknown> | undefined;
  /** The error message, when `ok` is false. */
  error?: string;
  /** The verb as resolved ("guest new", "map"), when one was found. */
  verb?: string;
  /** `quit` was run (at the prompt, in a script or in a file it sources). */
  quit?: boolean;
  /** The line named no command (an unknown verb, or one that does not tokenize). */
  unknown?: boolean;
}

/**
 * Parses a line without running it: the verb's spec, its arguments and options, and the
 * pipes and redirection after them (`vars` for a `grep $bus`). Throws
 * a usage {@link LabError} as {@link runLine} would report it (help examples are
 * checked with this, so they cannot go stale).
 */
export function parseLine(
  line: string,
  vars: Vars = new Map(),
): {
  spec: CommandSpec;
  args: string[];
  opts: Opts;
  lists: OptLists;
  plumbing: Plumbing | undefined;
} | undefined {
  const tokens = tokenize(line);
  const { command, plumbing } = splitPlumbing(tokens, { vars, num: (x) => new Fmt().num(x) });
  const words = command.map((t) => t.text);
  if (words.length === 0) return undefined;
  const { spec, rest } = resolveVerb(cmdTable(), words);
  return { spec, ...parseWords(spec, rest), plumbing };
}

/**
 * One text line per event, in the kernel's spirit (UX.md). Kernel output keeps its hex;
 * a trace line's addresses are in the session's radix.
 */
export function renderEvents(events: readonly LabEvent[], fmt: Fmt): string[] {
  const out: string[] = [];
  for (const e of events) {
    for (const line of eventText(e, (x) => fmt.num(x)).split("\n")) {
      switch (e.kind) {
        case "trace":
          out.push(fmt.dim(`  · ${e.source}: ${line}`));
          break;
        case "log":
          out.push(`  ${line}`);
          break;
        case "ub":
          out.push("  " + fmt.err("UB:") + ` ${e.source}: ${line}`);
          break;
        case "debug":
          out.push("  " + fmt.yellow(line));
          break;
      }
    }
  }
  return out;
}

/** The events' lines with the narration of `explain on` placed where it happened. */
function narrated(
  steps: readonly ExplainStep[],
  after: readonly number[],
  events: readonly LabEvent[],
  fmt: Fmt,
): string[] {
  if (steps.length === 0) return renderEvents(events, fmt);
  const blocks = explainBlocks(steps, after, fmt);
  const out: string[] = [];
  let b = 0;
  events.forEach((e, i) => {
    for (; b < blocks.length && blocks[b].after <= i; b++) out.push(...blocks[b].lines);
    out.push(...renderEvents([e], fmt));
  });
  for (; b < blocks.length; b++) out.push(...blocks[b].lines);
  return out;
}

function errorReply(e: unknown, session: Session): Reply {
  if (e instanceof LabError) {
    const notes: string[] = [];
    if (e instanceof UsageError) notes.push(`  usage: ${e.usage}`);
    const hint = errorHint(e.code);
    if (hint !== undefined) notes.push(`  hint: ${hint}`);
    if (e.kind === "refused" && session.guest?.config.policy === "checked") {
      notes.push(
        "  nothing changed (policy checked; use --policy faithful to see what Linux would do)",
      );
    } else if (e.kind === "bug") {
      notes.push("  (the kernel would BUG() here)");
    }
    return {
      json: hint === undefined ? { code: e.code } : { code: e.code, hint },
      text: [],
      error: e.render((x) => session.fmt.num(x)),
      errorNotes: notes,
    };
  }
  // Anything else is a bug in the lab, not in the user's line: say so, without a stack.
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { json: {}, text: [], error: `internal error: ${msg}` };
}

/**
 * A reply's JSON line: `JSON.stringify(v, jsonReplacer)`, whose only change is a bigint
 * (the all-ones error code) written as hex. A replacer is called for every key, so it
 * is used only when a plain stringify meets a bigint and throws: the same bytes.
 */
function jsonLine(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    return JSON.stringify(v, jsonReplacer);
  }
}

/** What a handler gets besides its arguments (one object a line, no closures). */
class LineCtx implements Ctx {
  readonly session: Session;
  readonly quoted: ReadonlySet<string>;
  readonly line: string;
  readonly lists: OptLists;
  readonly table: readonly CommandSpec[];
  readonly runLine = runLine;
  /** The output of the file `runNested` ran. */
  nested: string[] = [];

  constructor(
    session: Session,
    quoted: ReadonlySet<string>,
    line: string,
    lists: OptLists,
    table: readonly CommandSpec[],
  ) {
    this.session = session;
    this.quoted = quoted;
    this.line = line;
    this.lists = lists;
    this.table = table;
  }

  // Getters, so a handler may pass them on unbound (help hands runFresh to its renderer);
  // the function is made only for the lines that ask.
  get runNested(): Ctx["runNested"] {
    return (file) => {
      const s = this.session;
      const r = runScriptFile(s, file, { keepGoing: s.keepGoing, runLine });
      this.nested = r.output;
      return {
        output: [],
        ok: r.ok,
        commands: r.commands,
        quit: r.quit,
        stopped: r.stopped,
        firstHere: r.firstHere,
      };
    };
  }

  get runFresh(): Ctx["runFresh"] {
    return (setup, example) => {
      const s = this.session;
      const fresh = new Session({ color: s.fmt.color, cwd: s.cwd, files: s.files });
      for (const l of setup) runLine(fresh, l);
      return runLine(fresh, example).output;
    };
  }
}

/** The quoted words of a line that has none (most lines). */
const NONE_QUOTED: ReadonlySet<string> = new Set();

/** What a command's text is drawn from besides its reply. */
interface TextParts {
  /** "file:line" of a failure in a script. */
  where: string | undefined;
  explained: readonly ExplainStep[];
  after: readonly number[];
  events: readonly LabEvent[];
  /** Why the recording stopped on this line. */
  stopped: string | undefined;
}

/**
 * A command's text answer: its reply's text, with the error line and notes when it
 * failed, its events (and `explain on`'s narration) and a recording's stop. For a reply
 * whose text is a function, a function that draws it all with the session's Fmt as it
 * is now (the reply's own when there is nothing to add); else the lines, made at once.
 */
function answerText(
  reply: Reply,
  where: string | undefined,
  explained: readonly ExplainStep[],
  after: readonly number[],
  events: readonly LabEvent[],
  stopped: string | undefined,
  fmt: Fmt,
): string[] | (() => string[]) {
  const own = reply.text;
  const plain = reply.error === undefined && events.length === 0 && explained.length === 0 &&
    stopped === undefined;
  if (typeof own === "function" && plain) return own;
  const p: TextParts = { where, explained, after, events, stopped };
  return typeof own === "function"
    ? drawLater(own, reply.error, reply.errorNotes, p, fmt.fixed())
    : composeText(own, reply.error, reply.errorNotes, p, fmt);
}

/**
 * The drawing of a lazy answer, holding only what it is drawn from: the transcript keeps
 * it for the last 2000 commands, and what it holds is copied at every minor GC meanwhile,
 * so it must not hold the line's context (the handler's locals, the session).
 */
function drawLater(
  own: () => string[],
  error: string | undefined,
  notes: readonly string[] | undefined,
  p: TextParts,
  fmt: Fmt,
): () => string[] {
  return () => composeText(own(), error, notes, p, fmt);
}

function composeText(
  own: readonly string[],
  error: string | undefined,
  notes: readonly string[] | undefined,
  p: TextParts,
  fmt: Fmt,
): string[] {
  const eventLines = narrated(p.explained, p.after, p.events, fmt);
  const text = error === undefined ? [...own, ...eventLines] : [
    (p.where === undefined ? "" : `${p.where}: `) + fmt.err("error: ") + error,
    ...own,
    ...eventLines,
    ...(notes ?? []),
  ];
  if (p.stopped !== undefined) text.push(fmt.err("warning: ") + p.stopped);
  return text;
}

/** A command's outcome before plumbing: its own answer, and what nested sources printed. */
interface Ran {
  ok: boolean;
  /** The command's JSON object (error, code and events included). */
  json: Record<string, unknown>;
  /** Its text answer (error, notes and events included), drawn when first read. */
  text: { readonly text: string[] };
  /** Lines printed by the commands of a sourced file, before this one's answer. */
  nested: string[];
  error?: string;
  verb?: string;
  quit?: boolean;
  unknown?: boolean;
}

/**
 * Runs one line in a session and renders the result. Never throws. A line may end in
 * `| grep …`, `| head N`, `| tail N` and `> FILE` / `>> FILE` (lib/repl/plumb.ts).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { runLine, Session } from "./mod.ts";
 * const s = new Session({ json: true });
 * assertEquals(runLine(s, "guest new --preset arm-dom0 --swiotlb 1M").json?.swiotlb_xen, true);
 * // Not in the tree: the walk goes right at every node, phys is the exact all-ones value.
 * const miss = JSON.parse(runLine(s, "lookup bus 0x7000000").output[0]);
 * assertEquals([miss.phys, miss.found, miss.visited], [
 *   "0xffffffffffffffff",
 *   false,
 *   [0x140000, 0x180000, 0x1c0000],
 * ]);
 * ```
 */
export function runLine(session: Session, line: string): LineResult {
  // A command typed at the prompt is a new top-level run: a Ctrl-C that stopped the one
  // before it (a repeat reports it and leaves the flag up) must not stop this one, nor a
  // compare, whose fresh sessions read this session's flag.
  if (session.where.length === 0 && session.repeatDepth === 0) session.interrupt.clear();
  let command: readonly Token[] = [];
  let plumbing: Plumbing | undefined;
  let early: unknown;
  try {
    // One tokenize: the command's words, and the plumbing after them only when there is.
    const tokens = tokenize(line);
    command = commandTokens(tokens);
    if (command.length < tokens.length) {
      plumbing = splitPlumbing(tokens, { vars: session.vars, num: (x) => session.fmt.num(x) })
        .plumbing;
      if (plumbing?.redirect) openRedirect(session, plumbing.redirect);
    }
  } catch (e) {
    early = e;
  }
  // A blank or comment line prints nothing, even in --json mode (SPEC §10).
  if (early === undefined && command.length === 0) return { ok: true, output: [], json: undefined };
  const r = runCommand(session, line, command, early);
  if (plumbing && r.ok) {
    const text = r.text.text;
    const p = plumb(session, plumbing, r.json, session.json ? text : [...r.nested, ...text]);
    const own = session.json ? [jsonLine(p.json)] : p.text;
    const output = session.json ? [...r.nested, ...own] : own;
    const ok = p.error === undefined;
    return { ok, json: p.json, error: p.error, verb: r.verb, quit: r.quit, output };
  }
  const nested = r.nested;
  const output = session.json
    ? nested.length === 0 ? [jsonLine(r.json)] : [...nested, jsonLine(r.json)]
    : [...nested, ...r.text.text];
  return {
    ok: r.ok,
    json: r.json,
    error: r.error,
    verb: r.verb,
    quit: r.quit,
    output,
    unknown: r.unknown,
  };
}

/**
 * Runs a line's command words, or reports `early`, an error found in the line before
 * them (a bad quote, pipe or redirection) — after naming the verb, so an unknown verb
 * is still reported as one and a bad pipe is not taken for a line that is no command.
 */
function runCommand(
  session: Session,
  line: string,
  tokens: readonly Token[],
  early?: unknown,
): Ran {
  const table = cmdTable();
  const before = session.guest;
  let reply: Reply;
  let verb: string | undefined;
  let ctx: LineCtx | undefined;
  try {
    if (early !== undefined && tokens.length === 0) throw early;
    const words = tokens.map((t) => t.text);
    const quoted = tokens.some((t) => t.quoted)
      ? new Set(tokens.filter((t) => t.quoted).map((t) => t.text))
      : NONE_QUOTED;
    const { spec, rest } = resolveVerb(table, words);
    verb = verbName(spec);
    if (early !== undefined) throw early;
    if (!spec.rawWords && (rest.includes("--help") || rest.includes("-h"))) {
      return runCommand(session, line, tokenize(`help ${verb}`));
    }
    const { args, opts, lists } = parseWords(spec, rest);
    if (spec.needsGuest) {
      const g = session.requireGuest();
      if (spec.needsKernel) g.requireAlive();
    }
    ctx = new LineCtx(session, quoted, line, lists, table);
    reply = spec.run(ctx, args, opts);
  } catch (e) {
    reply = errorReply(e, session);
  }
  // What a `source` line's file printed, before its own answer.
  let nested = ctx?.nested ?? [];
  const log = session.guest?.events;
  const { steps: explained, after } = log?.drainExplainedAt() ?? { steps: [], after: [] };
  const events = log?.drain() ?? [];
  const ok = reply.error === undefined;
  // In a script (or a file it sources), an error starts with where it happened.
  const where = ok ? undefined : session.location();
  // The deepest place a script failed: a failed source or repeat reports what failed inside.
  if (where !== undefined && verb !== "source" && verb !== "repeat") session.lastErrorAt = where;
  const json: Record<string, unknown> = ok
    ? { ...reply.json }
    : where === undefined
    ? { error: reply.error, ...reply.json }
    : { error: reply.error, where, ...reply.json };
  if (events.length > 0) {
    // A trace line's message as the text answer shows it (in the radix, as `error` is).
    const num = (x: number | bigint) => session.fmt.num(x);
    json.events = events.map((e) => ({
      kind: e.kind,
      source: e.source,
      message: eventText(e, num),
    }));
  }
  if (explained.length > 0) json.explain = explained.map(explainJson);
  // A repeat that ran to its end, or to a failed iteration, leaves `expect` the last
  // iteration; one refused, stopped by Ctrl-C or its budget, or that ran none, is itself
  // the command checked (lib/repl/commands/repeat.ts).
  const loop = reply.loop;
  const leavesLast = loop !== undefined && loop.ran > 0 &&
    (loop.stop === "done" || loop.stop === "failed");
  const iteration = leavesLast ? session.last : undefined;
  const checked = iteration ?? { error: reply.error, json: reply.json };
  const stopped = session.recorder.note(session, {
    line,
    verb,
    ok,
    error: reply.error,
    // Of the command an `expect` after the line checks (a repeat's failed iteration).
    code: ok || typeof checked.json.code !== "string" ? undefined : checked.json.code,
    expectSees: checked.error,
    loop,
    before,
  });
  if (stopped !== undefined) json.record_stopped = stopped;
  const drawn = answerText(reply, where, explained, after, events, stopped, session.fmt);
  const last = new LastRun(verb ?? "?", ok, reply.error, reply.json, drawn);
  // The session verbs that are not commands of their own leave `expect` the one before.
  if (verb !== "expect" && verb !== "source" && verb !== "record" && !leavesLast) {
    session.last = last;
  }
  const at = session.where[session.where.length - 1];
  session.transcript.add({
    line,
    file: at?.file ?? null,
    at: at?.line ?? 0,
    guest: session.guestLabel(),
    verb: verb ?? null,
    ok,
    // Drawn again if the report asks: the transcript keeps no lines it was not given.
    text: drawn,
    events,
    expect: verb === "expect" ? ok : null,
  });
  session.onLine?.({ line, verb, ok, json });
  if (reply.nested) nested = [...nested, ...reply.nested];
  return {
    ok,
    json,
    text: last,
    nested,
    error: reply.error,
    verb,
    quit: reply.quit,
    unknown: !ok && !verb,
  };
}
