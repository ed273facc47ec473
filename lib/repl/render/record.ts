/**
 * The words of `record`: the comment lines that open a recorded script, and the answers
 * of `record FILE`, `record off` and `record`.
 *
 * @module
 */

import type { Recording } from "../record.ts";
import { plural } from "./format.ts";

/** The comments a recorded script starts with: what it is and how it is laid out. */
export function recordHeader(): string[] {
  return [
    "# swiotlb-lab session written by 'record FILE'; replay it with repl.ts --script FILE or source FILE.",
    "# A failed command is followed by 'expect error', as the session went on after it.",
    "# A '# not replayed' line says why: the command wrote or failed on a file, was cut short, or checked one that was.",
    "# First the state recording started from: the settings, then the commands since guest new.",
  ];
}

/** `record FILE`: where it goes and what state it starts from. */
export function renderRecordStart(path: string, state: number): string[] {
  return [
    `recording to ${path}`,
    state > 0
      ? `  it starts with the ${plural(state, "command")} since the guest was made, ` +
        "so a replay rebuilds the state first"
      : "  it starts with the session settings (no command since a guest was made)",
  ];
}

/** `record off` / `record`: the recording that ended or is running, if any. */
export function renderRecording(r: Readonly<Recording> | undefined, ended: boolean): string[] {
  if (!r) return ["not recording (record FILE starts)"];
  const what = `${plural(r.commands, "command")} to ${r.path}`;
  return [ended ? `recording ended: ${what}` : `recording: ${what} so far`];
}

/** The `--json` form of a recording's state. */
export function recordingJson(r: Readonly<Recording> | undefined): Record<string, unknown> {
  return r
    ? { recording: true, file: r.name, path: r.path, commands: r.commands, bytes: r.bytes }
    : { recording: false, file: null, path: null, commands: 0, bytes: 0 };
}
