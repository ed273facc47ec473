/**
 * A whole guest: Xen, the domain, its DMA ops (swiotlb-xen, or direct DMA with a native
 * pool), devices and buffers — everything the REPL and the examples drive. Builds from a
 * {@link GuestConfig} or a preset (SPEC §4, §5, §12).
 *
 * @module
 */

import {
  formatHex,
  IO_TLB_SEGSIZE,
  IO_TLB_SIZE,
  PAGE_SIZE,
  pfnOf,
  SEGMENT_BYTES,
} from "../addr.ts";
import { type DebugMapping, type DebugReportView, DmaDebug } from "../dma/debug.ts";
import { type Device, type DeviceConfig, dmaMappingError, makeDevice } from "../dma/device.ts";
import { DirectDma } from "../dma/direct.ts";
import type { DmaOps, MapResult, SgElement, SgResult } from "../dma/ops.ts";
import { type Direction, directionShort, DMA_BIDIRECTIONAL } from "../direction.ts";
import { LabError } from "../errors.ts";
import { EventLog } from "../events.ts";
import { type GuestConfig, type GuestInput, resolveConfig } from "./config.ts";
import { positionPath, type RbNode } from "../rbtree.ts";
import {
  slotsFor,
  type SwiotlbCore,
  SwiotlbCore as Core,
  type SyncTarget,
} from "../swiotlb/mod.ts";
import { XenSwiotlb } from "../swiotlb_xen/engine.ts";
import { DEFAULT_NSLABS, type InitAttempt, xenSwiotlbInit } from "../swiotlb_xen/init.ts";
import type { XenPlatform } from "../dma/platform.ts";
import { intervalKey, intervalOverlaps, type XenDmaInfo } from "../swiotlb_xen/tree.ts";
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

/** Guest-level counters beyond the core's. */
interface Counters {
  maps: number;
  bounces: number;
  fastPaths: number;
  mapErrors: number;
  sgMaps: number;
  coherentAllocs: number;
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

/** How the DMA-API debug layer names a call (SPEC §8). */
export interface DmaCallOptions {
  /**
   * The label of the call in debug reports and live mappings ("map nic rx 8K to"; the
   * REPL passes the line). Default: built from the arguments.
   */
  call?: string;
}

/** Options of {@link Guest.map} and {@link Guest.unmap}. */
export interface MapCallOptions extends DmaCallOptions {
  /** dma_map_page / dma_unmap_page instead of …_single: the debug layer tells them apart. */
  page?: boolean;
}

/** What {@link Guest.mappingError} answers. */
export interface MappingErrorAnswer {
  /** dma_mapping_error() of the guest's arch (SPEC §7). */
  error: boolean;
  /** The debug layer marked a live mapping at that handle as checked. */
  marked: boolean;
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
  readonly #coherent = new Map<number, { dev: string; phys: number; size: number }>();
  readonly #sg = new Map<string, SgElement[]>();
  /** The DMA-API debug layer (SPEC §8); every call into it sits behind `.enabled`. */
  readonly #debug: DmaDebug;
  readonly #counters: Counters = {
    maps: 0,
    bounces: 0,
    fastPaths: 0,
    mapErrors: 0,
    sgMaps: 0,
    coherentAllocs: 0,
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
  }

  /** The tree left behind by a failed init (for `tree` after pvh-dom0). */
  #failedTree: XenSwiotlb["tree"] | undefined;

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
      treeValid: tree ? this.#treeProblems(tree).length === 0 : true,
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

  // ---- the DMA API ------------------------------------------------------------------

  /** dma_map_single (or dma_map_page with `opts.page`). */
  map(
    dev: string,
    phys: number,
    size: number,
    dir: Direction,
    opts: MapCallOptions = {},
  ): MapResult {
    const d = this.#device(dev);
    if (!(size > 0)) throw new LabError(`BUG: dma_map of ${size} bytes`, "bug");
    const r = this.#requireOps().mapPage(d, phys, size, dir);
    this.#counters.maps++;
    if (r.error) this.#counters.mapErrors++;
    else if (r.bounced) this.#counters.bounces++;
    else this.#counters.fastPaths++;
    if (this.#debug.enabled) {
      this.#debug.addMapping({
        device: d.name,
        type: opts.page ? "page" : "single",
        phys,
        bus: r.bus,
        size,
        dir,
        call: opts.call ?? `map ${dev} ${formatHex(phys)} ${size} ${directionShort(dir)}`,
        slot: this.#liveSlot(r.bounced ? r.slot : null),
        nslots: slotsFor(size),
      });
    }
    return r;
  }

  /**
   * dma_unmap_single (or _page). The debug layer checks the call before the engine runs
   * it (so its report shows even when the checked policy refuses) and forgets the
   * mapping only once the engine has unmapped it.
   */
  unmap(
    dev: string,
    bus: number,
    size: number,
    dir: Direction,
    opts: MapCallOptions = {},
  ): { copied: number } {
    const d = this.#device(dev);
    const ops = this.#requireOps();
    const dbg = this.#debug;
    const entry = dbg.enabled
      ? dbg.checkUnmap({
        device: d.name,
        type: opts.page ? "page" : "single",
        bus,
        size,
        dir,
        call: opts.call ?? `unmap ${dev} ${formatHex(bus)} ${size} ${directionShort(dir)}`,
      })
      : undefined;
    const copied = ops.unmapPage(d, bus, size, dir);
    if (entry) dbg.remove(entry);
    return { copied };
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
    const ops = this.#requireOps();
    if (this.#debug.enabled) {
      this.#debug.checkSync({
        device: d.name,
        type: "single",
        bus,
        size,
        dir,
        call: opts.call ??
          `sync ${dev} ${formatHex(bus)} ${size} ${directionShort(dir)} --for ${target}`,
      });
    }
    return { copied: ops.syncSingle(d, bus, size, dir, target) };
  }

  /**
   * dma_mapping_error(dev, bus): the arch's answer (SPEC §7). The debug layer notes that
   * the driver checked this handle, so its unmap is not reported as unchecked.
   */
  mappingError(dev: string, bus: number): MappingErrorAnswer {
    const d = this.#device(dev);
    const error = dmaMappingError(this.domain.arch, bus);
    const marked = this.#debug.enabled && this.#debug.mappingError(d.name, bus);
    return { error, marked };
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

  #sgKey(dev: string, elems: { phys: number; length: number }[]): string {
    return dev + ":" + elems.map((e) => `${e.phys}+${e.length}`).join(",");
  }

  /** dma_map_sg: the debug layer records each element with the list's nents. */
  mapSg(
    dev: string,
    elems: { phys: number; length: number }[],
    dir: Direction,
    opts: DmaCallOptions = {},
  ): SgResult {
    if (elems.length === 0) throw new LabError("map-sg needs at least one element");
    const d = this.#device(dev);
    const r = this.#requireOps().mapSg(d, elems, dir);
    this.#counters.sgMaps++;
    if (!r.error) this.#sg.set(this.#sgKey(dev, elems), r.elements);
    if (!r.error && this.#debug.enabled) {
      const call = opts.call ?? `map-sg ${dev} ${this.#sgLabel(elems)} ${directionShort(dir)}`;
      for (const e of r.elements) {
        this.#debug.addMapping({
          device: d.name,
          type: "sg",
          phys: e.phys,
          bus: e.dmaAddress,
          size: e.dmaLength,
          dir,
          sgCount: elems.length,
          call,
          slot: this.#liveSlot(e.bounced ? e.slot : null),
          nslots: slotsFor(e.dmaLength),
        });
      }
    }
    return r;
  }

  /**
   * The slot a new mapping holds, for the debug layer's overlap check — null when the
   * pool does not have it in use (3.11's "not capable" path gives the slots back and
   * still returns a handle, SPEC §7).
   */
  #liveSlot(slot: number | null): number | null {
    const core = this.core;
    return slot !== null && core !== undefined && core.freeRun[slot] === 0 ? slot : null;
  }

  #sgLabel(elems: { phys: number; length: number }[]): string {
    return elems.map((e) => `${formatHex(e.phys)}:${e.length}`).join(" ");
  }

  /**
   * The mapped elements a driver passes to dma_unmap_sg / dma_sync_sg: the live list
   * with exactly these elements, or — a driver passing a smaller nents than it mapped —
   * the first elements of a live list that starts with them.
   */
  #sgMapped(
    dev: string,
    elems: { phys: number; length: number }[],
  ): { key: string; list: SgElement[]; mapped: SgElement[] } {
    const key = this.#sgKey(dev, elems);
    const exact = this.#sg.get(key);
    if (exact) return { key, list: exact, mapped: exact };
    for (const [k, list] of this.#sg) {
      if (!k.startsWith(dev + ":") || list.length <= elems.length) continue;
      if (elems.every((e, i) => list[i].phys === e.phys && list[i].length === e.length)) {
        return { key: k, list, mapped: list.slice(0, elems.length) };
      }
    }
    throw new LabError(
      `No live scatterlist of ${dev} with those elements: map it with map-sg first`,
      "refused",
    );
  }

  /** dma_unmap_sg; the debug layer checks every element first. */
  unmapSg(
    dev: string,
    elems: { phys: number; length: number }[],
    dir: Direction,
    opts: DmaCallOptions = {},
  ): { copied: number } {
    const d = this.#device(dev);
    const ops = this.#requireOps();
    const { key, list, mapped } = this.#sgMapped(dev, elems);
    const dbg = this.#debug;
    const entries: (DebugMapping | undefined)[] = [];
    if (dbg.enabled) {
      const call = opts.call ?? `unmap-sg ${dev} ${this.#sgLabel(elems)} ${directionShort(dir)}`;
      // debug_dma_unmap_sg matches element by element, each taking its own record:
      // two identical elements must not both claim the same one.
      const claimed = new Set<DebugMapping>();
      for (const e of mapped) {
        const found = dbg.checkUnmap({
          device: d.name,
          type: "sg",
          bus: e.dmaAddress,
          size: e.dmaLength,
          dir,
          sgCount: elems.length,
          call,
        }, claimed);
        if (found) claimed.add(found);
        entries.push(found);
      }
    }
    const copied = ops.unmapSg(d, mapped, dir);
    for (const e of entries) if (e) dbg.remove(e);
    this.#sg.delete(key);
    // A shorter nents leaves the rest of the list mapped: keep it, under its own elements.
    const rest = list.slice(mapped.length);
    if (rest.length > 0) this.#sg.set(this.#sgKey(dev, rest), rest);
    return { copied };
  }

  /** dma_sync_sg_for_cpu / _for_device; the debug layer checks every element first. */
  syncSg(
    dev: string,
    elems: { phys: number; length: number }[],
    dir: Direction,
    target: SyncTarget,
    opts: DmaCallOptions = {},
  ): { copied: number } {
    const d = this.#device(dev);
    const ops = this.#requireOps();
    const { mapped } = this.#sgMapped(dev, elems);
    if (this.#debug.enabled) {
      const call = opts.call ??
        `sync-sg ${dev} ${this.#sgLabel(elems)} ${directionShort(dir)} --for ${target}`;
      for (const e of mapped) {
        this.#debug.checkSync({
          device: d.name,
          type: "sg",
          bus: e.dmaAddress,
          size: e.dmaLength,
          dir,
          sgCount: elems.length,
          call,
        });
      }
    }
    return { copied: ops.syncSg(d, mapped, dir, target) };
  }

  /** dma_alloc_coherent; recorded by the debug layer as a BIDIRECTIONAL coherent mapping. */
  allocCoherent(dev: string, size: number, opts: DmaCallOptions = {}) {
    if (!(size > 0)) throw new LabError(`Cannot allocate ${size} coherent bytes`);
    const d = this.#device(dev);
    const r = this.#requireOps().allocCoherent(d, size);
    if (!r) {
      throw new LabError(
        `dma_alloc_coherent of ${size} bytes for ${dev} failed (no memory under the coherent mask)`,
        "failed",
      );
    }
    this.#coherent.set(r.bus, { dev, phys: r.phys, size });
    this.#counters.coherentAllocs++;
    if (this.#debug.enabled) {
      // Native swiotlb hands out pool slots when pages are beyond the coherent mask.
      const core = this.core;
      const inPool = core !== undefined && core.isSwiotlbBuffer(r.phys);
      this.#debug.addMapping({
        device: d.name,
        type: "coherent",
        phys: r.phys,
        bus: r.bus,
        size,
        dir: DMA_BIDIRECTIONAL,
        call: opts.call ?? `alloc-coherent ${dev} ${size}`,
        slot: inPool ? core.slotIndex(r.phys) : null,
        nslots: slotsFor(size),
      });
    }
    return r;
  }

  /** dma_free_coherent; the debug layer checks the call before the guest refuses a bad one. */
  freeCoherent(
    dev: string,
    bus: number,
    size: number,
    opts: DmaCallOptions = {},
  ): { leaked: boolean; why: string } {
    const d = this.#device(dev);
    const ops = this.#requireOps();
    const dbg = this.#debug;
    const entry = dbg.enabled
      ? dbg.checkUnmap({
        device: d.name,
        type: "coherent",
        bus,
        size,
        dir: DMA_BIDIRECTIONAL,
        call: opts.call ?? `free-coherent ${dev} ${formatHex(bus)} ${size}`,
      })
      : undefined;
    const rec = this.#coherent.get(bus);
    if (!rec || rec.dev !== dev) {
      throw new LabError(
        `free-coherent: ${formatHex(bus)} is not a coherent buffer of ${dev}`,
        "refused",
      );
    }
    if (rec.size !== size) {
      throw new LabError(
        `free-coherent: ${formatHex(bus)} was allocated with ${rec.size} bytes, not ${size}`,
        "refused",
      );
    }
    this.#coherent.delete(bus);
    const r = ops.freeCoherent(d, rec.phys, bus, size);
    if (entry) dbg.remove(entry);
    return r;
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
    const x = this.swiotlbXen;
    if (!x) return [];
    return x.seg.map((s) => {
      const first = s.index * IO_TLB_SEGSIZE;
      let used = 0;
      for (let i = first; i < first + s.size / IO_TLB_SIZE; i++) {
        if (x.core.freeRun[i] === 0) used++;
      }
      return {
        index: s.index,
        physAddr: s.physAddr,
        dmaAddr: s.dmaAddr,
        size: s.size,
        slotsInUse: used,
        aligned: s.dmaAddr % SEGMENT_BYTES === 0,
        mfnFirst: this.domain.physToMachine(s.physAddr) / PAGE_SIZE,
        mfnLast: this.domain.physToMachine(s.physAddr + s.size - 1) / PAGE_SIZE | 0,
      };
    });
  }

  #treeProblems(tree: XenSwiotlb["tree"]): string[] {
    // SPEC §9: --validate also checks that no two bus intervals overlap. Callers print
    // messages; each starts with its rule and names the node, so the text alone suffices.
    return [...tree.validate({ unique: true, key: intervalKey }), ...intervalOverlaps(tree)]
      .map((p) => p.message);
  }

  /** The bus→phys tree (also after a failed init), or undefined when the mode has none. */
  tree() {
    const tree = this.swiotlbXen?.tree ?? this.#failedTree;
    if (!tree) return undefined;
    const row = (n: RbNode<XenDmaInfo>): TreeRow => ({
      dmaAddr: n.entry.dmaAddr,
      physAddr: n.entry.physAddr,
      size: n.entry.size,
      kind: n.entry.kind,
      color: n.color,
      path: positionPath(n),
    });
    const preorder: TreeRow[] = [];
    const walk = (n: RbNode<XenDmaInfo> | null) => {
      if (!n) return;
      preorder.push(row(n));
      walk(n.left);
      walk(n.right);
    };
    walk(tree.root);
    const inorder: TreeRow[] = [];
    for (let n = tree.first(); n; n = tree.next(n)) inorder.push(row(n));
    return {
      preorder,
      inorder,
      problems: this.#treeProblems(tree),
      height: tree.height(),
      root: tree.root,
    };
  }

  slots(segment?: number) {
    const core = this.core;
    if (!core) return undefined;
    const nseg = Math.ceil(core.nslabs / IO_TLB_SEGSIZE);
    if (segment !== undefined && (!Number.isInteger(segment) || segment < 0 || segment >= nseg)) {
      throw new LabError(`No segment ${segment}: the pool has segments 0 to ${nseg - 1}`);
    }
    const first = segment === undefined ? 0 : segment * IO_TLB_SEGSIZE;
    const end = segment === undefined ? core.nslabs : Math.min(core.nslabs, first + IO_TLB_SEGSIZE);
    const list = Array.from(core.freeRun.subarray(first, end));
    const runs: { start: number; count: number; used: boolean }[] = [];
    const orig: { slot: number; orig: number }[] = [];
    for (let i = first; i < end; i++) {
      const used = core.freeRun[i] === 0;
      const last = runs[runs.length - 1];
      if (last && last.used === used && last.start + last.count === i) last.count++;
      else runs.push({ start: i, count: 1, used });
      if (used) orig.push({ slot: i, orig: core.origAddr[i] });
    }
    return { nslabs: core.nslabs, index: core.hint, first, list, runs, orig };
  }

  /**
   * The p2m of `count` guest frames from `pfn`, as machine-contiguous runs. A guest
   * frame number is `phys >> 12` (so an identity-mapped ARM dom0's pfns equal its mfns),
   * while the domain indexes its p2m from its first page.
   */
  p2m(pfn: number, count: number) {
    const base = this.domain.physBase / PAGE_SIZE;
    const first = this.domain.nrPages > 0 ? base : 0;
    if (!Number.isInteger(pfn) || pfn < first || pfn >= first + this.domain.nrPages) {
      throw new LabError(
        `pfn ${formatHex(pfn)} is outside ${this.domain.name}'s memory (pfns ${formatHex(first)}-${
          formatHex(first + this.domain.nrPages - 1)
        })`,
      );
    }
    const n = Math.min(count, first + this.domain.nrPages - pfn);
    return this.domain.contiguityRuns(pfn - base, n).map((r) => ({ ...r, pfn: r.pfn + base }));
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
      maps: this.#counters.maps,
      bounces: this.#counters.bounces,
      fast_paths: this.#counters.fastPaths,
      map_errors: this.#counters.mapErrors,
      sg_maps: this.#counters.sgMaps,
      coherent_allocs: this.#counters.coherentAllocs,
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
