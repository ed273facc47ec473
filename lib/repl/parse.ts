/**
 * Parsing of a line's command words: the verb they name in the command table, and its
 * arguments and options through commander (SPEC §10). The errors are usage errors in
 * the REPL's words, with the verb's synopsis.
 *
 * @module
 */

import { Argument, Command, CommanderError, Option } from "commander";
import { LabError } from "../errors.ts";
import { cmdTable } from "./commands.ts";
import { clip } from "./files.ts";
import { didYouMean } from "./suggest.ts";
import {
  type ArgSpec,
  type CommandSpec,
  type OptLists,
  type Opts,
  synopsis,
  verbName,
} from "./table.ts";

/** Other names for verbs. */
const ALIASES: Record<string, string> = { exit: "quit", "?": "help" };

/** Every word that can start a line (for "did you mean" and completion). */
export function topWords(table: readonly CommandSpec[] = cmdTable()): string[] {
  return [...new Set(table.map((c) => c.path[0]))];
}

/** The verbs a first word starts, in table order. */
interface Group {
  specs: readonly CommandSpec[];
  /** The verb that is the word alone (`tree`), if any. */
  single: CommandSpec | undefined;
  /** The `word sub` verbs by sub (`tree insert`). */
  subs: ReadonlyMap<string, CommandSpec>;
}

/** The groups of each table by first word (built once). */
const verbIndex = new WeakMap<readonly CommandSpec[], Map<string, Group>>();

/** The table asked last and its index (it is nearly always the one table). */
let lastTable: readonly CommandSpec[] | undefined;
let lastIndex: Map<string, Group> | undefined;

function groupOf(table: readonly CommandSpec[], first: string): Group | undefined {
  if (table === lastTable) return lastIndex!.get(first);
  let index = verbIndex.get(table);
  if (index === undefined) {
    const built = new Map<
      string,
      Group & { specs: CommandSpec[]; subs: Map<string, CommandSpec> }
    >();
    for (const c of table) {
      let g = built.get(c.path[0]);
      if (g === undefined) {
        g = { specs: [], single: undefined, subs: new Map() };
        built.set(c.path[0], g);
      }
      g.specs.push(c);
      // The first of a kind wins, as a search of the table in order finds it.
      if (c.path.length === 1) g.single ??= c;
      else if (!g.subs.has(c.path[1])) g.subs.set(c.path[1], c);
    }
    index = built;
    verbIndex.set(table, index);
  }
  lastTable = table;
  lastIndex = index;
  return index.get(first);
}

/** Finds the spec a line names; the rest of the words are its arguments. */
export function resolveVerb(
  table: readonly CommandSpec[],
  words: string[],
): { spec: CommandSpec; rest: string[] } {
  const first = Object.hasOwn(ALIASES, words[0]) ? ALIASES[words[0]] : words[0];
  const group = groupOf(table, first);
  if (group === undefined) {
    throw new LabError(
      `unknown command '${clip(words[0])}'${didYouMean(first, topWords(table))}`,
    );
  }
  // A word can be a verb and a group at once (`tree`, `tree insert`): a subcommand wins.
  const named = words[1] === undefined ? undefined : group.subs.get(words[1]);
  if (named) return { spec: named, rest: words.slice(2) };
  if (group.single) return { spec: group.single, rest: words.slice(1) };
  const subs = group.specs.map((c) => c.path[1]);
  const sub = words[1];
  if (sub === undefined || sub.startsWith("-")) {
    throw new LabError(`'${first}' needs a subcommand: ${subs.join(", ")} (help ${first})`);
  }
  // No sub verb is called `sub` (the lookup above found none).
  if (!/^[A-Za-z]/.test(sub)) {
    // `lookup 0x100000`: an argument where the subcommand belongs.
    throw new LabError(
      `'${first}' needs a subcommand before '${clip(sub)}': ${
        subs.map((x) => `${first} ${x} ${clip(sub)}`).join(" or ")
      }`,
    );
  }
  const near = didYouMean(sub, subs).replace(/'([^']+)'/g, `'${first} $1'`);
  throw new LabError(`unknown command '${first} ${clip(sub)}'${near}`);
}

/** A malformed line: the message, and the verb's synopsis to show under it. */
export class UsageError extends LabError {
  readonly usage: string;
  constructor(message: string, usage: string) {
    super(message, "usage");
    this.usage = usage;
  }
}

/** "error: unknown option '--mak'\n(Did you mean --mask?)" → our sentence. */
function commanderMessage(e: CommanderError, spec: CommandSpec): UsageError {
  const [head, ...more] = e.message.replace(/^error: /, "").split("\n");
  const hint = more.map((l) => /^\(Did you mean (.+)\?\)$/.exec(l.trim())).find((m) => m);
  // A user's word is quoted only so far (a file that is not a script could be anything).
  // commander's "argument 'x' is invalid. Allowed choices are a, b." in our words.
  const choices =
    /^(?:error: )?(?:command-argument value|option '[^']*' argument|argument) '([^']*)' is invalid(?: for argument '[^']*')?\. Allowed choices are (.+?)\.?$/
      .exec(head);
  if (choices) {
    const list = choices[2].split(", ");
    return new UsageError(
      `${verbName(spec)}: '${clip(choices[1])}' is not one of ${list.slice(0, -1).join(", ")}${
        list.length > 1 ? " or " : ""
      }${list[list.length - 1]}${didYouMean(choices[1], list)}`,
      synopsis(spec),
    );
  }
  const words = head.replace(/\.$/, "").replace(/'([^']*)'/g, (_, w: string) => `'${clip(w)}'`);
  const msg = words + (hint ? ` — did you mean '${hint[1]}'?` : "");
  return new UsageError(`${verbName(spec)}: ${msg}`, synopsis(spec));
}

/**
 * A verb's parser, built once: its commander Command (commander 15 restores the state
 * it saved before its first parse at the start of every later one, so a Command can
 * parse line after line without one line's options leaking into the next), and the
 * shape of its plainest lines for {@link fastParse}.
 */
interface Parser {
  cmd: Command;
  /** The arguments commander is told of (a variadic one last: map-sg's DIR joins it). */
  declared: readonly ArgSpec[];
  /** Words a line must have for the fast path: up to the last required argument. */
  minWords: number;
  /** The option values of a line that gives none (a lone `--no-x` makes x true). */
  base: Readonly<Opts> | undefined;
}

const parsers = new WeakMap<CommandSpec, Parser>();

function parserOf(spec: CommandSpec): Parser {
  let p = parsers.get(spec);
  if (p === undefined) {
    p = buildParser(spec);
    parsers.set(spec, p);
  }
  return p;
}

function buildParser(spec: CommandSpec): Parser {
  const cmd = new Command(verbName(spec))
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} })
    .helpOption(false)
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);
  // commander takes a variadic argument only last; arguments after one (map-sg's DIR)
  // are collected with it and split off by the handler.
  const v = spec.args.findIndex((a) => a.variadic);
  const declared = v < 0 ? spec.args : spec.args.slice(0, v + 1);
  for (const a of declared) {
    const name = a.variadic ? `${a.name}...` : a.name;
    const arg = new Argument(a.optional ? `[${name}]` : `<${name}>`, a.help);
    if (a.choices) arg.choices(a.choices);
    cmd.addArgument(arg);
  }
  const options: Option[] = [];
  for (const o of spec.options) {
    const opt = new Option(o.flags, o.help);
    if (o.choices) opt.choices(o.choices);
    if (o.required) opt.makeOptionMandatory();
    if (o.repeatable) opt.argParser((v: string, prev?: string[]) => [...(prev ?? []), v]);
    cmd.addOption(opt);
    options.push(opt);
  }
  cmd.action(() => {});
  return {
    cmd,
    declared,
    minWords: declared.findLastIndex((a) => !a.optional) + 1,
    // A variadic argument or a mandatory option is commander's to check and word.
    base: v >= 0 || spec.options.some((o) => o.required) ? undefined : baseOpts(options),
  };
}

/**
 * The option values commander gives a line without options: only a negated option with
 * no positive twin has one (`--no-x` alone: x is true until given), as commander sets
 * before it parses. tests/parse_test.ts checks this against commander for every verb.
 */
function baseOpts(options: readonly Option[]): Opts {
  const base: Opts = {};
  for (const o of options) {
    if (o.defaultValue !== undefined) base[o.attributeName()] = o.defaultValue as string;
    else if (o.negate && !options.some((p) => p.long === o.long?.replace(/^--no-/, "--"))) {
      base[o.attributeName()] = true;
    }
  }
  return base;
}

/**
 * The fast path: a line of plain words (none starting with "-") that fills the verb's
 * arguments, each one of its choices, parses to the words themselves and the base
 * options, with no commander call. Anything else (an option, a missing or extra word, a
 * word that is not one of the choices) goes to commander, which parses or words the
 * error as it always did. Undefined when the line is not that plain.
 */
export function fastParse(
  spec: CommandSpec,
  words: readonly string[],
): { args: string[]; opts: Opts; lists: OptLists } | undefined {
  const p = parserOf(spec);
  if (p.base === undefined || words.length < p.minWords || words.length > p.declared.length) {
    return undefined;
  }
  const args: string[] = new Array(p.declared.length);
  for (let i = 0; i < p.declared.length; i++) {
    const w = words[i];
    if (w !== undefined) {
      if (w.length > 1 && w.charCodeAt(0) === 45 /* - */) return undefined;
      const choices = p.declared[i].choices;
      if (choices && !choices.includes(w)) return undefined;
    }
    args[i] = w;
  }
  return { args, opts: { ...p.base }, lists: {} };
}

/**
 * Parses a verb's words: the fast path when they are plain, else the verb's commander
 * Command (built once, reset by commander before each parse, so no state leaks).
 */
export function parseWords(
  spec: CommandSpec,
  words: string[],
): { args: string[]; opts: Opts; lists: OptLists } {
  if (spec.rawWords) return { args: words, opts: {}, lists: {} };
  return fastParse(spec, words) ?? commanderParse(spec, words);
}

/**
 * Parses a verb's words with commander: its Command, or with `fresh` one built for this
 * call alone (tests compare the two). Throws the usage error the REPL shows.
 */
export function commanderParse(
  spec: CommandSpec,
  words: string[],
  fresh = false,
): { args: string[]; opts: Opts; lists: OptLists } {
  const { cmd, declared } = fresh ? buildParser(spec) : parserOf(spec);
  // "-4K" would read as an unknown option; it is a negative number, which no argument takes.
  const negative = words.find((w) => /^-[0-9($]/.test(w));
  if (negative !== undefined) {
    throw new UsageError(
      `${verbName(spec)}: '${clip(negative)}' is negative; sizes, addresses and counts start at 0`,
      synopsis(spec),
    );
  }
  try {
    cmd.parse(words, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) throw commanderMessage(e, spec);
    throw e;
  }
  // processedArgs has one entry per declared argument: a variadic one is an array, a
  // missing optional one is undefined and keeps its place (handlers test for it).
  const args: string[] = [];
  const values = cmd.processedArgs as (string | string[])[];
  declared.forEach((a, i) => {
    const value = values[i];
    if (a.variadic) args.push(...(value ?? []));
    else args.push(value as string);
  });
  const all = cmd.opts() as Record<string, string | boolean | string[] | undefined>;
  const opts: Opts = {};
  const lists: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(all)) {
    if (Array.isArray(v)) lists[k] = v;
    else opts[k] = v;
  }
  return { args, opts, lists };
}
