/**
 * `help` pages that are no verb: how a line's answer is piped and redirected (issue 13).
 * Their examples run like the verbs' (lib/repl/examples.ts), so they cannot go stale.
 *
 * @module
 */

import { ARM_MAPPED, ARM_ONLY } from "./examples.ts";
import type { Example } from "./table.ts";

/** A help page about the REPL's syntax rather than one verb. */
export interface HelpTopic {
  /** `help NAME` shows it. */
  name: string;
  /** Other words that show it (`help grep`). */
  aliases: readonly string[];
  summary: string;
  /** The forms, one a line, as a synopsis. */
  forms: readonly string[];
  /** Paragraphs. */
  description: readonly string[];
  examples: readonly Example[];
}

/** The topics, in `help` order. */
export const HELP_TOPICS: readonly HelpTopic[] = [{
  name: "redirect",
  aliases: ["pipe", "grep", "head", "tail", "pager"],
  summary: "send a command's answer through grep, head, tail and into a file",
  forms: [
    "CMD | grep [-i] [-v] [-F] [-c] PATTERN   keep the lines that match",
    "CMD | head [N]    CMD | tail [N]          the first or last N lines (10)",
    "CMD > FILE        CMD >> FILE             write or append the answer to FILE",
  ],
  description: [
    "No shell runs: the REPL does this itself, on the lines of the command's text answer, " +
    "at the prompt, in scripts, sourced files and piped stdin alike. Stages chain left to " +
    "right (segments --all | grep used | head 3); one redirection may end the line. " +
    'Quoted, | and > are plain characters (buf write rx "a|b").',
    "PATTERN is a JavaScript regular expression (as grep -E) found anywhere in a line, " +
    "colours ignored; quote it when it holds blanks. -F takes it as plain text, -i ignores " +
    "case, -v keeps the lines that do not match, -c prints how many lines are kept. An " +
    "unquoted $bus (or $bus+0x1000) is that address as the answers print it, read before " +
    "the command runs as a shell would; quote '$' for a regex anchor. head and tail take " +
    "N, -n N or -N.",
    "FILE is relative to the directory the REPL was started in. As in a shell it is opened " +
    "before the command runs: a file that cannot be written leaves the command unrun, and " +
    "> empties it even when the command then fails. A failed command is never piped: its " +
    "error stays on the screen. expect checks the command's own result, whatever the pipe " +
    "kept.",
    "With --json stdout still gets one object per command: the command's own, with " +
    '"plumbing": {"pipe": [stages], "text": [the lines kept]}, or with a redirection ' +
    '{"pipe", "file", "append", "lines": N}; the file gets the same text as without --json.',
    "At the prompt an answer taller than the terminal pages: space shows a page, Enter a " +
    "line, q stops. 'set pager off' turns that off; scripts, pipes and --json never page.",
  ],
  examples: [
    { caption: "The segment with bus 0x140000", line: "segments | grep 0x140000", setup: ARM_ONLY },
    {
      caption: "The segment the last map used",
      line: "segments | grep $bus | head 1",
      setup: ARM_MAPPED,
    },
    {
      caption: "Counters that are not zero, first five",
      line: 'stats | grep -v " 0$" | head 5',
      setup: ARM_MAPPED,
    },
    {
      caption: "The red node, in the drawing and in bus order",
      line: "tree --inorder | grep ' R '",
      setup: ARM_ONLY,
    },
    {
      caption: "The last two nodes in bus order",
      line: "tree --inorder | tail 2",
      setup: ARM_ONLY,
    },
    { caption: "Save the in-order listing", line: "tree --inorder > tree.txt", run: false },
    { caption: "Add the segments to a notes file", line: "segments >> notes.txt", run: false },
  ],
}];

/** The topic `words` name (`help redirect`, `help grep`), if any. */
export function findTopic(words: readonly string[]): HelpTopic | undefined {
  if (words.length !== 1) return undefined;
  return HELP_TOPICS.find((t) => t.name === words[0] || t.aliases.includes(words[0]));
}
