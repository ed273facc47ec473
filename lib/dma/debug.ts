/**
 * The DMA-API debug layer (SPEC §8), modelled on the kernel's CONFIG_DMA_API_DEBUG
 * (lib/dma-debug.c in 3.11): every mapping a driver makes is recorded, and every unmap,
 * sync, dma_mapping_error and device removal is checked against the record. A problem is
 * one line in the kernel's words (`<driver> <dev>: DMA-API: device driver …` with its
 * bracketed fields), a "debug" event, counted per kind. Beyond the kernel: a new bounce
 * mapping on a live one's slots (after a faithful corruption), and an IOMMU fault.
 *
 * Kernel names, once: `struct dma_debug_entry` → {@link DebugEntry} (shown as a
 * {@link DebugMapping}, its call written out);
 * `debug_dma_map_page` / `debug_dma_map_sg` / `debug_dma_alloc_coherent` (`add_dma_entry`)
 * → {@link DmaDebug.debugDmaMapPage}; `debug_dma_unmap_page` / `debug_dma_unmap_sg` /
 * `debug_dma_free_coherent` (`check_unmap`) → {@link DmaDebug.debugDmaUnmapPage};
 * `debug_dma_sync_single_for_cpu` / `_for_device` / `debug_dma_sync_sg_for_*`
 * (`check_sync`) → {@link DmaDebug.debugDmaSyncSingle}; `debug_dma_mapping_error` →
 * {@link DmaDebug.debugDmaMappingError}; `dma_debug_device_change` →
 * {@link DmaDebug.dmaDebugDeviceChange}.
 *
 * The layer only checks; lib/dma/mapping.ts calls it *before* the engine's unmap or sync
 * (a report shows even when checked refuses) and drops a record once the unmap happened.
 *
 * @module
 */

import type { Addr, Mask } from "../addr.ts";
import { directionName, DMA_BIDIRECTIONAL } from "../direction.ts";
import type { EventLog } from "../events.ts";
import { type Arch, dmaMappingError } from "./device.ts";
import {
  DEBUG_KINDS,
  type DebugEntry,
  type DebugKind,
  type DebugMapping,
  type DebugRef,
  type DebugReport,
  type DebugReportView,
  type DmaDebugOptions,
  MAX_KEPT_REPORTS,
  MAX_RELEASED,
  type NewMapping,
  OUT_OF_MEMORY_MESSAGE,
  PREALLOC_DMA_DEBUG_ENTRIES,
  type ReleasedMapping,
} from "./debug_types.ts";
import { at, boundaryCrossText, SlotOwners, staleCopyText } from "./debug_slots.ts";
import { type CallSite, callText, mappingView } from "./debug_calls.ts";
import { LiveMappings } from "./debug_live.ts";
import { unmapMismatches } from "./debug_unmap.ts";

export * from "./debug_types.ts";

/**
 * The DMA-API debug layer of one guest. When {@link enabled} is false the guest skips
 * every call here (one boolean check on its hot paths) and the layer knows nothing.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DMA_TO_DEVICE, DmaDebug, EventLog } from "../../mod.ts";
 * const events = new EventLog();
 * const debug = new DmaDebug({ enabled: true, arch: "x86", events });
 * debug.debugDmaMapPage({
 *   device: "nic", type: "single", phys: 0x1000, bus: 0x1000, size: 8192,
 *   dir: DMA_TO_DEVICE, fn: "dma_map_single", slot: null, nslots: 0,
 * });
 * debug.debugDmaMappingError("nic", 0x1000);
 * debug.debugDmaUnmapPage({ device: "nic", type: "single", bus: 0x1000, size: 4096,
 *   dir: DMA_TO_DEVICE, fn: "dma_unmap_single" });
 * assertEquals(
 *   events.drain().map((e) => e.message),
 *   ["nic nic: DMA-API: device driver frees DMA memory with different size " +
 *     "[device address=0x0000000000001000] [map size=8192 bytes] [unmap size=4096 bytes]"],
 * );
 * ```
 */
export class DmaDebug {
  #enabled: boolean;
  readonly #arch: Arch;
  readonly #events: EventLog;
  readonly #deviceFault: ((bus: Addr, size: number) => string | undefined) | undefined;
  /** The live mappings (lib/dma/debug_live.ts). */
  readonly #live = new LiveMappings();
  /** Which live mapping owns each bounce slot (for the overlap check). */
  readonly #slots = new SlotOwners();
  #nextId = 1;
  /** The mapping the last check_unmap found with a mismatch (released if the engine goes on). */
  /** The released record the last check found the driver letting go of (see settle). */
  #letGo: ReleasedMapping | undefined;
  #mismatch: { entry: DebugEntry; by: DebugRef } | undefined;
  /** Mappings a mismatching unmap released: their driver may still think it holds them. */
  readonly #released: ReleasedMapping[] = [];
  /** Devices already told they never called dma_mapping_error (reported once each). */
  readonly #mapErrorTold = new Set<string>();
  readonly #reports: DebugReport[] = [];
  #dropped = 0;
  #filter: string | null = null;
  #showErrors: number | "all" = "all"; // every report (the kernel's default: 1)
  #suppressed = 0;
  readonly #deviceLabel: ((device: string) => { driver: string; busId: string }) | undefined;
  readonly #counts = Object.fromEntries(DEBUG_KINDS.map((k) => [k, 0])) as Record<
    DebugKind,
    number
  >;
  /** The entry pool: its size, the entries live records hold, the fewest ever free. */
  readonly #total: number;
  #inUse = 0;
  #minFree: number;
  /** global_disable after the pool ran dry: nothing is checked or recorded any more. */
  #outOfMemory = false;
  /** On since the guest was built, never off nor out of entries: its records are every mapping. */
  #seenAll: boolean;

  constructor(opts: DmaDebugOptions) {
    this.#enabled = opts.enabled;
    this.#arch = opts.arch;
    this.#events = opts.events;
    this.#deviceFault = opts.deviceFault;
    this.#deviceLabel = opts.deviceLabel;
    this.#total = opts.entries ?? PREALLOC_DMA_DEBUG_ENTRIES[opts.arch];
    this.#minFree = this.#total;
    this.#seenAll = opts.enabled;
  }

  /**
   * Is the layer checking? The guest tests this before every call into the layer. False
   * once the entry pool ran dry, as the kernel's global_disable.
   */
  get enabled(): boolean {
    return this.#enabled && !this.#outOfMemory;
  }

  /**
   * Switches the layer. Switching it off forgets the live mappings: when it comes back
   * on it has not seen what was mapped meanwhile, so it starts from an empty record
   * (reports and counts are kept). Switching on a layer that disabled itself for want
   * of entries starts it afresh the same way.
   */
  setEnabled(on: boolean): void {
    if (!on || this.#outOfMemory) {
      this.#seenAll = false;
      this.#live.clear();
      this.#slots.clear();
      this.#released.length = 0;
      this.#inUse = 0;
      this.#outOfMemory = false;
    }
    this.#enabled = on;
  }

  // ---- mapping ----------------------------------------------------------------------

  /**
   * add_dma_entry for dma_map_single/page, each element of dma_map_sg and
   * dma_alloc_coherent. A handle that dma_mapping_error() recognises is not recorded
   * (the kernel returns before adding it); a handle it does not recognise — arm's 0 from
   * swiotlb-xen's "bounce buffer not capable" path — is recorded like any other, since
   * the driver believes it. Checks the slots (overlap) and the IOMMU at map time.
   */
  debugDmaMapPage(m: NewMapping): DebugEntry | undefined {
    if (this.#outOfMemory) return undefined;
    if (m.type !== "sg" && m.type !== "coherent" && dmaMappingError(this.#arch, m.bus)) {
      return undefined;
    }
    // dma_entry_alloc: with every entry in use the layer says so once and disables itself.
    if (this.#inUse === this.#total) {
      this.#outOfMemory = true;
      this.#seenAll = false;
      this.#events.log("dma-debug", OUT_OF_MEMORY_MESSAGE);
      return undefined;
    }
    this.#inUse++;
    if (this.#total - this.#inUse < this.#minFree) this.#minFree = this.#total - this.#inUse;
    const entry: DebugEntry = {
      id: this.#nextId++,
      device: m.device,
      type: m.type,
      phys: m.phys,
      bus: m.bus,
      size: m.size,
      dir: m.dir,
      sgCount: m.sgCount ?? 0,
      mapErrorChecked: m.type === "single" || m.type === "page" ? false : null,
      fn: m.fn,
      slot: m.slot,
      nslots: m.slot === null ? 0 : m.nslots,
    };
    if (entry.slot !== null) {
      for (const o of this.#slots.claim(entry)) {
        this.#report("slot-overlap", entry.device, entry, o);
      }
    }
    if (this.#deviceFault) {
      const fault = this.#deviceFault(entry.bus, entry.size);
      if (fault !== undefined) {
        this.#report(
          "iommu-fault",
          entry.device,
          entry,
          `device would fault on this mapping ${
            at(entry.bus)
          } [size=${entry.size} bytes]: ${fault}`,
        );
      }
    }
    this.#live.add(entry);
    return entry;
  }

  // ---- unmap ------------------------------------------------------------------------

  /**
   * check_unmap: every mismatch between the unmap (or free) and the mapping, one report
   * each. Returns the mapping the call will release, for {@link remove} once the engine
   * has done it; undefined when there is none.
   */
  debugDmaUnmapPage(ref: DebugRef, skip?: ReadonlySet<DebugEntry>): DebugEntry | undefined {
    const e = this.#live.findExact(ref, skip);
    const dev = ref.device;
    this.#mismatch = undefined;
    this.#letGo = undefined;
    if (!e) {
      // The driver lets go of a mapping a mismatching unmap had already released.
      // Only once the engine has done the unmap (settle): a refused one changes nothing.
      this.#letGo = this.#released.find((r) =>
        r.mapping.device === dev && r.mapping.bus === ref.bus && r.mapping.size === ref.size
      );
      this.#report(
        "free-unmapped",
        dev,
        ref,
        `device driver tries to free DMA memory it has not allocated ${
          at(ref.bus)
        } [size=${ref.size} bytes]`,
      );
      return undefined;
    }
    const mismatches = unmapMismatches(e, ref);
    for (const m of mismatches) this.#report(m.kind, dev, ref, m.text);
    if (mismatches.length > 0) this.#mismatch = { entry: e, by: ref };
    if (e.mapErrorChecked === false && this.#mapErrorTold.has(dev)) {
      // Shown once per device, then counted: in a REPL every plain map/unmap pair would
      // repeat it (the kernel rate-limits its reports too).
      this.#counts["map-error-unchecked"]++;
    } else if (e.mapErrorChecked === false) {
      this.#mapErrorTold.add(dev);
      this.#report(
        "map-error-unchecked",
        dev,
        ref,
        `device driver failed to check map error ${
          at(ref.bus)
        } [size=${ref.size} bytes] [mapped as ${e.type}]`,
      );
    }
    return e;
  }

  /** Forgets a mapping (hash_bucket_del): the engine has unmapped or freed it. */
  /**
   * The engine did the unmap the last check was for: forget `entry` ({@link remove}), or,
   * when there was none, the released record the driver has now let go of.
   */
  settle(entry: DebugEntry | undefined): void {
    if (entry) {
      this.remove(entry);
      return;
    }
    const r = this.#letGo;
    this.#letGo = undefined;
    if (r === undefined) return;
    const i = this.#released.indexOf(r);
    if (i >= 0) this.#released.splice(i, 1);
  }

  remove(entry: DebugEntry): void {
    if (!this.#live.delete(entry)) return;
    this.#inUse--;
    if (this.#mismatch?.entry === entry) {
      // Released by a call that did not match it (faithful went on): keep it in view.
      this.#released.push({ mapping: mappingView(entry), by: callText(this.#mismatch.by) });
      if (this.#released.length > MAX_RELEASED) this.#released.shift();
      this.#mismatch = undefined;
    }
    this.#slots.release(entry);
  }

  // ---- sync -------------------------------------------------------------------------

  /** check_sync: unknown range, past the end, direction, sg nents. */
  debugDmaSyncSingle(ref: DebugRef): void {
    const e = this.#live.findContaining(ref);
    const dev = ref.device;
    if (!e) {
      this.#report(
        "sync-unmapped",
        dev,
        ref,
        `device driver tries to sync DMA memory it has not allocated ${
          at(ref.bus)
        } [size=${ref.size} bytes]`,
      );
      return;
    }
    const end = typeof ref.bus === "number" && typeof e.bus === "number"
      ? ref.bus - e.bus + ref.size
      : ref.size;
    if (end > e.size) {
      this.#report(
        "sync-range",
        dev,
        ref,
        `device driver syncs DMA memory outside allocated range ${
          at(e.bus)
        } [allocation size=${e.size} bytes] [sync offset+size=${end}]`,
      );
    }
    if (e.dir !== DMA_BIDIRECTIONAL && e.dir !== ref.dir) {
      this.#report(
        "sync-direction",
        dev,
        ref,
        `device driver syncs DMA memory with different direction ${
          at(ref.bus)
        } [size=${e.size} bytes] [mapped with ${directionName(e.dir)}] [synced with ${
          directionName(ref.dir)
        }]`,
      );
    }
    const sg = ref.sgCount ?? 0;
    if (ref.type === "sg" && e.type === "sg" && sg !== e.sgCount) {
      this.#report(
        "sync-sg-count",
        dev,
        ref,
        `device driver syncs DMA sg list with different entry count ${
          at(ref.bus)
        } [map count=${e.sgCount}] [sync count=${sg}]`,
      );
    }
  }

  // ---- dma_mapping_error, device removal ---------------------------------------------

  /**
   * debug_dma_mapping_error: marks the first unchecked single/page mapping of `device`
   * at `bus` as checked. Returns true when one was marked.
   */
  debugDmaMappingError(device: string, bus: Addr): boolean {
    if (this.#outOfMemory) return false;
    const list = this.#live.at(device, bus);
    if (!list) return false;
    for (const e of list) {
      if (e.mapErrorChecked === false) {
        e.mapErrorChecked = true;
        return true;
      }
    }
    return false;
  }

  /**
   * dma_debug_device_change at driver unbind: one report for the count, then one per
   * leaked mapping (the kernel shows one example; the lab shows them all). The records
   * go with the device. Returns the per-mapping lines.
   */
  dmaDebugDeviceChange(device: string, call: string): string[] {
    if (!this.enabled) return [];
    const leaked = this.#live.ofDevice(device);
    if (leaked.length === 0) return [];
    this.#report(
      "leak",
      device,
      call,
      `device driver has pending DMA allocations while released from device [count=${leaked.length}]`,
    );
    const lines: string[] = [];
    for (const e of leaked) {
      lines.push(
        this.#report(
          "leaked-mapping",
          device,
          call,
          `leaked DMA memory ${at(e.bus)} [size=${e.size} bytes] [mapped with ${
            directionName(e.dir)
          }] [mapped as ${e.type}] made by '${callText(e)}'`,
        ),
      );
      this.#slots.release(e);
    }
    this.#live.dropDevice(device);
    this.#inUse -= leaked.length;
    return lines;
  }

  // ---- inspection -------------------------------------------------------------------

  /** Live mappings, oldest first (snapshots). */
  liveMappings(): DebugMapping[] {
    return this.#live.all().map(mappingView);
  }

  /** Everything `debug` shows. */
  view(): DebugReportView {
    return {
      enabled: this.enabled,
      live: this.liveMappings(),
      released: this.#released.map((r) => ({ mapping: { ...r.mapping }, by: r.by })),
      reports: this.#reports.map((r) => ({ ...r })),
      counts: { ...this.#counts },
      dropped: this.#dropped,
      entries: { total: this.#total, free: this.#total - this.#inUse, minFree: this.#minFree },
      outOfMemory: this.#outOfMemory,
      seenAll: this.#seenAll,
    };
  }

  /** Reports per kind so far. */
  get counts(): Readonly<Record<DebugKind, number>> {
    return this.#counts;
  }

  /**
   * err_printk: the kernel's "<driver> <dev_name>: DMA-API: …" line. Every report counts;
   * it is printed only if its driver passes the filter and show_num_errors is not spent.
   */
  #report(kind: DebugKind, device: string, site: string | CallSite, text: string): string {
    const call = typeof site === "string" ? site : callText(site);
    const who = this.#deviceLabel?.(device) ?? { driver: device, busId: device };
    const message = `${who.driver} ${who.busId}: DMA-API: ${text}`;
    this.#counts[kind]++;
    this.#reports.push({ kind, device, message, call });
    if (this.#reports.length > MAX_KEPT_REPORTS) {
      this.#reports.shift();
      this.#dropped++;
    }
    const passes = this.#filter === null || this.#filter === who.driver;
    if (passes && (this.#showErrors === "all" || this.#showErrors > 0)) {
      this.#events.push("debug", device, message);
    } else {
      this.#suppressed++;
    }
    if (passes && this.#showErrors !== "all" && this.#showErrors > 0) this.#showErrors--;
    return message;
  }

  /** Beyond the kernel: a mapping crosses the device's segment boundary on the bus. */
  boundaryCross(device: string, call: string, bus: Addr, size: number, mask: Mask): void {
    this.#report("boundary-cross", device, call, boundaryCrossText(bus, size, mask));
  }

  /** Beyond the kernel: a failed map_sg's undo copied `bytes` stale bounce bytes back. */
  staleCopyBack(device: string, call: string, elements: number, bytes: number): void {
    this.#report("stale-copy-back", device, call, staleCopyText(elements, bytes));
  }

  /** driver_filter: print only this driver's reports (null: every driver's). */
  setFilter(driver: string | null): void {
    this.#filter = driver;
  }

  /** show_num_errors / show_all_errors: how many more reports to print. */
  setShowErrors(n: number | "all"): void {
    this.#showErrors = n;
  }

  /** The knobs and the reports they held back. */
  get knobs(): { filter: string | null; showErrors: number | "all"; suppressed: number } {
    return { filter: this.#filter, showErrors: this.#showErrors, suppressed: this.#suppressed };
  }
}
