/**
 * The interactive prompt: node:readline with tab completion from the command table and
 * a persistent history in the user's home (UX.md). A bad line prints an error and the
 * prompt comes back; Ctrl-D or `quit` leaves with status 0. Ctrl-C drops the line being
 * typed, and stops a running `source` between two lines (back to the prompt). Ctrl-R
 * searches the history backwards ({@link ReverseSearch}). readline reads the terminal
 * through {@link KeyInput} and measures the cursor with {@link rememberCursorPos}, so a
 * long pasted or typed line costs time linear in its length (issue 13).
 *
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import { complete } from "./complete.ts";
import { rememberCursorPos } from "./cursor_pos.ts";
import { HISTORY_SIZE, HistoryFile } from "./history.ts";
import { KeyInput } from "./keys.ts";
import { ReverseSearch } from "./reverse_search.ts";
import { showAnswer } from "./pager.ts";
import { type LineResult, runLine } from "./run.ts";
import type { Session } from "./session.ts";

/** The greeting (UX.md). */
export const BANNER = [
  'swiotlb-lab — swiotlb-xen (Linux 3.11 + RFC "support autotranslate guests")',
  "Type 'help' for commands, 'guest presets' to start, Tab completes.",
];

/** Options of {@link interactive}. */
export interface InteractiveOptions {
  /** Where history persists; undefined keeps none (`--no-history`). */
  historyFile: string | undefined;
}

/** Runs the prompt until Ctrl-D or `quit`; resolves to the exit status (0). */
export function interactive(session: Session, opts: InteractiveOptions): Promise<number> {
  const file = opts.historyFile ? new HistoryFile(opts.historyFile) : undefined;
  // readline wants the newest first.
  const history = file ? file.load().reverse() : [];
  const keys = new KeyInput(process.stdin);
  const rl = createInterface({
    input: keys,
    output: process.stdout,
    prompt: "swiotlb> ",
    completer: (line: string) => complete(session, line),
    history,
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    terminal: true,
  });
  rememberCursorPos(rl);
  keys.attach(rl, new ReverseSearch(rl).key);
  const setRaw = (on: boolean) => {
    try {
      if (Deno.stdin.isTerminal()) Deno.stdin.setRaw(on);
    } catch {
      // Not a terminal after all: nothing to switch.
    }
  };
  process.stdout.write(BANNER.join("\n") + "\n\n");
  return new Promise((resolve) => {
    rl.on("line", (line: string) => {
      file?.add(line);
      // While a line runs the terminal is out of raw mode, so Ctrl-C is a SIGINT (which
      // the session's interrupt sees between script lines), not a key readline reads later.
      setRaw(false);
      let r: LineResult;
      try {
        r = runLine(session, line);
      } finally {
        setRaw(true);
      }
      const next = () => r.quit ? rl.close() : rl.prompt();
      // A long answer pages (lib/repl/pager.ts); the prompt comes back once it is shown.
      const paging = showAnswer(r.output, session.pager && !session.json);
      if (paging) void paging.then(next);
      else next();
    });
    rl.on("SIGINT", () => {
      // Ctrl-C drops the line being typed, as a shell does; Ctrl-D leaves.
      process.stdout.write("^C\n(Ctrl-D or 'quit' leaves)\n");
      rl.write(null, { ctrl: true, name: "u" });
      rl.prompt();
    });
    rl.on("close", () => {
      process.stdout.write("\n");
      resolve(0);
    });
    rl.prompt();
  });
}
