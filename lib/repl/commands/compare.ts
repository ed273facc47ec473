/**
 * `compare SCRIPT --preset A --preset B …`: one script against several guests, side by
 * side (issue 12; the orchestration and its rules are in lib/repl/compare.ts).
 *
 * @module
 */

import { type GuestSource, MAX_COMPARE_GUESTS, runCompare } from "../compare.ts";
import { MAX_SCRIPT_LINES, SCRIPT_MAX_BYTES, sizeWords } from "../files.ts";
import { compareJson, renderCompare } from "../render/compare.ts";
import type { CommandSpec } from "../table.ts";

/** The compare verb. */
export const compareCommands: CommandSpec[] = [
  {
    path: ["compare"],
    summary: "run one script against several guests and show, side by side, what differs",
    description: "compare makes each guest itself, in a fresh session of its own (the settings " +
      "repl.ts --script starts with), runs SCRIPT in it going on after errors, and sets the " +
      "answers side by side: a row for each command whose answers differ (bounced or not, " +
      "bus addresses, slots, errors and their codes, UB events, DMA-API reports), a cell " +
      "with the fields that differ; --all shows the commands that answer alike too. The " +
      "script must not make a guest: a guest new or guest load in it (or in a file it " +
      "sources) is refused, as is a compare; write it for any guest (device add, buf " +
      "alloc, map …). The guests are presets (--preset, repeatable) and guest files " +
      "(--guest, repeatable), presets first, in the order given; --swiotlb sets every " +
      `guest's pool. At most ${MAX_COMPARE_GUESTS} guests; the script's limits hold ` +
      `(${sizeWords(SCRIPT_MAX_BYTES)}, ${MAX_SCRIPT_LINES} lines per line through source, ` +
      "Ctrl-C). The guests write no files, and the current session's guest, settings and " +
      "$ variables are left as they were.",
    args: [{ name: "SCRIPT", help: "a command script that makes no guest", complete: "file" }],
    options: [
      {
        flags: "--preset <name>",
        help: "a guest made with guest new --preset NAME (repeatable)",
        complete: "preset",
        repeatable: true,
      },
      {
        flags: "--guest <file>",
        help: "a guest made from a TOML or JSON guest file (repeatable)",
        complete: "file",
        repeatable: true,
      },
      { flags: "--swiotlb <slots>", help: "every guest's swiotlb= : slots or a size (1M)" },
      { flags: "--all", help: "show the commands every guest answers alike too" },
    ],
    examples: [
      {
        caption: "Map, look up and unmap on the PV fast path, the RFC's bounce and an IOMMU",
        line:
          "compare examples/compare/map-lookup.txt --preset pv-dom0 --preset arm-dom0 --preset pvh-dom0-iommu --swiotlb 1M",
        run: false,
      },
      {
        caption: "A preset against your own guest, every command shown",
        line: "compare my-test.txt --preset arm-dom0 --guest my-guest.toml --all",
        run: false,
      },
    ],
    run: (ctx, [script], opts) => {
      const s = ctx.session;
      const sources: GuestSource[] = [
        ...(ctx.lists.preset ?? []).map((preset) => ({ preset })),
        ...(ctx.lists.guest ?? []).map((file) => ({ file })),
      ];
      const swiotlb = typeof opts.swiotlb === "string" ? opts.swiotlb : undefined;
      const view = runCompare(
        {
          cwd: s.cwd,
          files: s.files,
          interrupt: s.interrupt,
          resolvePath: (p) => s.resolvePath(p),
          runLine: ctx.runLine,
        },
        script,
        sources,
        { swiotlb },
      );
      return { json: compareJson(view), text: renderCompare(view, s.fmt, opts.all === true) };
    },
  },
];
