/**
 * Differential test of the machine's owner and m2p tables and each guest's p2m (run
 * tables, lib/xen/_runs.ts) against a dense model: one plain array entry per frame and
 * per page, updated by the model's own reading of SPEC §4 — the buddy allocator's choice
 * found by brute force (the lowest naturally aligned free extent under the limit, the
 * highest with no limit), XENMEM_exchange chunk by chunk, guests built from the top of
 * free memory. Random builds, destroys, exchanges, allocations, claims and frees on a
 * machine of a few 4096-frame chunks and a short last one, checked frame by frame after
 * every step.
 */

import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { LabError } from "../lib/errors.ts";
import { type Domain, DOMID_XEN, exchange, FREE, Machine, Xen } from "../lib/xen/mod.ts";

/** 4 chunks of 4096 frames and 1000 more: chunk edges and a short last chunk. */
const FRAMES = 4 * 4096 + 1000;
/** Owners of the machine-level extents the test takes itself. */
const ALLOC_OWNER = 77;
const CLAIM_OWNER = 78;
const NONE = -1;

type Layout = "contiguous" | "fragmented" | "reverse";
type Op =
  | { kind: "build"; layout: Layout; pages: number; auto: boolean }
  | { kind: "destroy"; pick: number }
  | {
    kind: "exchange";
    pick: number;
    at: number;
    inOrder: number;
    outOrder: number;
    chunks: number;
    stride: number;
    bits: number;
  }
  | { kind: "alloc"; order: number; bits: number; top: boolean }
  | { kind: "claim"; at: number; count: number }
  | { kind: "free"; pick: number };

const BITS = [0, 0, 16, 22, 24, 25, 26, 27];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("build" as const),
      layout: fc.constantFrom<Layout>("contiguous", "fragmented", "reverse"),
      pages: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1000, max: 7000 })),
      auto: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("destroy" as const), pick: fc.nat() }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("exchange" as const),
      pick: fc.nat(),
      at: fc.nat(),
      inOrder: fc.integer({ min: 0, max: 2 }),
      outOrder: fc.integer({ min: 0, max: 9 }),
      chunks: fc.integer({ min: 1, max: 3 }),
      // 1: consecutive extents; 0 repeats a pfn (refused); larger ones spread out.
      stride: fc.constantFrom(1, 1, 0, 3),
      bits: fc.constantFrom(...BITS),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("alloc" as const),
      order: fc.integer({ min: 0, max: 12 }),
      bits: fc.constantFrom(...BITS),
      top: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("claim" as const),
      at: fc.nat({ max: FRAMES - 1 }),
      count: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 4000, max: 5000 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }) },
);

/** The dense model: what every frame and page should read. */
class Model {
  readonly owner = new Int32Array(FRAMES).fill(FREE);
  readonly m2p = new Int32Array(FRAMES).fill(NONE);
  readonly p2m = new Map<number, Int32Array>();

  constructor(reservedFrames: number) {
    this.owner.fill(DOMID_XEN, 0, reservedFrames);
  }

  /** 2^bits in frames, capped at the machine; 0 bits = no limit. */
  limit(bits: number): number {
    return bits === 0 ? FRAMES : bits < 12 ? 0 : Math.min(FRAMES, 2 ** (bits - 12));
  }

  isFree(mfn: number, count: number): boolean {
    for (let f = mfn; f < mfn + count; f++) if (this.owner[f] !== FREE) return false;
    return true;
  }

  /** The buddy allocator's answer by brute force (SPEC §4). */
  alloc(order: number, bits: number, top: boolean, owner: number): number | undefined {
    const size = 2 ** order;
    const limit = this.limit(bits);
    const last = Math.floor((limit - size) / size) * size;
    for (let i = 0; i * size <= last; i++) {
      const s = top ? last - i * size : i * size;
      if (this.isFree(s, size)) {
        this.owner.fill(owner, s, s + size);
        return s;
      }
    }
    return undefined;
  }

  free(mfn: number, count: number): void {
    this.owner.fill(FREE, mfn, mfn + count);
    this.m2p.fill(NONE, mfn, mfn + count);
  }

  /** Free frames from the top down, as ascending runs, `count` in all (or undefined). */
  topFreeRuns(count: number): { mfn: number; count: number }[] | undefined {
    const runs: { mfn: number; count: number }[] = [];
    let need = count;
    for (let f = FRAMES - 1; f >= 0 && need > 0; f--) {
      if (this.owner[f] !== FREE) continue;
      const last = runs.at(-1);
      if (last && last.mfn === f + 1) {
        last.mfn = f;
        last.count++;
      } else runs.push({ mfn: f, count: 1 });
      need--;
    }
    return need === 0 ? runs.reverse() : undefined;
  }

  topFreeContiguous(count: number): number | undefined {
    let run = 0;
    for (let f = FRAMES - 1; f >= 0; f--) {
      run = this.owner[f] === FREE ? run + 1 : 0;
      if (run === count) return f;
    }
    return undefined;
  }

  firstTaken(mfn: number, count: number): number | undefined {
    for (let f = mfn; f < mfn + count; f++) if (this.owner[f] !== FREE) return f;
    return undefined;
  }
}

/** Contiguity runs of a dense p2m, the way Domain.contiguityRuns reports them. */
function runsOf(p2m: Int32Array): { pfn: number; mfn: number; count: number }[] {
  const runs: { pfn: number; mfn: number; count: number }[] = [];
  for (let pfn = 0; pfn < p2m.length; pfn++) {
    const last = runs.at(-1);
    if (last && p2m[pfn] === last.mfn + last.count) last.count++;
    else runs.push({ pfn, mfn: p2m[pfn], count: 1 });
  }
  return runs;
}

/** Every frame's owner and m2p entry, every page's p2m entry and run, and the searches. */
function check(xen: Xen, model: Model, doms: Domain[], step: string): void {
  const m = xen.machine;
  for (let f = 0; f < FRAMES; f++) {
    const got = { f, owner: m.owner(f), m2p: m.m2p(f) ?? NONE };
    const want = { f, owner: model.owner[f], m2p: model.m2p[f] };
    if (got.owner !== want.owner || got.m2p !== want.m2p) assertEquals(got, want, step);
  }
  for (const dom of doms) {
    const want = model.p2m.get(dom.domid)!;
    for (let pfn = 0; pfn < dom.nrPages; pfn++) {
      if (dom.pfnToMfn(pfn) !== want[pfn]) {
        assertEquals({ pfn, mfn: dom.pfnToMfn(pfn) }, { pfn, mfn: want[pfn] }, step);
      }
    }
    assertEquals(dom.contiguityRuns(0, dom.nrPages), runsOf(want), step);
    const mid = Math.floor(dom.nrPages / 2);
    const span = Math.min(dom.nrPages - mid, 70);
    let contiguous = true;
    for (let p = mid; p < mid + span - 1; p++) contiguous &&= want[p + 1] === want[p] + 1;
    assertEquals(dom.isMachineContiguous(mid * 4096, span * 4096), contiguous, step);
  }
  for (const count of [1, 64, 3000, 4097]) {
    assertEquals(m.topFreeContiguous(count), model.topFreeContiguous(count), `${step}: ${count}`);
    assertEquals(m.topFreeRuns(count), model.topFreeRuns(count), `${step}: ${count}`);
  }
  for (const [at, count] of [[0, FRAMES], [4090, 10], [FRAMES - 1100, 1100]]) {
    assertEquals(m.firstTaken(at, count), model.firstTaken(at, count), step);
  }
  assertEquals(m.freeFrames(), model.owner.filter((o) => o === FREE).length, step);
}

/** Builds a guest in the engine and the model; both agree on whether it fits. */
function build(xen: Xen, model: Model, op: Op & { kind: "build" }): Domain | undefined {
  const { layout, pages, auto } = op;
  const free = model.topFreeRuns(pages);
  const top = model.topFreeContiguous(pages);
  const cfg = {
    nrPages: pages,
    autotranslate: auto,
    iommu: false,
    dom0: false,
    arch: "x86" as const,
    layout,
  };
  if (layout === "contiguous" ? top === undefined : free === undefined) {
    assertThrows(() => xen.createDomain(cfg), LabError, "Cannot build");
    return undefined;
  }
  const dom = xen.createDomain(cfg);
  const want = new Int32Array(pages);
  if (layout === "contiguous") {
    for (let i = 0; i < pages; i++) want[i] = top! + i;
  } else {
    const frames = free!.flatMap((r) => Array.from({ length: r.count }, (_, k) => r.mfn + k));
    if (layout === "reverse") frames.reverse().forEach((f, i) => (want[i] = f));
    else {
      // The shuffle is the engine's (seeded, tested in xen_domain_test.ts); the model
      // checks what it must be: a permutation of the top free frames.
      for (let i = 0; i < pages; i++) want[i] = dom.pfnToMfn(i);
      assertEquals([...want].sort((a, b) => a - b), frames);
    }
  }
  want.forEach((mfn, pfn) => {
    model.owner[mfn] = dom.domid;
    model.m2p[mfn] = pfn;
  });
  model.p2m.set(dom.domid, want);
  return dom;
}

/** XENMEM_exchange in the model, chunk by chunk (SPEC §4); compared with the engine's. */
function modelExchange(
  model: Model,
  dom: Domain,
  inPfns: number[],
  inOrder: number,
  outOrder: number,
  bits: number,
): { nrExchanged: number; outMfns: number[]; failed: boolean } {
  const p2m = model.p2m.get(dom.domid)!;
  const inPer = outOrder > inOrder ? 2 ** (outOrder - inOrder) : 1;
  const outPer = inOrder > outOrder ? 2 ** (inOrder - outOrder) : 1;
  const outMfns: number[] = [];
  for (let k = 0; k < inPfns.length / inPer; k++) {
    const stop = { nrExchanged: k * inPer, outMfns, failed: true };
    const pfns: number[] = [];
    for (const first of inPfns.slice(k * inPer, (k + 1) * inPer)) {
      if (first + 2 ** inOrder > dom.nrPages) return stop;
      for (let p = first; p < first + 2 ** inOrder; p++) pfns.push(p);
    }
    if (new Set(pfns).size !== pfns.length) return stop;
    const old = pfns.map((p) => p2m[p]);
    const extents: number[] = [];
    for (let o = 0; o < outPer; o++) {
      const mfn = model.alloc(outOrder, bits, bits === 0, dom.domid);
      if (mfn === undefined) {
        for (const got of extents) model.free(got, 2 ** outOrder);
        return stop;
      }
      extents.push(mfn);
    }
    let i = 0;
    for (const first of extents) {
      for (let f = first; f < first + 2 ** outOrder; f++) {
        p2m[pfns[i]] = f;
        model.m2p[f] = pfns[i++];
      }
    }
    for (const mfn of old) model.free(mfn, 1);
    outMfns.push(...extents);
  }
  return { nrExchanged: inPfns.length, outMfns, failed: false };
}

Deno.test("run-length owner, m2p and p2m read exactly as a dense model over random sequences", () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 10, maxLength: 30 }), (ops) => {
      const xen = new Xen({ machineBytes: FRAMES * 4096, seed: 3 });
      const model = new Model(256); // Xen keeps the low 1 MiB
      const doms: Domain[] = [];
      const held: { mfn: number; count: number; order?: number }[] = [];
      check(xen, model, doms, "a new machine");
      ops.forEach((op, n) => {
        const step = `step ${n}: ${JSON.stringify(op)}`;
        if (op.kind === "build") {
          const dom = build(xen, model, op);
          if (dom) doms.push(dom);
        } else if (op.kind === "destroy" && doms.length > 0) {
          const [dom] = doms.splice(op.pick % doms.length, 1);
          for (const mfn of model.p2m.get(dom.domid)!) model.free(mfn, 1);
          model.p2m.delete(dom.domid);
          xen.destroyDomain(dom);
        } else if (op.kind === "exchange" && doms.length > 0) {
          const dom = doms[op.pick % doms.length];
          const inPer = op.outOrder > op.inOrder ? 2 ** (op.outOrder - op.inOrder) : 1;
          const count = inPer * op.chunks;
          const first = op.at % dom.nrPages;
          const inPfns = Array.from(
            { length: count },
            (_, e) => first + e * op.stride * 2 ** op.inOrder,
          );
          const want = modelExchange(model, dom, inPfns, op.inOrder, op.outOrder, op.bits);
          const r = exchange(xen, dom, {
            inPfns,
            inOrder: op.inOrder,
            outOrder: op.outOrder,
            addressBits: op.bits,
          });
          assertEquals(
            { nrExchanged: r.nrExchanged, outMfns: r.outMfns, failed: r.error !== undefined },
            want,
            step,
          );
        } else if (op.kind === "alloc") {
          const want = model.alloc(op.order, op.bits, op.top, ALLOC_OWNER);
          const mfn = xen.machine.alloc(op.order, {
            addressBits: op.bits,
            fromTop: op.top,
            owner: ALLOC_OWNER,
          });
          assertEquals(mfn, want, step);
          if (mfn !== undefined) held.push({ mfn, count: 2 ** op.order, order: op.order });
        } else if (op.kind === "claim") {
          const count = Math.min(op.count, FRAMES - op.at);
          const taken = model.firstTaken(op.at, count);
          if (taken !== undefined) {
            assertThrows(
              () => xen.machine.claim(op.at, count, CLAIM_OWNER),
              LabError,
              `Cannot claim frame 0x${taken.toString(16)} `,
            );
          } else {
            xen.machine.claim(op.at, count, CLAIM_OWNER);
            model.owner.fill(CLAIM_OWNER, op.at, op.at + count);
            held.push({ mfn: op.at, count });
          }
        } else if (op.kind === "free" && held.length > 0) {
          const [{ mfn, count, order }] = held.splice(op.pick % held.length, 1);
          if (order === undefined) xen.machine.freeRange(mfn, count);
          else xen.machine.free(mfn, order);
          model.free(mfn, count);
        }
        check(xen, model, doms, step);
      });
    }),
    { numRuns: 60 },
  );
});

Deno.test("run tables: a freed or claimed range is refused frame-exactly across chunk edges", () => {
  const m = new Machine({ bytes: FRAMES * 4096 });
  m.claim(4090, 20, 5); // across the first chunk edge
  assertEquals([m.owner(4089), m.owner(4090), m.owner(4109), m.owner(4110)], [FREE, 5, 5, FREE]);
  assertThrows(() => m.claim(4000, 4096, 6), LabError, "Cannot claim frame 0xffa for dom6");
  assertThrows(
    () => m.freeRange(4095, 16),
    LabError,
    "Cannot free frame 0x100e: it is already free",
  );
  assertEquals(m.firstTaken(0, 8192), 4090);
  m.freeRange(4090, 20);
  assertEquals([m.firstTaken(0, FRAMES), m.topFreeContiguous(FRAMES)], [undefined, 0]);
});
