/**
 * The hypervisor (SPEC §4): machine memory, the domains built on it, fault injection
 * and the event log the exchange traces to.
 *
 * Guests are built from the top of machine memory down, as Xen keeps low memory for
 * DMA: on the default 8 GiB machine a 2 GiB guest lies above 4 GiB, out of a 32-bit
 * device's reach, which is why swiotlb-xen exists.
 *
 * @module
 */

import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { formatSize, PAGE_SIZE } from "../addr.ts";
import { addr, LabError, type MessagePart, msg } from "../errors.ts";
import { EventLog } from "../events.ts";
import { RunTable } from "./_runs.ts";
import { Domain, type DomainConfig } from "./domain.ts";
import { Faults } from "./faults.ts";
import { DOMID_XEN, type FrameRun, FREE, Machine } from "./machine.ts";

/** Who holds a machine frame. */
export type FrameOwnerFact =
  | { kind: "domain"; domid: number; pfn: number }
  | { kind: "domain-no-m2p"; domid: number }
  | { kind: "free" }
  | { kind: "xen" }
  | { kind: "outside" };

/** Options of the {@link Xen} constructor. */
export interface XenOptions {
  /** Machine memory in bytes (the REPL's default is 8 GiB). */
  machineBytes: number;
  /** Seed of every layout shuffle: same config + same seed ⇒ same frames (SPEC §4). */
  seed: number;
  /** Where exchanges trace; a fresh log when absent. */
  events?: EventLog;
  /**
   * Low machine memory Xen keeps for itself (owner DOMID_XEN), 1 MiB by default as on
   * x86 (firmware, trampoline). It keeps machine address 0 (x86's DMA error code,
   * SPEC §7) from ever becoming a bus address.
   */
  reservedLowBytes?: number;
}

/** Default of {@link XenOptions.reservedLowBytes}. */
const RESERVED_LOW = 1024 * 1024;

/** Longest run of a fragmented layout, in pages (SPEC §4). */
const MAX_FRAGMENT = 64;

/**
 * A modelled Xen.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Xen } from "./xen.ts";
 * const xen = new Xen({ machineBytes: 2 ** 33, seed: 7 });
 * const dom0 = xen.createDomain({
 *   nrPages: 2 ** 19, autotranslate: false, iommu: false, dom0: true, arch: "x86",
 *   layout: "fragmented",
 * });
 * assertEquals(dom0.domid, 0);
 * assertEquals(xen.frameOwner(dom0.pfnToMfn(5)), { kind: "domain", domid: 0, pfn: 5 });
 * ```
 */
export class Xen {
  readonly machine: Machine;
  readonly faults: Faults;
  readonly events: EventLog;
  readonly seed: number;
  /** Live domains by domid. */
  readonly domains = new Map<number, Domain>();
  #nextDomid = 1;

  constructor({ machineBytes, seed, events, reservedLowBytes = RESERVED_LOW }: XenOptions) {
    if (!Number.isInteger(seed)) {
      throw new LabError(`Cannot use seed ${seed}: expected an integer`);
    }
    this.machine = new Machine({ bytes: machineBytes });
    if (
      !Number.isInteger(reservedLowBytes) || reservedLowBytes < 0 ||
      reservedLowBytes % PAGE_SIZE !== 0 || reservedLowBytes >= machineBytes
    ) {
      throw new LabError(
        `Cannot reserve ${reservedLowBytes} bytes of low memory for Xen: expected whole pages below the machine size ${
          formatSize(machineBytes)
        }`,
      );
    }
    if (reservedLowBytes > 0) this.machine.claim(0, reservedLowBytes / PAGE_SIZE, DOMID_XEN);
    this.faults = new Faults(this.machine);
    this.events = events ?? new EventLog();
    this.seed = seed;
  }

  /**
   * Builds a guest: picks its frames by layout (from the top of free memory down),
   * takes them from the allocator, fills the p2m and Xen's m2p. Domids count from 1;
   * a dom0 gets 0. Throws a LabError when the machine cannot hold the guest.
   */
  createDomain(cfg: DomainConfig): Domain {
    const n = cfg.nrPages;
    if (!Number.isInteger(n) || n <= 0) {
      throw new LabError(`Cannot build a guest of ${n} pages: expected a positive whole number`);
    }
    if (cfg.arch !== "x86" && cfg.arch !== "arm") {
      throw new LabError(`Cannot build a guest for arch "${cfg.arch}": expected x86 or arm`);
    }
    if (cfg.arch === "arm" && !cfg.autotranslate) {
      throw new LabError("Cannot build a PV ARM guest: ARM guests are always autotranslated");
    }
    if (cfg.identity && (cfg.layout !== "contiguous" || !cfg.autotranslate)) {
      throw new LabError(
        "Cannot identity-map a guest unless it is autotranslated with the contiguous layout",
      );
    }
    if (cfg.dom0 && this.domains.has(0)) {
      throw new LabError("Cannot build a second dom0: dom0 already exists");
    }
    const domid = cfg.dom0 ? 0 : this.#nextDomid;
    const name = `dom${domid}`;
    // Whole runs go into a run table at once (a contiguous guest of any size is one run);
    // the layouts made page by page fill a plain array, which the table then adopts.
    let p2m = new RunTable(n);
    let pages: Uint32Array | undefined;
    let claims: FrameRun[];
    let physBase = 0;
    const layout = cfg.layout;

    if (layout === "contiguous") {
      const mfn = this.machine.topFreeContiguous(n);
      if (mfn === undefined) {
        throw new LabError(
          `Cannot build ${name}: no run of ${n} free frames (${
            formatSize(n * PAGE_SIZE)
          }) for a contiguous layout; ${this.machine.freeFrames()} frames are free`,
          "failed",
        );
      }
      claims = [{ mfn, count: n }];
      p2m.fillRising(0, n, mfn);
      if (cfg.identity) physBase = mfn * PAGE_SIZE;
    } else if (layout === "fragmented" || layout === "reverse") {
      const free = this.machine.topFreeRuns(n);
      if (free === undefined) {
        throw new LabError(
          `Cannot build ${name}: it needs ${n} pages (${
            formatSize(n * PAGE_SIZE)
          }) but only ${this.machine.freeFrames()} frames are free`,
          "failed",
        );
      }
      claims = free;
      pages = new Uint32Array(n);
      let i = 0;
      if (layout === "reverse") {
        for (let r = free.length - 1; r >= 0; r--) {
          for (let f = free[r].mfn + free[r].count - 1; f >= free[r].mfn; f--) pages[i++] = f;
        }
      } else {
        for (const run of fragment(free, cfg.seed ?? this.seed)) {
          for (let k = 0; k < run.count; k++) pages[i++] = run.mfn + k;
        }
      }
      p2m = RunTable.fromArray(pages);
    } else {
      if (typeof layout !== "object" || layout === null || !Array.isArray(layout.runs)) {
        throw new LabError(
          `Cannot build ${name} with layout ${
            JSON.stringify(layout)
          }: expected contiguous, fragmented, reverse or { runs: [{ mfn, count }, …] }`,
        );
      }
      claims = this.#checkExplicitRuns(name, n, layout.runs);
      let i = 0;
      for (const run of layout.runs) {
        p2m.fillRising(i, i + run.count, run.mfn);
        i += run.count;
      }
    }

    for (const run of claims) this.machine.claim(run.mfn, run.count, domid);
    const dom = new Domain({ domid, machine: this.machine, config: { ...cfg }, p2m, physBase });
    if (pages) this.machine.setM2pFromP2m(pages);
    else dom.forEachRun(0, n, (pfn, mfn, count) => this.machine.setM2pRun(mfn, pfn, count));
    this.domains.set(domid, dom);
    if (!cfg.dom0) this.#nextDomid++;
    if (this.events.tracing) {
      this.events.trace(
        "xen",
        `built ${name}: ${formatSize(n * PAGE_SIZE)}, ${
          typeof layout === "string" ? layout : "explicit"
        } layout, ${dom.contiguityRuns(0, n).length} contiguity run(s)`,
      );
    }
    return dom;
  }

  /** Tears a guest down: every frame it owns goes back to the free pool. */
  destroyDomain(dom: Domain): void {
    if (this.domains.get(dom.domid) !== dom) {
      throw new LabError(`Cannot destroy ${dom.name}: it is not running on this Xen`);
    }
    for (const run of dom.contiguityRuns(0, dom.nrPages)) {
      this.machine.freeRange(run.mfn, run.count);
    }
    this.domains.delete(dom.domid);
  }

  /** Who holds machine frame `mfn`, as facts (a face words them). */
  frameOwner(mfn: number): FrameOwnerFact {
    if (!Number.isInteger(mfn) || mfn < 0 || mfn >= this.machine.nrFrames) {
      return { kind: "outside" };
    }
    const owner = this.machine.owner(mfn);
    if (owner === FREE) return { kind: "free" };
    if (owner === DOMID_XEN) return { kind: "xen" };
    const index = this.machine.m2p(mfn);
    if (index === undefined) return { kind: "domain-no-m2p", domid: owner };
    const base = (this.domains.get(owner)?.physBase ?? 0) / PAGE_SIZE;
    return { kind: "domain", domid: owner, pfn: index + base };
  }

  /**
   * Who holds machine frame `mfn`: "dom1 pfn 0x…", "free", "xen" (for messages: as parts,
   * so that the pfn prints in the reader's radix).
   */
  whoseFrame(mfn: number): MessagePart[] {
    if (!Number.isInteger(mfn) || mfn < 0 || mfn >= this.machine.nrFrames) {
      return msg`outside machine memory (frame ${addr(mfn)})`;
    }
    const owner = this.machine.owner(mfn);
    if (owner === FREE) return ["free"];
    if (owner === DOMID_XEN) return ["xen"];
    const index = this.machine.m2p(mfn);
    if (index === undefined) return [`dom${owner} (no m2p entry)`];
    // The m2p holds the p2m index; a guest frame number counts from guest-physical 0.
    const base = (this.domains.get(owner)?.physBase ?? 0) / PAGE_SIZE;
    return msg`dom${owner} pfn ${addr(index + base)}`;
  }

  /** Checks an explicit layout: whole, inside memory, free, not overlapping. */
  #checkExplicitRuns(name: string, n: number, runs: FrameRun[]): FrameRun[] {
    let total = 0;
    for (const { mfn, count } of runs) {
      if (
        !Number.isInteger(mfn) || !Number.isInteger(count) || mfn < 0 || count <= 0 ||
        mfn + count > this.machine.nrFrames
      ) {
        throw new LabError(
          msg`Cannot build ${name}: run ${addr(mfn)}+${count} is not inside machine memory`,
        );
      }
      total += count;
    }
    if (total !== n) {
      throw new LabError(`Cannot build ${name}: its runs hold ${total} pages, not ${n}`);
    }
    const sorted = [...runs].sort((a, b) => a.mfn - b.mfn);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].mfn < sorted[i - 1].mfn + sorted[i - 1].count) {
        throw new LabError(
          msg`Cannot build ${name}: runs overlap at frame ${addr(sorted[i].mfn)}`,
        );
      }
    }
    for (const { mfn, count } of sorted) {
      const f = this.machine.firstTaken(mfn, count);
      if (f !== undefined) {
        throw new LabError(
          msg`Cannot build ${name}: frame ${addr(f)} is not free (${this.whoseFrame(f)})`,
          "failed",
        );
      }
    }
    return sorted;
  }
}

/**
 * The fragmented layout (SPEC §4): cuts the free runs into pieces of 1–64 frames,
 * shuffles them with a seeded PRNG (xoroshiro128+), and separates any two pieces that
 * the shuffle left machine-adjacent, so every contiguity run is one piece.
 */
function fragment(free: FrameRun[], seed: number): FrameRun[] {
  const rng = xoroshiro128plus(seed);
  const pieces: FrameRun[] = [];
  for (const { mfn, count } of free) {
    let p = mfn;
    while (p < mfn + count) {
      const len = Math.min(uniformInt(rng, 1, MAX_FRAGMENT), mfn + count - p);
      pieces.push({ mfn: p, count: len });
      p += len;
    }
  }
  for (let i = pieces.length - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    [pieces[i], pieces[j]] = [pieces[j], pieces[i]];
  }
  separateAdjacent(pieces);
  return pieces;
}

/** True when piece b starts on the frame right after piece a. */
function adjacent(a: FrameRun, b: FrameRun): boolean {
  return a.mfn + a.count === b.mfn;
}

/**
 * Swaps pieces so that no piece is followed by its machine successor. Each swap is
 * kept only if neither touched position gains an adjacent neighbour, so the pairs
 * already checked stay clean; deterministic, usually one swap per whole guest.
 */
function separateAdjacent(pieces: FrameRun[]): void {
  const n = pieces.length;
  const clean = (k: number) =>
    (k === 0 || !adjacent(pieces[k - 1], pieces[k])) &&
    (k === n - 1 || !adjacent(pieces[k], pieces[k + 1]));
  const swap = (a: number, b: number) => {
    [pieces[a], pieces[b]] = [pieces[b], pieces[a]];
  };
  for (let i = 1; i < n; i++) {
    if (!adjacent(pieces[i - 1], pieces[i])) continue;
    for (let j = 0; j < n; j++) {
      if (j === i || j === i - 1) continue;
      swap(i, j);
      if (clean(i) && clean(j)) break;
      swap(i, j);
    }
  }
}
