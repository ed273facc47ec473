/**
 * A whole guest: Xen, the domain, its DMA ops (swiotlb-xen, or direct DMA with a native
 * pool), devices and buffers — everything the REPL and the examples drive. Builds from a
 * {@link GuestConfig} or a preset (SPEC §4, §5, §12).
 *
 * @module
 */

import { formatHex, IO_TLB_SEGSIZE, IO_TLB_SIZE, PAGE_SIZE, pfnOf } from "../addr.ts";
import { type DebugReportView, DmaDebug } from "../dma/debug.ts";
import {
  type DmaCallOptions,
  DmaMapping,
  type MapCallOptions,
  type MappingErrorAnswer,
} from "../dma/mapping.ts";
import { type Device, type DeviceConfig, makeDevice } from "../dma/device.ts";
import { DirectDma } from "../dma/direct.ts";
import type { DmaOps, MapResult, SgResult } from "../dma/ops.ts";
import type { Direction } from "../direction.ts";
import { LabError } from "../errors.ts";
import { EventLog } from "../events.ts";
import { type GuestConfig, type GuestInput, resolveConfig } from "./config.ts";
import * as inspect from "./inspect.ts";
import { type SwiotlbCore, SwiotlbCore as Core, type SyncTarget } from "../swiotlb/mod.ts";
import { XenSwiotlb } from "../swiotlb_xen/engine.ts";
import { DEFAULT_NSLABS, type InitAttempt, xenSwiotlbInit } from "../swiotlb_xen/init.ts";
import type { XenPlatform } from "../dma/platform.ts";
import type { XenDmaInfo } from "../swiotlb_xen/tree.ts";
import {
  createContiguousRegion,
  destroyContiguousRegion,
  type Domain,
  translateDeviceAccess,
  Xen,
} from "../xen/mod.ts";

export {
  DEFAULT_CONFIG,
  type GuestConfig,
  type GuestInput,
  parseGuestFile,
  PRESETS,
  resolveConfig,
} from "./config.ts";

/** A named CPU buffer in guest memory. */
export interface Buffer {
  name: string;
  phys: number;
  size: number;
}

/** What init did (SPEC §5). */
export interface GuestInit {
  swiotlbXen: boolean;
  ok: boolean;
  nslabs: number;
  poolPhys: number;
  log: string[];
  reason: string;
  attempts: InitAttempt[];
}

/** One row of `segments` (SPEC §9). */
export interface SegmentRow {
  index: number;
  physAddr: number;
  dmaAddr: number;
  size: number;
  slotsInUse: number;
  /** Bus base aligned to the segment's size (what makes seg[0] as table base right). */
  aligned: boolean;
  mfnFirst: number;
  mfnLast: number;
}

/** A tree node as `tree` shows it. */
export interface TreeRow {
  dmaAddr: number;
  physAddr: number;
  size: number;
  kind: XenDmaInfo["kind"];
  color: "red" | "black";
  path: string;
}

/** Guest-level counters beyond the core's and the front door's. */
interface Counters {
  iommuFaults: number;
  strayWrites: number;
  lookups: number;
  lookupNodesVisited: number;
}

function kmallocAlign(size: number): number {
  let a = 1;
  while (a < size && a < PAGE_SIZE) a *= 2;
  return a;
}

/** Looks a name up, or says which names exist (or how to make one). */
function named<T>(map: Map<string, T>, name: string, what: string, howToAdd: string): T {
  const v = map.get(name);
  if (v !== undefined) return v;
  const known = [...map.keys()];
  throw new LabError(
    `Unknown ${what} "${name}"` +
      (known.length ? `: ${what}s are ${known.join(", ")}` : `: ${howToAdd}`),
  );
}

/** A running guest with its DMA engine. */
export class Guest {
  readonly config: GuestConfig;
  readonly events: EventLog;
  readonly xen: Xen;
  readonly domain: Domain;
  readonly init: GuestInit;
  /** The DMA ops, undefined when swiotlb-xen failed to initialise. */
  readonly ops: DmaOps | undefined;
  readonly #devices = new Map<string, Device>();
  readonly #buffers = new Map<string, Buffer>();
  /** The DMA-API debug layer (SPEC §8); every call into it sits behind `.enabled`. */
  readonly #debug: DmaDebug;
  /** The dma-mapping front door, when there are DMA ops. */
  readonly #dma: DmaMapping | undefined;
  readonly #counters: Counters = {
    iommuFaults: 0,
    strayWrites: 0,
    lookups: 0,
    lookupNodesVisited: 0,
  };

  private constructor(config: GuestConfig, events: EventLog) {
    this.config = config;
    this.events = events;
    this.xen = new Xen({ machineBytes: config.machine, seed: config.seed, events });
    this.#debug = new DmaDebug({
      enabled: config.debug,
      arch: config.arch,
      events,
      // Beyond the kernel (SPEC §8): would the device fault on the handle it was given?
      deviceFault: (bus, size) => {
        const t = translateDeviceAccess(this.domain, bus, size);
        return "fault" in t ? t.fault : undefined;
      },
    });
    this.domain = this.xen.createDomain({
      nrPages: config.mem / PAGE_SIZE,
      autotranslate: config.mode === "auto",
      iommu: config.iommu,
      dom0: config.dom0,
      arch: config.arch,
      layout: config.layout,
      identity: config.identity,
      seed: config.seed,
    });
    const f = config.faults;
    if (f.exhaustLowBits !== undefined) this.xen.faults.exhaustLow(f.exhaustLowBits);
    if (f.failBelowBits !== undefined) this.xen.faults.failBelow(f.failBelowBits);
    if (f.failNext !== undefined) this.xen.faults.failNext(f.failNext);
    const platform = this.#platform();
    const swiotlbXen = config.mode === "pv"
      ? config.dom0 || config.force || config.passthrough
      : !config.iommu;
    const reason = config.mode === "pv"
      ? (config.dom0
        ? "PV dom0 always uses swiotlb-xen"
        : config.force
        ? "PV domU with swiotlb_force"
        : config.passthrough
        ? "PV domU with a passed-through device"
        : "PV domU without swiotlb_force or passthrough: no swiotlb-xen (bus = guest-physical, which is wrong on PV)")
      : config.iommu
      ? "autotranslated guest with an IOMMU: no swiotlb-xen, bus = guest-physical (the RFC author's answer)"
      : "autotranslated guest without an IOMMU: swiotlb-xen with the RFC's segment array and bus→phys tree";
    if (config.poolOffset > 0) this.domain.reserve(config.poolOffset);
    if (swiotlbXen) {
      const init = xenSwiotlbInit(platform, {
        nslabs: config.swiotlb,
        policy: config.policy,
        events,
      });
      this.init = {
        swiotlbXen,
        ok: init.ok,
        nslabs: init.nslabs,
        poolPhys: init.poolPhys,
        log: init.log,
        reason,
        attempts: init.attempts,
      };
      this.ops = init.ok
        ? new XenSwiotlb(platform, init, {
          policy: config.policy,
          variant: config.variant,
          force: config.force,
          events,
        })
        : undefined;
      if (!init.ok) this.#failedTree = init.tree;
    } else {
      const nslabs = config.swiotlb ?? DEFAULT_NSLABS;
      const poolPhys = this.domain.allocPhys(nslabs * IO_TLB_SIZE, PAGE_SIZE);
      const core = new Core({
        nslabs,
        start: poolPhys,
        memory: this.domain,
        policy: config.policy,
        events,
      });
      this.init = { swiotlbXen, ok: true, nslabs, poolPhys, log: [], reason, attempts: [] };
      this.ops = new DirectDma(platform, core, {
        name: "direct + native swiotlb",
        force: config.force,
      });
    }
    this.#dma = this.ops ? new DmaMapping(this.ops, this.#debug, config.arch) : undefined;
  }

  /** The tree left behind by a failed init (for `tree` after pvh-dom0). */
  #failedTree: XenSwiotlb["tree"] | undefined;

  /** The bus→phys tree: the running one, or the one a failed init left behind. */
  get busTree(): XenSwiotlb["tree"] | undefined {
    return this.swiotlbXen?.tree ?? this.#failedTree;
  }

  /** Builds a guest. Bad configuration throws; a failed swiotlb-xen init does not (see {@link init}). */
  static create(input: GuestInput = {}, events = new EventLog()): Guest {
    return new Guest(resolveConfig(input), events);
  }

  #platform(): XenPlatform {
    const dom = this.domain;
    const xen = this.xen;
    return {
      arch: dom.arch,
      autotranslate: dom.autotranslate,
      memory: dom,
      physToMachine: (p) => dom.physToMachine(p),
      machineToPhys: (m) => dom.machineToPhys(m),
      isMachineContiguous: (p, s) => dom.isMachineContiguous(p, s),
      allocPages: (bytes, align) => {
        try {
          return dom.allocPhys(bytes, align ?? PAGE_SIZE);
        } catch {
          return undefined;
        }
      },
      // The guest allocator is a bump allocator: freed pages are not reused.
      freePages: () => {},
      createContiguousRegion: (p, order, bits) => createContiguousRegion(xen, dom, p, order, bits),
      destroyContiguousRegion: (p, order) => {
        destroyContiguousRegion(xen, dom, p, order);
      },
    };
  }

  /** The name of the DMA ops in use. */
  get opsName(): string {
    return this.ops?.name ?? "none (swiotlb-xen failed to initialise)";
  }

  /** The bounce pool core, if any. */
  get core(): SwiotlbCore | undefined {
    return this.ops?.core;
  }

  /** swiotlb-xen's engine when this guest runs it. */
  get swiotlbXen(): XenSwiotlb | undefined {
    return this.ops instanceof XenSwiotlb ? this.ops : undefined;
  }

  #requireOps(): DmaOps {
    if (!this.ops) {
      const last = this.init.log[this.init.log.length - 1] ?? "";
      throw new LabError(
        `No DMA ops: swiotlb-xen failed to initialise (${last.split("\n")[0]})`,
        "failed",
      );
    }
    return this.ops;
  }

  #device(name: string): Device {
    return named(this.#devices, name, "device", "add one with 'device add NAME --mask 32'");
  }

  /** A short description of the guest for `guest show`. */
  summary() {
    const dom = this.domain;
    const p2m = dom.p2m;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < p2m.length; i++) {
      if (p2m[i] < lo) lo = p2m[i];
      if (p2m[i] > hi) hi = p2m[i];
    }
    const x = this.swiotlbXen;
    const tree = x?.tree ?? this.#failedTree;
    return {
      domid: dom.domid,
      memBytes: dom.memBytes,
      physBase: dom.physBase,
      physEnd: dom.physEnd,
      firstMfn: lo,
      lastMfn: hi,
      machineBytes: this.config.machine,
      nslabs: this.init.nslabs,
      segments: x ? x.seg.length : Math.ceil(this.init.nslabs / IO_TLB_SEGSIZE),
      treeNodes: tree?.size ?? 0,
      treeHeight: tree?.height() ?? 0,
      treeValid: tree ? inspect.treeProblems(tree).length === 0 : true,
    };
  }

  // ---- devices and buffers ----------------------------------------------------------

  addDevice(cfg: DeviceConfig): Device {
    if (this.#devices.has(cfg.name)) throw new LabError(`Device "${cfg.name}" exists already`);
    const d = makeDevice(cfg);
    this.#devices.set(d.name, d);
    return d;
  }

  /**
   * Removes a device. With the debug layer on, its live mappings are reported as leaks
   * (dma_debug_device_change, SPEC §8) and returned, one line each.
   */
  removeDevice(name: string, opts: DmaCallOptions = {}): { leaks: string[] } {
    const d = this.#device(name);
    this.#devices.delete(name);
    const dbg = this.#debug;
    const leaks = dbg.enabled
      ? dbg.deviceRemoved(d.name, opts.call ?? `device remove ${name}`)
      : [];
    return { leaks };
  }

  devices(): Device[] {
    return [...this.#devices.values()];
  }

  allocBuffer(name: string, size: number, align?: number): Buffer {
    if (!/^[A-Za-z_][\w.-]*$/.test(name)) {
      throw new LabError(
        `Cannot allocate buffer "${name}": a name starts with a letter and holds letters, digits, _ . -`,
      );
    }
    if (this.#buffers.has(name)) throw new LabError(`Buffer "${name}" exists already`);
    if (!(size > 0)) throw new LabError(`Cannot allocate buffer "${name}" of ${size} bytes`);
    const phys = this.domain.allocPhys(size, align ?? kmallocAlign(size));
    const b = { name, phys, size };
    this.#buffers.set(name, b);
    return b;
  }

  buffers(): Buffer[] {
    return [...this.#buffers.values()];
  }

  buffer(name: string): Buffer {
    return named(this.#buffers, name, "buffer", "allocate one with 'buf alloc NAME SIZE'");
  }

  #bufRange(name: string, offset: number, len: number): number {
    const b = this.buffer(name);
    if (offset < 0 || len < 0 || offset + len > b.size) {
      throw new LabError(`Range ${offset}+${len} is outside buffer "${name}" (${b.size} bytes)`);
    }
    return b.phys + offset;
  }

  writeBuffer(name: string, offset: number, bytes: Uint8Array): void {
    this.domain.write(this.#bufRange(name, offset, bytes.length), bytes);
  }

  readBuffer(name: string, offset: number, len: number): Uint8Array {
    return this.domain.read(this.#bufRange(name, offset, len), len);
  }

  readPhys(phys: number, len: number): Uint8Array {
    return this.domain.read(phys, len);
  }

  writePhys(phys: number, bytes: Uint8Array): void {
    this.domain.write(phys, bytes);
  }

  // ---- the DMA API (lib/dma/mapping.ts) --------------------------------------------

  #mapping(): DmaMapping {
    this.#requireOps();
    return this.#dma as DmaMapping;
  }

  /** dma_map_single (or dma_map_page with `opts.page`). */
  map(
    dev: string,
    phys: number,
    size: number,
    dir: Direction,
    opts: MapCallOptions = {},
  ): MapResult {
    const d = this.#device(dev);
    return this.#mapping().map(d, phys, size, dir, opts);
  }

  /** dma_unmap_single (or _page). */
  unmap(
    dev: string,
    bus: number,
    size: number,
    dir: Direction,
    opts: MapCallOptions = {},
  ): { copied: number } {
    const d = this.#device(dev);
    return this.#mapping().unmap(d, bus, size, dir, opts);
  }

  /** dma_sync_single_for_cpu / _for_device; checked by the debug layer first. */
  sync(
    dev: string,
    bus: number,
    size: number,
    dir: Direction,
    target: SyncTarget,
    opts: DmaCallOptions = {},
  ): { copied: number } {
    const d = this.#device(dev);
    return this.#mapping().sync(d, bus, size, dir, target, opts);
  }

  /** dma_mapping_error(dev, bus) (SPEC §7). */
  mappingError(dev: string, bus: number): MappingErrorAnswer {
    const d = this.#device(dev);
    return this.#mapping().mappingError(d, bus);
  }

  /** Is the DMA-API debug layer on? (GuestConfig.debug at creation, then {@link setDebug}.) */
  get debugEnabled(): boolean {
    return this.#debug.enabled;
  }

  /**
   * Switches the DMA-API debug layer of this guest. Off forgets its live mappings, so
   * after switching it back on it knows only what is mapped from then on.
   */
  setDebug(on: boolean): void {
    this.#debug.setEnabled(on);
  }

  /** The debug layer's live mappings, reports and counts per kind (SPEC §8). */
  debugReport(): DebugReportView {
    return this.#debug.view();
  }

  /** dma_map_sg. */
  mapSg(
    dev: string,
    elems: { phys: number; length: number }[],
    dir: Direction,
    opts: DmaCallOptions = {},
  ): SgResult {
    const d = this.#device(dev);
    return this.#mapping().mapSg(d, elems, dir, opts);
  }

  /** dma_unmap_sg. */
  unmapSg(
    dev: string,
    elems: { phys: number; length: number }[],
    dir: Direction,
    opts: DmaCallOptions = {},
  ): { copied: number } {
    const d = this.#device(dev);
    return this.#mapping().unmapSg(d, elems, dir, opts);
  }

  /** dma_sync_sg_for_cpu / _for_device. */
  syncSg(
    dev: string,
    elems: { phys: number; length: number }[],
    dir: Direction,
    target: SyncTarget,
    opts: DmaCallOptions = {},
  ): { copied: number } {
    const d = this.#device(dev);
    return this.#mapping().syncSg(d, elems, dir, target, opts);
  }

  /** dma_alloc_coherent. */
  allocCoherent(dev: string, size: number, opts: DmaCallOptions = {}) {
    const d = this.#device(dev);
    return this.#mapping().allocCoherent(d, size, opts);
  }

  /** dma_free_coherent. */
  freeCoherent(
    dev: string,
    bus: number,
    size: number,
    opts: DmaCallOptions = {},
  ): { leaked: boolean; why: string } {
    const d = this.#device(dev);
    return this.#mapping().freeCoherent(d, bus, size, opts);
  }

  dmaSupported(dev: string, mask: number): boolean {
    return this.#requireOps().dmaSupported(this.#device(dev), mask);
  }

  #deviceAccess(dev: string, bus: number, len: number) {
    this.#device(dev);
    const t = translateDeviceAccess(this.domain, bus, len);
    if ("fault" in t) {
      this.#counters.iommuFaults++;
      throw new LabError(`${dev}: ${t.fault} (no data moved)`, "failed");
    }
    return t.pieces;
  }

  /** The device reads `len` bytes at `bus` (through the IOMMU if any). */
  dmaRead(dev: string, bus: number, len: number): { bytes: Uint8Array; frames: string[] } {
    const pieces = this.#deviceAccess(dev, bus, len);
    const out = new Uint8Array(len);
    let at = 0;
    const frames: string[] = [];
    for (const p of pieces) {
      out.set(this.xen.machine.read(p.maddr, p.len), at);
      at += p.len;
      frames.push(this.xen.whoseFrame(pfnOf(p.maddr)));
    }
    return { bytes: out, frames };
  }

  /** The device writes `bytes` at `bus`; names every frame hit and whose it was. */
  dmaWrite(dev: string, bus: number, bytes: Uint8Array): { frames: string[]; stray: string[] } {
    const pieces = this.#deviceAccess(dev, bus, bytes.length);
    const frames: string[] = [];
    const stray: string[] = [];
    let at = 0;
    for (const p of pieces) {
      this.xen.machine.write(p.maddr, bytes.subarray(at, at + p.len));
      at += p.len;
      const mfn = pfnOf(p.maddr);
      const who = this.xen.whoseFrame(mfn);
      frames.push(who);
      if (this.xen.machine.owner(mfn) !== this.domain.domid) {
        stray.push(`machine frame ${formatHex(mfn)} is not ${this.domain.name}'s: ${who}`);
      }
    }
    this.#counters.strayWrites += stray.length;
    return { frames, stray };
  }

  // ---- inspection -------------------------------------------------------------------

  lookupBus(addr: number) {
    const x = this.swiotlbXen;
    this.#counters.lookups++;
    if (!x) {
      const phys = this.#requireOps().busToPhys(addr);
      return {
        phys,
        found: true,
        segment: null,
        visited: [],
        how: `${this.opsName}: bus = guest-physical`,
      };
    }
    const r = x.lookupBus(addr);
    this.#counters.lookupNodesVisited += r.visited.length;
    const found = x.autotranslate ? r.node !== null : r.phys !== (x.arch === "x86" ? 0 : 2 ** 64);
    return {
      phys: r.phys,
      found,
      segment: r.segment,
      visited: r.visited.map((s) => ({
        dmaAddr: s.node.dmaAddr,
        physAddr: s.node.physAddr,
        size: s.node.size,
        cmp: s.cmp,
      })),
      how: r.how,
    };
  }

  lookupPhys(addr: number) {
    const x = this.swiotlbXen;
    if (!x) {
      return {
        bus: this.#requireOps().physToBus(addr),
        found: true,
        segment: null,
        how: `${this.opsName}: bus = guest-physical`,
      };
    }
    const r = x.lookupPhys(addr);
    return {
      bus: r.bus,
      found: !x.autotranslate || r.segment !== null,
      segment: r.segment,
      how: r.how,
    };
  }

  segments(): SegmentRow[] {
    return inspect.segments(this);
  }

  /** The bus→phys tree (also after a failed init), or undefined when the mode has none. */
  tree() {
    return inspect.tree(this);
  }

  slots(segment?: number) {
    return inspect.slots(this, segment);
  }

  /**
   * The p2m of `count` guest frames from `pfn`, as machine-contiguous runs (see
   * inspect.ts).
   */
  p2m(pfn: number, count: number) {
    return inspect.p2m(this, pfn, count);
  }

  m2p(mfn: number) {
    const index = this.domain.mfnToPfn(mfn);
    const phys = index === undefined ? undefined : this.domain.pfnToPhys(index);
    return {
      mfn,
      owner: this.xen.whoseFrame(mfn),
      pfn: phys === undefined ? undefined : phys / PAGE_SIZE,
      phys,
    };
  }

  stats(): Record<string, number> {
    const c = this.core?.stats;
    const tree = this.swiotlbXen?.tree;
    return {
      maps: this.#dma?.counters.maps ?? 0,
      bounces: this.#dma?.counters.bounces ?? 0,
      fast_paths: this.#dma?.counters.fastPaths ?? 0,
      map_errors: this.#dma?.counters.mapErrors ?? 0,
      sg_maps: this.#dma?.counters.sgMaps ?? 0,
      coherent_allocs: this.#dma?.counters.coherentAllocs ?? 0,
      core_maps: c?.maps ?? 0,
      core_unmaps: c?.unmaps ?? 0,
      syncs: c?.syncs ?? 0,
      failed_maps: c?.failedMaps ?? 0,
      bytes_to_device: c?.bytesToDevice ?? 0,
      bytes_from_device: c?.bytesFromDevice ?? 0,
      slots_used: c?.slotsUsed ?? 0,
      slots_high_water: c?.highWater ?? 0,
      nslabs: this.core?.nslabs ?? 0,
      tree_nodes: tree?.size ?? 0,
      tree_height: tree?.height() ?? 0,
      lookups: this.#counters.lookups,
      lookup_nodes_visited: this.#counters.lookupNodesVisited,
      iommu_faults: this.#counters.iommuFaults,
      stray_writes: this.#counters.strayWrites,
      ub_events: this.events.counts.ub,
      leaked_coherent_bytes: this.swiotlbXen?.leakedCoherentBytes ?? 0,
    };
  }
}
