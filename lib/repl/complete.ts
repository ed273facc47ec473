/**
 * Tab completion, driven by the command table: verbs, subcommands, flags, flag values
 * with choices, and per-argument kinds (devices, buffers, presets, directions, files).
 *
 * @module
 */

import { isAbsolute, join } from "@std/path";
import { PRESETS } from "../guest/mod.ts";
import { cmdTable } from "./commands.ts";
import { EXPECT_KEYWORDS } from "./expect.ts";
import { PIPE_COMMANDS } from "./plumb.ts";
import type { Session } from "./session.ts";
import type { CommandSpec, Completion } from "./table.ts";
import { tokenize } from "./tokenize.ts";

const DIRECTIONS = ["to", "from", "bidi", "none"];

/** What comes after an expectation keyword. */
const EXPECT_NEXT: Record<string, readonly string[]> = {
  not: ["bounced", "found"],
  tree: ["valid", "invalid"],
  init: ["ok", "failed"],
  "swiotlb-xen": ["on", "off"],
  segments: ["aligned", "misaligned"],
  segment: ["none"],
  slot: ["none"],
};

/** Files and directories starting with `prefix` (directories end in "/"). */
function files(session: Session, prefix: string): string[] {
  const slash = prefix.lastIndexOf("/");
  const dirPart = slash >= 0 ? prefix.slice(0, slash + 1) : "";
  const base = isAbsolute(dirPart) ? dirPart : join(session.cwd, dirPart);
  try {
    const out: string[] = [];
    for (const e of Deno.readDirSync(base)) {
      if (e.name.startsWith(".") && !prefix.slice(slash + 1).startsWith(".")) continue;
      out.push(dirPart + e.name + (e.isDirectory ? "/" : ""));
    }
    return out.sort();
  } catch {
    return [];
  }
}

function ofKind(session: Session, kind: Completion | undefined, current: string): string[] {
  const g = session.guest;
  switch (kind) {
    case "device":
      return g ? g.devices().map((d) => d.name) : [];
    case "buffer":
      return g ? g.buffers().map((b) => b.name) : [];
    case "guest":
      return [...session.guests.keys()];
    case "preset":
      return Object.keys(PRESETS);
    case "dir":
      return DIRECTIONS;
    case "verb":
      return [...new Set(cmdTable().map((c) => c.path[0]))];
    case "expect":
      return [...EXPECT_KEYWORDS];
    case "file":
      return files(session, current);
    default:
      return [];
  }
}

/** Long flag names of a spec ("--mask"), with whether each takes a value. */
function flagsOf(spec: CommandSpec): { name: string; value: boolean; index: number }[] {
  return spec.options.map((o, index) => {
    const m = /(--[\w-]+)(\s+<)?/.exec(o.flags);
    return { name: m ? m[1] : o.flags, value: !!(m && m[2]), index };
  });
}

function candidates(session: Session, words: string[], current: string): string[] {
  const table = cmdTable();
  if (words.length === 0) return [...new Set(table.map((c) => c.path[0])), "exit"];
  const verb = words[0];
  const top = table.filter((c) => c.path[0] === verb);
  if (top.length === 0) return [];
  const named = top.find((c) => c.path.length === 2 && c.path[1] === words[1]);
  let spec = named ?? top.find((c) => c.path.length === 1);
  let rest = words.slice(named ? 2 : 1);
  if (!spec) {
    if (words.length === 1) return top.map((c) => c.path[1]);
    spec = top.find((c) => c.path[1] === words[1]);
    rest = words.slice(2);
    if (!spec) return [];
  }
  // A verb that is also a group (`tree`, `tree insert`) offers its subcommands first.
  if (!named && words.length === 1 && !current.startsWith("-")) {
    const subs = top.filter((c) => c.path.length === 2).map((c) => c.path[1]);
    if (subs.length > 0) return [...subs, ...flagsOf(spec).map((f) => f.name)];
  }
  if (spec.path[0] === "expect") {
    if (rest.length === 0) return [...EXPECT_KEYWORDS];
    if (rest.length === 1 && Object.hasOwn(EXPECT_NEXT, rest[0])) return [...EXPECT_NEXT[rest[0]]];
    if (rest[0] === "stat" && rest.length === 1 && session.guest) {
      return Object.keys(session.guest.stats());
    }
    if (rest[0] === "bytes" && rest.length === 1) return ofKind(session, "buffer", current);
    return [];
  }
  if (spec.path[0] === "help") {
    if (rest.length === 0) return ofKind(session, "verb", current);
    if (rest.length === 1) {
      return table.filter((c) => c.path[0] === rest[0] && c.path[1]).map((c) => c.path[1]);
    }
    return [];
  }
  const flags = flagsOf(spec);
  if (current.startsWith("-")) return flags.map((f) => f.name);
  // Walk the words: a flag that takes a value swallows the next word.
  let positional = 0;
  let pending: number | undefined;
  for (const w of rest) {
    if (pending !== undefined) {
      pending = undefined;
      continue;
    }
    const f = flags.find((x) => x.name === w);
    if (f) {
      if (f.value) pending = f.index;
      continue;
    }
    positional++;
  }
  if (pending !== undefined) {
    const o = spec.options[pending];
    return o.choices ? [...o.choices] : ofKind(session, o.complete, current);
  }
  const args = spec.args;
  if (args.length === 0) return flags.map((f) => f.name);
  const variadic = args.findIndex((a) => a.variadic);
  if (variadic >= 0 && positional >= variadic) {
    // Scatterlists: elements (buffer names) until the direction that ends the list.
    const more = args.slice(variadic + 1).flatMap((a) =>
      a.choices ?? ofKind(session, a.complete, current)
    );
    const a = args[variadic];
    return [...(a.choices ?? ofKind(session, a.complete, current)), ...more];
  }
  const a = args[positional];
  if (!a) return flags.map((f) => f.name);
  if (a.choices) return [...a.choices];
  return [...(a.suggest ?? []), ...ofKind(session, a.complete, current)];
}

/** After `|`: grep, head, tail (and grep's flags); after `>` or `>>`: a file. */
function plumbCandidates(
  session: Session,
  op: string,
  stage: string[],
  current: string,
): string[] {
  if (op !== "|") return stage.length === 0 ? files(session, current) : [];
  if (stage.length === 0) return [...PIPE_COMMANDS];
  return stage[0] === "grep" && current.startsWith("-") ? ["-i", "-v", "-F", "-c"] : [];
}

/**
 * Completes the last word of `line`; returns readline's `[hits, word]`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { complete, Session } from "./mod.ts";
 * assertEquals(complete(new Session(), "gu"), [["guest "], "gu"]);
 * assertEquals(complete(new Session(), "segments | gr"), [["grep "], "gr"]);
 * ```
 */
export function complete(session: Session, line: string): [string[], string] {
  const tokens = tokenize(line, true);
  const ended = line === "" || /\s$/.test(line) || tokens.at(-1)?.op !== undefined;
  const words = tokens.map((t) => t.text);
  const current = ended ? "" : words.pop() ?? "";
  const op = tokens.findLastIndex((t) => t.op !== undefined);
  const all = op < 0
    ? candidates(session, words, current)
    : plumbCandidates(session, tokens[op].text, words.slice(op + 1), current);
  const hits = [...new Set(all)].filter((c) => c.startsWith(current));
  // One hit that is a whole word gets a trailing space, as shells do (not directories).
  if (hits.length === 1 && !hits[0].endsWith("/")) return [[hits[0] + " "], current];
  return [hits, current];
}
