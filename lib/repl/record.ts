/**
 * `record FILE`: the session's commands written, as they run, to a command script that
 * replays (`repl.ts --script FILE`, `source FILE`) to the same state and the same answers
 * (issue 12). What goes in the file, and why:
 *
 * - **The state first.** The engine is deterministic (SPEC §4: same config and seed, same
 *   frames), so the state is rebuilt by running the same commands again: the session
 *   settings as they were when the guest was made (`set radix`, `debug`, `trace`,
 *   `explain`), then
 *   every command since the `guest new|load` that made it. With several guests, since
 *   that of the oldest guest the state needs (lib/repl/record_guests.ts): each guest
 *   still in the session, and each one gone since that a later command acted on. A header of views (the
 *   guest's flags, its devices and buffers) could not rebuild live mappings, the free
 *   list, the hint, the counters or the debug layer's records. The session keeps those
 *   commands (at most {@link HISTORY_MAX_CHARS}) whether or not it records.
 * - **A failed command** is written as typed and followed by `expect error "…"`: a failure
 *   may still change state (a full pool counts a failed map, faithful UB does what the
 *   kernel does, and `expect` reads the failure), and the expectation lets the replay go
 *   on past it as the session did, checking that it fails the same way. A failed `expect`
 *   changes nothing and would stop the replay: it is written commented out.
 * - **A failure that came from a file**, not from the engine (a file that could not be
 *   written or read, error code "file"; any failed `guest load`, which reads its file)
 *   changed nothing, and where the replay runs the file may well be there: replayed, the
 *   command could succeed and its `expect error` fail. It is written commented out, with
 *   its error.
 * - **A repeat that did not end as its replay would** (stopped by Ctrl-C, or at an
 *   iteration that failed on a file) is written as the iterations that ran to their end,
 *   `repeat K COMMAND`, so the replay reaches the same state. One that Ctrl-C stopped
 *   inside an iteration (a nested `repeat` or `source`), where a replay cannot stop, is
 *   written commented out, with a note that the state may differ from there.
 * - **An `expect` of a command the replay does not run as it ran** (one of those, or a
 *   command that writes a file) is written commented out: replayed, it would check
 *   another command.
 * - **A redirected command** (`> FILE`, `>> FILE`) ran once its file was opened, and may
 *   have changed state (`map … > out.txt`): it is replayed without the redirection, so
 *   the replay writes no file (its text answer is then printed, not written).
 * - **`source FILE`** is written as the commands it ran (after a `# source FILE` comment),
 *   so the replay needs no other file; `guest load FILE` as the `guest new` line it made.
 * - `record` is never written (nor does it count as the command `expect` checks); `quit`
 *   ends the recording.
 *
 * Each line is appended as it runs, so a session that dies leaves every command so far.
 *
 * @module
 */

import { LabError } from "../errors.ts";
import type { Guest } from "../guest/mod.ts";
import { SCRIPT_MAX_BYTES, sizeWords } from "./files.ts";
import { configInput, guestNewLine } from "./guest_line.ts";
import { GuestEras } from "./record_guests.ts";
import { recordHeader } from "./render/record.ts";
import type { Session } from "./session.ts";
import type { LoopEnd } from "./table.ts";
import { quoteWord, tokenize } from "./tokenize.ts";

/** Characters of commands the session keeps for a recording started mid-session. */
export const HISTORY_MAX_CHARS = 16 << 20;

/** Characters of a failure's message its `expect error` line quotes. */
const EXPECT_CHARS = 60;

/** What one line did, as the recorder needs it. */
export interface Ran {
  /** As typed. */
  line: string;
  /** The verb ("guest new"), undefined when the line named none. */
  verb: string | undefined;
  ok: boolean;
  error: string | undefined;
  /** The failure's reason code ("file": a file that could not be read or written). */
  code?: string;
  /** The error an `expect error` after the line checks (a repeat's: its failed iteration's). */
  expectSees?: string;
  /** How a `repeat` ended. */
  loop?: LoopEnd;
  /** The guest current when the line started. */
  before?: Guest;
}

/** A recording in progress. */
export interface Recording {
  /** The file as given. */
  name: string;
  /** Where it is written. */
  path: string;
  /** Commands written since `record FILE` (the state before it not counted). */
  commands: number;
  /** Bytes written, header included. */
  bytes: number;
}

/** The session settings a replay must start from. */
interface Settings {
  radix: 10 | 16;
  /** How bare numbers are read (a new session prints hex but reads decimal). */
  inputRadix: 10 | 16;
  debug: boolean;
  trace: boolean;
  /** Carried over to each new guest, as trace is (its narration is in the answers). */
  explain: boolean;
}

/**
 * One kept command: a line that succeeded as is (most of them), or what its lines are
 * made from; a comment; or a block of lines that succeeded, joined.
 */
type Kept =
  | string
  /** `dropped`: a `guest drop` of a guest other than the current one. */
  | { ran: Ran; made?: string; unchecked?: true; dropped?: Guest }
  | { comment: string }
  | { block: string };

/**
 * Lines that succeeded are gathered this many at a time and joined into one string: a
 * million-line replay then keeps a few hundred flat strings, not a string object per
 * line (each a slice holding the chunk of the script it was read from, lib/repl/lines.ts).
 */
const BLOCK_LINES = 1024;

const encoder = new TextEncoder();

/** Keeps the commands that rebuild the session's state, and writes them while recording. */
export class Recorder {
  /** The commands since the guest was made, turned into lines only when recording starts. */
  #history: Kept[] = [];
  /** Lines that succeeded since the last block, each made one line (see {@link BLOCK_LINES}). */
  #plain: string[] = [];
  /** Commands in the history (comments not counted). */
  #commands = 0;
  #chars = 0;
  #lost = false;
  /**
   * False when nothing will start a recording (a script run whose file cannot say
   * `record`, lib/repl/cli.ts): the commands are then not kept at all.
   */
  keepHistory = true;
  #settings: Settings;
  #file: Recording | undefined;
  /** Why the recording stopped on its own, until the line's answer says so. */
  #warning: string | undefined;
  /** The command an `expect` now checks is not replayed (so neither is the expect). */
  #unreplayed = false;
  /** Where the state may start with several guests (lib/repl/record_guests.ts). */
  #eras = new GuestEras<Settings>();

  constructor(settings: Settings) {
    this.#settings = { ...settings };
  }

  /** The recording in progress, if any. */
  get recording(): Readonly<Recording> | undefined {
    return this.#file;
  }

  /**
   * Starts recording to `name` (relative to the working directory): writes the state
   * (settings, then the commands since the guest was made) and returns how many commands
   * that holds.
   */
  start(session: Session, name: string): { path: string; state: number } {
    if (this.#file) {
      throw new LabError(`Already recording to ${this.#file.name}: 'record off' first`);
    }
    if (!this.keepHistory) {
      throw new LabError("Cannot record from here: this run keeps no commands to replay");
    }
    if (this.#lost) {
      throw new LabError(
        `Cannot record from here: the commands since the guest was made are over ` +
          `${sizeWords(HISTORY_MAX_CHARS)}, more than the session keeps to replay them; ` +
          "make a guest (guest new) and record from there",
      );
    }
    const from = this.#eras.start(session);
    const s = from.settings ?? this.#settings;
    const { kept, left } = stateFrom(this.#sealed().slice(from.at), from.before);
    const lines = [
      ...recordHeader(),
      // A session that never ran `set radix` prints hex and reads decimal; `set radix 16`
      // would make the replay read hex, so the default is left alone.
      s.radix === 16 && s.inputRadix === 10
        ? "# radix: the default (prints hex, reads decimal)"
        : `set radix ${s.radix}`,
      `debug ${s.debug ? "on" : "off"}`,
      `trace ${s.trace ? "on" : "off"}`,
      `explain ${s.explain ? "on" : "off"}`,
      ...kept.flatMap(keptLines),
      "# recording started",
    ];
    const text = lines.join("\n") + "\n";
    const bytes = encoder.encode(text).length;
    const path = session.writeOutput(name, text, "record");
    this.#file = { name, path, commands: 0, bytes };
    return { path, state: this.#commands - from.commands - left };
  }

  /** Ends the recording; what it was. */
  stop(): Recording | undefined {
    const was = this.#file;
    this.#file = undefined;
    return was;
  }

  /** A comment line (`# source FILE`), kept and written like a command. */
  comment(session: Session, text: string): void {
    const kept = { comment: oneLine(text) };
    this.#keep(kept, kept.comment.length, 0);
    this.#write(session, keptLines(kept), 0);
  }

  /**
   * Notes a line that ran ({@link runLine} calls this for every one, nested sources
   * included); returns a warning when the recording had to stop. Cheap when not
   * recording: a line that succeeded is kept as the string it already is.
   */
  note(session: Session, ran: Ran): string | undefined {
    const { verb, ok, line } = ran;
    // A repeat's iterations are its own: the repeat line is written once, after them.
    if (session.repeatDepth > 0) return undefined;
    if (verb === "quit") {
      this.#write(session, ["# quit: the recording ends here"], 0);
      this.stop();
    } else if (verb !== "record") {
      const made = ok && (verb === "guest new" || verb === "guest load") && session.guest;
      const fresh = made && session.guests.size === 1 ? made : undefined;
      if (fresh) {
        // The guest replaces all engine state: what came before no longer matters.
        this.#history = [];
        this.#plain = [];
        this.#commands = 0;
        this.#chars = 0;
        this.#lost = false;
        this.#settings = settingsOf(session);
        this.#eras.reset(fresh);
      }
      const dropped = fresh || this.#lost || !this.keepHistory ? undefined : this.#eras.note(
        session,
        { verb, line, before: ran.before },
        () => this.#history.length,
        () => ({
          at: this.#sealed().length,
          settings: settingsOf(session),
          commands: this.#commands,
        }),
      );
      const kept: Kept = made && verb === "guest load"
        ? { ran, made: loadedLine(made, session.guestName, line) }
        : verb === "expect" && this.#unreplayed
        ? { ran, unchecked: true }
        : dropped
        ? { ran, dropped }
        : ok && verb !== "source" && !writesFile(ran) && unredirected(line) === undefined
        ? line
        : { ran };
      // The commands `expect` checks (lib/repl/run.ts sets session.last for them).
      if (verb !== "expect" && verb !== "source") {
        this.#unreplayed = typeof kept !== "string" && !replayedAsRan(kept);
      }
      const commands = verb === "source" ? 0 : 1;
      this.#keep(kept, line.length + (ran.error?.length ?? 0), commands);
      if (this.#file) this.#write(session, keptLines(kept), commands);
    }
    const warning = this.#warning;
    this.#warning = undefined;
    return warning;
  }

  #keep(kept: Kept, chars: number, commands: number): void {
    if (this.#lost || !this.keepHistory) return;
    this.#chars += chars + 1;
    if (this.#chars > HISTORY_MAX_CHARS) {
      this.#lost = true;
      this.#history = [];
      this.#plain = [];
      this.#commands = 0;
      this.#eras.reset(undefined);
      return;
    }
    if (typeof kept === "string") {
      this.#plain.push(oneLine(kept));
      if (this.#plain.length >= BLOCK_LINES) this.#sealed();
    } else this.#sealed().push(kept);
    this.#commands += commands;
  }

  /** The history, the lines gathered so far joined into its last block. */
  #sealed(): Kept[] {
    if (this.#plain.length > 0) {
      this.#history.push({ block: this.#plain.join("\n") });
      this.#plain = [];
    }
    return this.#history;
  }

  #write(session: Session, lines: string[], commands: number): void {
    const f = this.#file;
    if (!f || lines.length === 0) return;
    const text = lines.join("\n") + "\n";
    const bytes = encoder.encode(text).length;
    if (f.bytes + bytes > SCRIPT_MAX_BYTES) {
      this.stop();
      this.#warning = `recording stopped: ${f.name} would grow past ${
        sizeWords(SCRIPT_MAX_BYTES)
      }, the most a script may be`;
      return;
    }
    try {
      session.writeOutput(f.path, text, "record", { append: true });
    } catch (e) {
      this.stop();
      this.#warning = `recording stopped: ${e instanceof Error ? e.message : String(e)}`;
      return;
    }
    f.bytes += bytes;
    f.commands += commands;
  }
}

/**
 * The `guest new` line a `guest load` made: the guest file's settings, and the name it
 * was given with --name (without one, the replay's current name is the session's, as it
 * was here).
 */
function loadedLine(g: Guest, name: string, line: string): string {
  const made = guestNewLine(configInput(g.config));
  return /(^|\s)--name(\s|=|$)/.test(line) ? `${made} --name ${quoteWord(name)}` : made;
}

/**
 * The history from where the state starts, less the drops of guests made before it (the
 * replay never makes them) and the expects right after such a drop, which checked it;
 * `left` counts the drops left out.
 */
function stateFrom(history: Kept[], before: (g: Guest) => boolean): { kept: Kept[]; left: number } {
  const kept: Kept[] = [];
  let left = 0;
  let checks = false;
  for (const k of history) {
    if (typeof k !== "string" && "ran" in k && k.dropped && before(k.dropped)) {
      left++;
      checks = true;
    } else if (!checks) kept.push(k);
    else if (typeof k === "string" || "block" in k) {
      const lines = typeof k === "string" ? [k] : k.block.split("\n");
      const n = lines.findIndex((l) => !/^\s*expect\s/.test(l));
      const expects = n < 0 ? lines.length : n;
      for (let i = 0; i < expects; i++) {
        lines[i] = `# not replayed (it checks a guest drop the replay does not run): ${lines[i]}`;
      }
      kept.push({ block: lines.join("\n") });
      checks = n < 0;
    } else {
      kept.push(k);
      // A comment or a failed expect (written commented out) leaves the drop the one checked.
      checks = "comment" in k || k.ran.verb === "expect";
    }
  }
  return { kept, left };
}

/** The session settings a replay starts from, as they are now. */
function settingsOf(session: Session): Settings {
  return {
    radix: session.fmt.radix,
    inputRadix: session.vars.inputRadix,
    debug: session.debug,
    trace: session.trace,
    explain: session.explain,
  };
}

/** A line as one line of the file (a `runLine` caller may pass a newline inside). */
function oneLine(line: string): string {
  return line.includes("\n") || line.includes("\r") ? line.replace(/[\r\n]+/g, " ") : line;
}

/** The lines of the file for one kept command (see the module doc for why). */
function keptLines(kept: Kept): string[] {
  if (typeof kept === "string") return [oneLine(kept)];
  if ("comment" in kept) return [`# ${kept.comment}`];
  // Its lines joined with the newline the file puts between lines.
  if ("block" in kept) return [kept.block];
  const { ran, made } = kept;
  const line = oneLine(ran.line);
  const error = (ran.error ?? "").split("\n")[0];
  if (ran.verb === "source") return ran.ok ? [] : [`# ${error}`];
  if (ran.verb === "expect" && !ran.ok) {
    return [`# failed when recorded, so not replayed: ${line}  (${error})`];
  }
  if ("unchecked" in kept) {
    return [`# not replayed (it checks a command the replay does not run as it ran): ${line}`];
  }
  if (writesFile(ran)) {
    const failed = ran.ok ? "" : `  (it failed: ${error})`;
    return [`# not replayed (it writes a file): ${line}${failed}`];
  }
  const ranToEnd = ran.loop && loopPrefix(ran);
  if (ran.loop && ranToEnd !== undefined) {
    if (ran.loop.inside) {
      return [
        `# not replayed (${error}: a replay cannot stop there, so the state may differ ` +
        `from here): ${line}`,
      ];
    }
    if (ranToEnd === 0) return [`# not replayed (${error}): ${line}`];
    const command = unredirected(ran.loop.command) ?? ran.loop.command;
    return [
      `# ${line}: ${error}; replayed as the ${ranToEnd} iterations that ran to their end:`,
      `repeat ${ranToEnd} ${command}`,
    ];
  }
  if (!ran.ok && failedOnFile(ran)) {
    return [`# not replayed (it failed on a file, and changed nothing): ${line}  (${error})`];
  }
  // A redirected command ran (its file was opened first): the replay runs it, and writes
  // no file (lib/repl/plumb.ts: the redirection ends the line).
  const command = unredirected(line);
  const lines = command === undefined
    ? [line]
    : [`# ${line}: replayed without its redirection (a replay writes no file)`, command];
  if (!ran.ok) {
    const sees = (ran.expectSees ?? error).split("\n")[0];
    const want = quoteWord([...sees].slice(0, EXPECT_CHARS).join(""));
    return [...lines, `expect error ${want}  # the session went on after this error`];
  }
  if (made !== undefined) return [`# ${line}: the guest new line it made`, made];
  return lines;
}

/** Whether the replay runs a kept command as it ran (not a comment, nor a shorter repeat). */
function replayedAsRan(kept: Exclude<Kept, string>): boolean {
  if ("ran" in kept && kept.ran.loop && loopPrefix(kept.ran) !== undefined) return false;
  return keptLines(kept).some((l) => !l.startsWith("#"));
}

/**
 * For a repeat that did not end as its replay would, the iterations that ran to their
 * end: all that ran before Ctrl-C, those before an iteration that failed on a file.
 */
function loopPrefix(ran: Ran): number | undefined {
  const loop = ran.loop;
  if (loop?.stop === "interrupted") return loop.ran;
  const onFile = ran.code === "file" || /^\s*guest\s+load\s/.test(loop?.command ?? "");
  if (loop?.stop === "failed" && onFile) return loop.ran - 1;
  return undefined;
}

/**
 * Whether a failure came from the files of the machine the session ran on, not from the
 * engine: a file that could not be written or read (refused before the command acted,
 * so nothing changed), or a `guest load`, whose failure leaves the guest as it was and
 * whose file the replay may not have (a guest load that worked is written as the guest
 * new line it made, so the replay needs no file).
 */
function failedOnFile(ran: Ran): boolean {
  return ran.code === "file" || ran.verb === "guest load";
}

/**
 * Whether a line's work is to write a file (report, --svg, --dot): a replay must not
 * write it again, perhaps somewhere its grant does not reach. These verbs change no
 * state; a `> FILE` can follow any command, so it is {@link unredirected} instead.
 */
function writesFile(ran: Ran): boolean {
  if (ran.verb === "report") return true;
  try {
    return tokenize(ran.line).some((t) => !t.quoted && (t.text === "--svg" || t.text === "--dot"));
  } catch {
    return false;
  }
}

/** The line before its `> FILE` or `>> FILE`; undefined when it has none. */
function unredirected(line: string): string | undefined {
  if (!line.includes(">")) return undefined;
  try {
    const at = tokenize(line).find((t) => t.op === ">" || t.op === ">>");
    return at === undefined ? undefined : line.slice(0, at.start).trimEnd();
  } catch {
    return undefined;
  }
}
