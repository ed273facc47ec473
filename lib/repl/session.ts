/**
 * The state of one REPL session: the guest, output settings, `$` variables, and what the
 * previous command did (for `expect`). One session serves the interactive prompt, a
 * script, piped stdin and `source`, so all four behave the same (SPEC §10).
 *
 * @module
 */

import type { Addr } from "../addr.ts";
import type { BusLookupView, Guest } from "../guest/mod.ts";
import { LabError } from "../errors.ts";
import { dirname, isAbsolute, resolve } from "@std/path";
import { Fmt } from "./render/format.ts";
import { denoFiles, type FileAccess } from "./files.ts";
import { Transcript } from "./transcript.ts";
import { VarTable } from "./expr.ts";
import { Recorder } from "./record.ts";

export { denoFiles, type FileAccess } from "./files.ts";

/** How many replaced guests a session keeps for its report (each holds its memory). */
export const MAX_RETIRED = 4;

/** What the previous (non-`expect`) command did. */
export interface LastCommand {
  verb: string;
  ok: boolean;
  error: string | undefined;
  json: Record<string, unknown>;
  /** Its text lines, events included (for `expect log`). */
  readonly text: string[];
  /** Set once an `expect error` has accounted for this command's failure. */
  errorExpected: boolean;
}

/**
 * A {@link LastCommand} whose text is drawn when first read (in --json mode most never
 * are). The drawing is given, not made here: a getter closing over the line's locals
 * would keep them (and what they hold) alive past the line.
 */
export class LastRun implements LastCommand {
  readonly verb: string;
  readonly ok: boolean;
  readonly error: string | undefined;
  readonly json: Record<string, unknown>;
  errorExpected = false;
  #draw: (() => string[]) | undefined;
  #text: string[] | undefined;

  constructor(
    verb: string,
    ok: boolean,
    error: string | undefined,
    json: Record<string, unknown>,
    text: string[] | (() => string[]),
  ) {
    this.verb = verb;
    this.ok = ok;
    this.error = error;
    this.json = json;
    if (typeof text === "function") this.#draw = text;
    else this.#text = text;
  }

  get text(): string[] {
    if (this.#text === undefined) {
      this.#text = this.#draw!();
      this.#draw = undefined;
    }
    return this.#text;
  }
}

/** Options of {@link Session}. */
export interface SessionOptions {
  /** Print one JSON object per command instead of text (SPEC §10). */
  json?: boolean;
  /** ANSI colours in text output (TTY and NO_COLOR unset). */
  color?: boolean;
  /** Directory that relative paths start from when no script is running. */
  cwd?: string;
  /** Scripts go on after a failed command (exit status still non-zero). */
  keepGoing?: boolean;
  files?: FileAccess;
  /** Polled between script lines; the CLI's is set by Ctrl-C (SIGINT). */
  interrupt?: Interrupt;
  /** Hears every line that ran, nested sources included (compare collects answers so). */
  onLine?: (seen: LineSeen) => void;
}

/** What {@link SessionOptions.onLine} hears after a line ran. */
export interface LineSeen {
  line: string;
  /** The verb as resolved, undefined when the line named none. */
  verb: string | undefined;
  ok: boolean;
  /** The line's JSON answer, its error and events included. */
  json: Record<string, unknown>;
}

/** A request to stop the running script, polled between its lines. */
export interface Interrupt {
  /** True once the user asked to stop (Ctrl-C). */
  pending(): boolean;
  /**
   * Forgets a request: done when a new command starts at the prompt (lib/repl/run.ts) and
   * when a top-level script starts (lib/repl/script.ts).
   */
  clear(): void;
}

/** Why a top-level run stopped before its end. */
export type StopReason = "line-limit" | "interrupted";

const NEVER: Interrupt = { pending: () => false, clear: () => {} };

/** Where the line being run came from. */
export interface Where {
  /** The name as given (for messages). */
  file: string;
  /** The resolved path (relative paths inside the script start from its directory). */
  path: string;
  line: number;
}

/** One REPL session. */
export class Session {
  guest: Guest | undefined;
  readonly fmt: Fmt;
  readonly json: boolean;
  readonly keepGoing: boolean;
  /** `trace on|off`, carried over to each new guest. */
  trace = false;
  /** `explain on|off`, carried over to each new guest. */
  explain = false;
  /** `debug on|off` (the DMA-API debug layer is on by default in the REPL, SPEC §8). */
  debug = true;
  /** `set pager on|off`: long answers page at the prompt (lib/repl/pager.ts). */
  pager = true;
  /** `$bus`, `$phys`, … set by map, alloc-coherent and friends. */
  readonly vars = new VarTable();
  last: LastCommand | undefined;
  /** Stack of scripts being run (`source` nests). */
  readonly where: Where[] = [];
  readonly cwd: string;
  readonly files: FileAccess;
  readonly interrupt: Interrupt;
  readonly onLine: ((seen: LineSeen) => void) | undefined;
  /** Lines run so far by the current top-level command or script, nested sources included. */
  linesRun = 0;
  /** Set when the current top-level run must stop at every level (reported once). */
  stopped: StopReason | undefined;
  /** How many `repeat` loops are running (a nested one shares the outer's line budget). */
  repeatDepth = 0;
  /** "file:line" of the current top-level run's first error (for the summary line). */
  firstError: string | undefined;
  /** "file:line" of the last failed command that is not a `source` (its deepest place). */
  lastErrorAt: string | undefined;
  /** The last `lookup bus` and the guest it ran on (the report draws it on the tree). */
  lastLookup: { guest: Guest; view: BusLookupView } | undefined;
  /** The commands run so far, with their answers (for `report`). */
  readonly transcript = new Transcript();
  /** `record FILE`, and the commands that rebuild the state when it starts mid-session. */
  readonly recorder: Recorder;

  constructor(opts: SessionOptions = {}) {
    this.json = opts.json ?? false;
    this.keepGoing = opts.keepGoing ?? false;
    this.fmt = new Fmt(16, !this.json && (opts.color ?? false));
    this.cwd = opts.cwd ?? Deno.cwd();
    this.files = opts.files ?? denoFiles;
    this.interrupt = opts.interrupt ?? NEVER;
    this.onLine = opts.onLine;
    this.recorder = new Recorder({
      radix: this.fmt.radix,
      inputRadix: this.vars.inputRadix,
      debug: this.debug,
      trace: this.trace,
      explain: this.explain,
    });
  }

  /** The name of the current guest (`guest new --name`, `guest use`); "main" by default. */
  guestName = "main";
  /** Every guest of the session by name, the current one included (issue 13). */
  readonly guests = new Map<string, Guest>();
  /**
   * Guests a later `guest new` (or `guest drop`) replaced, oldest first, with the number
   * of the command that did it — the report still shows them. At most {@link MAX_RETIRED}.
   */
  readonly retired: { name: string; guest: Guest; at: number }[] = [];
  /** The `$` variables of the guests that are not current (each guest keeps its own). */
  readonly #otherVars = new Map<string, [string, Addr][]>();

  /**
   * Makes `g` the guest called `name` and the current one, with fresh variables; returns
   * the guest it replaced under that name, if any.
   */
  installGuest(name: string, g: Guest): Guest | undefined {
    const old = this.guests.get(name);
    if (old) this.#retire(name, old);
    if (name !== this.guestName && this.guest) {
      this.#otherVars.set(this.guestName, [...this.vars]);
    }
    this.#otherVars.delete(name);
    this.guests.set(name, g);
    this.guest = g;
    this.guestName = name;
    this.vars.clear();
    // The k-th guest of a name is "NAME #k" (the first plain NAME), so two guests that
    // shared a name — one replaced by the other — read apart in the report.
    const k = (this.#installs.get(name) ?? 0) + 1;
    this.#installs.set(name, k);
    const tag = k === 1 ? name : `${name} #${k}`;
    this.#labels.set(g, { tag, label: `${tag} (${g.config.name}, ${g.config.policy})` });
    return old;
  }

  #retire(name: string, g: Guest): void {
    this.retired.push({ name, guest: g, at: this.transcript.count + 1 });
    if (this.retired.length > MAX_RETIRED) this.retired.shift();
  }

  /** Switches to the guest called `name` (its variables come back with it). */
  useGuest(name: string): Guest {
    const g = this.guests.get(name);
    if (!g) throw new LabError(`No guest called '${name}'`, "usage", "unknown-guest");
    if (name === this.guestName) return g;
    if (this.guest) this.#otherVars.set(this.guestName, [...this.vars]);
    this.vars.clear();
    for (const [k, v] of this.#otherVars.get(name) ?? []) this.vars.set(k, v);
    this.#otherVars.delete(name);
    this.guest = g;
    this.guestName = name;
    return g;
  }

  /** Forgets the guest called `name`; dropping the current one leaves no current guest. */
  dropGuest(name: string): Guest {
    const g = this.guests.get(name);
    if (!g) throw new LabError(`No guest called '${name}'`, "usage", "unknown-guest");
    this.guests.delete(name);
    this.#retire(name, g);
    this.#otherVars.delete(name);
    if (name === this.guestName) {
      this.guest = undefined;
      this.vars.clear();
    }
    // With no current guest, a plain `guest new` makes one of its own, under a name no
    // guest holds ("main" once it is free again).
    if (!this.guest) {
      let free = "main";
      for (let i = 2; this.guests.has(free); i++) free = `main${i}`;
      this.guestName = free;
    }
    return g;
  }

  /**
   * The current guest as the report names it ("main #2 (arm-dom0, faithful)"), null
   * without one; one string per guest, made when it was installed, so every command on
   * it shares it (the transcript keeps 2000).
   */
  guestLabel(): string | null {
    return this.guest ? this.guestNames(this.guest).label : null;
  }

  /**
   * What the report calls guest `g` of this session: `tag` ("main", "main #2" for the
   * second guest called main) and `label`, the tag with its preset and policy.
   */
  guestNames(g: Guest): { tag: string; label: string } {
    const n = this.#labels.get(g);
    if (!n) throw new Error(`Guest '${g.config.name}' was never installed in this session`);
    return n;
  }
  /** Guests installed under each name so far (the k of "main #k"). */
  readonly #installs = new Map<string, number>();
  readonly #labels = new WeakMap<Guest, { tag: string; label: string }>();

  /** The guest, or a usage error that says how to make one. */
  requireGuest(): Guest {
    if (!this.guest) {
      throw new LabError(
        "No guest yet: start one with 'guest new --preset arm-dom0' (see 'guest presets')",
      );
    }
    return this.guest;
  }

  /** "file:line" of the line being run, or undefined at the prompt. */
  location(): string | undefined {
    const w = this.where[this.where.length - 1];
    return w ? `${w.file}:${w.line}` : undefined;
  }

  /**
   * A path as the user meant it: absolute as is; relative to the running script's
   * directory when the file is there, else to the working directory.
   */
  resolvePath(path: string): string {
    if (isAbsolute(path)) return path;
    const w = this.where[this.where.length - 1];
    if (w) {
      const candidate = resolve(this.cwd, dirname(w.path), path);
      if (this.files.exists(candidate)) return candidate;
    }
    return resolve(this.cwd, path);
  }

  /**
   * Writes an output file (`tree --dot FILE`, …): a relative path always starts from the
   * working directory, whatever script is running. A failure is the user's error, named
   * with the path and the flag that asked for it. With `append`, `text` goes at the end of
   * the file (`record` adds each command as it runs).
   */
  writeOutput(path: string, text: string, flag: string, opts: { append?: boolean } = {}): string {
    if (path.trim() === "") {
      throw new LabError(`Cannot write ${flag}: give a file name`, "usage", "file");
    }
    const full = isAbsolute(path) ? path : resolve(this.cwd, path);
    try {
      if (opts.append) this.files.appendText(full, text);
      else this.files.writeText(full, text);
    } catch (e) {
      throw new LabError(
        `Cannot write ${flag} ${path}: ${writeFailure(e, full, this.files)}`,
        "usage",
        "file",
      );
    }
    return full;
  }
}

/** Why a write failed, in the user's words. */
function writeFailure(e: unknown, full: string, files: FileAccess): string {
  const dir = dirname(full);
  // What the system said, without Deno's "(os error N)" and the path it repeats.
  const os = (e instanceof Error ? e.message : String(e))
    .replace(/:\s*[a-z_]+ '.*$/i, "").replace(/\s*\(os error \d+\)/, "").trim();
  if (e instanceof Deno.errors.NotFound) {
    // /proc and friends refuse a new file with ENOENT although the directory is there.
    return files.exists(dir)
      ? `the system refused it (${os.toLowerCase()})`
      : `no directory ${dir}`;
  }
  if (e instanceof Deno.errors.IsADirectory) return "it is a directory";
  if (e instanceof Deno.errors.NotCapable) {
    // Outside the write grant Deno refuses before it looks: a missing directory is still
    // the first thing to fix (reading is granted everywhere, so this can be checked).
    if (missing(dir, files)) return `no directory ${dir}`;
    return `permission denied (deno task repl may write only inside the working directory; see README "Permissions")`;
  }
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied by the system";
  return `the system refused it (${os.toLowerCase()})`;
}

/** True only when `dir` is known not to exist (a refused look is no proof: /proc, grants). */
function missing(dir: string, files: FileAccess): boolean {
  try {
    files.stat(dir);
    return false;
  } catch (e) {
    return e instanceof Deno.errors.NotFound;
  }
}
