/**
 * Unit and property tests for lib/rbtree.ts: hand-computed shapes for every fix-up case,
 * navigation, lookups, fast-check properties, and a fixture of deliberately broken trees
 * (one test per defect, as drgn does). The interval layer is tested in
 * tests/swiotlb_xen_tree_test.ts.
 */

import { assert, assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  positionPath,
  type RbFixupStep,
  type RbNode,
  type RbProblem,
  RbTree,
  shape,
  type ValidateOptions,
} from "../lib/rbtree.ts";
import { type Interval, intervalKey, intervalOverlaps } from "../lib/swiotlb_xen/tree.ts";

const KIB = 1024;
const SEG = 256 * KIB;

function numTree(keys: number[]): { t: RbTree<number>; nodes: Map<number, RbNode<number>> } {
  const t = new RbTree<number>((a, b) => a < b);
  const nodes = new Map<number, RbNode<number>>();
  for (const k of keys) nodes.set(k, t.insert(k));
  return { t, nodes };
}

/**
 * Runs `f` and returns the fix-up cases it took, as "fn case N" with " (mirror)" for the
 * right-hand half (the link and the insert loop's Case 0 end are left out).
 */
function fixups<E>(t: RbTree<E>, f: () => void): string[] {
  const out: string[] = [];
  t.onFixup = (s) => {
    if (s.fn !== "rb_link_node" && s.case !== 0) out.push(caseCode(s));
  };
  try {
    f();
  } finally {
    t.onFixup = null;
  }
  return out;
}

function caseCode<E>(s: Exclude<RbFixupStep<E>, { fn: "rb_link_node" }>): string {
  return `${s.fn} case ${s.case}${s.mirror ? " (mirror)" : ""}`;
}

const ascending = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

// ---------------------------------------------------------------- shapes by hand

Deno.test("shape() of the empty tree is -", () => {
  assertEquals(shape(new RbTree<number>((a, b) => a < b), String), "-");
});

Deno.test("RbTree.insert() of 1..N ascending gives the hand-computed shapes", () => {
  const expected = [
    "1:B",
    "1:B(-,2:R)",
    "2:B(1:R,3:R)",
    "2:B(1:B,3:B(-,4:R))",
    "2:B(1:B,4:B(3:R,5:R))",
    "2:B(1:B,4:R(3:B,5:B(-,6:R)))",
    "2:B(1:B,4:R(3:B,6:B(5:R,7:R)))",
    "4:B(2:R(1:B,3:B),6:R(5:B,7:B(-,8:R)))",
  ];
  const t = new RbTree<number>((a, b) => a < b);
  expected.forEach((want, i) => {
    t.insert(i + 1);
    assertEquals(shape(t, String), want, `after inserting ${i + 1}`);
    assertEquals(t.size, i + 1);
    assertEquals(t.validate(), []);
  });
});

Deno.test("RbTree.insert() takes Case 1 then Case 3 (mirror) when 8 lands under 1..7", () => {
  const { t } = numTree(ascending(7));
  assertEquals(fixups(t, () => t.insert(8)), [
    "rb_insert_color case 1 (mirror)",
    "rb_insert_color case 3 (mirror)",
  ]);
  assertEquals(shape(t, String), "4:B(2:R(1:B,3:B),6:R(5:B,7:B(-,8:R)))");
});

Deno.test("RbTree.insert() takes Case 1 alone when the uncle is red", () => {
  const { t } = numTree([2, 1, 3]);
  assertEquals(fixups(t, () => t.insert(0)), ["rb_insert_color case 1"]);
  assertEquals(shape(t, String), "2:B(1:B(0:R,-),3:B)");
});

Deno.test("RbTree.insert() takes Case 2 then Case 3 for an inner grandchild", () => {
  const { t } = numTree([3, 1]);
  assertEquals(fixups(t, () => t.insert(2)), [
    "rb_insert_color case 2",
    "rb_insert_color case 3",
  ]);
  assertEquals(shape(t, String), "2:B(1:R,3:R)");
  const m = numTree([1, 3]).t;
  assertEquals(fixups(m, () => m.insert(2)), [
    "rb_insert_color case 2 (mirror)",
    "rb_insert_color case 3 (mirror)",
  ]);
  assertEquals(shape(m, String), "2:B(1:R,3:R)");
});

Deno.test("RbTree.insert() sends ties right, after the equal entries in order", () => {
  const t = new RbTree<{ k: number; id: string }>((a, b) => a.k < b.k);
  for (const id of ["a", "b", "c", "d"]) t.insert({ k: 1, id });
  t.insert({ k: 0, id: "z" });
  assertEquals(t.inorder().map((e) => e.id), ["z", "a", "b", "c", "d"]);
  assertEquals(t.validate(), []);
});

Deno.test("RbTree.erase() of a red leaf needs no fix-up", () => {
  const { t, nodes } = numTree(ascending(4));
  assertEquals(fixups(t, () => t.erase(nodes.get(4)!)), [
    "__rb_erase_augmented case 1",
  ]);
  assertEquals(shape(t, String), "2:B(1:B,3:B)");
});

Deno.test("RbTree.erase() erase Case 1 (red sibling) then Case 2 with a red parent", () => {
  const { t, nodes } = numTree(ascending(6));
  assertEquals(fixups(t, () => t.erase(nodes.get(1)!)), [
    "__rb_erase_augmented case 1",
    "____rb_erase_color case 1",
    "____rb_erase_color case 2",
  ]);
  assertEquals(shape(t, String), "4:B(2:B(-,3:R),5:B(-,6:R))");
  assertEquals(t.validate(), []);
});

Deno.test("RbTree.erase() erase Case 1 mirror on the descending tree", () => {
  const { t, nodes } = numTree(ascending(6).reverse());
  assertEquals(shape(t, String), "5:B(3:R(2:B(1:R,-),4:B),6:B)");
  assertEquals(fixups(t, () => t.erase(nodes.get(6)!)), [
    "__rb_erase_augmented case 1",
    "____rb_erase_color case 1 (mirror)",
    "____rb_erase_color case 2 (mirror)",
  ]);
  assertEquals(shape(t, String), "3:B(2:B(1:R,-),5:B(4:R,-))");
});

Deno.test("RbTree.erase() erase Case 2 with a red parent stops there", () => {
  const { t, nodes } = numTree(ascending(6));
  t.erase(nodes.get(6)!);
  assertEquals(shape(t, String), "2:B(1:B,4:R(3:B,5:B))");
  assertEquals(fixups(t, () => t.erase(nodes.get(3)!)), [
    "__rb_erase_augmented case 1",
    "____rb_erase_color case 2",
  ]);
  assertEquals(shape(t, String), "2:B(1:B,4:B(-,5:R))");
});

Deno.test("RbTree.erase() erase Case 2 with a black parent climbs to the root", () => {
  const { t, nodes } = numTree(ascending(4));
  t.erase(nodes.get(4)!);
  assertEquals(fixups(t, () => t.erase(nodes.get(1)!)), [
    "__rb_erase_augmented case 1",
    "____rb_erase_color case 2",
  ]);
  assertEquals(shape(t, String), "2:B(-,3:R)");
});

Deno.test("RbTree.erase() erase Case 3 turns into Case 4 (and mirror)", () => {
  const { t, nodes } = numTree([2, 1, 4, 3]);
  assertEquals(shape(t, String), "2:B(1:B,4:B(3:R,-))");
  assertEquals(fixups(t, () => t.erase(nodes.get(1)!)), [
    "__rb_erase_augmented case 1",
    "____rb_erase_color case 3",
    "____rb_erase_color case 4",
  ]);
  assertEquals(shape(t, String), "3:B(2:B,4:B)");

  const m = numTree([3, 4, 1, 2]);
  assertEquals(shape(m.t, String), "3:B(1:B(-,2:R),4:B)");
  assertEquals(fixups(m.t, () => m.t.erase(m.nodes.get(4)!)), [
    "__rb_erase_augmented case 1",
    "____rb_erase_color case 3 (mirror)",
    "____rb_erase_color case 4 (mirror)",
  ]);
  assertEquals(shape(m.t, String), "2:B(1:B,3:B)");
});

Deno.test("RbTree.erase() erase Case 4 alone when the far nephew is red", () => {
  const { t, nodes } = numTree(ascending(4));
  assertEquals(fixups(t, () => t.erase(nodes.get(1)!)), [
    "__rb_erase_augmented case 1",
    "____rb_erase_color case 4",
  ]);
  assertEquals(shape(t, String), "3:B(2:B,4:B)");
});

Deno.test("RbTree.erase() with a lone left child recolours it", () => {
  const { t, nodes } = numTree([2, 1, 3]);
  nodes.set(0, t.insert(0));
  assertEquals(shape(t, String), "2:B(1:B(0:R,-),3:B)");
  assertEquals(fixups(t, () => t.erase(nodes.get(1)!)), [
    "__rb_erase_augmented case 1 (mirror)",
  ]);
  assertEquals(shape(t, String), "2:B(0:B,3:B)");
});

Deno.test("RbTree.erase() of a node whose successor is its right child", () => {
  const { t, nodes } = numTree(ascending(4));
  assertEquals(fixups(t, () => t.erase(nodes.get(2)!)), [
    "__rb_erase_augmented case 2",
  ]);
  assertEquals(shape(t, String), "3:B(1:B,4:B)");
});

Deno.test("RbTree.erase() of a node whose successor is leftmost in its right subtree", () => {
  const { t, nodes } = numTree([2, 1, 4, 3]);
  assertEquals(fixups(t, () => t.erase(nodes.get(2)!)), [
    "__rb_erase_augmented case 3",
  ]);
  assertEquals(shape(t, String), "3:B(1:B,4:B)");

  const big = numTree(ascending(8));
  assertEquals(fixups(big.t, () => big.t.erase(big.nodes.get(4)!)), [
    "__rb_erase_augmented case 3",
    "____rb_erase_color case 4",
  ]);
  assertEquals(shape(big.t, String), "5:B(2:R(1:B,3:B),7:R(6:B,8:B))");
});

Deno.test("RbTree.erase() of every node empties the tree and refuses a second erase", () => {
  const { t, nodes } = numTree(ascending(20));
  for (const k of [7, 1, 20, 10, 2, 19, 3, 18, 4, 17, 5, 16, 6, 15, 8, 14, 9, 13, 11, 12]) {
    t.erase(nodes.get(k)!);
    assertEquals(t.validate(), []);
  }
  assertEquals(t.size, 0);
  assertStrictEquals(t.root, null);
  assertEquals(shape(t, String), "-");
  assertThrows(() => t.erase(nodes.get(7)!), Error, "not in a tree");
  assertEquals(t.size, 0);
});

Deno.test("RbTree.onFixup sees every insert and erase case, both mirrors, by its kernel case number", () => {
  // Each row: a tree built by inserting `keys`, one operation on it, and every branch the
  // operation takes as "fn case N", with " (mirror)" when the node hangs on the right.
  const rows: { keys: number[]; op: "insert" | "erase"; key: number; want: string[] }[] = [
    { keys: [2, 1, 3], op: "insert", key: 0, want: ["rb_insert_color case 1"] },
    {
      keys: [2, 1, 3],
      op: "insert",
      key: 4,
      want: ["rb_insert_color case 1 (mirror)"],
    },
    {
      keys: [3, 1],
      op: "insert",
      key: 2,
      want: [
        "rb_insert_color case 2",
        "rb_insert_color case 3",
      ],
    },
    {
      keys: [1, 3],
      op: "insert",
      key: 2,
      want: [
        "rb_insert_color case 2 (mirror)",
        "rb_insert_color case 3 (mirror)",
      ],
    },
    {
      keys: [1, 2, 3, 4],
      op: "erase",
      key: 4,
      want: ["__rb_erase_augmented case 1"],
    },
    {
      keys: [2, 1, 3, 0],
      op: "erase",
      key: 1,
      want: [
        "__rb_erase_augmented case 1 (mirror)",
      ],
    },
    {
      keys: [1, 2, 3, 4],
      op: "erase",
      key: 2,
      want: ["__rb_erase_augmented case 2"],
    },
    {
      keys: [2, 1, 4, 3],
      op: "erase",
      key: 2,
      want: [
        "__rb_erase_augmented case 3",
      ],
    },
    {
      keys: [1, 2, 3, 4, 5, 6],
      op: "erase",
      key: 1,
      want: [
        "__rb_erase_augmented case 1",
        "____rb_erase_color case 1",
        "____rb_erase_color case 2",
      ],
    },
    {
      keys: [6, 5, 4, 3, 2, 1],
      op: "erase",
      key: 6,
      want: [
        "__rb_erase_augmented case 1",
        "____rb_erase_color case 1 (mirror)",
        "____rb_erase_color case 2 (mirror)",
      ],
    },
    {
      keys: [2, 1, 4, 3],
      op: "erase",
      key: 1,
      want: [
        "__rb_erase_augmented case 1",
        "____rb_erase_color case 3",
        "____rb_erase_color case 4",
      ],
    },
    {
      keys: [3, 4, 1, 2],
      op: "erase",
      key: 4,
      want: [
        "__rb_erase_augmented case 1",
        "____rb_erase_color case 3 (mirror)",
        "____rb_erase_color case 4 (mirror)",
      ],
    },
  ];
  const seen = new Set<string>();
  for (const { keys, op, key, want } of rows) {
    const { t, nodes } = numTree(keys);
    const got: string[] = [];
    t.onFixup = (s) => {
      if (s.fn !== "rb_link_node" && s.case !== 0) got.push(caseCode(s));
    };
    if (op === "insert") t.insert(key);
    else t.erase(nodes.get(key)!);
    t.onFixup = null;
    assertEquals(got, want, `${op} ${key} into [${keys}]`);
    assertEquals(t.validate(), []);
    for (const g of got) seen.add(g);
  }
  // Every branch of the three kernel functions, each side once.
  assertEquals([...seen].sort(), [
    "____rb_erase_color case 1",
    "____rb_erase_color case 1 (mirror)",
    "____rb_erase_color case 2",
    "____rb_erase_color case 2 (mirror)",
    "____rb_erase_color case 3",
    "____rb_erase_color case 3 (mirror)",
    "____rb_erase_color case 4",
    "____rb_erase_color case 4 (mirror)",
    "__rb_erase_augmented case 1",
    "__rb_erase_augmented case 1 (mirror)",
    "__rb_erase_augmented case 2",
    "__rb_erase_augmented case 3",
    "rb_insert_color case 1",
    "rb_insert_color case 1 (mirror)",
    "rb_insert_color case 2",
    "rb_insert_color case 2 (mirror)",
    "rb_insert_color case 3",
    "rb_insert_color case 3 (mirror)",
  ]);
});

Deno.test("RbTree.onFixup names the nodes of each case as they are before it acts", () => {
  // "fn case [mirror] role=keyColour …" in the step's own field order; "-" for null.
  const roles = (s: RbFixupStep<number>): string => {
    const head = s.fn === "rb_link_node" ? s.fn : `${s.fn} ${s.case}${s.mirror ? " mirror" : ""}`;
    const parts = Object.entries(s)
      .filter(([k]) => !["fn", "case", "mirror"].includes(k))
      .map(([k, v]) => {
        const n = v as RbNode<number> | null;
        return `${k}=${n === null ? "-" : `${n.entry}${n.color === "red" ? "R" : "B"}`}`;
      });
    return [head, ...parts].join(" ");
  };
  const rows: { keys: number[]; op: "insert" | "erase"; key: number; want: string[] }[] = [
    // 2B(1R,3R) + 0: red uncle, then the climb ends at the root.
    {
      keys: [2, 1, 3],
      op: "insert",
      key: 0,
      want: [
        "rb_link_node node=0R parent=1R",
        "rb_insert_color 1 node=0R parent=1R gparent=2B uncle=3R",
        "rb_insert_color 0 node=2R parent=- gparent=- uncle=-",
      ],
    },
    // A black parent: the loop ends at once.
    {
      keys: [2],
      op: "insert",
      key: 1,
      want: [
        "rb_link_node node=1R parent=2B",
        "rb_insert_color 0 node=1R parent=2B gparent=- uncle=-",
      ],
    },
    // 3B(1R,-) + 2: the inner grandchild turns outer; Case 3 then names the old parent.
    {
      keys: [3, 1],
      op: "insert",
      key: 2,
      want: [
        "rb_link_node node=2R parent=1R",
        "rb_insert_color 2 node=2R parent=1R gparent=3B uncle=-",
        "rb_insert_color 3 node=1R parent=2R gparent=3B uncle=-",
      ],
    },
    {
      keys: [1, 3],
      op: "insert",
      key: 2,
      want: [
        "rb_link_node node=2R parent=3R",
        "rb_insert_color 2 mirror node=2R parent=3R gparent=1B uncle=-",
        "rb_insert_color 3 mirror node=3R parent=2R gparent=1B uncle=-",
      ],
    },
    // 2B(1B,3B(-,4R)) − 4: a red leaf, nothing to rebalance.
    {
      keys: [1, 2, 3, 4],
      op: "erase",
      key: 4,
      want: ["__rb_erase_augmented 1 node=4R successor=- child=- rebalance=-"],
    },
    // 2B(1B(0R,-),3B) − 1: the left child takes its place.
    {
      keys: [2, 1, 3, 0],
      op: "erase",
      key: 1,
      want: ["__rb_erase_augmented 1 mirror node=1B successor=- child=0R rebalance=-"],
    },
    // 2B(1B,3B(-,4R)) − 2: the right child succeeds, its red child is painted black.
    {
      keys: [1, 2, 3, 4],
      op: "erase",
      key: 2,
      want: ["__rb_erase_augmented 2 node=2B successor=3B child=4R rebalance=-"],
    },
    // 2B(1B,4B(3R,-)) − 2: the leftmost of the right subtree succeeds.
    {
      keys: [2, 1, 4, 3],
      op: "erase",
      key: 2,
      want: ["__rb_erase_augmented 3 node=2B successor=3R child=- rebalance=-"],
    },
    // 2B(1B,4B(3R,-)) − 1: a black leaf; red near nephew 3, then 4 is the far nephew.
    {
      keys: [2, 1, 4, 3],
      op: "erase",
      key: 1,
      want: [
        "__rb_erase_augmented 1 node=1B successor=- child=- rebalance=2B",
        "____rb_erase_color 3 parent=2B node=- sibling=4B nephew=3R",
        "____rb_erase_color 4 parent=2B node=- sibling=3R nephew=4B",
      ],
    },
    // 2B(1B,4R(3B,5B(-,6R))) − 1: a red sibling rotates up, then p (red) takes the flip.
    {
      keys: [1, 2, 3, 4, 5, 6],
      op: "erase",
      key: 1,
      want: [
        "__rb_erase_augmented 1 node=1B successor=- child=- rebalance=2B",
        "____rb_erase_color 1 parent=2B node=- sibling=4R nephew=-",
        "____rb_erase_color 2 parent=2R node=- sibling=3B nephew=-",
      ],
    },
  ];
  for (const { keys, op, key, want } of rows) {
    const { t, nodes } = numTree(keys);
    const got: string[] = [];
    t.onFixup = (s) => got.push(roles(s));
    if (op === "insert") t.insert(key);
    else t.erase(nodes.get(key)!);
    t.onFixup = null;
    assertEquals(got, want, `${op} ${key} into [${keys}]`);
  }
});

// ---------------------------------------------------------------- navigation

Deno.test("RbTree.first/last/next/prev walk the tree in order", () => {
  const keys = [50, 20, 80, 10, 30, 70, 90, 25, 35, 75];
  const { t, nodes } = numTree(keys);
  const sorted = [...keys].sort((a, b) => a - b);
  assertEquals(t.first()!.entry, 10);
  assertEquals(t.last()!.entry, 90);
  const fwd: number[] = [];
  for (let n = t.first(); n !== null; n = t.next(n)) fwd.push(n.entry);
  assertEquals(fwd, sorted);
  const back: number[] = [];
  for (let n = t.last(); n !== null; n = t.prev(n)) back.push(n.entry);
  assertEquals(back, [...sorted].reverse());
  assertEquals([...t], sorted);
  assertEquals(t.inorder(), sorted);
  assertEquals(t.next(nodes.get(35)!)!.entry, 50);
  assertEquals(t.prev(nodes.get(70)!)!.entry, 50);
  const gone = nodes.get(30)!;
  t.erase(gone);
  assertStrictEquals(t.next(gone), null);
  assertStrictEquals(t.prev(gone), null);
});

Deno.test("RbTree.first/last of the empty tree are null", () => {
  const t = new RbTree<number>((a, b) => a < b);
  assertStrictEquals(t.first(), null);
  assertStrictEquals(t.last(), null);
  assertEquals([...t], []);
  assertEquals(t.height(), 0);
  assertEquals(t.preorder(), []);
});

Deno.test("RbTree.preorder/height/positionPath describe the tree", () => {
  const { t, nodes } = numTree(ascending(8));
  assertEquals(t.preorder().map((p) => `${p.entry}${p.color === "red" ? "r" : "B"}`), [
    "4B",
    "2r",
    "1B",
    "3B",
    "6r",
    "5B",
    "7B",
    "8r",
  ]);
  assertEquals(t.height(), 4);
  assertEquals(positionPath(nodes.get(4)!), "root");
  assertEquals(positionPath(nodes.get(2)!), "root/l");
  assertEquals(positionPath(nodes.get(3)!), "root/l/r");
  assertEquals(positionPath(nodes.get(8)!), "root/r/r/r");
  t.erase(nodes.get(8)!);
  assertEquals(positionPath(nodes.get(8)!), "(erased)");
});

Deno.test("RbTree.find descends by the predicate", () => {
  const { t, nodes } = numTree([50, 20, 80, 10, 30, 70, 90]);
  const by = (k: number) => (e: number) => (k < e ? -1 : k > e ? 1 : 0);
  assertStrictEquals(t.find(by(30)), nodes.get(30));
  assertStrictEquals(t.find(by(50)), nodes.get(50));
  assertStrictEquals(t.find(by(31)), null);
  assertStrictEquals(new RbTree<number>((a, b) => a < b).find(by(1)), null);
  // "Smallest key >= 25" style descents work too: the predicate sees each entry once.
  const visited: number[] = [];
  t.find((e) => {
    visited.push(e);
    return 25 < e ? -1 : 1;
  });
  assertEquals(visited, [50, 20, 30]);
});

// ---------------------------------------------------------------- properties

interface Keyed {
  key: number;
  id: number;
}

interface Model {
  entries: Keyed[];
  nextId: number;
}

interface Real {
  tree: RbTree<Keyed>;
  nodes: Map<Keyed, RbNode<Keyed>>;
}

function checkAgainstModel(m: Model, r: Real): void {
  assertEquals(r.tree.validate(), []);
  assertEquals(r.tree.size, m.entries.length);
  assertEquals(r.tree.inorder().map((e) => e.id), m.entries.map((e) => e.id));
}

class InsertCommand implements fc.Command<Model, Real> {
  constructor(readonly key: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const e = { key: this.key, id: m.nextId++ };
    // Ties go right: the new entry follows every equal one in order (upper bound).
    let i = 0;
    while (i < m.entries.length && m.entries[i].key <= e.key) i++;
    m.entries.splice(i, 0, e);
    r.nodes.set(e, r.tree.insert(e));
    checkAgainstModel(m, r);
  }
  toString(): string {
    return `insert(${this.key})`;
  }
}

class EraseCommand implements fc.Command<Model, Real> {
  constructor(readonly pick: number) {}
  check(m: Readonly<Model>): boolean {
    return m.entries.length > 0;
  }
  run(m: Model, r: Real): void {
    const [e] = m.entries.splice(this.pick % m.entries.length, 1);
    r.tree.erase(r.nodes.get(e)!);
    r.nodes.delete(e);
    checkAgainstModel(m, r);
  }
  toString(): string {
    return `erase(#${this.pick})`;
  }
}

Deno.test("RbTree stays valid and sorted like a model over random insert/erase", () => {
  fc.assert(
    fc.property(
      fc.commands(
        [
          fc.integer({ min: 0, max: 40 }).map((k) => new InsertCommand(k)),
          fc.nat().map((p) => new EraseCommand(p)),
        ],
        { maxCommands: 300 },
      ),
      (cmds) => {
        fc.modelRun(() => ({
          model: { entries: [], nextId: 0 },
          real: { tree: new RbTree<Keyed>((a, b) => a.key < b.key), nodes: new Map() },
        }), cmds);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("RbTree height stays within 2·log2(n+1) for random sequences", () => {
  fc.assert(
    fc.property(fc.array(fc.integer(), { maxLength: 2000 }), (keys) => {
      const t = new RbTree<number>((a, b) => a < b);
      for (const k of keys) t.insert(k);
      assert(t.height() <= 2 * Math.log2(t.size + 1));
    }),
    { numRuns: 50 },
  );
});

/** True when `b` is the mirror image of `a`: same entries and colours, sides swapped. */
function mirrored<E>(a: RbNode<E> | null, b: RbNode<E> | null): boolean {
  if (a === null || b === null) return a === b;
  return a.entry === b.entry && a.color === b.color && mirrored(a.left, b.right) &&
    mirrored(a.right, b.left);
}

Deno.test("RbTree under the reversed order mirrors inserts and one-child erases exactly", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 63 }), { maxLength: 400 }), (keys) => {
      const up = new RbTree<number>((a, b) => a < b);
      const down = new RbTree<number>((a, b) => a > b);
      const present = new Map<number, [RbNode<number>, RbNode<number>]>();
      for (const k of keys) {
        const pair = present.get(k);
        // Erasing a node with two children is not mirror-symmetric: both trees take the
        // in-order successor (one the next larger key, the other the next smaller). Leave
        // such nodes in; every other erase and all inserts must mirror exactly.
        if (pair && (pair[0].left === null || pair[0].right === null)) {
          up.erase(pair[0]);
          down.erase(pair[1]);
          present.delete(k);
        } else if (!pair) {
          present.set(k, [up.insert(k), down.insert(k)]);
        }
        assert(mirrored(up.root, down.root), `after toggling ${k}`);
      }
    }),
    { numRuns: 200 },
  );
});

Deno.test("RbTree.validate() notices any single colour flip", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 100 }),
      fc.nat(),
      (keys, pick) => {
        const { t } = numTree(keys);
        const victim = t.preorder()[pick % keys.length].entry;
        const n = t.find((e) => (victim < e ? -1 : victim > e ? 1 : 0))!;
        n.color = n.color === "red" ? "black" : "red";
        assert(t.validate().length > 0);
      },
    ),
  );
});

// ---------------------------------------------------------------- broken trees

// One test per defect: build a valid tree, break exactly one thing by hand, and check
// that validate() names the rule, the path and entry of the node, and a message that
// names the node as `<key> at <path>`.

/** The validator's default name for an entry (JSON, else String()). */
function jsonKey(e: unknown): string {
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}

/**
 * `t.validate(opts)`, after checking what every problem must satisfy: the message starts
 * with the rule and names the problem's node at its path; a problem about no node has
 * path "".
 */
function problems<E>(t: RbTree<E>, opts: ValidateOptions<E> = {}): RbProblem<E>[] {
  const key = opts.key ?? jsonKey;
  const got = t.validate(opts);
  for (const p of got) {
    assert(p.message.startsWith(`${p.rule}: `), p.message);
    if (p.node === null) assertEquals(p.path, "", p.message);
    else assert(p.message.includes(` ${key(p.node)} at ${p.path}`), p.message);
  }
  return got;
}

Deno.test("RbTree.validate() of a valid tree is []", () => {
  assertEquals(numTree(ascending(100)).t.validate(), []);
  assertEquals(new RbTree<number>((a, b) => a < b).validate(), []);
});

Deno.test("RbTree.validate() names a red root", () => {
  const { t } = numTree([1]);
  t.root!.color = "red";
  assertEquals(problems(t), [{
    rule: "black root",
    path: "root",
    node: 1,
    message: "black root: root node 1 at root is red",
  }]);
});

Deno.test("RbTree.validate() names both nodes of a red-red pair, at the child", () => {
  const { t, nodes } = numTree([2, 1, 3, 0]);
  // 2:B(1:B(0:R,-),3:B) -> 2:B(1:R(0:R,-),3:R): black heights still agree.
  nodes.get(1)!.color = "red";
  nodes.get(3)!.color = "red";
  assertEquals(problems(t), [{
    rule: "red-red",
    path: "root/l/l",
    node: 0,
    message: "red-red: red node 1 at root/l has red left child 0 at root/l/l",
  }]);
});

Deno.test("RbTree.validate() names the node whose subtrees have unequal black heights", () => {
  const { t, nodes } = numTree([2, 1, 3]);
  nodes.get(3)!.color = "black";
  assertEquals(problems(t), [{
    rule: "black height",
    path: "root",
    node: 2,
    message: "black height: node 2 at root has 0 black nodes on paths through its left " +
      "subtree but 1 through its right",
  }]);
  // A defect deep down is reported once, at the lowest node where the counts differ.
  const big = numTree(ascending(8));
  big.nodes.get(8)!.color = "black";
  assertEquals(problems(big.t), [{
    rule: "black height",
    path: "root/r/r",
    node: 7,
    message: "black height: node 7 at root/r/r has 0 black nodes on paths through its left " +
      "subtree but 1 through its right",
  }]);
});

Deno.test("RbTree.validate() names the node that is out of order", () => {
  const t = new RbTree<{ k: number }>((a, b) => a.k < b.k);
  const key = (e: { k: number }) => String(e.k);
  const nodes = [10, 5, 15, 1, 7].map((k) => t.insert({ k }));
  assertEquals(t.validate({ key }), []);
  // 7 sits at root/l/r; making it 12 puts it in 10's left subtree but above 10.
  (nodes[4].entry as { k: number }).k = 12;
  assertEquals(problems(t, { key }), [{
    rule: "order",
    path: "root/l/r",
    node: nodes[4].entry,
    message: "order: node 12 at root/l/r is in the left subtree of 10 at root but greater than it",
  }]);
  (nodes[4].entry as { k: number }).k = 3;
  assertEquals(problems(t, { key }), [{
    rule: "order",
    path: "root/l/r",
    node: nodes[4].entry,
    message: "order: node 3 at root/l/r is in the right subtree of 5 at root/l but less than it",
  }]);
});

Deno.test("RbTree.validate() names the node with a wrong parent pointer", () => {
  const { t, nodes } = numTree([2, 1, 3]);
  nodes.get(1)!.parent = nodes.get(3)!;
  assertEquals(problems(t), [{
    rule: "parent link",
    path: "root/l",
    node: 1,
    message: "parent link: node 2 at root has left child 1 at root/l whose parent pointer is 3",
  }]);
  nodes.get(1)!.parent = nodes.get(2)!;
  nodes.get(2)!.parent = nodes.get(1)!;
  assertEquals(problems(t), [{
    rule: "parent link",
    path: "root",
    node: 2,
    message: "parent link: root node 2 at root has parent pointer 1 (must be null)",
  }]);
});

Deno.test("RbTree.validate({ unique: true }) names equal keys, at the later one", () => {
  const { t } = numTree([1, 1]);
  assertEquals(t.validate(), []);
  assertEquals(problems(t, { unique: true }), [{
    rule: "equal keys",
    path: "root/r",
    node: 1,
    message: "equal keys: node 1 at root and node 1 at root/r compare equal",
  }]);
  const s = new RbTree<Interval>((a, b) => a.dmaAddr < b.dmaAddr);
  s.insert({ dmaAddr: 0x40000, physAddr: 0x0, size: SEG });
  const second = s.insert({ dmaAddr: 0x40000, physAddr: 0x40000, size: SEG });
  assertEquals(problems(s, { unique: true, key: intervalKey }), [{
    rule: "equal keys",
    path: "root/r",
    node: second.entry,
    message: "equal keys: node dma=0x40000 phys=0x0 at root and node dma=0x40000 " +
      "phys=0x40000 at root/r compare equal",
  }]);
  assertEquals(intervalOverlaps(s).length, 1);
});

Deno.test("RbTree.validate() names a node with an impossible colour", () => {
  const { t, nodes } = numTree([2, 1, 3]);
  (nodes.get(3) as { color: string }).color = "green";
  // Not black, so it counts like red: black heights still agree and only the colour is named.
  assertEquals(problems(t), [{
    rule: "color",
    path: "root/r",
    node: 3,
    message: 'color: node 3 at root/r has colour "green"',
  }]);
});

Deno.test("RbTree.validate() names entries by JSON, else String(), or by the caller's key", () => {
  const objs = new RbTree<{ k: number }>((a, b) => a.k < b.k);
  objs.insert({ k: 7 }).color = "red";
  assertEquals(problems(objs).map((p) => p.message), [
    'black root: root node {"k":7} at root is red',
  ]);
  const segs = new RbTree<Interval>((a, b) => a.dmaAddr < b.dmaAddr);
  segs.insert({ dmaAddr: 0xfff40000, physAddr: 0x8000_0000, size: SEG }).color = "red";
  // The tree knows nothing of intervals: JSON by default, swiotlb-xen passes intervalKey.
  assertEquals(problems(segs).map((p) => p.message), [
    'black root: root node {"dmaAddr":4294180864,"physAddr":2147483648,"size":262144} at root ' +
    "is red",
  ]);
  assertEquals(problems(segs, { key: intervalKey }).map((p) => p.message), [
    "black root: root node dma=0xfff40000 phys=0x80000000 at root is red",
  ]);
  const big = new RbTree<bigint>((a, b) => a < b);
  big.insert(5n).color = "red";
  assertEquals(problems(big).map((p) => p.message), ["black root: root node 5 at root is red"]);
});

Deno.test("RbTree.validate() survives a cycle and a miscounted tree", () => {
  const { t, nodes } = numTree([2, 1, 3]);
  nodes.get(1)!.left = nodes.get(2)!;
  const cyc = problems(t);
  assertEquals(cyc.filter((p) => p.rule === "cycle"), [{
    rule: "cycle",
    path: "root/l",
    node: 1,
    message: "cycle: node 1 at root/l has left child 2 seen above",
  }]);
  nodes.get(1)!.left = null;
  nodes.get(2)!.right = null;
  assertEquals(problems(t).filter((p) => p.rule === "size"), [{
    rule: "size",
    path: "",
    node: null,
    message: "size: the tree counts 3 nodes but 2 are reachable",
  }]);
});
