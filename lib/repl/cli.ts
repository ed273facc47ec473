/**
 * `repl.ts` argument handling: `--script FILE` (or a FILE argument), piped stdin, or the
 * interactive prompt; `--json`, `--keep-going`, `--report OUT.html`, `--no-history`, `--help`.
 *
 * @module
 */

import { Command, CommanderError } from "commander";
import { historyPath } from "./history.ts";
import { interactive } from "./interactive.ts";
import { runLine } from "./run.ts";
import { runScriptLines, type ScriptResult } from "./script.ts";
import { Session } from "./session.ts";
import { openScript, SCRIPT_MAX_BYTES, type ScriptLines, sizeWords } from "./files.ts";
import { ChunkLines, type LineSource } from "./lines.ts";
import { installSigint, INTERRUPTED_STATUS } from "./sigint.ts";
import { LabError } from "../errors.ts";
import { sessionReport } from "./commands/report.ts";

const encoder = new TextEncoder();

function write(stream: { writeSync(p: Uint8Array): number }, lines: string[]): void {
  if (lines.length === 0) return;
  const bytes = encoder.encode(lines.join("\n") + "\n");
  let off = 0;
  while (off < bytes.length) off += stream.writeSync(bytes.subarray(off));
}

/** Parsed command line. */
interface CliOptions {
  script?: string;
  json: boolean;
  keepGoing: boolean;
  history: boolean;
  report?: string;
}

function parseArgv(argv: string[]): { opts: CliOptions; file?: string } | number {
  let file: string | undefined;
  const program = new Command("repl.ts")
    .description("swiotlb-lab: a scriptable REPL for Linux 3.11's swiotlb-xen")
    .argument("[file]", "a command script (same as --script FILE)")
    .option("--script <file>", "run the commands of FILE, then exit (status 1 on any error)")
    .option("--json", "print one JSON object per command")
    .option("--keep-going", "in a script, go on after an error (the status is still 1)")
    .option("--report <file>", "after a script, write its HTML report (drawings, answers, ✓/✗)")
    .option("--no-history", "do not read or write ~/.swiotlb_lab_history")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => write(Deno.stdout, [s.trimEnd()]),
      writeErr: (s) => write(Deno.stderr, [s.trimEnd()]),
    })
    .action((f?: string) => {
      file = f;
    });
  program.addHelpText(
    "after",
    "\nWithout a script, a terminal gets the interactive prompt and piped stdin runs line by line.\n" +
      "Examples:\n  deno task repl\n  deno task repl --script examples/first-bounce.txt\n" +
      "  echo 'guest new --preset arm-dom0' | deno task repl --json\n" +
      "  deno task repl --script examples/flaw-double-unmap.txt --report flaw.html",
  );
  try {
    program.parse(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
  return { opts: program.opts() as CliOptions, file };
}

/**
 * Piped stdin's lines as they come, refusing more than {@link SCRIPT_MAX_BYTES} (it may
 * never end). `beforeRead` runs before each read: answers so far are flushed, so a
 * program feeding lines one by one sees each answer before it sends the next.
 */
function stdinLines(beforeRead: () => void): LineSource {
  return new ChunkLines((buf) => {
    beforeRead();
    return Deno.stdin.readSync(buf);
  }, {
    limit: SCRIPT_MAX_BYTES,
    over: () => {
      throw new LabError(
        `Cannot read script <stdin>: it is over ${sizeWords(SCRIPT_MAX_BYTES)}, ` +
          "the most a script may be",
      );
    },
  });
}

/**
 * What a script holds when a line of it may write a report (which reads the transcript)
 * or start a recording (which writes the commands kept since the guest was made): the
 * verb (`report`, `repeat N record f`), a file it sources (which may), or an escape that
 * a quoted word could spell one with (`"rep\x6frt"`). A script with none of these keeps
 * neither.
 */
const READER_WORDS = ["report", "record", "source", "\\"];

/** Characters of answers gathered before they are written (one syscall a block). */
const BLOCK_CHARS = 64 << 10;
/** The longest an answer waits to be written while a slow script runs on (ms). */
const BLOCK_MS = 100;

/**
 * A script's answers on stdout, written in blocks rather than a write a line: at
 * {@link BLOCK_CHARS}, when the oldest has waited {@link BLOCK_MS}, and whenever
 * {@link flush} is called (before stdin is read, before anything goes to stderr, at the
 * end, Ctrl-C's stop included). On a terminal each line's answer is written at once.
 */
class BlockOutput {
  readonly #stream: { writeSync(p: Uint8Array): number };
  readonly #eachLine: boolean;
  #lines: string[] = [];
  #chars = 0;
  #since = 0;

  constructor(stream: { writeSync(p: Uint8Array): number }, eachLine: boolean) {
    this.#stream = stream;
    this.#eachLine = eachLine;
  }

  add(lines: readonly string[]): void {
    if (lines.length === 0) return;
    if (this.#lines.length === 0) this.#since = Date.now();
    for (const l of lines) {
      this.#lines.push(l);
      this.#chars += l.length + 1;
    }
    if (this.#eachLine || this.#chars >= BLOCK_CHARS || Date.now() - this.#since >= BLOCK_MS) {
      this.flush();
    }
  }

  flush(): void {
    const lines = this.#lines;
    if (lines.length === 0) return;
    this.#lines = [];
    this.#chars = 0;
    write(this.#stream, lines);
  }
}

/** `--report OUT.html`: the run's page; false (said on stderr) when it cannot be written. */
function writeReport(session: Session, file: string, name: string): boolean {
  try {
    session.writeOutput(file, sessionReport(session, name), "--report");
    // On stderr: stdout is the script's answers (one JSON object per command with --json).
    write(Deno.stderr, [`wrote the report of ${session.transcript.count} command(s) to ${file}`]);
    return true;
  } catch (e) {
    if (!(e instanceof LabError)) throw e;
    write(Deno.stderr, [`error: ${e.message}`]);
    return false;
  }
}

function summary(name: string, r: ScriptResult): void {
  if (!r.ok) {
    const first = r.firstError === undefined ? "" : `; the first at ${r.firstError}`;
    write(Deno.stderr, [`${name}: ${r.errors} error(s) in ${r.commands} command(s)${first}`]);
  }
}

/**
 * Where the user typed the command: `deno task` runs in the project's directory and
 * names the caller's in INIT_CWD; relative paths (scripts, output files) start there.
 */
function invocationDir(): string {
  try {
    return Deno.env.get("INIT_CWD") ?? Deno.cwd();
  } catch {
    return Deno.cwd();
  }
}

/** Runs the REPL as `repl.ts` would; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const parsed = parseArgv(argv);
  if (typeof parsed === "number") return parsed;
  const { opts } = parsed;
  const script = opts.script ?? parsed.file;
  const tty = Deno.stdout.isTerminal();
  const session = new Session({
    cwd: invocationDir(),
    json: opts.json === true,
    keepGoing: opts.keepGoing === true,
    color: tty && !Deno.noColor,
    interrupt: await installSigint(),
  });
  const out = new BlockOutput(Deno.stdout, tty);
  const run = (src: LineSource, name: string, path?: string): number => {
    let r: ScriptResult;
    try {
      r = runScriptLines(session, src, name, {
        keepGoing: session.keepGoing,
        runLine,
        onOutput: (lines) => out.add(lines),
      }, path);
    } catch (e) {
      // The script could not be read on (piped stdin past its limit): what ran is shown.
      if (!(e instanceof LabError)) throw e;
      out.flush();
      write(Deno.stderr, [`error: ${e.message}`]);
      return 2;
    }
    out.flush();
    summary(name, r);
    // The report is written whatever the script's outcome: a failure is worth a review too.
    if (opts.report !== undefined && !writeReport(session, opts.report, name)) return 2;
    if (r.stopped === "interrupted") return INTERRUPTED_STATUS;
    return r.ok ? 0 : 1;
  };
  if (opts.report !== undefined && script === undefined && Deno.stdin.isTerminal()) {
    write(Deno.stderr, [
      "error: --report is for a script run (at the prompt, type 'report FILE.html')",
    ]);
    return 2;
  }
  if (script === undefined && Deno.stdin.isTerminal()) {
    return interactive(session, { historyFile: opts.history ? historyPath() : undefined });
  }
  if (script === undefined) {
    try {
      return run(stdinLines(() => out.flush()), "<stdin>");
    } finally {
      out.flush();
    }
  }
  let src: ScriptLines;
  const path = session.resolvePath(script);
  try {
    src = openScript(session.files, path, script, SCRIPT_MAX_BYTES, READER_WORDS);
  } catch (e) {
    if (!(e instanceof LabError)) throw e;
    write(Deno.stderr, [`error: ${e.message}`]);
    return 2;
  }
  // Only a report reads the transcript, and only `record` the recorder's history: a run
  // that cannot make a report or start a recording keeps none (issue 14).
  const may = (word: string) =>
    src.found.has(word) || src.found.has("source") || src.found.has("\\");
  if (opts.report === undefined && !may("report")) session.transcript.keep = false;
  if (!may("record")) session.recorder.keepHistory = false;
  try {
    return run(src, script, path);
  } finally {
    // Whatever happens (an internal error on its way out too), what was answered is shown.
    out.flush();
    src.close();
  }
}
