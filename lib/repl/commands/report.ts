/**
 * `report FILE.html` (issue 12): the session so far as one self-contained page to attach
 * to a review — the current guest's config, init log and fixup timeline, segment table
 * and drawing, tree (with the last `lookup bus`) and slot drawings, stats, debug reports,
 * UB events, and every command with its answer and ✓/✗ per `expect`.
 *
 * @module
 */

import { LabError } from "../../errors.ts";
import { type Guest, guestFileOf } from "../../guest/mod.ts";
import { type ReportGuest, reportHtml } from "../render/report.ts";
import type { Session } from "../session.ts";
import type { CommandSpec } from "../table.ts";
import { drawingFmt } from "./_svg_out.ts";

/** A guest's views, as the report draws them. */
function reportGuest(
  s: Session,
  g: Guest,
  name: string,
  state: ReportGuest["state"],
  replacedAt: number | null = null,
): ReportGuest {
  // A failed init leaves no pool: no slot drawing; the rest still tells the story.
  let slots = null;
  try {
    slots = g.slots();
  } catch (e) {
    if (!(e instanceof LabError)) throw e;
  }
  return {
    name,
    ...s.guestNames(g),
    state,
    replacedAt,
    view: g.view(),
    // The keys and values a guest file would hold, so the table reads as one.
    settings: guestFileOf(g.config),
    segments: g.segments(),
    tree: g.tree(),
    slots,
    stats: g.stats(),
    lookup: s.lastLookup?.guest === g ? s.lastLookup.view : null,
  };
}

/** The page of `s` (also used by `repl.ts --script FILE --report OUT.html`). */
export function sessionReport(s: Session, source: string): string {
  return reportHtml({
    source,
    guest: s.guest ? reportGuest(s, s.guest, s.guestName, "current") : null,
    others: [
      ...[...s.guests].filter(([, g]) => g !== s.guest).map(([n, g]) =>
        reportGuest(s, g, n, "other")
      ),
      ...s.retired.map((r) => reportGuest(s, r.guest, r.name, "replaced", r.at)),
    ],
    transcript: s.transcript.entries(),
    commands: s.transcript.count,
    fmt: drawingFmt(s),
  });
}

/** The report verb. */
export const reportCommands: CommandSpec[] = [{
  path: ["report"],
  summary: "write the session as one self-contained HTML page (drawings, tables, commands)",
  description:
    "The page holds the current guest's configuration, init log and fixup timeline, the " +
    "segment table and drawing, the tree (with the last 'lookup bus' path) and slot " +
    "drawings, stats, DMA-API reports and UB events, then every command with its answer " +
    "and ✓/✗ for each expect. No script, no network, nothing outside the file: attach it " +
    "to a review. A script run makes one with 'repl.ts --script FILE --report OUT.html'.",
  args: [{ name: "FILE", help: "the page to write (FILE.html)", complete: "file" }],
  options: [],
  examples: [
    { caption: "The session so far, for a review", line: "report session.html", run: false },
  ],
  run: (ctx, [file]) => {
    const s = ctx.session;
    if (!/\.html?$/i.test(file)) {
      throw new LabError(
        `report writes HTML: give a file name ending in .html, not '${file}'`,
        "usage",
      );
    }
    const html = sessionReport(s, s.where[0]?.file ?? "interactive session");
    s.writeOutput(file, html, "report");
    const n = s.transcript.count;
    return {
      json: { report: file, commands: n, bytes: new TextEncoder().encode(html).length },
      text: [`wrote the report of ${n} command(s) to ${file} (one file, open it in a browser)`],
    };
  },
}];
