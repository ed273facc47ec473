/**
 * Devices and the per-architecture DMA checks (SPEC §7): dma_capable, the error code a
 * failed mapping returns, and dma_mapping_error.
 *
 * @module
 */

import { type Addr, ALL_ONES, isMaskShaped, type Mask, maskFromBits } from "../addr.ts";
import { addr, LabError, msg } from "../errors.ts";
import { DEFAULT_SEG_BOUNDARY } from "../swiotlb/mod.ts";

import type { Arch } from "../xen/domain.ts";
/** The two architectures swiotlb-xen runs on in 3.11 (defined with the Xen domain). */
export type { Arch };

/** What `device add` takes. */
export interface DeviceConfig {
  name: string;
  /** dma_mask as a bit width; undefined means the device has no dma_mask at all. */
  maskBits?: number;
  /** coherent_dma_mask bits; defaults to maskBits (or 32 when there is no mask). */
  coherentMaskBits?: number;
  /** dma_get_seg_boundary(): a mask of the form 2^n - 1 (default 0xffffffff). */
  segBoundary?: Mask;
  /** dma_get_max_seg_size() (default 65536). */
  maxSegSize?: number;
  /** The driver's name in kernel messages (default: the device's name). */
  driver?: string;
  /** dev_name(); the guest gives each device a PCI address in the order they are added. */
  busId?: string;
}

/** A DMA-capable device as the DMA API sees it. */
export interface Device {
  readonly name: string;
  /** dev_driver_string(dev): the driver bound to it (default: its name). */
  readonly driver: string;
  /** dev_name(dev): where it sits on the bus, e.g. "0000:00:01.0". */
  readonly busId: string;
  readonly maskBits: number | undefined;
  /** DMA_BIT_MASK(maskBits), or undefined without a mask. */
  readonly dmaMask: Mask | undefined;
  readonly coherentMaskBits: number;
  readonly coherentMask: Mask;
  readonly segBoundary: Mask;
  readonly maxSegSize: number;
}

/** Builds a {@link Device}, refusing masks and sizes the kernel would not accept. */
export function makeDevice(cfg: DeviceConfig): Device {
  if (!/^[A-Za-z_][\w.-]*$/.test(cfg.name)) {
    throw new LabError(
      `Cannot add device "${cfg.name}": a name starts with a letter and holds letters, digits, _ . -`,
    );
  }
  const maskBits = cfg.maskBits;
  if (maskBits !== undefined && (!Number.isInteger(maskBits) || maskBits < 12 || maskBits > 64)) {
    throw new LabError(
      `Cannot add device "${cfg.name}": mask of ${maskBits} bits (expected 12 to 64)`,
    );
  }
  const coherentMaskBits = cfg.coherentMaskBits ?? maskBits ?? 32;
  if (!Number.isInteger(coherentMaskBits) || coherentMaskBits < 12 || coherentMaskBits > 64) {
    throw new LabError(
      `Cannot add device "${cfg.name}": coherent mask of ${coherentMaskBits} bits (expected 12 to 64)`,
    );
  }
  const segBoundary = cfg.segBoundary ?? DEFAULT_SEG_BOUNDARY;
  if (!isMaskShaped(segBoundary) || segBoundary < 0xfff) {
    // A boundary is a mask: printed in the radix, as dma_mask is.
    throw new LabError(
      msg`Cannot add device "${cfg.name}": boundary ${
        addr(segBoundary)
      } must be 2^n - 1 and at least ${
        addr(0xfff)
      } (the kernel BUGs on a boundary that is not a power of two)`,
    );
  }
  const maxSegSize = cfg.maxSegSize ?? 65536;
  if (!Number.isInteger(maxSegSize) || maxSegSize <= 0) {
    throw new LabError(`Cannot add device "${cfg.name}": max segment size ${maxSegSize}`);
  }
  return {
    name: cfg.name,
    driver: cfg.driver ?? cfg.name,
    busId: cfg.busId ?? "0000:00:00.0",
    maskBits,
    dmaMask: maskBits === undefined ? undefined : maskFromBits(maskBits),
    coherentMaskBits,
    coherentMask: maskFromBits(coherentMaskBits),
    segBoundary,
    maxSegSize,
  };
}

/**
 * dma_capable(dev, addr, size). x86: a mask is present and the last byte is under it.
 * arm: also every bit of `addr | last` inside the mask — the same for masks of the form
 * 2^n - 1, since both are then below 2^n.
 */
export function dmaCapable(arch: Arch, dev: Device, addr: Addr, size: number): boolean {
  const mask = dev.dmaMask;
  if (mask === undefined) return false;
  // The all-ones value is above every mask but a 64-bit one, and has no last byte.
  if (typeof addr !== "number") return mask === ALL_ONES && size === 1;
  const last = addr + size - 1;
  if (arch === "x86") return last <= mask;
  return addr <= mask && last <= mask;
}

/** DMA_ERROR_CODE: 0 on x86, all-ones on arm (SPEC §7). */
export function dmaErrorCode(arch: Arch): Addr {
  return arch === "x86" ? 0 : ALL_ONES;
}

/**
 * dma_mapping_error(): x86 compares with 0; arm only recognises all-ones, so an arm
 * caller misses a 0 returned by the "bounce address not capable" path (SPEC §7).
 */
export function dmaMappingError(arch: Arch, bus: Addr): boolean {
  return bus === dmaErrorCode(arch);
}
