/**
 * Narration snapshots of `explain on` (issue 12 item 3): every insert case and every erase
 * case of the bus→phys tree, structural and colour, both mirror sides, on small trees
 * built through the generic RbTree where the case is guaranteed — the steps the engine
 * records and the text the REPL prints; a slot search with a boundary skip and a wrap in
 * words; and the REPL verb itself (text, one JSON object with an `explain` array,
 * guest new's bounded summary, help and completion).
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { DMA_TO_DEVICE } from "../lib/direction.ts";
import { EventLog } from "../lib/events.ts";
import type { ExplainNode, ExplainStep } from "../lib/explain.ts";
import { complete, runLine, Session } from "../lib/repl/mod.ts";
import { renderExplain, SUMMARY_LINES } from "../lib/repl/render/explain.ts";
import { Fmt } from "../lib/repl/render/format.ts";
import { SwiotlbCore } from "../lib/swiotlb/mod.ts";
import {
  newBusTree,
  xenDmaAddEntry,
  type XenDmaInfo,
  xenDmaRemoveEntry,
} from "../lib/swiotlb_xen/tree.ts";

const SEG = 0x40000;
const plain = new Fmt(16, false);

/** Node k of the test trees: segment k at bus k × 256 KiB. */
const seg = (k: number): XenDmaInfo => ({
  dmaAddr: k * SEG,
  physAddr: 0x10000000 + k * SEG,
  size: SEG,
  kind: "segment",
  index: k,
});

/**
 * A step in one line: its kind, case and mirror, each node as its key (bus / 256 KiB)
 * and colour at that moment ("2B"), "-" for none.
 */
function compact(s: ExplainStep): string {
  const key = (n: ExplainNode | null) =>
    n === null ? "-" : `${n.dmaAddr / SEG}${n.color === "red" ? "R" : "B"}`;
  const roles = ["parent", "gparent", "uncle", "successor", "child", "rebalance", "node", "nephew"];
  const parts: string[] = [s.kind];
  for (const [k, v] of Object.entries(s)) {
    if (k === "kind" || ["dmaAddr", "physAddr", "size", "entry", "segment"].includes(k)) continue;
    if (k === "case") parts.push(String(v));
    else if (k === "mirror") {
      if (v) parts.push("mirror");
    } else if (k === "op") parts.push(`${v} ${(s as { segment: number }).segment}`);
    else if (v !== null && typeof v === "object") parts.push(`${k}=${key(v as ExplainNode)}`);
    else if (v === null) {
      if (roles.includes(k)) parts.push(`${k}=-`);
    } else parts.push(`${k}=${v}`);
  }
  return parts.join(" ");
}

interface Row {
  name: string;
  /** Inserted in this order first. */
  keys: number[];
  /** Then erased, before the operation. */
  before?: number[];
  op: "insert" | "erase";
  key: number;
  steps: string[];
  text: string[];
}

const ROWS: Row[] = [
  {
    name: "insert Case 1 - color flips, then the root",
    keys: [2, 1, 3],
    op: "insert",
    key: 0,
    steps: [
      "tree-op insert 0",
      "tree-link node=0R parent=1R side=left path=root/l/l",
      "insert-case 1 node=0R parent=1R gparent=2B uncle=3R",
      "insert-case 0 node=2R parent=- gparent=- uncle=-",
    ],
    text: [
      "explain: xen_dma_add_entry segment 0 [0x0,+256K) (phys 0x10000000)",
      "  rb_link_node: linked red at root/l/l, the left child of [0x40000,+256K)",
      "  rb_insert_color Case 1 - color flips: parent [0x40000,+256K) and uncle [0xc0000,+256K) are red: painted black, gparent [0x80000,+256K) red; go on at [0x80000,+256K)",
      "  rb_insert_color: [0x80000,+256K) is the root: painted black",
    ],
  },
  {
    name: "insert Case 1 - color flips (mirror)",
    keys: [2, 1, 3],
    op: "insert",
    key: 4,
    steps: [
      "tree-op insert 4",
      "tree-link node=4R parent=3R side=right path=root/r/r",
      "insert-case 1 mirror node=4R parent=3R gparent=2B uncle=1R",
      "insert-case 0 node=2R parent=- gparent=- uncle=-",
    ],
    text: [
      "explain: xen_dma_add_entry segment 4 [0x100000,+256K) (phys 0x10100000)",
      "  rb_link_node: linked red at root/r/r, the right child of [0xc0000,+256K)",
      "  rb_insert_color Case 1 - color flips: parent [0xc0000,+256K) and uncle [0x40000,+256K) are red: painted black, gparent [0x80000,+256K) red; go on at [0x80000,+256K)",
      "  rb_insert_color: [0x80000,+256K) is the root: painted black",
    ],
  },
  {
    name: "insert Case 2 - left rotate at parent, then Case 3 - right rotate at gparent",
    keys: [3, 1],
    op: "insert",
    key: 2,
    steps: [
      "tree-op insert 2",
      "tree-link node=2R parent=1R side=right path=root/l/r",
      "insert-case 2 node=2R parent=1R gparent=3B uncle=-",
      "insert-case 3 node=1R parent=2R gparent=3B uncle=-",
    ],
    text: [
      "explain: xen_dma_add_entry segment 2 [0x80000,+256K) (phys 0x10080000)",
      "  rb_link_node: linked red at root/l/r, the right child of [0x40000,+256K)",
      "  rb_insert_color Case 2 - left rotate at parent: [0x80000,+256K), the right (inner) child of red [0x40000,+256K), goes up; [0x40000,+256K) hangs below it as its left child; on to Case 3",
      "  rb_insert_color Case 3 - right rotate at gparent: [0x40000,+256K), the left (outer) child of red [0x80000,+256K) (no uncle): [0x80000,+256K) takes gparent [0xc0000,+256K)'s place, painted black; [0xc0000,+256K) becomes its red right child; done",
    ],
  },
  {
    name: "insert Case 2 - right rotate at parent, then Case 3 - left rotate at gparent (mirrors)",
    keys: [1, 3],
    op: "insert",
    key: 2,
    steps: [
      "tree-op insert 2",
      "tree-link node=2R parent=3R side=left path=root/r/l",
      "insert-case 2 mirror node=2R parent=3R gparent=1B uncle=-",
      "insert-case 3 mirror node=3R parent=2R gparent=1B uncle=-",
    ],
    text: [
      "explain: xen_dma_add_entry segment 2 [0x80000,+256K) (phys 0x10080000)",
      "  rb_link_node: linked red at root/r/l, the left child of [0xc0000,+256K)",
      "  rb_insert_color Case 2 - right rotate at parent: [0x80000,+256K), the left (inner) child of red [0xc0000,+256K), goes up; [0xc0000,+256K) hangs below it as its right child; on to Case 3",
      "  rb_insert_color Case 3 - left rotate at gparent: [0xc0000,+256K), the right (outer) child of red [0x80000,+256K) (no uncle): [0x80000,+256K) takes gparent [0x40000,+256K)'s place, painted black; [0x40000,+256K) becomes its red left child; done",
    ],
  },
  {
    name: "insert Case 3 - right rotate at gparent alone",
    keys: [3, 2],
    op: "insert",
    key: 1,
    steps: [
      "tree-op insert 1",
      "tree-link node=1R parent=2R side=left path=root/l/l",
      "insert-case 3 node=1R parent=2R gparent=3B uncle=-",
    ],
    text: [
      "explain: xen_dma_add_entry segment 1 [0x40000,+256K) (phys 0x10040000)",
      "  rb_link_node: linked red at root/l/l, the left child of [0x80000,+256K)",
      "  rb_insert_color Case 3 - right rotate at gparent: [0x40000,+256K), the left (outer) child of red [0x80000,+256K) (no uncle): [0x80000,+256K) takes gparent [0xc0000,+256K)'s place, painted black; [0xc0000,+256K) becomes its red right child; done",
    ],
  },
  {
    name: "insert Case 3 - left rotate at gparent alone (mirror)",
    keys: [1, 2],
    op: "insert",
    key: 3,
    steps: [
      "tree-op insert 3",
      "tree-link node=3R parent=2R side=right path=root/r/r",
      "insert-case 3 mirror node=3R parent=2R gparent=1B uncle=-",
    ],
    text: [
      "explain: xen_dma_add_entry segment 3 [0xc0000,+256K) (phys 0x100c0000)",
      "  rb_link_node: linked red at root/r/r, the right child of [0x80000,+256K)",
      "  rb_insert_color Case 3 - left rotate at gparent: [0xc0000,+256K), the right (outer) child of red [0x80000,+256K) (no uncle): [0x80000,+256K) takes gparent [0x40000,+256K)'s place, painted black; [0x40000,+256K) becomes its red left child; done",
    ],
  },
  {
    name: "insert under a black parent: nothing to fix",
    keys: [2],
    op: "insert",
    key: 1,
    steps: [
      "tree-op insert 1",
      "tree-link node=1R parent=2B side=left path=root/l",
      "insert-case 0 node=1R parent=2B gparent=- uncle=-",
    ],
    text: [
      "explain: xen_dma_add_entry segment 1 [0x40000,+256K) (phys 0x10040000)",
      "  rb_link_node: linked red at root/l, the left child of [0x80000,+256K)",
      "  rb_insert_color: parent [0x80000,+256K) is black: nothing to fix",
    ],
  },
  {
    name: "insert into the empty tree: the root, painted black",
    keys: [],
    op: "insert",
    key: 1,
    steps: [
      "tree-op insert 1",
      "tree-link node=1R parent=- path=root",
      "insert-case 0 node=1R parent=- gparent=- uncle=-",
    ],
    text: [
      "explain: xen_dma_add_entry segment 1 [0x40000,+256K) (phys 0x10040000)",
      "  rb_link_node: linked red as the root",
      "  rb_insert_color: [0x40000,+256K) is the root: painted black",
    ],
  },
  {
    name: "erase Case 1: a red leaf",
    keys: [1, 2, 3, 4],
    op: "erase",
    key: 4,
    steps: [
      "tree-op erase 4",
      "erase-case 1 node=4R successor=- child=- rebalance=-",
    ],
    text: [
      "explain: rb_erase segment 4 [0x100000,+256K) (phys 0x10100000)",
      "  __rb_erase_augmented Case 1: node to erase has no more than 1 child (easy!): [0x100000,+256K) is a red leaf: removed; nothing to fix",
    ],
  },
  {
    name: "erase Case 1: the right child takes its place",
    keys: [1, 2, 3, 4],
    op: "erase",
    key: 3,
    steps: [
      "tree-op erase 3",
      "erase-case 1 node=3B successor=- child=4R rebalance=-",
    ],
    text: [
      "explain: rb_erase segment 3 [0xc0000,+256K) (phys 0x100c0000)",
      "  __rb_erase_augmented Case 1: node to erase has no more than 1 child (easy!): [0xc0000,+256K) has no left child: its right child [0x100000,+256K) takes its place and colour",
    ],
  },
  {
    name: "erase Still case 1: the left child takes its place (mirror)",
    keys: [2, 1, 3, 0],
    op: "erase",
    key: 1,
    steps: [
      "tree-op erase 1",
      "erase-case 1 mirror node=1B successor=- child=0R rebalance=-",
    ],
    text: [
      "explain: rb_erase segment 1 [0x40000,+256K) (phys 0x10040000)",
      "  __rb_erase_augmented Still case 1, but this time the child is node->rb_left: [0x40000,+256K) has no right child: its left child [0x0,+256K) takes its place and colour",
    ],
  },
  {
    name: "erase Case 2: the successor is the right child",
    keys: [1, 2, 3, 4],
    op: "erase",
    key: 2,
    steps: [
      "tree-op erase 2",
      "erase-case 2 node=2B successor=3B child=4R rebalance=-",
    ],
    text: [
      "explain: rb_erase segment 2 [0x80000,+256K) (phys 0x10080000)",
      "  __rb_erase_augmented Case 2: node's successor is its right child: successor [0xc0000,+256K) takes [0x80000,+256K)'s place and colour; its right child [0x100000,+256K) moves up, painted black",
    ],
  },
  {
    name: "erase Case 3: the successor is the leftmost of the right subtree",
    keys: [2, 1, 4, 3],
    op: "erase",
    key: 2,
    steps: [
      "tree-op erase 2",
      "erase-case 3 node=2B successor=3R child=- rebalance=-",
    ],
    text: [
      "explain: rb_erase segment 2 [0x80000,+256K) (phys 0x10080000)",
      "  __rb_erase_augmented Case 3: node's successor is leftmost under node's right child subtree: successor (leftmost of its right subtree) [0xc0000,+256K) takes [0x80000,+256K)'s place and colour; [0xc0000,+256K) was red: nothing to fix",
    ],
  },
  {
    name: "erase colour Case 1 - left rotate at parent, then Case 2 with a red parent",
    keys: [1, 2, 3, 4, 5, 6],
    op: "erase",
    key: 1,
    steps: [
      "tree-op erase 1",
      "erase-case 1 node=1B successor=- child=- rebalance=2B",
      "erase-color 1 parent=2B node=- sibling=4R nephew=-",
      "erase-color 2 parent=2R node=- sibling=3B nephew=- then=parent-black",
    ],
    text: [
      "explain: rb_erase segment 1 [0x40000,+256K) (phys 0x10040000)",
      "  __rb_erase_augmented Case 1: node to erase has no more than 1 child (easy!): [0x40000,+256K) is a black leaf: removed; paths through [0x80000,+256K) are one black short",
      "  ____rb_erase_color Case 1 - left rotate at parent: [0x80000,+256K)'s left side is one black short and sibling [0x100000,+256K) is red: [0x100000,+256K) goes up over [0x80000,+256K), painted black, [0x80000,+256K) red",
      "  ____rb_erase_color Case 2 - sibling color flip (p could be either color here): sibling [0xc0000,+256K) and its children are black: [0xc0000,+256K) painted red; [0x80000,+256K) was red: painted black, done",
    ],
  },
  {
    name: "erase colour Case 1 - right rotate at parent, then Case 2 (mirrors)",
    keys: [6, 5, 4, 3, 2, 1],
    op: "erase",
    key: 6,
    steps: [
      "tree-op erase 6",
      "erase-case 1 node=6B successor=- child=- rebalance=5B",
      "erase-color 1 mirror parent=5B node=- sibling=3R nephew=-",
      "erase-color 2 mirror parent=5R node=- sibling=4B nephew=- then=parent-black",
    ],
    text: [
      "explain: rb_erase segment 6 [0x180000,+256K) (phys 0x10180000)",
      "  __rb_erase_augmented Case 1: node to erase has no more than 1 child (easy!): [0x180000,+256K) is a black leaf: removed; paths through [0x140000,+256K) are one black short",
      "  ____rb_erase_color Case 1 - right rotate at parent: [0x140000,+256K)'s right side is one black short and sibling [0xc0000,+256K) is red: [0xc0000,+256K) goes up over [0x140000,+256K), painted black, [0x140000,+256K) red",
      "  ____rb_erase_color Case 2 - sibling color flip: sibling [0x100000,+256K) and its children are black: [0x100000,+256K) painted red; [0x140000,+256K) was red: painted black, done",
    ],
  },
  {
    name:
      "erase colour Case 3 - right rotate at sibling, then Case 4 - left rotate at parent + color flips",
    keys: [2, 1, 4, 3],
    op: "erase",
    key: 1,
    steps: [
      "tree-op erase 1",
      "erase-case 1 node=1B successor=- child=- rebalance=2B",
      "erase-color 3 parent=2B node=- sibling=4B nephew=3R",
      "erase-color 4 parent=2B node=- sibling=3R nephew=4B",
    ],
    text: [
      "explain: rb_erase segment 1 [0x40000,+256K) (phys 0x10040000)",
      "  __rb_erase_augmented Case 1: node to erase has no more than 1 child (easy!): [0x40000,+256K) is a black leaf: removed; paths through [0x80000,+256K) are one black short",
      "  ____rb_erase_color Case 3 - right rotate at sibling: sibling [0x100000,+256K)'s right child is black, its left child [0xc0000,+256K) red: [0xc0000,+256K) goes up over [0x100000,+256K) and is the new sibling; on to Case 4",
      "  ____rb_erase_color Case 4 - left rotate at parent + color flips: sibling [0xc0000,+256K) goes up over [0x80000,+256K) and takes its colour; [0x80000,+256K) and [0xc0000,+256K)'s right child [0x100000,+256K) are painted black; done",
    ],
  },
  {
    name:
      "erase colour Case 3 - left rotate at sibling, then Case 4 - right rotate at parent + color flips (mirrors)",
    keys: [3, 4, 1, 2],
    op: "erase",
    key: 4,
    steps: [
      "tree-op erase 4",
      "erase-case 1 node=4B successor=- child=- rebalance=3B",
      "erase-color 3 mirror parent=3B node=- sibling=1B nephew=2R",
      "erase-color 4 mirror parent=3B node=- sibling=2R nephew=1B",
    ],
    text: [
      "explain: rb_erase segment 4 [0x100000,+256K) (phys 0x10100000)",
      "  __rb_erase_augmented Case 1: node to erase has no more than 1 child (easy!): [0x100000,+256K) is a black leaf: removed; paths through [0xc0000,+256K) are one black short",
      "  ____rb_erase_color Case 3 - left rotate at sibling: sibling [0x40000,+256K)'s left child is black, its right child [0x80000,+256K) red: [0x80000,+256K) goes up over [0x40000,+256K) and is the new sibling; on to Case 4",
      "  ____rb_erase_color Case 4 - right rotate at parent + color flips: sibling [0x80000,+256K) goes up over [0xc0000,+256K) and takes its colour; [0xc0000,+256K) and [0x80000,+256K)'s left child [0x40000,+256K) are painted black; done",
    ],
  },
  {
    name: "erase colour Case 4 alone",
    keys: [1, 2, 3, 4],
    op: "erase",
    key: 1,
    steps: [
      "tree-op erase 1",
      "erase-case 1 node=1B successor=- child=- rebalance=2B",
      "erase-color 4 parent=2B node=- sibling=3B nephew=4R",
    ],
    text: [
      "explain: rb_erase segment 1 [0x40000,+256K) (phys 0x10040000)",
      "  __rb_erase_augmented Case 1: node to erase has no more than 1 child (easy!): [0x40000,+256K) is a black leaf: removed; paths through [0x80000,+256K) are one black short",
      "  ____rb_erase_color Case 4 - left rotate at parent + color flips: sibling [0xc0000,+256K) goes up over [0x80000,+256K) and takes its colour; [0x80000,+256K) and [0xc0000,+256K)'s right child [0x100000,+256K) are painted black; done",
    ],
  },
  {
    name: "erase colour Case 4 alone (mirror)",
    keys: [3, 4, 2, 1],
    op: "erase",
    key: 4,
    steps: [
      "tree-op erase 4",
      "erase-case 1 node=4B successor=- child=- rebalance=3B",
      "erase-color 4 mirror parent=3B node=- sibling=2B nephew=1R",
    ],
    text: [
      "explain: rb_erase segment 4 [0x100000,+256K) (phys 0x10100000)",
      "  __rb_erase_augmented Case 1: node to erase has no more than 1 child (easy!): [0x100000,+256K) is a black leaf: removed; paths through [0xc0000,+256K) are one black short",
      "  ____rb_erase_color Case 4 - right rotate at parent + color flips: sibling [0x80000,+256K) goes up over [0xc0000,+256K) and takes its colour; [0xc0000,+256K) and [0x80000,+256K)'s left child [0x40000,+256K) are painted black; done",
    ],
  },
  {
    name: "erase colour Case 2 at the root",
    keys: [1, 2, 3, 4],
    before: [4],
    op: "erase",
    key: 1,
    steps: [
      "tree-op erase 1",
      "erase-case 1 node=1B successor=- child=- rebalance=2B",
      "erase-color 2 parent=2B node=- sibling=3B nephew=- then=root",
    ],
    text: [
      "explain: rb_erase segment 1 [0x40000,+256K) (phys 0x10040000)",
      "  __rb_erase_augmented Case 1: node to erase has no more than 1 child (easy!): [0x40000,+256K) is a black leaf: removed; paths through [0x80000,+256K) are one black short",
      "  ____rb_erase_color Case 2 - sibling color flip (p could be either color here): sibling [0xc0000,+256K) and its children are black: [0xc0000,+256K) painted red; [0x80000,+256K) is the root: every path has one black less, done",
    ],
  },
  {
    name: "erase colour Case 2 climbs, then Case 4",
    keys: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    op: "erase",
    key: 1,
    steps: [
      "tree-op erase 1",
      "erase-case 1 node=1B successor=- child=- rebalance=2B",
      "erase-color 2 parent=2B node=- sibling=3B nephew=- then=climb",
      "erase-color 4 parent=4B node=2B sibling=6B nephew=8R",
    ],
    text: [
      "explain: rb_erase segment 1 [0x40000,+256K) (phys 0x10040000)",
      "  __rb_erase_augmented Case 1: node to erase has no more than 1 child (easy!): [0x40000,+256K) is a black leaf: removed; paths through [0x80000,+256K) are one black short",
      "  ____rb_erase_color Case 2 - sibling color flip (p could be either color here): sibling [0xc0000,+256K) and its children are black: [0xc0000,+256K) painted red; [0x80000,+256K) is black, so its whole subtree is one black short: go on one level up",
      "  ____rb_erase_color Case 4 - left rotate at parent + color flips: sibling [0x180000,+256K) goes up over [0x100000,+256K) and takes its colour; [0x100000,+256K) and [0x180000,+256K)'s right child [0x200000,+256K) are painted black; done",
    ],
  },
];

for (const row of ROWS) {
  Deno.test(`explain narrates ${row.name}`, () => {
    const events = new EventLog();
    const t = newBusTree();
    const entries = new Map<number, XenDmaInfo>();
    for (const k of row.keys) {
      entries.set(k, seg(k));
      xenDmaAddEntry(t, entries.get(k)!, events);
    }
    for (const k of row.before ?? []) xenDmaRemoveEntry(t, entries.get(k)!, events);
    events.explaining = true;
    if (row.op === "insert") xenDmaAddEntry(t, seg(row.key), events);
    else assert(xenDmaRemoveEntry(t, entries.get(row.key)!, events));
    const steps = events.drainExplained();
    assertEquals(steps.map(compact), row.steps);
    assertEquals(renderExplain(steps, plain), row.text);
    assertEquals(t.validate(), []);
  });
}

Deno.test("explain narrations cover every case of the three kernel functions, both sides", () => {
  const seen = new Set<string>();
  for (const r of ROWS) {
    for (const s of r.steps) {
      const m = /^(insert-case|erase-case|erase-color) (\d)( mirror)?/.exec(s);
      if (m && m[2] !== "0") seen.add(`${m[1]} ${m[2]}${m[3] ?? ""}`);
    }
  }
  assertEquals([...seen].sort(), [
    "erase-case 1",
    "erase-case 1 mirror",
    "erase-case 2",
    "erase-case 3",
    "erase-color 1",
    "erase-color 1 mirror",
    "erase-color 2",
    "erase-color 2 mirror",
    "erase-color 3",
    "erase-color 3 mirror",
    "erase-color 4",
    "erase-color 4 mirror",
    "insert-case 1",
    "insert-case 1 mirror",
    "insert-case 2",
    "insert-case 2 mirror",
    "insert-case 3",
    "insert-case 3 mirror",
  ]);
});

/**
 * A 256-slot pool whose `used` slots read 0 and the rest count their free runs, written
 * by hand: so the kernel's eager counters, which a bitmap-backed core would not read.
 */
function pool(used: (i: number) => boolean): { core: SwiotlbCore; events: EventLog } {
  const events = new EventLog();
  events.explaining = true;
  const core = new SwiotlbCore({ nslabs: 256, start: 0x100000, events, counters: "eager" });
  const list = core.freeRun;
  for (let i = 255; i >= 0; i--) list[i] = used(i) ? 0 : (i & 127) === 127 ? 1 : list[i + 1] + 1;
  return { core, events };
}

Deno.test("explain narrates a slot search: hint, boundary skips, misses, the wrap, the slot taken", () => {
  // As in tests/explain_engine_test.ts: 8 KiB (4 slots, stride 2) under a 16 KiB boundary
  // (max_slots 8) with the table at offset_slots 4, so even indices ≡ 2 (mod 8) cross.
  const { core, events } = pool((i) => i < 6 || i >= 248);
  core.hint = 250;
  core.mapSingle({
    tblDmaAddr: 0x2000,
    orig: 0x900000,
    size: 8192,
    dir: DMA_TO_DEVICE,
    segBoundary: 0x3fff,
  });
  assertEquals(renderExplain(events.drainExplained(), plain), [
    "explain: slot search for 8192 bytes: 4 slots, stride 2 (size > 4096); hint 250 → start at " +
    "index 250; a segment boundary every 8 slots (offset_slots 4)",
    "  index 250 skipped: 4 slots there would cross a boundary",
    "  index 252: list[252] = 0 < 4, too short",
    "  index 254: list[254] = 0 < 4, too short",
    "  past index 254 the pool ends (nslabs 256): wrap to 0",
    "  index 0: list[0] = 0 < 4, too short",
    "  index 2 skipped: 4 slots there would cross a boundary",
    "  index 4: list[4] = 0 < 4, too short",
    "  index 6: list[6] = 122 ≥ 4: slots 6…9 taken after 7 probes, 2 boundary skips; hint → 10",
  ]);
});

Deno.test("explain narrates a failed slot search with its long run of misses summarised", () => {
  const { core, events } = pool(() => true);
  core.mapSingle({ tblDmaAddr: 0x100000, orig: 0x900000, size: 2048, dir: DMA_TO_DEVICE });
  assertEquals(renderExplain(events.drainExplained(), plain), [
    "explain: slot search for 2048 bytes: 1 slot, stride 1; hint 0 → start at index 0; no " +
    "segment boundary within reach",
    "  index 0: list[0] = 0 < 1, too short",
    "  index 1: list[1] = 0 < 1, too short",
    "  index 2: list[2] = 0 < 1, too short",
    "  … 253 more indices too short (3…255)",
    "  past index 255 the pool ends (nslabs 256): wrap to 0",
    "  back at index 0 after 256 probes: no free run of 1 slot, SWIOTLB_MAP_ERROR (swiotlb " +
    "buffer is full)",
  ]);
});

const ARM = [
  "guest new --preset arm-dom0 --swiotlb 1M",
  "device add nic --mask 32",
  "buf alloc rx 8K",
];

function run(s: Session, lines: string[]) {
  return lines.map((l) => {
    const r = runLine(s, l);
    assert(r.ok, `${l}: ${r.error}`);
    return r;
  });
}

Deno.test("explain on|off: map answers with its slot search, in text and as one JSON object", () => {
  const s = new Session({ json: true });
  run(s, ARM);
  const off = JSON.parse(runLine(s, "map nic rx 4K to").output[0]);
  assert(!("explain" in off), "nothing is explained while off");
  assertEquals(JSON.parse(runLine(s, "explain on").output[0]), { explaining: true });
  const r = runLine(s, "map nic rx 8K to");
  assertEquals(r.output.length, 1);
  assertEquals(JSON.parse(r.output[0]).explain, [
    {
      kind: "slot-start",
      size: 8192,
      nslots: 4,
      stride: 2,
      hint: 2,
      index: 2,
      nslabs: 512,
      offset_slots: 512,
      max_slots: null,
    },
    { kind: "slot-taken", index: 2, free: 126, nslots: 4, probes: 1, boundary_skips: 0, hint: 6 },
  ]);
  runLine(s, "explain off");
  assert(!("explain" in JSON.parse(runLine(s, "map nic rx 2K to").output[0])));

  const t = new Session();
  run(t, [...ARM, "explain on"]);
  const text = runLine(t, "map nic rx 8K to").output;
  assertStringIncludes(text.join("\n"), "explain: slot search for 8192 bytes: 4 slots, stride 2");
  assertStringIncludes(
    text.join("\n"),
    "  index 0: list[0] = 128 ≥ 4: slots 0…3 taken after 1 probe",
  );
});

Deno.test("explain on: alloc-coherent, free-coherent and tree insert narrate their tree cases", () => {
  const s = new Session();
  run(s, [...ARM, "explain on"]);
  const alloc = runLine(s, "alloc-coherent nic 16K").output.join("\n");
  assertStringIncludes(alloc, "explain: xen_dma_add_entry coherent node [0x200000,+16K)");
  assertStringIncludes(alloc, "rb_insert_color Case 3 - left rotate at gparent");
  const free = runLine(s, "free-coherent nic $bus 16K").output.join("\n");
  assertStringIncludes(free, "explain: rb_erase coherent node [0x200000,+16K)");
  assertStringIncludes(free, "__rb_erase_augmented Case 1: node to erase has no more than 1 child");
  const ins = runLine(s, "tree insert 0x7000000 0x1a0000000 256K").output.join("\n");
  assertStringIncludes(ins, "explain: xen_dma_add_entry node put in by 'tree insert'");
});

Deno.test("explain on: guest new's 256 fixup inserts are one bounded line each, every step in JSON", () => {
  const t = new Session();
  run(t, ["explain on"]);
  const text = runLine(t, "guest new --preset arm-dom0").output;
  const from = text.findIndex((l) => l.startsWith("explain:"));
  assertEquals(
    text[from],
    `explain: 256 tree operations, one line each (--json's "explain" has every step)`,
  );
  assertEquals(
    text[from + 1],
    "  xen_dma_add_entry segment 0 [0x100000,+256K) as the root: painted black",
  );
  assertEquals(text.slice(from).length, 1 + SUMMARY_LINES + 1);
  assertEquals(text.at(-1), `  … ${256 - SUMMARY_LINES} more`);

  const j = new Session({ json: true });
  run(j, ["explain on"]);
  const r = runLine(j, "guest new --preset arm-dom0");
  assertEquals(r.output.length, 1);
  const steps = JSON.parse(r.output[0]).explain as { kind: string; segment?: number }[];
  const ops = steps.filter((x) => x.kind === "tree-op");
  assertEquals(ops.map((x) => x.segment), Array.from({ length: 256 }, (_, i) => i));
  assertEquals(steps.filter((x) => x.kind === "tree-link").length, 256);
});

Deno.test("help explain has examples that run; completion knows the verb and its on|off", () => {
  const s = new Session();
  const help = runLine(s, "help explain").output.join("\n");
  assertStringIncludes(help, "explain on|off");
  assertStringIncludes(help, "swiotlb> explain on");
  assertStringIncludes(help, "explain on: tree fix-ups");
  assertStringIncludes(help, "swiotlb> explain off");
  assertEquals(complete(s, "expl"), [["explain "], "expl"]);
  assertEquals(complete(s, "explain o")[0].sort(), ["off", "on"]);
});

Deno.test("explain on with trace on: each narration sits among the trace lines where it happened", () => {
  const s = new Session();
  run(s, ["explain on", "trace on"]);
  const text = runLine(s, "guest new --preset arm-dom0 --swiotlb 1M").output;
  const at = (p: string) => text.findIndex((l) => l.includes(p));
  for (let j = 0; j < 4; j++) {
    const tried = at(`fixup: segment ${j}: xen_create_contiguous_region`);
    const told = at(`explain: xen_dma_add_entry segment ${j} `);
    assert(tried >= 0 && tried < told, `segment ${j}: its exchange, then its insert`);
    if (j < 3) assert(told < at(`fixup: segment ${j + 1}: xen_create_contiguous_region`));
  }
});
