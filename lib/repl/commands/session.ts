/**
 * Session verbs: trace, debug, set, source, expect, help, quit (SPEC §10).
 *
 * @module
 */

import { LabError } from "../../errors.ts";
import { parseCount } from "../args.ts";
import {
  clip,
  MAX_SCRIPT_LINES,
  MAX_SOURCE_DEPTH,
  MAX_UNKNOWN_LINES,
  QUOTE_CHARS,
  SCRIPT_MAX_BYTES,
  sizeWords,
} from "../files.ts";
import { checkExpectation, EXPECT_FORMS } from "../expect.ts";
import { findHelp, helpFor, helpJson, helpList, helpTopic, topicJson } from "../help.ts";
import { findTopic } from "../help_topics.ts";
import { debugJson, renderDebug } from "../render/debug.ts";
import { ARM_MAPPED, ARM_NIC, ARM_ONLY } from "../examples.ts";
import type { CommandSpec } from "../table.ts";
import { verbName } from "../table.ts";

const ON_OFF = ["on", "off"] as const;

/** The session verbs. */
export const sessionCommands: CommandSpec[] = [
  {
    path: ["trace"],
    summary: "one line per engine step: fixup tries, exchanges, slot search, copies",
    args: [{ name: "on|off", help: "switch tracing", choices: ON_OFF }],
    options: [],
    examples: [{ caption: "Show every engine step from now on", line: "trace on" }],
    run: (ctx, [v]) => {
      const s = ctx.session;
      s.trace = v === "on";
      if (s.guest) s.guest.events.tracing = s.trace;
      return { json: { trace: s.trace }, text: [`trace ${v}`] };
    },
  },
  {
    path: ["explain"],
    summary: "narrate each tree fix-up by its kernel case and each slot search, step by step",
    description:
      "With explain on, every insert into and erase from the bus→phys tree (guest new's " +
      "fixup, alloc-coherent, free-coherent, tree insert) is told case by case in the words " +
      "of Linux 3.11's lib/rbtree.c ('Case 1 - color flips', 'Case 2 - left rotate at " +
      "parent', 'Case 3 - right rotate at gparent', the three structural cases of " +
      "__rb_erase_augmented and the four colour cases of ____rb_erase_color, mirrors " +
      "included), each node by its bus interval; and every slot search of the swiotlb core " +
      "(map, map-sg: swiotlb_tbl_map_single) from the hint aligned up to the stride, " +
      "through each boundary skip, each index too short (long runs summarised) and the wrap to 0, to the slot " +
      "taken or the failure. A command with many operations (guest new: one insert per " +
      "segment) gets one line per operation. --json answers carry every step in an " +
      "'explain' array. Carried over to the guests made after it; off costs nothing.",
    args: [{ name: "on|off", help: "switch the narration", choices: ON_OFF }],
    options: [],
    examples: [
      {
        caption: "Narrate from now on: the next map tells its slot search",
        line: "explain on",
        setup: ARM_NIC,
      },
      { caption: "Stop narrating", line: "explain off", setup: ARM_ONLY },
    ],
    run: (ctx, [v]) => {
      const s = ctx.session;
      s.explain = v === "on";
      if (s.guest) s.guest.events.explaining = s.explain;
      return {
        json: { explaining: s.explain },
        text: [
          s.explain
            ? "explain on: tree fix-ups (guest new, alloc-coherent, free-coherent, tree insert) " +
              "and slot searches (map, map-sg) are narrated" +
              (s.guest ? "" : " from the next guest on")
            : "explain off",
        ],
      };
    },
  },
  {
    path: ["debug"],
    summary: "the DMA-API debug layer: live mappings and reports, or switch it on|off",
    description:
      "On by default in the REPL, as CONFIG_DMA_API_DEBUG. Each mapping is recorded with " +
      "the line that made it; unmap, sync, free-coherent, map-error and device remove are " +
      "checked against the record, and each problem is one '<driver> <dev>: DMA-API: …' line in the kernel's " +
      "format: Linux 3.11's own reports word for word, and the lab's checks beyond it " +
      "(overlapping live bounce slots, a bus address the IOMMU would fault on, a mapping " +
      "across its segment boundary, a failed map-sg's stale copy back) in the same form. " +
      "'debug on|off' switches the current guest and the guests made after it " +
      "(guest new --debug|--no-debug per guest); off forgets the live mappings. The kernel's " +
      "knobs: 'debug filter DRIVER|off' prints only that driver's reports (driver_filter), " +
      "'debug errors N|all' prints only the next N (show_num_errors; the kernel's default is " +
      "1, the REPL's all); every report is still counted. Without an argument: the live " +
      "mappings, the reports so far and the count per kind.",
    args: [
      {
        name: "on|off|filter|errors",
        help: "switch the layer, or set a knob",
        choices: ["on", "off", "filter", "errors"],
        optional: true,
      },
      { name: "VALUE", help: "filter: a driver or off; errors: a count or all", optional: true },
    ],
    options: [],
    examples: [
      { caption: "The live mappings and the reports", line: "debug", setup: ARM_MAPPED },
      { caption: "Switch the layer off", line: "debug off", setup: ARM_ONLY },
      { caption: "Print only the nic driver's reports", line: "debug filter nic", setup: ARM_NIC },
      {
        caption: "Print the next two reports, count the rest",
        line: "debug errors 2",
        setup: ARM_NIC,
      },
    ],
    run: (ctx, [v, value]) => {
      const s = ctx.session;
      if (v === undefined) {
        const view = s.requireGuest().debugReport();
        return { json: debugJson(view), text: renderDebug(view, s.fmt) };
      }
      if (v === "filter" || v === "errors") {
        const g = s.requireGuest();
        if (value === undefined) throw new LabError(`debug ${v} needs a value (help debug)`);
        if (v === "filter") {
          g.setDebugKnobs({ filter: value === "off" ? null : value });
          return {
            json: { filter: value === "off" ? null : value },
            text: [
              value === "off"
                ? "DMA-API debug: every driver's reports are printed"
                : `DMA-API debug: only driver ${value}'s reports are printed (all are counted)`,
            ],
          };
        }
        const n = value === "all" ? "all" : parseCount(value, s.vars, "errors");
        g.setDebugKnobs({ showErrors: n });
        return {
          json: { show_errors: n },
          text: [
            n === "all"
              ? "DMA-API debug: every report is printed"
              : `DMA-API debug: the next ${n} report(s) are printed, the rest only counted`,
          ],
        };
      }
      const was = s.guest?.debugEnabled;
      s.debug = v === "on";
      s.guest?.setDebug(s.debug);
      return {
        json: { debug: s.debug },
        text: [
          `DMA-API debug ${v}` +
          (s.guest ? " for this guest and the next ones" : " for the next guests") +
          (was === false && s.debug ? " (it tracks mappings made from now on)" : ""),
        ],
      };
    },
  },
  {
    path: ["set"],
    summary: "session settings: set radix 16|10 (print and read), set pager on|off",
    description:
      "radix: as in crash it governs input too: after 'set radix 16' a bare address, size " +
      "or offset you type is hex (lookup bus 100000 is 0x100000); after 'set radix 10' it " +
      "is decimal. A prefix always wins: 0x… or 16#… is hex, 0d… or 10#… decimal, 4K and 2M " +
      "are sizes. Counts, indices, bit widths (--mask 32) and repeat's N stay decimal. A new " +
      "session prints hex and reads decimal, as before any 'set radix'. pager: on (the " +
      "default) pages an answer taller than the terminal at the prompt (space: next page, " +
      "Enter: next line, q: stop); off prints it at once. Scripts, pipes and --json never page.",
    args: [
      { name: "radix|pager", help: "the setting", choices: ["radix", "pager"] },
      { name: "VALUE", help: "radix: 16 or 10 (output and bare numbers typed); pager: on or off" },
    ],
    options: [],
    examples: [
      { caption: "Addresses in decimal (indices and counts always are)", line: "set radix 10" },
      {
        caption: "crash-style: bare numbers are hex from now on",
        line: "set radix 16",
      },
      { caption: "Print long answers at once at the prompt", line: "set pager off" },
    ],
    run: (ctx, [setting, v]) => {
      const s = ctx.session;
      if (setting === "pager") {
        if (v !== "on" && v !== "off") {
          throw new LabError(
            `Cannot set pager to "${clip(v)}": say on or off`,
            "usage",
            "bad-name",
          );
        }
        s.pager = v === "on";
        return {
          json: { pager: s.pager },
          text: [
            s.pager
              ? "pager on: at the prompt, answers taller than the terminal page (space, Enter, q)"
              : "pager off: answers print at once",
          ],
        };
      }
      if (v !== "16" && v !== "10") {
        throw new LabError(`Cannot set radix to "${clip(v)}": say 16 or 10`, "usage", "bad-number");
      }
      const radix = v === "10" ? 10 : 16;
      s.fmt.radix = radix;
      s.vars.inputRadix = radix;
      return {
        json: { radix },
        text: [
          radix === 16
            ? "radix 16: numbers print in hex, and a bare number you type is hex " +
              "(0d4096 or 10#4096 for decimal)"
            : "radix 10: numbers print in decimal, and a bare number you type is decimal " +
              "(0x1000 for hex)",
        ],
      };
    },
  },
  {
    path: ["source"],
    summary: "run the commands of a file, as a script would",
    description: `FILE must be a regular file of at most ${sizeWords(SCRIPT_MAX_BYTES)}. ` +
      `Each line of the top-level script runs at most ${MAX_SCRIPT_LINES} lines through ` +
      `nested sources, and source nests at most ${MAX_SOURCE_DEPTH} deep; a file with ` +
      `${MAX_UNKNOWN_LINES} unknown commands is stopped (errors quote at most ` +
      `${QUOTE_CHARS} characters of a line). Ctrl-C stops it between lines; quit in it ` +
      "ends the session.",
    args: [{ name: "FILE", help: "a command file", complete: "file" }],
    options: [],
    examples: [
      { caption: "Run a command file", line: "source examples/first-bounce.txt", run: false },
    ],
    run: (ctx, [file]) => {
      if (ctx.session.where.length >= MAX_SOURCE_DEPTH) {
        throw new LabError(
          `source ${
            clip(file)
          }: nested more than ${MAX_SOURCE_DEPTH} deep (a file sources itself?)`,
        );
      }
      // A recording holds the commands the file runs (a replay needs no other file).
      ctx.session.recorder.comment(ctx.session, `source ${file}`);
      const r = ctx.runNested(file);
      const json = { source: file, ok: r.ok, commands: r.commands };
      if (!r.ok) {
        const why = r.stopped === "interrupted"
          ? "interrupted"
          : r.stopped === "line-limit"
          ? "stopped at the line limit"
          : r.firstHere === undefined
          ? "the script failed"
          : `the script failed (the first error at ${r.firstHere})`;
        return { json, text: r.output, error: `source ${clip(file)}: ${why}`, quit: r.quit };
      }
      return {
        json,
        text: [...r.output, ctx.session.fmt.dim(`(${file}: ${r.commands} commands ok)`)],
        quit: r.quit,
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
      { caption: "The previous map bounced", line: "expect bounced", setup: ARM_MAPPED },
      { caption: "It landed in slot 0", line: "expect slot 0", setup: ARM_MAPPED },
      { caption: "A counter", line: "expect stat bounces 1", setup: ARM_MAPPED },
      {
        caption: "The CPU's bytes",
        line: "expect bytes rx 0 de:ad:be:ef",
        setup: ARM_MAPPED,
      },
      {
        caption: "An expected failure (a script goes on)",
        line: 'expect error "different size"',
        setup: [...ARM_MAPPED, "unmap nic $bus 4K to"],
      },
    ],
    rawWords: true,
    run: (ctx, args) => {
      const r = checkExpectation(ctx.session, args, ctx.quoted);
      const json = { ok: r.ok, expected: r.expected, actual: r.actual };
      if (r.ok) return { json, text: [ctx.session.fmt.dim(`ok: ${r.expected}`)] };
      return {
        json,
        text: [],
        error: `expectation failed: expected ${r.expected}, actual ${r.actual}`,
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
    examples: [
      { caption: "Every command", line: "help", run: false },
      { caption: "One command's page", line: "help map", run: false },
      {
        caption: "Pipes and redirection: | grep, | head, | tail, > FILE",
        line: "help redirect",
        run: false,
      },
    ],
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
      const topic = findTopic(words);
      if (topic) return { json: topicJson(topic), text: helpTopic(topic, fmt, ctx.runFresh) };
      const specs = findHelp(ctx.table, words);
      return { json: helpJson(specs), text: helpFor(specs, fmt, ctx.runFresh) };
    },
  },
  {
    path: ["quit"],
    summary: "leave the REPL (Ctrl-D works too); in a script, stop here",
    args: [],
    options: [],
    examples: [{ caption: "Leave", line: "quit", run: false }],
    run: () => ({ json: { quit: true }, text: [], quit: true }),
  },
];
