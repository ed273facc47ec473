/**
 * `report FILE.html` (issue 12): one self-contained page — no network, no script, no
 * external font, every drawing inline — with the guest's configuration, the init log and
 * fixup timeline, the segment table and drawing, the tree and slot drawings, stats, the
 * DMA-API debug reports and UB events, and the session's commands with their answers
 * and ✓/✗ for each `expect`, so a result can be attached to a review or a course page.
 * It renders views the command gathered; it computes nothing the engine knows.
 *
 * @module
 */

import { stripAnsiCode } from "@std/fmt/colors";
import type {
  BusLookupView,
  GuestView,
  SegmentsView,
  SlotsView,
  StatsView,
  TreeView,
} from "../../guest/mod.ts";
import type { TranscriptEntry } from "../transcript.ts";
import { type Fmt, plural, sizeArg } from "./format.ts";
import { REPORT_CSS } from "./report_css.ts";
import { fixupSvg } from "./svg/fixup.ts";
import { segmentsSvg } from "./svg/segments.ts";
import { slotsSvg } from "./svg/slots.ts";
import { treeSvg } from "./svg/tree.ts";
import { esc, prefixIds } from "./svg/_xml.ts";

/** A guest's views, as the report shows them. */
export interface ReportGuest {
  /** Its name in the session (`guest new --name`; "main" by default). */
  name: string;
  /** The name, told apart from earlier guests of that name: "main", "main #2". */
  tag: string;
  /** The tag with the preset and policy, as the transcript labels its commands. */
  label: string;
  /** The current guest, another live one, or one a later guest new (or drop) replaced. */
  state: "current" | "other" | "replaced";
  /** For a replaced guest: the command that replaced it. */
  replacedAt: number | null;
  view: GuestView;
  /** Its settings as a guest file writes them (lib/guest's guestFileOf): snake_case keys. */
  settings: Record<string, unknown>;
  segments: SegmentsView;
  tree: TreeView;
  /** null when the guest has no bounce pool (a failed init). */
  slots: SlotsView | null;
  stats: StatsView;
  /** The session's last `lookup bus` on this guest, drawn on the tree. */
  lookup: BusLookupView | null;
}

/** Everything one report shows. */
export interface ReportInput {
  /** What ran: a script's name, or "interactive session". */
  source: string;
  guest: ReportGuest | null;
  /** The session's other guests: live ones, then the ones replaced (oldest first). */
  others: readonly ReportGuest[];
  transcript: readonly TranscriptEntry[];
  /** Commands run in all (the transcript keeps the last ones). */
  commands: number;
  fmt: Fmt;
}

/** "swiotlb-lab report" with the guest's name. */
function pageTitle(input: ReportInput): string {
  const g = input.guest;
  return `swiotlb-lab report — ${input.source}` +
    (g ? ` — guest ${g.label}` : "");
}

/** The guest-file keys whose values are sizes (lib/guest/schema.ts SETTINGS). */
const SIZE_KEYS = new Set(["mem", "machine", "bus_skew", "pool_offset"]);

/** A guest setting's value: sizes as one would type them in a guest file ("2G"). */
function settingText(key: string, x: unknown): string {
  if (typeof x === "number" && SIZE_KEYS.has(key) && x > 0) return sizeArg(x);
  return typeof x === "object" ? JSON.stringify(x) : String(x);
}

function table(head: string[], rows: string[][], cls = ""): string {
  return `<table${cls ? ` class="${cls}"` : ""}><thead><tr>${
    head.map((h) => `<th>${esc(h)}</th>`).join("")
  }</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")
  }</tbody></table>`;
}

function pre(lines: readonly string[], cls = ""): string {
  return `<pre${cls ? ` class="${cls}"` : ""}>${
    esc(lines.map((l) => stripAnsiCode(l)).join("\n"))
  }</pre>`;
}

function section(id: string, title: string, body: string, cls = ""): string {
  const c = cls ? ` class="${cls}"` : "";
  return `<section id="${id}"${c}><h2>${esc(title)}</h2>\n${body}\n</section>`;
}

/**
 * How far the page may shrink a drawing to fit its column (report_css.ts scales each to
 * the column's width): at 3/4 the drawings' 11 px text is still 8 px; a drawing that
 * would need more (a big tree) stops there and its figure scrolls.
 */
const MIN_SCALE = 0.75;

/** A drawing inline; `key` (its section's id, unique in the page) prefixes its ids. */
function figure(svg: string, caption: string, key: string): string {
  const width = Number(/^<svg\b[^>]*?\swidth="(\d+)"/.exec(svg)?.[1] ?? 0);
  const fitted = prefixIds(svg, `${key}-`).replace(
    /^<svg\b/,
    `<svg style="min-width:${Math.round(width * MIN_SCALE)}px"`,
  );
  return `<figure>${fitted}<figcaption>${esc(caption)}</figcaption></figure>`;
}

/** The verdict of each command: ✓ expect held, ✗ it did not, failed, or plain ok. */
type Verdict = "pass" | "fail" | "error" | "expected-error" | "ok";

function verdicts(entries: readonly TranscriptEntry[]): Verdict[] {
  return entries.map((e, i) => {
    if (e.expect !== null) return e.expect ? "pass" : "fail";
    if (e.ok) return "ok";
    // A failure the next `expect error` accounts for is what the script wanted.
    const next = entries[i + 1];
    return next?.expect === true && /^\s*expect\s+error\b/.test(next.line)
      ? "expected-error"
      : "error";
  });
}

const MARK: Record<Verdict, string> = {
  pass: "✓",
  fail: "✗",
  error: "error",
  "expected-error": "error (expected)",
  ok: "",
};

function sessionSection(input: ReportInput, articles: ReadonlyMap<string, string>): string {
  const entries = input.transcript;
  const v = verdicts(entries);
  const count = (k: Verdict) => v.filter((x) => x === k).length;
  const dropped = input.commands - entries.length;
  const summary = `${plural(input.commands, "command")}; expect: ${count("pass")} ✓, ` +
    `${count("fail")} ✗; ${plural(count("error"), "unexpected error")}` +
    (dropped > 0 ? `; the first ${dropped} are not kept (only the last ${entries.length})` : "");
  const items = entries.map((e, i) => {
    // The guest a command ran on, where it changes (a guest new, a guest use).
    const on = e.guest !== (i === 0 ? null : entries[i - 1].guest) && e.guest !== null
      ? `<span class="on">on ${guestLink(e.guest, articles)}</span> `
      : "";
    const where = e.where ? `<span class="where">${esc(e.where)}</span> ` : "";
    const mark = MARK[v[i]] ? `<span class="mark">${esc(MARK[v[i]])}</span>` : "";
    const more = e.moreLines > 0 ? [`… ${e.moreLines} more lines not kept`] : [];
    const answer = e.text.length + more.length > 0 ? pre([...e.text, ...more]) : "";
    return `<li class="cmd ${v[i]}" id="cmd-${e.n}" value="${e.n}" data-verdict="${v[i]}">` +
      `${on}${where}` +
      `<code class="line">${esc(e.line)}</code> ${mark}${answer}</li>`;
  });
  return section(
    "session",
    "Session",
    `<p class="summary">${esc(summary)}</p>\n<ol class="transcript">\n${items.join("\n")}\n</ol>`,
  );
}

/** A guest's label, linked to its article when the report has one. */
function guestLink(label: string | null, articles: ReadonlyMap<string, string>): string {
  if (label === null) return "";
  const id = articles.get(label);
  return id === undefined ? esc(label) : `<a href="#${id}">${esc(label)}</a>`;
}

function eventsSection(input: ReportInput, articles: ReadonlyMap<string, string>): string {
  const rows: string[][] = [];
  for (const e of input.transcript) {
    for (const ev of e.events) {
      if (ev.kind !== "ub" && ev.kind !== "debug") continue;
      rows.push([
        `<a href="#cmd-${e.n}">${e.n}</a>`,
        guestLink(e.guest, articles),
        ev.kind === "ub" ? "UB" : "DMA-API",
        `<code>${esc(ev.source)}</code>`,
        `<pre>${esc(ev.message)}</pre>`,
      ]);
    }
  }
  const body = rows.length === 0
    ? "<p>No DMA-API debug report and no undefined behaviour in the commands kept.</p>"
    : table(
      ["command", "guest", "kind", "source", "message (as the kernel prints it)"],
      rows,
      "events",
    );
  return section("events", "DMA-API debug reports and UB events", body);
}

/** Where a guest stands, in the heading of its sections. */
function stateWords(g: ReportGuest): string {
  return g.state === "current"
    ? "current at the end"
    : g.state === "other"
    ? "another live guest"
    : `replaced at command ${g.replacedAt} (as it was then)`;
}

/** One guest's sections; `id` prefixes their ids ("" for the current guest). */
function guestArticle(g: ReportGuest, fmt: Fmt, id: string): string {
  const parts = guestSections(g, fmt, id);
  return `<article class="guest" id="${id}guest-report" data-guest="${esc(g.name)}" ` +
    `data-state="${g.state}">\n${parts.join("\n")}\n</article>`;
}

function guestSections(g: ReportGuest, fmt: Fmt, id: string): string[] {
  const v = g.view;
  // Three settings a row keeps the table short; sizes read as one would type them.
  const cells = Object.entries(g.settings).map(([k, x]) =>
    `<code>${esc(k)}</code></td><td>${esc(settingText(k, x))}`
  );
  const config: string[][] = [];
  for (let i = 0; i < cells.length; i += 3) config.push(cells.slice(i, i + 3));
  const init = v.init;
  const out = [
    section(
      `${id}guest`,
      `Guest ${g.label} — ${stateWords(g)}`,
      `<p>${
        esc(
          `${v.config.arch}, ${v.config.mode}, ${v.config.iommu ? "IOMMU" : "no IOMMU"}, ` +
            `DMA ops: ${v.ops ?? "none"}; memory ${sizeArg(v.memBytes)} at phys ${
              fmt.num(v.physBase)
            }, ` +
            `machine ${sizeArg(v.machineBytes)}`,
        )
      }</p>` +
        table(["setting", "value", "setting", "value", "setting", "value"], config, "config"),
    ),
    section(
      `${id}init`,
      `${g.tag}: swiotlb-xen init`,
      (init.panic === null
        ? ""
        : `<p class="panic">${esc(`The guest is dead (kernel panic): ${init.panic}`)}</p>`) +
        pre(init.log.length ? init.log : ["(no kernel messages)"], "log") +
        (init.attempts.length
          ? figure(fixupSvg(init, fmt), "The fixup, exchange by exchange", `${id}init`)
          : ""),
    ),
  ];
  const seg = g.segments;
  if (seg.rows.length > 0) {
    const rows = seg.rows.map((r) => [
      String(r.index),
      fmt.num(r.physAddr),
      fmt.num(r.dmaAddr),
      sizeArg(r.size),
      `${r.slotsInUse}/${r.slots}`,
      r.aligned ? "yes" : `no (+${fmt.num(r.misalignment)})`,
    ]);
    const tableHtml = table(["j", "phys_addr", "dma_addr", "size", "slots used", "aligned"], rows);
    out.push(section(
      `${id}segments`,
      `${g.tag}: segment array (phys → bus)`,
      figure(
        segmentsSvg(seg, fmt, v.config.variant),
        "Each segment's phys and the bus Xen gave",
        `${id}segments`,
      ) +
        (rows.length > 32
          ? `<details><summary>All ${rows.length} segments</summary>${tableHtml}</details>`
          : tableHtml),
    ));
  }
  if (g.tree.present) {
    const caption = g.lookup
      ? `The bus→phys tree with the last lookup (bus ${fmt.num(g.lookup.bus)})`
      : "The bus→phys tree";
    out.push(section(
      `${id}tree`,
      `${g.tag}: bus → phys tree`,
      figure(treeSvg(g.tree, fmt, g.lookup ? { lookup: g.lookup } : {}), caption, `${id}tree`),
    ));
  }
  if (g.slots) {
    out.push(
      section(
        `${id}slots`,
        `${g.tag}: bounce slots`,
        figure(slotsSvg(g.slots, fmt), "The pool", `${id}slots`),
      ),
    );
  }
  const stats = Object.entries(g.stats).map(([k, x]) => [`<code>${esc(k)}</code>`, String(x)]);
  out.push(section(`${id}stats`, `${g.tag}: stats`, table(["counter", "value"], stats, "stats")));
  return out;
}

/**
 * The report page.
 *
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { reportHtml } from "./report.ts";
 * import { Fmt } from "./format.ts";
 * const html = reportHtml({
 *   source: "demo", guest: null, others: [], commands: 1, fmt: new Fmt(),
 *   transcript: [{ n: 1, line: "help", where: null, guest: null, verb: "help", ok: true,
 *     text: ["…"], moreLines: 0, events: [], expect: null }],
 * });
 * assertStringIncludes(html, '<code class="line">help</code>');
 * ```
 */
export function reportHtml(input: ReportInput): string {
  const fmt = input.fmt;
  const title = pageTitle(input);
  // Each guest's label → the heading of its article, for the links of events and commands.
  const articles = new Map<string, string>(
    input.others.map((g, k) => [g.label, `g${k + 1}-guest`]),
  );
  if (input.guest) articles.set(input.guest.label, "guest");
  const sections = [
    input.guest
      ? guestArticle(input.guest, fmt, "")
      : section("guest", "Guest", "<p>No guest at the end of the session.</p>"),
    eventsSection(input, articles),
    ...input.others.map((g, k) => guestArticle(g, fmt, `g${k + 1}-`)),
    sessionSection(input, articles),
  ];
  // The current guest's parts, then one link per other guest.
  const nav = [
    ...sections.join("").matchAll(/<section id="([a-z]+)"(?: class="[^"]*")?><h2>([^<]+)<\/h2>/g),
  ]
    .map((m) => `<a href="#${m[1]}">${m[2].replace(/^[^:]+: /, "")}</a>`)
    .concat(
      input.others.map((g, k) =>
        `<a href="#g${k + 1}-guest">guest ${esc(g.label)}, ${g.state}</a>`
      ),
    )
    .join(" · ");
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    // No network: a policy that forbids every fetch, so the page is what is in the file.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>${esc(title)}</title>`,
    `<style>${REPORT_CSS}</style>`,
    "</head><body>",
    `<header><h1>${esc(title)}</h1><nav>${nav}</nav></header>`,
    "<main>",
    ...sections,
    "</main>",
    "<footer>Made by swiotlb-lab (Linux 3.11 swiotlb-xen + the RFC “support autotranslate " +
    "guests”). Self-contained: no script, no network.</footer>",
    "</body></html>",
  ].join("\n") + "\n";
}
