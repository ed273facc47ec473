/**
 * `explain on` as text and JSON: the engine's steps (lib/explain.ts) narrated in the
 * kernel's words — each red-black tree fix-up by its `lib/rbtree.c` case title with the
 * nodes involved as bus intervals, each slot search step by step (SPEC §3). The steps are
 * grouped by the operation that opened them (an insert, an erase, a search); a command
 * with many (guest new's fixup inserts one node per segment) gets one line per
 * operation, bounded, and the JSON keeps every step.
 *
 * @module
 */

import type {
  EraseCaseStep,
  EraseColorStep,
  ExplainNode,
  ExplainStep,
  InsertCaseStep,
  SlotStartStep,
  SlotStep,
  TreeLinkStep,
  TreeOpStep,
} from "../../guest/mod.ts";
import { type Fmt, plural } from "./format.ts";
import { nodeWords, rbCaseFn, rbCaseTitle } from "./words.ts";

/** Operations narrated in full per command; past this, one line each. */
export const FULL_OPERATIONS = 4;
/** Operations given a summary line when there are more than {@link FULL_OPERATIONS}. */
export const SUMMARY_LINES = 12;

/** The steps one operation recorded, after the step that opened it. */
interface Operation {
  head: TreeOpStep | SlotStartStep | null;
  steps: ExplainStep[];
  /** Events recorded before it (see `EventLog.drainExplainedAt`). */
  after: number;
}

function operations(steps: readonly ExplainStep[], after: readonly number[]): Operation[] {
  const out: Operation[] = [];
  steps.forEach((s, i) => {
    if (s.kind === "tree-op" || s.kind === "slot-start" || out.length === 0) {
      const head = s.kind === "tree-op" || s.kind === "slot-start" ? s : null;
      out.push({ head, steps: head === null ? [s] : [], after: after[i] ?? 0 });
    } else {
      out[out.length - 1].steps.push(s);
    }
  });
  return out;
}

/** Lines of narration to print after `after` of the command's events. */
export interface ExplainBlock {
  after: number;
  lines: string[];
}

/** The narration of a command's steps; [] when there are none. */
export function renderExplain(steps: readonly ExplainStep[], fmt: Fmt): string[] {
  return explainBlocks(steps, [], fmt).flatMap((b) => b.lines);
}

/**
 * The narration in blocks, each placed among the command's events (`after` from
 * `EventLog.drainExplainedAt`): one block per operation when they are few, else
 * one block of summary lines where the first operation began.
 */
export function explainBlocks(
  steps: readonly ExplainStep[],
  after: readonly number[],
  fmt: Fmt,
): ExplainBlock[] {
  const ops = operations(steps, after);
  if (ops.length <= FULL_OPERATIONS) {
    return ops.map((op) => ({ after: op.after, lines: fullLines(op, fmt) }));
  }
  return [{ after: ops[0].after, lines: summaryLines(ops, fmt) }];
}

function summaryLines(ops: Operation[], fmt: Fmt): string[] {
  const trees = ops.filter((op) => op.head?.kind === "tree-op").length;
  const what = trees === ops.length
    ? plural(ops.length, "tree operation")
    : trees === 0
    ? plural(ops.length, "slot search", "slot searches")
    : `${plural(ops.length, "operation")} (tree and slot search)`;
  const out = [
    `${fmt.bold("explain:")} ${what}, one line each (--json's "explain" has every step)`,
  ];
  for (const op of ops.slice(0, SUMMARY_LINES)) out.push("  " + summaryLine(op, fmt));
  const rest = ops.length - SUMMARY_LINES;
  if (rest > 0) out.push(fmt.dim(`  … ${rest} more`));
  return out;
}

/** A node as the narration shows it: its bus interval. */
function iv(n: ExplainNode, fmt: Fmt): string {
  return fmt.interval(n.dmaAddr, n.size);
}

function opName(h: TreeOpStep, fmt: Fmt): string {
  const what = nodeWords({
    kind: h.entry,
    segment: h.segment,
    dmaAddr: h.dmaAddr,
    size: h.size,
  }, fmt);
  return `${h.op === "insert" ? "xen_dma_add_entry" : "rb_erase"} ${what}`;
}

function fullLines(op: Operation, fmt: Fmt): string[] {
  const h = op.head;
  const out: string[] = [];
  if (h?.kind === "tree-op") {
    out.push(`${fmt.bold("explain:")} ${opName(h, fmt)} (phys ${fmt.num(h.physAddr)})`);
  } else if (h?.kind === "slot-start") {
    out.push(`${fmt.bold("explain:")} ${slotStartWords(h)}`);
  }
  for (const s of op.steps) {
    const line = s.kind.startsWith("slot-")
      ? slotWords(s as SlotStep, h?.kind === "slot-start" ? h : null)
      : treeWords(s, fmt);
    out.push("  " + line);
  }
  return out;
}

function summaryLine(op: Operation, fmt: Fmt): string {
  const h = op.head;
  if (h?.kind === "slot-start") {
    const end = op.steps.at(-1);
    const found = end?.kind === "slot-taken"
      ? `slot ${end.index} after ${plural(end.probes, "probe")}${skips(end.boundarySkips)}; ` +
        `hint → ${end.hint}`
      : end?.kind === "slot-full"
      ? `no run after ${plural(end.probes, "probe")}${skips(end.boundarySkips)}: SWIOTLB_MAP_ERROR`
      : "";
    return `slot search ${h.size} bytes (${plural(h.nslots, "slot")}, stride ${h.stride}) ` +
      `from index ${h.index}: ${found}`;
  }
  const titles: string[] = [];
  let link: TreeLinkStep | undefined;
  let end: InsertCaseStep | undefined;
  for (const s of op.steps) {
    if (s.kind === "tree-link") link = s;
    else if (s.kind === "insert-case" && s.case === 0) end = s;
    else if (
      s.kind === "insert-case" || s.kind === "erase-case" || s.kind === "erase-color"
    ) titles.push(rbCaseTitle(s)!);
  }
  const name = h?.kind === "tree-op" ? opName(h, fmt) : "tree";
  const at = link === undefined ? "" : link.parent === null ? " as the root" : ` at ${link.path}`;
  const cases = titles.length > 0
    ? runs(titles).join(", ")
    : end?.parent === null
    ? "painted black"
    : "black parent, no fix-up";
  return `${name}${at}: ${cases}`;
}

/** Equal neighbours once, with ×N: "Case 1 - color flips ×2". */
function runs(titles: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < titles.length;) {
    let j = i;
    while (j < titles.length && titles[j] === titles[i]) j++;
    out.push(j - i > 1 ? `${titles[i]} ×${j - i}` : titles[i]);
    i = j;
  }
  return out;
}

function skips(n: number): string {
  return n === 0 ? "" : `, ${plural(n, "boundary skip")}`;
}

// ---------------------------------------------------------------- tree fix-ups

function treeWords(s: ExplainStep, fmt: Fmt): string {
  const n = (x: ExplainNode) => iv(x, fmt);
  switch (s.kind) {
    case "tree-link":
      return s.parent === null
        ? "rb_link_node: linked red as the root"
        : `rb_link_node: linked red at ${s.path}, the ${s.side} child of ${n(s.parent)}`;
    case "insert-case":
      return insertWords(s, n);
    case "erase-case":
      return eraseWords(s, n);
    case "erase-color":
      return colorWords(s, n);
    default:
      return s.kind;
  }
}

/** "rb_insert_color Case 2 - left rotate at parent" */
function titled(s: InsertCaseStep | EraseCaseStep | EraseColorStep): string {
  const title = rbCaseTitle(s);
  return title === null ? rbCaseFn(s.kind) : `${rbCaseFn(s.kind)} ${title}`;
}

/** [this side, the other side]: left first, right first in a mirror. */
function sides(mirror: boolean): [string, string] {
  return mirror ? ["right", "left"] : ["left", "right"];
}

function insertWords(s: InsertCaseStep, n: (x: ExplainNode) => string): string {
  const [near, far] = sides(s.mirror);
  const head = titled(s);
  const p = s.parent;
  const g = s.gparent;
  switch (s.case) {
    case 0:
      return p === null
        ? `${head}: ${n(s.node)} is the root: painted black`
        : `${head}: parent ${n(p)} is black: nothing to fix`;
    case 1:
      return `${head}: parent ${n(p!)} and uncle ${n(s.uncle!)} are red: painted black, ` +
        `gparent ${n(g!)} red; go on at ${n(g!)}`;
    case 2:
      return `${head}: ${n(s.node)}, the ${far} (inner) child of red ${n(p!)}, goes up; ` +
        `${n(p!)} hangs below it as its ${near} child; on to Case 3`;
    case 3:
      return `${head}: ${n(s.node)}, the ${near} (outer) child of red ${n(p!)} (${
        s.uncle === null ? "no uncle" : `uncle ${n(s.uncle)} black`
      }): ${n(p!)} takes gparent ${n(g!)}'s place, painted black; ${n(g!)} becomes its red ` +
        `${far} child; done`;
  }
}

function eraseWords(s: EraseCaseStep, n: (x: ExplainNode) => string): string {
  const head = titled(s);
  if (s.case === 1) {
    if (s.child !== null) {
      const [has, hasNot] = s.mirror ? ["left", "right"] : ["right", "left"];
      return `${head}: ${n(s.node)} has no ${hasNot} child: its ${has} child ${
        n(s.child)
      } takes its place and colour`;
    }
    return s.rebalance !== null
      ? `${head}: ${n(s.node)} is a black leaf: removed; paths through ${
        n(s.rebalance)
      } are one black short`
      : `${head}: ${n(s.node)} is a red leaf: removed; nothing to fix`;
  }
  const succ = s.successor!;
  const which = s.case === 2 ? "successor" : `successor (leftmost of its right subtree)`;
  const tail = s.child !== null
    ? `; its right child ${n(s.child)} moves up, painted black`
    : s.rebalance !== null
    ? `; ${n(succ)} was black: paths through ${n(s.rebalance)} are one black short`
    : `; ${n(succ)} was red: nothing to fix`;
  return `${head}: ${which} ${n(succ)} takes ${n(s.node)}'s place and colour${tail}`;
}

function colorWords(s: EraseColorStep, n: (x: ExplainNode) => string): string {
  const [near, far] = sides(s.mirror);
  const head = titled(s);
  const p = n(s.parent);
  const sib = n(s.sibling);
  switch (s.case) {
    case 1:
      return `${head}: ${p}'s ${near} side is one black short and sibling ${sib} is red: ` +
        `${sib} goes up over ${p}, painted black, ${p} red`;
    case 2: {
      const then = s.then === "parent-black"
        ? `; ${p} was red: painted black, done`
        : s.then === "root"
        ? `; ${p} is the root: every path has one black less, done`
        : `; ${p} is black, so its whole subtree is one black short: go on one level up`;
      return `${head}: sibling ${sib} and its children are black: ${sib} painted red${then}`;
    }
    case 3:
      return `${head}: sibling ${sib}'s ${far} child is black, its ${near} child ${
        n(s.nephew!)
      } red: ${n(s.nephew!)} goes up over ${sib} and is the new sibling; on to Case 4`;
    case 4:
      return `${head}: sibling ${sib} goes up over ${p} and takes its colour; ${p} and ` +
        `${sib}'s ${far} child ${n(s.nephew!)} are painted black; done`;
  }
}

// ---------------------------------------------------------------- slot search

function slotStartWords(h: SlotStartStep): string {
  const align = h.index === h.hint
    ? ""
    : h.index > h.hint
    ? " (aligned up to the stride)"
    : " (aligned up past the pool's end: 0)";
  const boundary = h.maxSlots === null
    ? "no segment boundary within reach"
    : `a segment boundary every ${h.maxSlots} slots (offset_slots ${h.offsetSlots})`;
  return `slot search for ${h.size} bytes: ${plural(h.nslots, "slot")}, ` +
    `stride ${h.stride}${h.stride === 2 ? " (size > 4096)" : ""}; hint ${h.hint} → start at ` +
    `index ${h.index}${align}; ${boundary}`;
}

function slotWords(s: SlotStep, h: SlotStartStep | null): string {
  const nslots = h?.nslots ?? 0;
  switch (s.kind) {
    case "slot-short":
      return `index ${s.index}: list[${s.index}] = ${s.free} < ${nslots}, too short`;
    case "slot-short-run":
      return `… ${plural(s.count, "more index", "more indices")} too short (${
        s.first === s.last ? s.first : `${s.first}…${s.last}`
      })`;
    case "slot-boundary":
      return s.count === 1
        ? `index ${s.first} skipped: ${plural(nslots, "slot")} there would cross a boundary`
        : `indices ${s.first}…${s.last} (${s.count}) skipped: each would cross a boundary`;
    case "slot-wrap":
      return `past index ${s.after} the pool ends (nslabs ${h?.nslabs ?? "?"}): wrap to 0`;
    case "slot-elided":
      return `… ${plural(s.short, "more index", "more indices")} too short and ${
        plural(s.boundary, "boundary skip")
      }, counted, not shown`;
    case "slot-taken": {
      const slots = s.nslots === 1
        ? `slot ${s.index}`
        : `slots ${s.index}…${s.index + s.nslots - 1}`;
      return `index ${s.index}: list[${s.index}] = ${s.free} ≥ ${s.nslots}: ${slots} taken ` +
        `after ${plural(s.probes, "probe")}${skips(s.boundarySkips)}; hint → ${s.hint}`;
    }
    case "slot-full":
      return `back at index ${s.index} after ${plural(s.probes, "probe")}${
        skips(s.boundarySkips)
      }: no free run of ${plural(nslots, "slot")}, SWIOTLB_MAP_ERROR (swiotlb buffer is full)`;
    case "slot-start":
      return s.kind;
  }
}

// ---------------------------------------------------------------- JSON

/** `dmaAddr` → `dma_addr`, as every JSON answer spells a field. */
function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

function snakeKeys(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[snake(k)] = snakeKeys(x);
  return out;
}

/**
 * A step as the JSON answer's `explain` array holds it: the engine's fields in snake_case
 * (nodes as `{dma_addr, size, color}`), plus `title`, the kernel's case title, on fix-up
 * cases (null for the insert loop's Case 0 end).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { explainJson } from "./explain.ts";
 * const node = { dmaAddr: 0x40000, size: 0x40000, color: "red" as const };
 * assertEquals(
 *   explainJson({ kind: "insert-case", case: 0, mirror: false, node, parent: null, gparent: null, uncle: null }),
 *   {
 *     kind: "insert-case",
 *     case: 0,
 *     mirror: false,
 *     node: { dma_addr: 0x40000, size: 0x40000, color: "red" },
 *     parent: null,
 *     gparent: null,
 *     uncle: null,
 *     title: null,
 *   },
 * );
 * ```
 */
export function explainJson(step: ExplainStep): Record<string, unknown> {
  const out = snakeKeys(step) as Record<string, unknown>;
  if (step.kind === "insert-case" || step.kind === "erase-case" || step.kind === "erase-color") {
    out.title = rbCaseTitle(step);
  }
  return out;
}
