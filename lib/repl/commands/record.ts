/**
 * `record FILE | off`: write the session's commands to a script that replays to the same
 * state and answers (issue 12; what goes in the file is in lib/repl/record.ts).
 *
 * @module
 */

import { recordingJson, renderRecording, renderRecordStart } from "../render/record.ts";
import { sizeWords } from "../files.ts";
import { HISTORY_MAX_CHARS } from "../record.ts";
import type { CommandSpec } from "../table.ts";

/** The record verb. */
export const recordCommands: CommandSpec[] = [
  {
    path: ["record"],
    summary: "write the session's commands to a script that replays to the same state",
    description: "record FILE appends each command to FILE as it runs (a session that dies " +
      "leaves every command so far), until record off or quit; a relative FILE starts " +
      "from the working directory; record ./off writes a file named off. The file opens " +
      "with the state recording started from: the session settings (set radix, debug, " +
      "trace, explain) as they were when the guest was made, then every command since that guest " +
      "new or guest load (the session keeps up to " + sizeWords(HISTORY_MAX_CHARS) +
      " of them), so a replay rebuilds the guest, its devices, buffers, mappings, slots, " +
      "counters and debug records exactly. With several guests (guest new --name) it is " +
      "the guest new of the oldest guest still in the session, or of an older one gone " +
      "since that a later command acted on (guest use, guest list; further back when that " +
      "guest new took the current name, not --name); the commands on every guest from " +
      "there are replayed, help lines included, " +
      "but not the guest drop of a guest made before it. A failed command is written with an 'expect " +
      "error' line after it (a replay goes on past it, as the session did, and checks it " +
      "fails the same way); a failed expect is written commented out. Written commented " +
      "out too, with a note: a command that writes a file (report, --svg, --dot; a command " +
      "with > FILE or >> FILE is replayed without it, as it may change state), " +
      "one that failed on a file rather than in the engine (a file it could not write or " +
      "read, such as permission denied; any failed guest load), which changed nothing and " +
      "could succeed where the replay runs, and an expect of either. A repeat stopped by " +
      "Ctrl-C is written as the iterations that ran (repeat K COMMAND), so the replay " +
      "reaches the same state (an expect after it is commented out: it checked the stopped " +
      "repeat); one stopped inside a nested repeat or source, where a replay cannot stop, " +
      "is commented out with a note that the state may differ from there. source FILE is " +
      "written as the commands it ran (its own summary line is not replayed) and guest " +
      "load FILE as the guest new line it made, so the replay needs no other file (a " +
      "compare line is written as typed: it reads its files again). record " +
      "itself is not written, nor is it the command expect checks. Without an argument: " +
      "the recording in progress.",
    args: [{
      name: "FILE|off",
      help: "the script to write, or off to stop",
      optional: true,
      complete: "file",
      suggest: ["off"],
    }],
    options: [],
    examples: [
      { caption: "Are we recording?", line: "record" },
      {
        caption: "From now on, write every command to session.txt",
        line: "record session.txt",
        run: false,
      },
      { caption: "Stop (quit stops too)", line: "record off", run: false },
    ],
    run: (ctx, [file]) => {
      const s = ctx.session;
      const rec = s.recorder;
      if (file === undefined) {
        return { json: recordingJson(rec.recording), text: renderRecording(rec.recording, false) };
      }
      if (file === "off") {
        const was = rec.stop();
        return {
          json: { ...recordingJson(was), recording: false },
          text: renderRecording(was, true),
        };
      }
      const { path, state } = rec.start(s, file);
      return {
        json: { ...recordingJson(rec.recording), state_commands: state },
        text: renderRecordStart(path, state),
      };
    },
  },
];
