/**
 * `help` and `help COMMAND`, generated from the command table (STYLE.md: each command's
 * help is a small man page — synopsis, options, real examples).
 *
 * @module
 */

import { LabError } from "../errors.ts";
import type { Fmt } from "./render/format.ts";
import { HELP_TOPICS, type HelpTopic } from "./help_topics.ts";
import { didYouMean } from "./suggest.ts";
import { type CommandSpec, type Example, synopsis, verbName } from "./table.ts";

/** Which verbs go under which heading, in this order. */
const TOPICS: readonly (readonly [string, readonly string[]])[] = [
  ["Guest, devices, buffers", ["guest", "device", "buf"]],
  [
    "DMA API",
    [
      "map",
      "unmap",
      "map-error",
      "sync",
      "map-sg",
      "unmap-sg",
      "sync-sg",
      "alloc-coherent",
      "free-coherent",
      "dma",
      "dma-supported",
    ],
  ],
  ["Inspection", ["lookup", "segments", "tree", "slots", "p2m", "m2p", "stats"]],
  ["Session and scripts", [
    "trace",
    "explain",
    "debug",
    "set",
    "source",
    "repeat",
    "record",
    "compare",
    "report",
    "expect",
    "help",
    "quit",
  ]],
];

/** The `help` list: one line per verb, under topic headings. */
export function helpList(table: readonly CommandSpec[], fmt: Fmt): string[] {
  const out = ["Commands (help COMMAND for options and examples; Tab completes):"];
  const w = Math.max(...table.map((c) => verbName(c).length));
  const placed = new Set<CommandSpec>();
  const section = (title: string, specs: CommandSpec[]) => {
    if (specs.length === 0) return;
    out.push("", fmt.bold(title));
    for (const c of specs) {
      placed.add(c);
      out.push(`  ${verbName(c).padEnd(w)}  ${c.summary}`);
    }
  };
  for (const [title, verbs] of TOPICS) {
    section(title, verbs.flatMap((v) => table.filter((c) => c.path[0] === v)));
  }
  section("Other", table.filter((c) => !placed.has(c)));
  out.push(
    "",
    "Numbers: 4096, 0x1000, 4K, 2M; $bus/$phys hold the last map's addresses, $NAME a buffer's phys ($bus+0x10 works).",
    "DIR: to, from, bidi, none (or DMA_TO_DEVICE, …). '#' starts a comment.",
    "Output: CMD | grep PATTERN, | head N, | tail N, > FILE, >> FILE (help redirect).",
  );
  return out;
}

/** The commands a `help` topic names: one verb, or every verb of a group. */
export function findHelp(table: readonly CommandSpec[], words: readonly string[]): CommandSpec[] {
  const name = words.join(" ");
  const exact = table.filter((c) => verbName(c) === name);
  if (exact.length) return exact;
  const group = table.filter((c) => c.path[0] === words[0] && words.length === 1);
  if (group.length) return group;
  const all = [
    ...new Set([
      ...table.map(verbName),
      ...table.map((c) => c.path[0]),
      ...HELP_TOPICS.map((t) => t.name),
    ]),
  ];
  throw new LabError(`No help for '${name}'${didYouMean(name, all)}`);
}

/** Lines of an example's answer shown under it; longer answers are cut with "…". */
const EXAMPLE_LINES = 8;

/** Runs an example and returns its answer (the REPL passes a fresh-session runner). */
export type ExampleRunner = (setup: readonly string[], line: string) => string[];

/** `help VERB`: synopsis, description, arguments, options, examples with real answers. */
export function helpFor(
  specs: readonly CommandSpec[],
  fmt: Fmt,
  run?: ExampleRunner,
): string[] {
  const out: string[] = [];
  for (const c of specs) {
    if (out.length) out.push("");
    out.push(fmt.bold(synopsis(c)), `  ${c.summary}`);
    if (c.description) out.push(...wrap(c.description, 86).map((l) => "  " + l));
    if (c.args.length) {
      out.push("Arguments:");
      const w = Math.max(...c.args.map((a) => a.name.length));
      for (const a of c.args) out.push(`  ${a.name.padEnd(w)}  ${a.help}`);
    }
    if (c.options.length) {
      out.push("Options:");
      const w = Math.max(...c.options.map((o) => o.flags.length));
      for (const o of c.options) {
        const choices = o.choices ? ` (${o.choices.join(", ")})` : "";
        out.push(`  ${o.flags.padEnd(w)}  ${o.help}${choices}`);
      }
    }
    out.push(...exampleLines(c.examples, fmt, run));
  }
  return out;
}

/** "Examples:", each with its caption, the line and (when `run` is given) its answer. */
function exampleLines(examples: readonly Example[], fmt: Fmt, run?: ExampleRunner): string[] {
  if (examples.length === 0) return [];
  const out = ["Examples:"];
  for (const e of examples) {
    out.push(`  ${e.caption}:`, `    swiotlb> ${e.line}`);
    if (!run || e.run === false) continue;
    const answer = run(e.setup ?? [], e.line);
    for (const l of answer.slice(0, EXAMPLE_LINES)) out.push(`    ${l}`);
    if (answer.length > EXAMPLE_LINES) out.push(`    ${fmt.dim("…")}`);
  }
  return out;
}

/** `help redirect` and the other topics: forms, paragraphs, examples with real answers. */
export function helpTopic(topic: HelpTopic, fmt: Fmt, run?: ExampleRunner): string[] {
  const out = [fmt.bold(topic.forms[0]), ...topic.forms.slice(1).map((f) => fmt.bold(f))];
  out.push(`  ${topic.summary}`);
  for (const p of topic.description) out.push(...wrap(p, 86).map((l) => "  " + l));
  out.push(...exampleLines(topic.examples, fmt, run));
  return out;
}

/** The `--json` form of a topic's page. */
export function topicJson(topic: HelpTopic): Record<string, unknown> {
  return {
    topic: topic.name,
    summary: topic.summary,
    forms: topic.forms,
    description: topic.description,
    examples: topic.examples.map((e) => ({ caption: e.caption, line: e.line })),
  };
}

/** The `--json` form of `help VERB`. */
export function helpJson(specs: readonly CommandSpec[]): Record<string, unknown> {
  return {
    commands: specs.map((c) => ({
      name: verbName(c),
      synopsis: synopsis(c),
      summary: c.summary,
      options: c.options.map((o) => ({ flags: o.flags, help: o.help })),
      examples: c.examples.map((e) => ({ caption: e.caption, line: e.line })),
    })),
  };
}

/** Greedy word wrap. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let cur = "";
  for (const word of text.split(/\s+/)) {
    if (cur && cur.length + 1 + word.length > width) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines;
}
