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
import { runScriptText, type ScriptResult } from "./script.ts";
import { Session } from "./session.ts";
import { readUserFile, SCRIPT_MAX_BYTES, sizeWords } from "./files.ts";
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

/** Piped stdin as text, refusing more than {@link SCRIPT_MAX_BYTES} (it may never end). */
async function readStdin(): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of Deno.stdin.readable) {
    size += chunk.length;
    if (size > SCRIPT_MAX_BYTES) {
      throw new LabError(
        `Cannot read script <stdin>: it is over ${sizeWords(SCRIPT_MAX_BYTES)}, ` +
          "the most a script may be",
      );
    }
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    bytes.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(bytes);
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
  const onOutput = (lines: string[]) => write(Deno.stdout, lines);
  const run = (text: string, name: string, path?: string): number => {
    const r = runScriptText(session, text, name, {
      keepGoing: session.keepGoing,
      runLine,
      onOutput,
    }, path);
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
  let text: string;
  let path: string | undefined;
  try {
    if (script !== undefined) {
      path = session.resolvePath(script);
      text = readUserFile(session.files, path, script, "script", SCRIPT_MAX_BYTES);
    } else text = await readStdin();
  } catch (e) {
    if (!(e instanceof LabError)) throw e;
    write(Deno.stderr, [`error: ${e.message}`]);
    return 2;
  }
  return run(text, script ?? "<stdin>", path);
}
