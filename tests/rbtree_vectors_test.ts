/**
 * Replays every sequence of `tests/fixtures/rbtree.json` (recorded from Linux 3.11's own
 * lib/rbtree.c, see /work/shared/vectors/README.md) and checks the shape and colours after
 * EVERY operation (SPEC §11: the tree must be kernel-exact).
 */

import { assertEquals } from "@std/assert";
import { RbTree, shape } from "../lib/rbtree.ts";

interface VectorOp {
  op: "insert" | "erase";
  key: number;
}

interface VectorCase {
  name: string;
  ops: VectorOp[];
  after: string[];
}

const cases: VectorCase[] = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/rbtree.json", import.meta.url)),
);

Deno.test("rbtree.json holds the 12 sequences and 3,330 operations the README lists", () => {
  assertEquals(cases.length, 12);
  assertEquals(cases.reduce((sum, c) => sum + c.ops.length, 0), 3330);
  for (const c of cases) assertEquals(c.after.length, c.ops.length, c.name);
});

for (const c of cases) {
  Deno.test(`RbTree matches Linux 3.11 after every op of ${c.name}`, () => {
    const t = new RbTree<number>((a, b) => a < b);
    c.ops.forEach((o, i) => {
      const where = `${c.name} op ${i} (${o.op} ${o.key})`;
      if (o.op === "insert") {
        t.insert(o.key);
      } else {
        // Erase is by key: find the node holding it, as the kernel's callers do.
        const n = t.find((e) => (o.key < e ? -1 : o.key > e ? 1 : 0));
        if (n === null) throw new Error(`${where}: key not in the tree`);
        t.erase(n);
      }
      assertEquals(shape(t, String), c.after[i], where);
      assertEquals(t.validate(), [], where);
    });
  });
}
