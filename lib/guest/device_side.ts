/**
 * The device side of a guest: what a DMA-capable device reads or writes at a bus
 * address, through the IOMMU when there is one, and whose machine frames it reached
 * (SPEC §4 "IOMMU", §7 "Data moves for real").
 *
 * @module
 */

import { type Addr, andMask, formatHex, pfnOf } from "../addr.ts";
import { addr, LabError, msg } from "../errors.ts";
import { translateDeviceAccess } from "../xen/mod.ts";
import type { Guest } from "./guest.ts";
import type { DmaAccessView, DmaPieceView, FrameOwner } from "./views.ts";

/**
 * Where a device access goes. A device drives only the address bits of its DMA mask:
 * without an IOMMU, an address above the mask cannot be reached — checked refuses it with
 * the reason; faithful does what the hardware does, drops the high bits, and records
 * whose frame that hit (SPEC §4, §7).
 */
function deviceAccess(g: Guest, dev: string, bus: Addr, len: number) {
  g.requireAlive();
  const d = g.device(dev);
  if (typeof bus !== "number") {
    throw new LabError(
      msg`${dev}: bus address ${addr(bus)} is beyond machine memory (no data moved)`,
      "failed",
      "iommu-fault",
    );
  }
  let at = bus;
  let truncated: DmaAccessView["truncated"] = null;
  const mask = d.dmaMask;
  if (!g.domain.iommu && mask !== undefined && bus + len - 1 > mask) {
    const bits = d.maskBits ?? 0;
    if (g.config.policy === "checked" || andMask(bus, mask) + len - 1 > mask) {
      throw new LabError(
        msg`${dev} cannot address ${addr(bus)}${
          len > 1 ? `+${len}` : ""
        }: ${bits}-bit mask (no data moved)`,
        "refused",
        "beyond-device-mask",
      );
    }
    at = andMask(bus, mask);
    truncated = { from: bus, to: at, maskBits: bits };
    g.events.ub(
      "dma",
      `${dev} drives bus ${formatHex(bus)} with a ${bits}-bit DMA mask: the hardware drops the ` +
        `high bits and reaches ${formatHex(at)}`,
    );
  }
  const t = translateDeviceAccess(g.domain, at, len);
  if ("fault" in t) {
    g.counters.iommuFaults++;
    throw new LabError(msg`${dev}: ${t.fault} (no data moved)`, "failed", "iommu-fault");
  }
  return { bus, pieces: t.pieces, truncated };
}

/**
 * Whose frames the access reached: one entry per run of pages contiguous on the bus and
 * in machine memory with the same owner (a 1 GiB access into one guest is one entry),
 * and how many of its frames are not this guest's.
 */
function framesHit(g: Guest, list: { bus: number; maddr: number; len: number }[]) {
  const runs: DmaPieceView[] = [];
  let strayFrames = 0;
  for (const p of list) {
    const mfn = pfnOf(p.maddr);
    const stray = g.xen.machine.owner(mfn) !== g.domain.domid;
    if (stray) strayFrames++;
    const owner = g.xen.frameOwner(mfn);
    const last = runs[runs.length - 1];
    if (
      last !== undefined && last.stray === stray && last.bus + last.len === p.bus &&
      last.maddr + last.len === p.maddr && continues(last, owner)
    ) {
      last.len += p.len;
      last.frames++;
      continue;
    }
    runs.push({ ...p, mfn, frames: 1, owner, stray });
  }
  return { runs, strayFrames };
}

/** Does a frame of owner `o` continue the run (same owner; the next pfn of a domain)? */
function continues(run: DmaPieceView, o: FrameOwner): boolean {
  const a = run.owner;
  if (a.kind !== o.kind) return false;
  if (a.kind === "domain" && o.kind === "domain") {
    return a.domid === o.domid && a.pfn + run.frames === o.pfn;
  }
  if (a.kind === "domain-no-m2p" && o.kind === "domain-no-m2p") return a.domid === o.domid;
  return true;
}

/**
 * The device reads `len` bytes at `bus` (through the IOMMU if any); the whole range is
 * translated (a fault anywhere is found), but only the first `keep` bytes are copied out.
 */
export function dmaRead(
  g: Guest,
  dev: string,
  bus: Addr,
  len: number,
  keep = len,
): DmaAccessView {
  const t = deviceAccess(g, dev, bus, len);
  const out = new Uint8Array(Math.min(keep, len));
  let at = 0;
  for (const p of t.pieces) {
    if (at >= out.length) break;
    const n = Math.min(p.len, out.length - at);
    out.set(g.xen.machine.read(p.maddr, n), at);
    at += n;
  }
  const { runs } = framesHit(g, t.pieces);
  return { bus: t.bus, len, pieces: runs, bytes: out, truncated: t.truncated };
}

/** The device writes `bytes` at `bus`; every frame hit is named with its owner. */
export function dmaWrite(g: Guest, dev: string, bus: Addr, bytes: Uint8Array): DmaAccessView {
  const t = deviceAccess(g, dev, bus, bytes.length);
  let at = 0;
  for (const p of t.pieces) {
    g.xen.machine.write(p.maddr, bytes.subarray(at, at + p.len));
    at += p.len;
  }
  const { runs, strayFrames } = framesHit(g, t.pieces);
  g.counters.strayWrites += strayFrames;
  return { bus: t.bus, len: bytes.length, pieces: runs, bytes, truncated: t.truncated };
}
