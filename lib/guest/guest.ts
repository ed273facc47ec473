/**
 * A whole guest: Xen, the domain, its DMA ops (swiotlb-xen, or direct DMA with a native
 * pool) behind the dma-mapping front door, devices and buffers — everything the REPL and
 * the examples drive. Builds from a {@link GuestConfig} or a preset (SPEC §4, §5, §12).
 * Its answers are values and named views (views.ts); it writes no sentence.
 *
 * @module
 */

import { type Addr, IO_TLB_SIZE, type Mask, PAGE_SIZE } from "../addr.ts";
import { DmaDebug } from "../dma/debug.ts";
import type { DebugReportView } from "../dma/debug.ts";
import { type Device, type DeviceConfig, makeDevice } from "../dma/device.ts";
import { DirectDma } from "../dma/direct.ts";
import { DmaMapping, type MappingErrorAnswer, type SgRef } from "../dma/mapping.ts";
import type {
  CoherentResult,
  DmaOps,
  FreeCoherentResult,
  MapResult,
  SgResult,
  SyncTarget,
} from "../dma/ops.ts";
import type { Direction } from "../direction.ts";
import { LabError, renderParts } from "../errors.ts";
import { EventLog } from "../events.ts";
import { SwiotlbCore } from "../swiotlb/mod.ts";
import { XenSwiotlb } from "../swiotlb_xen/engine.ts";
import { DEFAULT_NSLABS, xenSwiotlbInit } from "../swiotlb_xen/init.ts";
import type { SwiotlbVerdict } from "../swiotlb_xen/translate.ts";
import type { BusTree } from "../swiotlb_xen/tree.ts";
import { deviceAccessFault, type Domain, Xen } from "../xen/mod.ts";
import { type GuestConfig, type GuestInput, resolveConfig, useReason } from "./config.ts";
import { type Buffer, BufferTable, named } from "./buffers.ts";
import { dmaRead, dmaWrite } from "./device_side.ts";
import { guestPlatform } from "./platform.ts";
import {
  attemptView,
  guestView,
  lookupBus,
  lookupPhys,
  p2mView,
  segmentsView,
  slotsView,
  statsView,
  treePathAt,
  treeView,
} from "./inspect.ts";
import type {
  BufferView,
  BusLookupView,
  DmaAccessView,
  GuestView,
  InitView,
  M2pView,
  P2mView,
  PhysLookupView,
  SegmentsView,
  SlotsView,
  StatsView,
  TreeView,
} from "./views.ts";

/** Guest-physical memory below a PV kernel's first allocation (its image). */
const PV_KERNEL_RESERVED = 16 * 1024 * 1024;

export type { Buffer };

/** What an unmap or a sync did: bytes copied, and is_xen_swiotlb_buffer's answer. */
export interface CopyResult {
  copied: number;
  /** null when the guest does not run swiotlb-xen. */
  swiotlb: SwiotlbVerdict | null;
}

/**
 * A running guest with its DMA engine.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DMA_TO_DEVICE, Guest } from "../../mod.ts";
 * const g = Guest.create({ preset: "pv-dom0", swiotlb: 512 });
 * assertEquals([g.init.use, g.init.ok, g.view().ops], ["pv-dom0", true, "swiotlb-xen-pv"]);
 * g.addDevice({ name: "nic", maskBits: 32 });
 * const rx = g.allocBuffer("rx", 4096);
 * // The guest's pages lie above 4 GiB: a 32-bit device needs a bounce.
 * const m = g.map("nic", rx.phys, 4096, DMA_TO_DEVICE);
 * assertEquals([m.bounced, m.route.code, m.slot], [true, "beyond-mask", 0]);
 * assertEquals(g.lookupBus(m.bus).phys, m.phys);
 * ```
 */
export class Guest {
  readonly config: GuestConfig;
  readonly events: EventLog;
  readonly xen: Xen;
  readonly domain: Domain;
  readonly init: InitView;
  /** The DMA ops, undefined when swiotlb-xen failed to initialise. */
  readonly ops: DmaOps | undefined;
  /** The dma-mapping front door (with the debug layer), when there are DMA ops. */
  readonly mapping: DmaMapping | undefined;
  /** The bus→phys tree, also the one a failed init left behind (SPEC §5). */
  readonly busTree: BusTree | undefined;
  readonly #devices = new Map<string, Device>();
  #slotsGiven = 0;
  readonly #buffers: BufferTable;
  /** The DMA-API debug layer (SPEC §8); every call into it sits behind `.enabled`. */
  readonly #debug: DmaDebug;
  /** Guest-level counters beyond the core's and the front door's (SPEC §9 `stats`). */
  readonly counters = { lookups: 0, lookupNodesVisited: 0, iommuFaults: 0, strayWrites: 0 };

  private constructor(config: GuestConfig, events: EventLog) {
    this.config = config;
    this.events = events;
    this.xen = new Xen({ machineBytes: config.machine, seed: config.seed, events });
    this.#debug = new DmaDebug({
      enabled: config.debug,
      arch: config.arch,
      events,
      deviceLabel: (name) => {
        const d = this.#devices.get(name);
        return d ? { driver: d.driver, busId: d.busId } : { driver: name, busId: name };
      },
      // Beyond the kernel (SPEC §8): would the device fault on the handle it was given?
      // Quoted in a DMA-API report, which prints addresses in the kernel's hex.
      deviceFault: (bus, size) => {
        if (typeof bus !== "number") return undefined;
        const fault = deviceAccessFault(this.domain, bus, size);
        return fault === undefined ? undefined : renderParts(fault);
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
    this.#buffers = new BufferTable(this.domain);
    const f = config.faults;
    if (f.exhaustLowBits !== undefined) this.xen.faults.exhaustLow(f.exhaustLowBits);
    if (f.failBelowBits !== undefined) this.xen.faults.failBelow(f.failBelowBits);
    if (f.failNext !== undefined) this.xen.faults.failNext(f.failNext, 0, f.failAfter ?? 0);
    const platform = guestPlatform(this.xen, this.domain);
    const use = useReason(config);
    const swiotlbXen = use !== "auto-iommu" && use !== "pv-domu";
    // A PV kernel loads at CONFIG_PHYSICAL_START (16 MiB): allocations start above it, so
    // the pool's guest-physical and bus addresses do not both read 0x100000 (Xen hands out
    // low machine memory above its first MiB), a coincidence that teaches a wrong idea.
    const kernel = Math.min(PV_KERNEL_RESERVED, this.domain.memBytes / 4) -
      (this.domain.allocCursor - this.domain.physBase);
    if (config.mode === "pv" && kernel > 0) this.domain.reserve(kernel);
    if (config.poolOffset > 0) this.domain.reserve(config.poolOffset);
    if (swiotlbXen) {
      const early = !config.lateInit && use !== "pv-passthrough";
      const init = xenSwiotlbInit(platform, {
        nslabs: config.swiotlb,
        policy: config.policy,
        early,
        busSkew: config.busSkew,
        events,
      });
      this.init = {
        swiotlbXen,
        ok: init.ok,
        use,
        nslabs: init.nslabs,
        segments: Math.ceil(init.nslabs / 128),
        poolPhys: init.poolPhys,
        log: init.log,
        early,
        panic: init.panic,
        attempts: init.attempts.map(attemptView),
      };
      this.busTree = init.tree;
      this.ops = init.ok
        ? new XenSwiotlb(platform, init, {
          policy: config.policy,
          variant: config.variant,
          force: config.force,
          events,
        })
        : undefined;
    } else {
      const nslabs = config.swiotlb ?? DEFAULT_NSLABS;
      const poolPhys = this.domain.allocPhys(nslabs * IO_TLB_SIZE, PAGE_SIZE);
      const core = new SwiotlbCore({
        nslabs,
        start: poolPhys,
        memory: this.domain,
        policy: config.policy,
        events,
      });
      this.init = {
        swiotlbXen,
        ok: true,
        use,
        nslabs,
        segments: Math.ceil(nslabs / 128),
        poolPhys,
        log: [],
        early: false,
        panic: null,
        attempts: [],
      };
      this.busTree = undefined;
      this.ops = new DirectDma(platform, core, { force: config.force });
    }
    this.mapping = this.ops ? new DmaMapping(this.ops, this.#debug, config.arch) : undefined;
  }

  /** Builds a guest. Bad configuration throws; a failed swiotlb-xen init does not (see {@link init}). */
  static create(input: GuestInput = {}, events = new EventLog()): Guest {
    return new Guest(resolveConfig(input), events);
  }

  /** The bounce pool core, if any. */
  get core(): SwiotlbCore | undefined {
    return this.ops?.core;
  }

  /** swiotlb-xen's engine when this guest runs it. */
  get swiotlbXen(): XenSwiotlb | undefined {
    return this.ops instanceof XenSwiotlb ? this.ops : undefined;
  }

  /** The front door, or the error a guest without DMA ops gives. */
  requireMapping(): DmaMapping {
    this.requireAlive();
    if (!this.mapping) {
      throw new LabError("No DMA ops: swiotlb-xen failed to initialise", "failed", "no-dma-ops");
    }
    return this.mapping;
  }

  /** Refuses any DMA on a guest whose kernel panicked at boot (SPEC §5 step 4). */
  requireAlive(): void {
    if (this.init.panic !== null) {
      throw new LabError(
        `The guest is dead: its kernel panicked at boot (${this.init.panic.split("\n")[0]})`,
        "failed",
        "guest-dead",
      );
    }
  }

  /** A device by name. */
  device(name: string): Device {
    return named(this.#devices, name, "device", "unknown-device");
  }

  /** Everything `guest new` and `guest show` describe. */
  view(): GuestView {
    return guestView(this);
  }

  // ---- devices and buffers ----------------------------------------------------------

  addDevice(cfg: DeviceConfig): Device {
    this.requireAlive();
    if (this.#devices.has(cfg.name)) {
      throw new LabError(`Device "${cfg.name}" exists already`, "usage", "exists");
    }
    // Each device gets the next PCI address, as a platform enumerates them.
    this.#slotsGiven++;
    const busId = `0000:00:${this.#slotsGiven.toString(16).padStart(2, "0")}.0`;
    const d = makeDevice({ busId, ...cfg });
    this.#devices.set(d.name, d);
    return d;
  }

  /**
   * Removes a device. With the debug layer on, its live mappings are reported as leaks
   * (dma_debug_device_change, SPEC §8) and returned, one line each.
   */
  removeDevice(name: string): { leaks: string[] } {
    const d = this.device(name);
    const dbg = this.#debug;
    // The reports name the device, so it goes only after them.
    const leaks = dbg.enabled
      ? dbg.dmaDebugDeviceChange(d.name, `dma_debug_device_change(${d.name})`)
      : [];
    this.#devices.delete(name);
    return { leaks };
  }

  devices(): Device[] {
    return [...this.#devices.values()];
  }

  allocBuffer(name: string, size: number, align?: number): Buffer {
    this.requireAlive(); // kmalloc: a panicked kernel allocates nothing
    return this.#buffers.alloc(name, size, align);
  }

  buffers(): Buffer[] {
    return this.#buffers.all();
  }

  buffer(name: string): Buffer {
    return this.#buffers.get(name);
  }

  /** A buffer with the frames behind it. */
  bufferView(name: string): BufferView {
    return this.#buffers.view(name, (pfn, count) => this.p2m(pfn, count));
  }

  writeBuffer(name: string, offset: number, bytes: Uint8Array): void {
    this.#buffers.write(name, offset, bytes);
  }

  readBuffer(name: string, offset: number, len: number, keep = len): Uint8Array {
    return this.#buffers.read(name, offset, len, keep);
  }

  readPhys(phys: number, len: number): Uint8Array {
    return this.domain.read(phys, len);
  }

  writePhys(phys: number, bytes: Uint8Array): void {
    this.domain.write(phys, bytes);
  }

  // ---- the DMA API (lib/dma/mapping.ts) --------------------------------------------

  /** dma_map_single (or dma_map_page with `page`). */
  map(dev: string, phys: number, size: number, dir: Direction, page = false): MapResult {
    return this.requireMapping().mapSingle(this.device(dev), phys, size, dir, page);
  }

  /** dma_unmap_single (or dma_unmap_page); bytes copied back, is_xen_swiotlb_buffer's say. */
  unmap(dev: string, bus: Addr, size: number, dir: Direction, page = false): CopyResult {
    const copied = this.requireMapping().unmapSingle(this.device(dev), bus, size, dir, page);
    return { copied, swiotlb: this.#verdict() };
  }

  /** dma_sync_single_for_cpu / dma_sync_single_for_device. */
  sync(dev: string, bus: Addr, size: number, dir: Direction, target: SyncTarget): CopyResult {
    const copied = this.requireMapping().syncSingle(this.device(dev), bus, size, dir, target);
    return { copied, swiotlb: this.#verdict() };
  }

  /** is_xen_swiotlb_buffer's say on the bus address the unmap or sync just resolved. */
  #verdict(): SwiotlbVerdict | null {
    return this.swiotlbXen?.lastVerdict ?? null;
  }

  /** dma_mapping_error(dev, bus) (SPEC §7); the debug layer notes the check. */
  mappingError(dev: string, bus: Addr): MappingErrorAnswer {
    return this.requireMapping().mappingError(this.device(dev), bus);
  }

  /** Is the DMA-API debug layer on? (GuestConfig.debug at creation, then {@link setDebug}.) */
  get debugEnabled(): boolean {
    return this.#debug.enabled;
  }

  /** Switches the DMA-API debug layer; off forgets its live mappings (SPEC §8). */
  setDebug(on: boolean): void {
    this.#debug.setEnabled(on);
  }

  /** The debug layer's knobs: driver_filter (null: all) and show_num_errors ("all"). */
  setDebugKnobs(k: { filter?: string | null; showErrors?: number | "all" }): void {
    if (k.filter !== undefined) this.#debug.setFilter(k.filter);
    if (k.showErrors !== undefined) this.#debug.setShowErrors(k.showErrors);
  }

  /** The debug layer's live mappings, reports and counts per kind (SPEC §8). */
  debugReport(): DebugReportView {
    return this.#debug.view();
  }

  /** dma_map_sg. */
  mapSg(dev: string, elems: SgRef[], dir: Direction): SgResult {
    return this.requireMapping().mapSg(this.device(dev), elems, dir);
  }

  /** dma_unmap_sg. */
  unmapSg(dev: string, elems: SgRef[], dir: Direction): { copied: number } {
    return { copied: this.requireMapping().unmapSg(this.device(dev), elems, dir) };
  }

  /** dma_sync_sg_for_cpu / dma_sync_sg_for_device. */
  syncSg(dev: string, elems: SgRef[], dir: Direction, target: SyncTarget): { copied: number } {
    return { copied: this.requireMapping().syncSg(this.device(dev), elems, dir, target) };
  }

  /** dma_alloc_coherent. */
  allocCoherent(dev: string, size: number): CoherentResult {
    return this.requireMapping().allocCoherent(this.device(dev), size);
  }

  /** dma_free_coherent. */
  freeCoherent(dev: string, bus: Addr, size: number): FreeCoherentResult {
    return this.requireMapping().freeCoherent(this.device(dev), bus, size);
  }

  /** dma_supported(dev, mask). */
  dmaSupported(dev: string, mask: Mask): boolean {
    return this.requireMapping().ops.dmaSupported(this.device(dev), mask);
  }

  /** `tree insert`: xen_dma_add_entry into the live tree (SPEC §6). */
  treeInsert(dmaAddr: number, physAddr: number, size: number) {
    const x = this.swiotlbXen;
    if (!x) {
      throw new LabError(
        this.init.swiotlbXen
          ? "No tree to insert into: swiotlb-xen failed to initialise"
          : "No bus→phys tree: this guest does not run swiotlb-xen",
        "usage",
        "no-tree",
      );
    }
    return {
      ...x.insertEntry(dmaAddr, physAddr, size),
      nodes: x.tree.size,
      height: x.tree.height(),
    };
  }

  // ---- the device side (lib/guest/device_side.ts) --------------------------------

  /** The device reads `len` bytes at `bus` (through the IOMMU if any). */
  dmaRead(dev: string, bus: Addr, len: number, keep = len): DmaAccessView {
    return dmaRead(this, dev, bus, len, keep);
  }

  /** The device writes `bytes` at `bus`; every frame hit is named with its owner. */
  dmaWrite(dev: string, bus: Addr, bytes: Uint8Array): DmaAccessView {
    return dmaWrite(this, dev, bus, bytes);
  }

  // ---- inspection (lib/guest/inspect.ts) ------------------------------------------

  /** `lookup bus`: xen_bus_to_phys and its path. */
  lookupBus(bus: Addr): BusLookupView {
    return lookupBus(this, bus);
  }

  /** `lookup phys`: xen_phys_to_bus and its arithmetic. */
  lookupPhys(phys: number): PhysLookupView {
    return lookupPhys(this, phys);
  }

  segments(): SegmentsView {
    return segmentsView(this);
  }

  tree(): TreeView {
    return treeView(this);
  }

  /** Where the node that holds bus address `bus` hangs (the RFC's walk), or null. */
  treePathAt(bus: Addr): string | null {
    return treePathAt(this, bus);
  }

  slots(segment?: number): SlotsView {
    return slotsView(this, segment);
  }

  p2m(pfn: number, count: number): P2mView {
    return p2mView(this, pfn, count);
  }

  m2p(mfn: number): M2pView {
    const index = this.domain.mfnToPfn(mfn);
    const phys = index === undefined ? null : this.domain.pfnToPhys(index);
    return {
      mfn,
      owner: this.xen.frameOwner(mfn),
      pfn: phys === null ? null : phys / PAGE_SIZE,
      phys,
    };
  }

  /** `stats` (SPEC §9). */
  stats(): StatsView {
    return statsView(this);
  }
}
