/**
 * `compare`'s side-by-side table: one column per guest, one row per command whose answers
 * differ (all of them with `--all`), each cell the fields of that guest's answer that are
 * not the same in every guest — bounced or not, bus addresses, slots, errors, UB events,
 * DMA-API reports — and its `--json` form, one object with a column per guest.
 *
 * @module
 */

import Table from "cli-table3";
import { jsonReplacer } from "../../addr.ts";
import type { CompareGuest, CompareView } from "../compare.ts";
import { clip } from "../files.ts";
import { ADDRESS_FIELDS, type Fmt, plural } from "./format.ts";

/** Fields a cell shows first, in this order (what a reviewer asks about a DMA answer). */
const FIRST = [
  "bounced",
  "reason",
  "bus",
  "phys",
  "slot",
  "segment",
  "found",
  "rule",
  "copied",
  "swiotlb_xen",
  "ops",
  "init_ok",
  "panic",
  "mode",
  "arch",
  "iommu",
  "nslabs",
  "pool_phys",
];

/** Rows the text table shows; the rest are counted (`--json` has every one). */
export const TABLE_ROWS = 200;
/** Lines a cell holds before "… N more". */
const CELL_LINES = 6;
/** Characters of a cell's line (cli-table3 wraps at the column width). */
const CELL_CHARS = 30;

/** A field's value as a cell shows it: addresses in the radix, codes by name. */
function value(key: string, v: unknown, fmt: Fmt): string {
  if (v === null || v === undefined) return "none";
  if (typeof v === "number") return ADDRESS_FIELDS.has(key) ? fmt.num(v) : String(v);
  if (typeof v === "string" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) {
    if (v.length > 0 && v.length <= 4 && v.every((x) => typeof x === "number")) {
      return `[${v.map((x) => fmt.num(x)).join(", ")}]`;
    }
    if (v.length === 0) return "[]";
    // Its first element shows what differs more often than a count would.
    const more = v.length > 1 ? ` and ${v.length - 1} more` : "";
    return clip(inner(v[0], fmt), CELL_CHARS) + more;
  }
  const o = v as Record<string, unknown>;
  if (typeof o.code === "string") return o.code;
  if (typeof o.verdict === "boolean") return `${o.verdict} (${o.rule ?? "?"})`;
  return clip(inner(v, fmt), CELL_CHARS);
}

/** A nested value as `pfn 0x1100, mfn 0x19496f`: addresses in the radix, like the rest. */
function inner(v: unknown, fmt: Fmt): string {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    return typeof v === "object" ? JSON.stringify(v, jsonReplacer) : value("", v, fmt);
  }
  return Object.entries(v as Record<string, unknown>).map(([k, x]) =>
    typeof x === "object" && x !== null ? `${k} …` : `${k} ${value(k, x, fmt)}`
  ).join(", ");
}

/** One field as a line: `bus 0x100000`, or the word itself for yes/no facts. */
function field(key: string, v: unknown, fmt: Fmt): string {
  if (key === "bounced") return v ? "bounced" : "not bounced";
  if (key === "found") return v ? "found" : "not found";
  return `${key} ${value(key, v, fmt)}`;
}

/** The events of an answer, one short line each: UB, DMA-API reports, kernel log lines. */
function events(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  let traces = 0;
  for (const e of v as { kind: string; source: string; message: string }[]) {
    if (e.kind === "trace") traces++;
    else if (e.kind === "ub") out.push(`UB: ${e.source}`);
    else if (e.kind === "debug") {
      // What the driver did, without the bracketed fields (the other cells have them).
      const at = e.message.indexOf("DMA-API: ");
      const what = at < 0 ? e.message : e.message.slice(at + 9);
      out.push(`DMA-API: ${what.split(" [")[0]}`);
    } else out.push(`log: ${e.message}`);
  }
  if (traces > 0) out.push(plural(traces, "trace line"));
  return out;
}

/** A cell: the differing fields of one guest's answer (or what it did not do). */
function cell(answer: Record<string, unknown> | null, fields: readonly string[], fmt: Fmt): string {
  if (answer === null) return "— not run";
  if (fields.length === 0) return "≡ same";
  const lines: string[] = [];
  const expectation = "expected" in answer && typeof answer.ok === "boolean";
  if (expectation) lines.push(answer.ok ? `✓ ${answer.expected}` : `✗ ${answer.actual}`);
  else if (typeof answer.error === "string") lines.push(`✗ ${answer.error}`);
  const skip = new Set(["error", "events", ...(expectation ? ["ok", "expected", "actual"] : [])]);
  const shown = [
    ...FIRST.filter((k) => fields.includes(k)),
    ...fields.filter((k) => !FIRST.includes(k)),
  ].filter((k) => !skip.has(k) && k in answer);
  for (const k of shown) lines.push(field(k, answer[k], fmt));
  if (fields.includes("events")) lines.push(...events(answer.events));
  if (lines.length === 0) lines.push("(no such field)");
  const cut = lines.length > CELL_LINES ? lines.length - CELL_LINES + 1 : 0;
  const kept = cut > 0 ? [...lines.slice(0, CELL_LINES - 1), `… ${cut} more`] : lines;
  return kept.map((l) => clip(l, CELL_CHARS * 3)).join("\n");
}

/** Why a guest stopped early, in words. */
function stopWords(g: CompareGuest): string | undefined {
  switch (g.stopped) {
    case "budget":
      return "its answers reached the most compare keeps; the rest was not run";
    case "line-limit":
      return "a line ran too many lines through source";
    case "quit":
      return "the script quit";
    default:
      return undefined;
  }
}

/** The text answer: a summary line, the table, and how each guest's run ended. */
export function renderCompare(v: CompareView, fmt: Fmt, all: boolean): string[] {
  const differ = v.rows.filter((r) => !r.same).length;
  const same = v.rows.length - differ;
  const names = v.guests.map((g) => g.name);
  const out = [
    `compare ${v.script} on ${plural(v.guests.length, "guest")} (${names.join(", ")}): ` +
    `${plural(v.rows.length, "command")}, ${differ} answered differently, ${same} the same` +
    (same > 0 && !all ? " (not shown; --all shows them)" : ""),
  ];
  const table = new Table({
    head: ["command", ...names],
    colWidths: [CELL_CHARS, ...names.map(() => CELL_CHARS + 2)],
    wordWrap: true,
    style: { head: [], border: [], compact: false },
  });
  table.push([
    "(the guest)",
    ...v.guests.map((g) => cell(g.answer, v.guestFields.length ? v.guestFields : [], fmt)),
  ]);
  let shown = 0;
  let cut = 0;
  for (const r of v.rows) {
    if (r.same && !all) continue;
    if (++shown > TABLE_ROWS) {
      cut++;
      continue;
    }
    table.push([
      `${r.where}: ${clip(r.line, CELL_CHARS * 2)}`,
      ...r.answers.map((a) => cell(a, r.fields, fmt)),
    ]);
  }
  out.push(...table.toString().split("\n"));
  if (cut > 0) {
    out.push(`… ${plural(cut, "more row")} not shown (at most ${TABLE_ROWS}; --json has all)`);
  }
  for (const g of v.guests) {
    const why = stopWords(g);
    if (why !== undefined) {
      out.push(`${g.name} stopped after ${plural(g.commands, "command")}: ${why}`);
    }
  }
  return out;
}

/** The `--json` answer: one object, a column per guest in every command. */
export function compareJson(v: CompareView): Record<string, unknown> {
  const differ = v.rows.filter((r) => !r.same).length;
  return {
    script: v.script,
    guests: v.guests.map((g) => g.name),
    setup: v.guests.map((g) => ({
      guest: g.name,
      line: g.line,
      answer: g.answer,
      commands: g.commands,
      stopped: g.stopped ?? null,
    })),
    guest_fields: v.guestFields,
    commands: v.rows.map((r) => ({
      where: r.where,
      line: r.line,
      same: r.same,
      fields: r.fields,
      answers: r.answers,
    })),
    same: v.rows.length - differ,
    differ,
  };
}
