/**
 * The bus→phys tree as text (SPEC §9): an indented drawing with red/black colours and
 * position paths (root/l/r), an in-order listing, and the validator's verdict. The
 * shape comes from the engine's preorder rows; this file only lays them out.
 *
 * @module
 */

import type { TreeProblem, TreeRow } from "../../guest/mod.ts";
import { type Fmt, plural } from "./format.ts";
import { problemWords } from "./words.ts";

/** How much of the tree to draw. */
export interface DrawOptions {
  /** Deepest level drawn (root = 0); deeper subtrees fold into "… N nodes". */
  maxDepth: number;
  /** Draw only the path to this node (and its siblings and two levels below it). */
  focus?: string;
}

/** "R [0x7f840000,+256K) phys 0x1c0000000  root/l/l". */
export function nodeLabel(r: TreeRow, fmt: Fmt): string {
  const used = r.slotsInUse === null ? "" : `, ${r.slotsInUse} used`;
  const body = `[${fmt.num(r.dmaAddr)},+${sizeText(r.size)}) phys ${fmt.num(r.physAddr)}` +
    (r.kind === "segment" ? used : ` ${r.kind}`);
  const tag = r.color === "red" ? fmt.red("R " + body) : fmt.bold("B " + body);
  return `${tag}  ${fmt.dim(r.path)}`;
}

function sizeText(n: number): string {
  if (n >= 1024 && n % 1024 === 0) {
    return n % (1024 * 1024) === 0 ? `${n / 1048576}M` : `${n / 1024}K`;
  }
  return String(n);
}

/** Depth of a position path: root = 0, root/l = 1. */
function depthOf(path: string): number {
  return path.split("/").length - 1;
}

/** Lays the preorder rows out as an indented drawing. */
export function drawTree(rows: readonly TreeRow[], fmt: Fmt, opts: DrawOptions): string[] {
  const byPath = new Map<string, TreeRow>();
  for (const r of rows) byPath.set(r.path, r);
  const sizes = new Map<string, number>();
  const count = (p: string): number => {
    const known = sizes.get(p);
    if (known !== undefined) return known;
    const n = byPath.has(p) ? 1 + count(p + "/l") + count(p + "/r") : 0;
    sizes.set(p, n);
    return n;
  };
  const focus = opts.focus;
  const visible = (p: string): boolean => {
    if (focus === undefined) return depthOf(p) <= opts.maxDepth;
    const parent = p.slice(0, p.lastIndexOf("/"));
    if (p === "root" || focus === p || focus.startsWith(p + "/")) return true;
    if (focus === parent || focus.startsWith(parent + "/")) return true;
    return p.startsWith(focus + "/") && depthOf(p) - depthOf(focus) <= 2;
  };
  const out: string[] = [];
  const walk = (p: string, prefix: string, connector: string, childPrefix: string) => {
    const r = byPath.get(p);
    if (!r) return;
    out.push(prefix + connector + nodeLabel(r, fmt));
    const kids = ["l", "r"].map((s) => `${p}/${s}`).filter((k) => byPath.has(k));
    if (kids.length === 0) return;
    const shown = kids.filter(visible);
    if (shown.length === 0) {
      out.push(`${prefix}${childPrefix}└─ ${fmt.dim(`… ${plural(count(p) - 1, "node")} below`)}`);
      return;
    }
    const sides = ["l", "r"] as const;
    sides.forEach((side, i) => {
      const k = `${p}/${side}`;
      const last = i === 1;
      const conn = (last ? "└─" : "├─") + side + " ";
      const pre = prefix + childPrefix;
      const nextPrefix = last ? "    " : "│   ";
      if (!byPath.has(k)) {
        out.push(pre + conn + fmt.dim("nil"));
      } else if (!visible(k)) {
        out.push(pre + conn + fmt.dim(`… ${plural(count(k), "node")}`));
      } else {
        walk(k, pre, conn, nextPrefix);
      }
    });
  };
  walk("root", "", "", "");
  return out;
}

/** The in-order listing: bus intervals ascending, each with its phys. */
export function inorderLines(rows: readonly TreeRow[], fmt: Fmt): string[] {
  return rows.map((r, i) =>
    `  ${String(i).padStart(3)}  [${fmt.num(r.dmaAddr)},+${sizeText(r.size)}) → phys ${
      fmt.num(r.physAddr)
    }  ${r.color === "red" ? fmt.red("R") : "B"} ${fmt.dim(r.path)}`
  );
}

/** The validator's verdict (SPEC §9 `tree --validate`). */
export function validateLines(problems: readonly TreeProblem[], nodes: number, fmt: Fmt): string[] {
  if (problems.length === 0) {
    return [
      `tree ${
        fmt.green("valid")
      }: ${nodes} nodes; BST order ✓, no overlapping intervals ✓, black root ✓, ` +
      "no red-red ✓, equal black heights ✓, parent links ✓",
    ];
  }
  return [
    `tree ${fmt.err("INVALID")}: ${plural(problems.length, "problem")}`,
    ...problems.map((p) => `  ✗ ${problemLine(p, fmt)}`),
  ];
}

/**
 * One problem of the validator in words, its node in the session's radix: "overlap: node
 * [0x120000,+256K) phys 0x1a0000000 at root/l/r: its bus interval overlaps …". The
 * validator's own sentence (`message`, hex) stays for `--json`.
 */
export function problemLine(p: TreeProblem, fmt: Fmt): string {
  return `${p.rule}: ` +
    (p.node
      ? `node ${fmt.interval(p.node.dmaAddr, p.node.size)} phys ${fmt.num(p.node.physAddr)}` +
        ` at ${p.path}: `
      : "") +
    problemWords(p.rule);
}

/**
 * The tree as Graphviz: nodes coloured, edges labelled l / r (SPEC §9 `tree --dot`). A
 * node's missing child is a nil point, an invisible middle child sits below each node,
 * and `ordering=out` keeps the children in l, m, r order, so a right child is always
 * drawn to the right — never straight below its parent where it would read as a left one.
 */
export function treeDot(rows: readonly TreeRow[]): string {
  const id = (path: string) => path.replaceAll("/", "_");
  const hex = (x: number) => "0x" + x.toString(16);
  const out = [
    "digraph bus_to_phys {",
    "  ordering=out;",
    '  node [shape=box, style=filled, fontname="monospace", fontcolor=white];',
  ];
  const paths = new Set(rows.map((r) => r.path));
  for (const r of rows) {
    const label = `[${hex(r.dmaAddr)},+${sizeText(r.size)})\\nphys ${hex(r.physAddr)}` +
      (r.kind === "segment" ? "" : `\\n${r.kind}`);
    out.push(
      `  ${id(r.path)} [label="${label}", fillcolor=${r.color === "red" ? "red" : "black"}];`,
    );
  }
  for (const r of rows) {
    for (const side of ["l", "m", "r"]) {
      const child = `${r.path}/${side}`;
      if (side === "m") {
        // An invisible middle child right below the node (heavy edge): dot centres a node
        // over its children, so this keeps the left subtree left and the right one right.
        out.push(
          `  ${id(child)} [label="", width=0.1, style=invis];`,
          `  ${id(r.path)} -> ${id(child)} [style=invis, weight=100];`,
        );
      } else if (paths.has(child)) {
        out.push(`  ${id(r.path)} -> ${id(child)} [label="${side}"];`);
      } else {
        out.push(
          `  ${id(child)} [shape=point, width=0.08, label="", fillcolor=black];`,
          `  ${id(r.path)} -> ${id(child)} [arrowhead=none, style=dotted];`,
        );
      }
    }
  }
  out.push("}");
  return out.join("\n") + "\n";
}
