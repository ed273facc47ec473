/**
 * The shape of the command table: one {@link CommandSpec} per verb drives parsing
 * (through commander), `help`, and tab completion, so the three cannot disagree.
 *
 * @module
 */

import type { LineRunner } from "./script.ts";
import type { Session, StopReason } from "./session.ts";

/** What tab completion offers for an argument or an option's value. */
export type Completion =
  | "device"
  | "buffer"
  | "guest"
  | "file"
  | "preset"
  | "dir"
  | "verb"
  | "expect"
  | "none";

/** A positional argument. */
export interface ArgSpec {
  /** As shown in synopses: DEV, BUF|PHYS, OFF. */
  name: string;
  help: string;
  optional?: boolean;
  variadic?: boolean;
  choices?: readonly string[];
  complete?: Completion;
  /** Words completion offers besides its kind, not enforced (`record off`). */
  suggest?: readonly string[];
}

/** An option, in commander's flag syntax (`--mask <bits>`, `--iommu`, `--no-iommu`). */
export interface OptSpec {
  flags: string;
  help: string;
  choices?: readonly string[];
  complete?: Completion;
  /** The option must be given (`sync … --for cpu|device`). */
  required?: boolean;
  /** The option may be given more than once; its values go to {@link Ctx.lists}, not opts. */
  repeatable?: boolean;
}

/**
 * What a command hands back: a JSON object and its text rendering. The text may be a
 * function that draws it, for a command whose text costs more than its JSON (map,
 * unmap, sync): it is called only when something reads the text (text mode, a pipe,
 * `expect log`, `report`), maybe after later commands ran, so it may read only values
 * fixed when the command ran — its result, its arguments, a `fmt.fixed()`.
 */
export interface Reply {
  json: Record<string, unknown>;
  text: string[] | (() => string[]);
  /** Set when the command failed but still has something to show (a failed map). */
  error?: string;
  /** Extra lines shown after the error message (text mode). */
  errorNotes?: string[];
  /** `quit`: end the session or script. */
  quit?: boolean;
  /** Output of the commands this one ran (repeat), printed before its own, in both modes. */
  nested?: string[];
  /** How a `repeat` loop ended: which command `expect` checks, and what `record` writes. */
  loop?: LoopEnd;
}

/** How a `repeat N COMMAND` ended. */
export interface LoopEnd {
  /** Iterations that ran. */
  ran: number;
  /** The COMMAND, as typed. */
  command: string;
  /** Ran them all, stopped at a failed one, at Ctrl-C, or at the line budget. */
  stop: "done" | "failed" | "interrupted" | "line-limit";
  /** Ctrl-C stopped the last one part-way (a nested repeat or source), not between two. */
  inside?: true;
}

/** Everything a handler gets besides its arguments. */
export interface Ctx {
  session: Session;
  /** Words that were quoted on the line (so `"cafe"` is text, `cafe` is hex). */
  quoted: ReadonlySet<string>;
  /** The whole line, as typed. */
  line: string;
  /** Values of the verb's repeatable options (`--preset A --preset B`), in order. */
  lists: OptLists;
  /** The whole command table (for `help`). */
  table: readonly CommandSpec[];
  /** Runs a nested script (for `source`); returns the replies' lines and success. */
  runNested(
    path: string,
  ): {
    output: string[];
    ok: boolean;
    commands: number;
    quit: boolean;
    stopped?: StopReason;
    /** "file:line" of the nested script's first error. */
    firstHere?: string;
  };
  /** Runs `setup` then `line` in a fresh session (help examples); the line's output. */
  runFresh(setup: readonly string[], line: string): string[];
  /** The line runner, for verbs that run scripts in sessions of their own (compare). */
  runLine: LineRunner;
}

/** Parsed option values, as commander returns them. */
export type Opts = Record<string, string | boolean | undefined>;

/** The values of repeatable options, in the order given (`{ preset: ["a", "b"] }`). */
export type OptLists = Readonly<Record<string, readonly string[]>>;

/** A help example: a caption, the line, and the session it runs in (lib/repl/examples.ts). */
export interface Example {
  /** What it shows, in one line. */
  caption: string;
  line: string;
  /** Lines run first in a fresh session (not shown). */
  setup?: readonly string[];
  /** False for lines that read or write files or end the session: shown, not run. */
  run?: boolean;
}

/** One verb (or `group sub` verb) of the REPL. */
export interface CommandSpec {
  /** ["map"] or ["guest", "new"]. */
  path: readonly string[];
  /** One line for the `help` list. */
  summary: string;
  /** A paragraph for `help VERB`: what it models, in the kernel's words. */
  description?: string;
  args: readonly ArgSpec[];
  options: readonly OptSpec[];
  /** Real lines one would type; `help VERB` shows each with its caption and real answer. */
  examples: readonly Example[];
  /** Refuse to run without a guest. */
  needsGuest?: boolean;
  /**
   * The command runs the guest kernel's code (the DMA API, kmalloc, a driver's probe):
   * refused first, before its words are looked up, on a guest that panicked at boot.
   */
  needsKernel?: boolean;
  /** Take every word as an argument, options included (`expect error "--x"`). */
  rawWords?: boolean;
  run(ctx: Ctx, args: string[], opts: Opts): Reply;
}

/** One-line descriptions of the verbs that have subcommands. */
export interface GroupSpec {
  name: string;
  summary: string;
}

/** The verb as typed: "guest new", "map". */
export function verbName(spec: CommandSpec): string {
  let name = names.get(spec);
  if (name === undefined) {
    name = spec.path.join(" ");
    names.set(spec, name);
  }
  return name;
}

/** {@link verbName}'s answers (each line asks for its verb's). */
const names = new WeakMap<CommandSpec, string>();

/** `map DEV BUF|PHYS SIZE DIR [--for cpu|device]`-style synopsis. */
export function synopsis(spec: CommandSpec): string {
  const parts = [verbName(spec)];
  for (const a of spec.args) {
    const name = a.choices && a.choices.length <= 4 ? a.choices.join("|") : a.name;
    const shown = a.variadic ? `${name}…` : name;
    parts.push(a.optional ? `[${shown}]` : shown);
  }
  for (const o of spec.options) {
    if (o.flags.startsWith("--no-")) continue;
    const m = /^(?:-\w, )?(--[\w-]+)(?: <([^>]+)>)?/.exec(o.flags);
    if (!m) continue;
    const value = o.choices && o.choices.length <= 4
      ? " " + o.choices.join("|")
      : m[2]
      ? " " + m[2].toUpperCase()
      : "";
    const more = o.repeatable ? "…" : "";
    parts.push(o.required ? `${m[1]}${value}${more}` : `[${m[1]}${value}]${more}`);
  }
  return parts.join(" ");
}
