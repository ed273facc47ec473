/**
 * Session verbs: trace, debug, set, source, expect, help, quit (SPEC §10).
 *
 * @module
 */

import { LabError } from "../errors.ts";
import { checkExpectation, EXPECT_FORMS } from "./expect.ts";
import { findHelp, helpFor, helpJson, helpList } from "./help.ts";
import type { CommandSpec } from "./table.ts";
import { verbName } from "./table.ts";

const ON_OFF = ["on", "off"] as const;

/** Optional hook a guest may offer to switch the DMA-API debug layer (SPEC §8). */
interface DebugSwitch {
  setDebug?: (on: boolean) => void;
}

/** The session verbs. */
export const sessionCommands: CommandSpec[] = [
  {
    path: ["trace"],
    summary: "one line per engine step: fixup tries, exchanges, slot search, copies",
    args: [{ name: "on|off", help: "switch tracing", choices: ON_OFF }],
    options: [],
    examples: ["trace on"],
    run: (ctx, [v]) => {
      const s = ctx.session;
      s.trace = v === "on";
      if (s.guest) s.guest.events.tracing = s.trace;
      return { json: { trace: s.trace }, text: [`trace ${v}`] };
    },
  },
  {
    path: ["debug"],
    summary: "the DMA-API debug layer (on by default in the REPL)",
    args: [{ name: "on|off", help: "switch the debug layer", choices: ON_OFF }],
    options: [],
    examples: ["debug off"],
    run: (ctx, [v]) => {
      const s = ctx.session;
      s.debug = v === "on";
      const sw = s.guest as DebugSwitch | undefined;
      const now = sw?.setDebug !== undefined;
      sw?.setDebug?.(s.debug);
      return {
        json: { debug: s.debug },
        text: [
          `DMA-API debug ${v}` +
          (s.guest && !now ? " (from the next 'guest new'; this guest keeps its setting)" : ""),
        ],
      };
    },
  },
  {
    path: ["set"],
    summary: "session settings: set radix 16|10",
    args: [
      { name: "radix", help: "the setting", choices: ["radix"] },
      { name: "16|10", help: "hex (default) or decimal output", choices: ["16", "10"] },
    ],
    options: [],
    examples: ["set radix 10"],
    run: (ctx, [, v]) => {
      const radix = v === "10" ? 10 : 16;
      ctx.session.fmt.radix = radix;
      return {
        json: { radix },
        text: [`radix ${radix}: numbers print in ${radix === 16 ? "hex" : "decimal"}`],
      };
    },
  },
  {
    path: ["source"],
    summary: "run the commands of a file, as a script would",
    args: [{ name: "FILE", help: "a command file", complete: "file" }],
    options: [],
    examples: ["source examples/first-bounce.txt"],
    run: (ctx, [file]) => {
      if (ctx.session.where.length >= 16) {
        throw new LabError(`source ${file}: nested too deeply (a file sources itself?)`);
      }
      const r = ctx.runNested(file);
      const json = { source: file, ok: r.ok, commands: r.commands };
      if (!r.ok) {
        return { json, text: r.output, error: `source ${file}: the script failed` };
      }
      return {
        json,
        text: [...r.output, ctx.session.fmt.dim(`(${file}: ${r.commands} commands ok)`)],
      };
    },
  },
  {
    path: ["expect"],
    summary: "check the previous command's result; a failure makes the script exit 1",
    description: "Forms: " + EXPECT_FORMS.join(" · "),
    args: [{
      name: "WHAT",
      help: "an expectation (see the forms above)",
      variadic: true,
      complete: "expect",
    }],
    options: [],
    examples: [
      "expect bounced",
      "expect bus 0x7f840000",
      'expect error "different size"',
      "expect bytes rx 0 de:ad:be:ef",
      "expect stat bounces 1",
    ],
    rawWords: true,
    run: (ctx, args) => {
      const r = checkExpectation(ctx.session, args, ctx.quoted);
      const json = { ok: r.ok, expected: r.expected, actual: r.actual };
      if (r.ok) return { json, text: [ctx.session.fmt.dim(`ok: ${r.expected}`)] };
      const where = ctx.session.location();
      return {
        json,
        text: [],
        error: `expectation failed${
          where ? ` at ${where}` : ""
        }: expected ${r.expected}, actual ${r.actual}`,
      };
    },
  },
  {
    path: ["help"],
    summary: "this list, or a command's synopsis, options and examples",
    args: [{
      name: "COMMAND",
      help: "a verb (map, guest new, …)",
      optional: true,
      variadic: true,
      complete: "verb",
    }],
    options: [],
    examples: ["help", "help map", "help guest new"],
    run: (ctx, words) => {
      const fmt = ctx.session.fmt;
      if (words.length === 0) {
        return {
          json: {
            commands: ctx.table.map((c) => ({ name: verbName(c), summary: c.summary })),
          },
          text: helpList(ctx.table, fmt),
        };
      }
      const specs = findHelp(ctx.table, words);
      return { json: helpJson(specs), text: helpFor(specs, fmt) };
    },
  },
  {
    path: ["quit"],
    summary: "leave the REPL (Ctrl-D works too); in a script, stop here",
    args: [],
    options: [],
    examples: ["quit"],
    run: () => ({ json: { quit: true }, text: [], quit: true }),
  },
];
