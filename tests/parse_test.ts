/**
 * lib/repl/parse.ts: verbs found through an index, commander Commands built once per
 * verb and reused, and the fast path for plain lines — each must parse (and word every
 * error) exactly as a commander Command built for the one line does.
 */

import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { cmdTable } from "../lib/repl/mod.ts";
import { commanderParse, fastParse, parseWords, resolveVerb } from "../lib/repl/parse.ts";
import type { CommandSpec } from "../lib/repl/table.ts";
import { tokenize } from "../lib/repl/tokenize.ts";
import { WORDS } from "./_lines.ts";

const SPECS = cmdTable().filter((s) => !s.rawWords);

/** The outcome of a parse as a value: its result, or the error's message and usage. */
function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    const err = e as Error & { usage?: string };
    return { error: err.message, usage: err.usage, type: err.constructor.name };
  }
}

/** Words that mean something to the verb: its choices, its flags and their choices. */
function wordsOf(spec: CommandSpec): string[] {
  const own = spec.args.flatMap((a) => a.choices ?? []);
  for (const o of spec.options) {
    own.push(...o.flags.split(/[ ,]+/).filter((f) => f.startsWith("-")));
    own.push(...o.choices ?? []);
  }
  return [...own, ...WORDS, "-", "--x=1", "-4K", "plain"];
}

Deno.test("parseWords: every verb parses random words as a Command built for the line does", () => {
  // One run mixes every verb, so a reused Command parses after other lines of its own.
  const line = fc.constantFrom(...SPECS).chain((spec) =>
    fc.tuple(fc.constant(spec), fc.array(fc.constantFrom(...wordsOf(spec)), { maxLength: 8 }))
  );
  fc.assert(
    fc.property(line, ([spec, words]) => {
      assertEquals(
        outcome(() => parseWords(spec, [...words])),
        outcome(() => commanderParse(spec, [...words], true)),
        `${spec.path.join(" ")} ${words.join(" ")}`,
      );
    }),
    { numRuns: 20_000 },
  );
});

Deno.test("parseWords: each verb's examples and every arity of plain words match commander", () => {
  for (const spec of SPECS) {
    const lines = spec.examples.map((e) => tokenize(e.line).map((t) => t.text));
    for (const words of lines) {
      const { spec: named, rest } = resolveVerb(cmdTable(), words);
      assertEquals(
        outcome(() => parseWords(named, rest)),
        outcome(() => commanderParse(named, rest, true)),
      );
    }
    // Plain words in every count, with the choices where an argument has them.
    for (let n = 0; n <= spec.args.length + 1; n++) {
      const words = Array.from({ length: n }, (_, i) => spec.args[i]?.choices?.[0] ?? `w${i}`);
      assertEquals(
        outcome(() => parseWords(spec, words)),
        outcome(() => commanderParse(spec, words, true)),
        `${spec.path.join(" ")} ${words.join(" ")}`,
      );
    }
  }
});

Deno.test("fastParse: a plain map or unmap line needs no commander; options and errors do", () => {
  const spec = (verb: string) => cmdTable().find((s) => s.path.join(" ") === verb)!;
  assertEquals(fastParse(spec("map"), ["nic", "rx", "4K", "to"])?.args, ["nic", "rx", "4K", "to"]);
  assertEquals(fastParse(spec("unmap"), ["nic", "$bus", "4K", "to"])?.opts, {});
  // A negated option with no positive twin is true until given, as commander has it.
  const lone: CommandSpec = {
    path: ["lone"],
    summary: "",
    args: [{ name: "A", help: "", optional: true }],
    options: [{ flags: "--no-color", help: "" }, { flags: "--dom0", help: "" }, {
      flags: "--no-dom0",
      help: "",
    }],
    examples: [],
    run: () => ({ json: {}, text: [] }),
  };
  assertEquals(fastParse(lone, ["a"])?.opts, { color: true });
  assertEquals(fastParse(lone, [])?.opts, commanderParse(lone, [], true).opts);
  assertEquals(
    fastParse(spec("guest new"), [])?.opts,
    commanderParse(spec("guest new"), [], true).opts,
  );
  assertEquals(fastParse(spec("map"), ["nic", "rx", "4K", "to", "--page"]), undefined);
  assertEquals(
    fastParse(spec("map"), ["nic", "rx", "4K"]),
    undefined,
    "missing DIR: commander says so",
  );
  assertEquals(fastParse(spec("map"), ["nic", "rx", "4K", "to", "x"]), undefined, "one too many");
  assertEquals(
    fastParse(spec("sync"), ["nic", "$bus", "4K", "to"]),
    undefined,
    "--for is mandatory",
  );
  const choice = SPECS.find((s) =>
    s.args.some((a) => a.choices) && !s.args.some((a) => a.variadic)
  );
  if (choice === undefined) throw new Error("no verb has an argument with choices");
  const i = choice.args.findIndex((a) => a.choices);
  const words = choice.args.slice(0, i + 1).map((a) => a.choices ? "not-a-choice" : "w");
  assertEquals(
    fastParse(choice, words),
    undefined,
    "a word outside the choices is commander's to word",
  );
});
